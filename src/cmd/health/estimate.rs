//! How long `health` will take, said before it starts, so that whoever runs it on a
//! cluster (or schedules it between jobs) knows what it costs. Each check's work at the
//! topology's nominal rates: the model's time per all_reduce call times the calls of the
//! sweep, and the links plan's rounds with every pair at the rate the fabric gives it
//! when the round's pairs run together. A slow cluster takes longer (that is what the
//! checks find), and confirming suspects adds a few pair measurements alone.

use crate::coll::CollKind;
use xccl_diag::links::Fabric;
use xccl_topo::{model, Placement, Topology};

/// Seconds of the all_reduce sweep: `calls_per_size` calls of every size, `passes` times
/// (1, or 3 with `--split`: the whole and its two parts).
pub fn sweep_seconds(
    topo: &Topology,
    placement: &Placement,
    sizes: &[u64],
    calls_per_size: usize,
    passes: usize,
) -> f64 {
    let one_pass: f64 = sizes
        .iter()
        .map(|&s| model::expected(topo, placement, CollKind::AllReduce, s).best_time_us * 1e-6)
        .sum();
    one_pass * (calls_per_size * passes) as f64
}

/// Seconds of the links rounds: per round a one-way and a both-ways phase of
/// `bytes_per_phase` per pair, each as long as the round's slowest pair at its expected
/// rate; intra-node rounds at the node fabric's per-device rate.
pub fn links_seconds(
    fabric: &Fabric,
    inter_rounds: &[Vec<(usize, usize)>],
    intra_rounds: usize,
    intra_gbs: f64,
    bytes_per_phase: f64,
) -> f64 {
    let phases = 2.0;
    let inter: f64 = inter_rounds
        .iter()
        .map(|round| {
            let slowest = fabric
                .expected(round)
                .into_iter()
                .fold(f64::INFINITY, f64::min);
            phases * bytes_per_phase / (slowest * 1e9)
        })
        .sum();
    let intra = if intra_gbs > 0.0 {
        intra_rounds as f64 * phases * bytes_per_phase / (intra_gbs * 1e9)
    } else {
        0.0
    };
    inter + intra
}

#[cfg(test)]
mod tests {
    use super::*;
    use xccl_diag::links::Sw;

    #[test]
    fn a_round_lasts_as_long_as_its_slowest_pair() {
        // Two leaves of two nodes under one 1 GB/s uplink, 10 GB/s NICs: a round whose two
        // pairs both cross it gives each 0.5 GB/s; a round inside the leaves, 10 GB/s.
        let f = Fabric {
            nic_gbs: vec![10.0; 4],
            leaf: vec![Some(0), Some(0), Some(1), Some(1)],
            switches: vec![
                Sw {
                    name: "l0".into(),
                    parent: Some(2),
                    uplink_gbs: Some(1.0),
                },
                Sw {
                    name: "l1".into(),
                    parent: Some(2),
                    uplink_gbs: Some(1.0),
                },
                Sw {
                    name: "spine".into(),
                    parent: None,
                    uplink_gbs: None,
                },
            ],
        };
        let across = links_seconds(&f, &[vec![(0, 2), (1, 3)]], 0, 0.0, 1e9);
        assert!((across - 2.0 * 1e9 / 0.5e9).abs() < 1e-9, "{across}");
        let inside = links_seconds(&f, &[vec![(0, 1), (2, 3)]], 1, 100.0, 1e9);
        assert!(
            (inside - (2.0 / 10.0 + 2.0 / 100.0)).abs() < 1e-9,
            "{inside}"
        );
    }
}
