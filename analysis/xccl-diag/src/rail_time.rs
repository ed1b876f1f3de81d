//! How long a per-device `links` run takes at the topology's nominal rates, said before it
//! starts and used for the arithmetic of a full validation (docs/DIAGNOSIS.md): every round
//! of a [`RailPlan`] runs its pairs at once, a one-way and a both-ways phase each as long
//! as the round's slowest pair at the rate [`RailFabric::expected`] gives it beside the
//! round's other flows (shared leaf uplinks included), plus a fixed cost per round
//! (latency ping-pong and barriers). Confirming suspects adds a few pairs alone.

use crate::rail_plan::{Phase, RailPlan};
use crate::rails::{Port, RailFabric};

/// Seconds of all the plan's rounds: `bytes_per_phase` per pair and phase (message size ×
/// messages, warm-up included), and `per_round_s` of fixed cost per round.
pub fn plan_seconds(
    plan: &RailPlan,
    f: &RailFabric,
    bytes_per_phase: f64,
    per_round_s: f64,
) -> f64 {
    let port = |r: usize| Port {
        node: plan.node_of(r),
        rail: plan.rail_of(r),
    };
    let phases = 2.0; // one way, then both ways
    plan.all_rounds()
        .map(|(phase, _, pairs)| {
            let slowest = match phase {
                Phase::Intra => f.intra_gbs,
                Phase::Rail | Phase::Cross => {
                    let flows: Vec<(Port, Port)> =
                        pairs.iter().map(|&(a, b)| (port(a), port(b))).collect();
                    f.expected(&flows).into_iter().fold(f64::INFINITY, f64::min)
                }
            };
            let moving = if pairs.is_empty() || slowest.is_nan() || slowest <= 0.0 {
                0.0
            } else {
                phases * bytes_per_phase / (slowest * 1e9)
            };
            moving + per_round_s
        })
        .sum()
}

/// A `links` run of `size`-byte messages, `iters` timed per phase after one warm-up, on
/// NICs of one-hop latency `alpha_us`: per round 10 ping-pong round trips and three
/// barriers (2·⌈log2 ranks⌉ one-hop latencies each, a dissemination barrier) beside the
/// data.
pub fn run_seconds(plan: &RailPlan, f: &RailFabric, size: u64, iters: usize, alpha_us: f64) -> f64 {
    let bytes = (size * (iters as u64 + 1)) as f64;
    let hops = 20.0 + 3.0 * 2.0 * (plan.ranks().max(2) as f64).log2().ceil();
    plan_seconds(plan, f, bytes, hops * alpha_us * 1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rail_plan::RailOptions;

    #[test]
    fn two_nodes_two_rails_by_hand() {
        // NICs 10 GB/s, each leaf 5 GB/s to the spine, device pairs 100 GB/s. Rail round:
        // two same-leaf flows at 10; cross round: each leaf one flow up and one down, 5;
        // intra round: 100. Two phases of 1 GB each, 1 ms per round.
        let f = RailFabric::rail_optimised(vec!["a".into(), "b".into()], 2, 10.0, 5.0, 100.0);
        let plan = RailPlan::new(2, &[0, 1], RailOptions::default()).unwrap();
        assert_eq!(
            (plan.rail.len(), plan.cross.len(), plan.intra.len()),
            (1, 1, 1)
        );
        let s = plan_seconds(&plan, &f, 1e9, 1e-3);
        let want = 2.0 * (1.0 / 10.0 + 1.0 / 5.0 + 1.0 / 100.0) + 3e-3;
        assert!((s - want).abs() < 1e-12, "{s} vs {want}");
    }

    #[test]
    fn a_thin_spine_slows_only_the_cross_rail_rounds() {
        let nodes: Vec<String> = (0..8).map(|i| format!("n{i}")).collect();
        let plan = RailPlan::new(8, &[0, 1, 2, 3], RailOptions::default()).unwrap();
        let fat = RailFabric::rail_optimised(nodes.clone(), 4, 10.0, 1000.0, 100.0);
        let thin = RailFabric::rail_optimised(nodes, 4, 10.0, 1.0, 100.0);
        let (a, b) = (
            plan_seconds(&plan, &fat, 1e9, 0.0),
            plan_seconds(&plan, &thin, 1e9, 0.0),
        );
        // Same-rail rounds never climb: the difference is the cross rounds alone.
        let cross_fat: f64 = plan.cross.len() as f64 * 2.0 / 10.0;
        assert!(b > a + cross_fat, "{a} {b}");
    }
}
