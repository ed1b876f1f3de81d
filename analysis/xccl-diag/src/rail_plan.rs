//! Which device pairs of a rail-optimized cluster measure at the same time
//! (`links --backend nccl|hccl|mpi`), and the compact record of what they measured.
//!
//! A node holds R devices; device d's NIC is on rail `rail_of_device[d]` (a permutation of
//! `0..R`, the same on every node), and device d of node n is rank `n·R + d`. The plan has
//! three phases, each a list of rounds whose pairs run at once (no rank twice in a round):
//!
//! 1. **rail**: [`schedule::circle`] over the nodes; round k holds, for every rail, that
//!    rail's devices on the node pairs of circle round k. N−1 rounds for even N, N for odd;
//!    every same-rail pair of nodes exactly once per rail.
//! 2. **cross**: cross-rail samples. Round t takes the node pairs `a < b` of circle round
//!    `t mod circle_rounds(N)` and the offset `s = 1 + t mod (R−1)`, and pairs node a's
//!    device on rail r with node b's device on rail `(r + s) mod R`, for every r. Each node
//!    is in at most one node pair per round and each of its devices in one sample, so no
//!    rank twice; the default R−1 rounds give every ordered rail pair (i, j), i ≠ j, one
//!    sample per node pair of a round: ⌊N/2⌋ samples each, R(R−1)⌊N/2⌋ in all.
//!    [`RailOptions::cross_node_pairs`] caps the node pairs per round (taken cyclically
//!    from the matching, starting `t·cap` in, so successive rounds take other nodes).
//! 3. **intra**: [`schedule::circle`] over the R devices, on all nodes at once: R−1 rounds
//!    for even R, R for odd; every device pair of every node exactly once (NVLink/NVSwitch,
//!    HCCS or PCIe, whatever joins them).
//!
//! The record ([`RailLinksReport`]) keeps the same-rail links, N(N−1)/2 per rail (4.19 M
//! for 1,024 nodes × 8 rails), as one dense upper triangle per rail and quantity,
//! not as one object per link (integers: MB/s and ns); cross-rail samples, intra-node pairs and outliers are
//! records ([`RailLink`]).

use crate::schedule;
use serde::{Deserialize, Serialize};

/// The three phases of a [`RailPlan`], in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Same rail, across nodes.
    Rail,
    /// Different rails, across nodes (samples).
    Cross,
    /// Within a node.
    Intra,
}

/// How many cross-rail samples to plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RailOptions {
    /// Cross-rail rounds; `None`: R−1 (every ordered rail pair at least once).
    pub cross_rounds: Option<usize>,
    /// Node pairs per cross-rail round (each gives R samples); `None`: all of the matching.
    pub cross_node_pairs: Option<usize>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("rail_of_device {0:?} is not a permutation of 0..{1} (one device per rail per node)")]
    NotPermutation(Vec<usize>, usize),
}

/// Rounds of rank pairs `(a, b)`, `a < b`, per phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RailPlan {
    pub nodes: usize,
    pub rail_of_device: Vec<usize>,
    /// `device_of_rail[r]`: the device whose NIC is on rail r.
    pub device_of_rail: Vec<usize>,
    pub rail: Vec<Vec<(usize, usize)>>,
    pub cross: Vec<Vec<(usize, usize)>>,
    pub intra: Vec<Vec<(usize, usize)>>,
}

impl RailPlan {
    /// Plans `nodes` nodes whose device d is on rail `rail_of_device[d]`.
    pub fn new(
        nodes: usize,
        rail_of_device: &[usize],
        opts: RailOptions,
    ) -> Result<RailPlan, PlanError> {
        let r = rail_of_device.len();
        let mut device_of_rail = vec![usize::MAX; r];
        for (d, &rail) in rail_of_device.iter().enumerate() {
            if rail >= r || device_of_rail[rail] != usize::MAX {
                return Err(PlanError::NotPermutation(rail_of_device.to_vec(), r));
            }
            device_of_rail[rail] = d;
        }
        let matchings = schedule::circle(nodes);
        let rank = |n: usize, rail: usize| n * r + device_of_rail[rail];

        let rail_rounds: Vec<Vec<(usize, usize)>> = matchings
            .iter()
            .map(|m| {
                let mut round = Vec::with_capacity(m.len() * r);
                for rail in 0..r {
                    round.extend(m.iter().map(|&(a, b)| (rank(a, rail), rank(b, rail))));
                }
                round
            })
            .collect();

        let cross_rounds = if r < 2 || matchings.is_empty() {
            0
        } else {
            opts.cross_rounds.unwrap_or(r - 1)
        };
        let cross = (0..cross_rounds)
            .map(|t| {
                let m = &matchings[t % matchings.len()];
                let s = 1 + t % (r - 1);
                let take = opts.cross_node_pairs.unwrap_or(m.len()).min(m.len());
                let start = t * take;
                let mut round = Vec::with_capacity(take * r);
                for i in 0..take {
                    let (a, b) = m[(start + i) % m.len()];
                    round.extend((0..r).map(|rail| (rank(a, rail), rank(b, (rail + s) % r))));
                }
                round
            })
            .collect();

        let intra = schedule::circle(r)
            .iter()
            .map(|m| {
                let mut round = Vec::with_capacity(m.len() * nodes);
                for n in 0..nodes {
                    round.extend(m.iter().map(|&(i, j)| (n * r + i, n * r + j)));
                }
                round
            })
            .collect();

        let plan = RailPlan {
            nodes,
            rail_of_device: rail_of_device.to_vec(),
            device_of_rail,
            rail: rail_rounds,
            cross,
            intra,
        };
        debug_assert_eq!(plan.check(), Ok(()));
        Ok(plan)
    }

    /// Devices per node (= rails).
    pub fn devices(&self) -> usize {
        self.rail_of_device.len()
    }

    pub fn ranks(&self) -> usize {
        self.nodes * self.devices()
    }

    pub fn node_of(&self, rank: usize) -> usize {
        rank / self.devices()
    }

    pub fn device_of(&self, rank: usize) -> usize {
        rank % self.devices()
    }

    pub fn rail_of(&self, rank: usize) -> usize {
        self.rail_of_device[self.device_of(rank)]
    }

    /// Rank of node `node`'s device on rail `rail`.
    pub fn rank_on_rail(&self, node: usize, rail: usize) -> usize {
        node * self.devices() + self.device_of_rail[rail]
    }

    pub fn rounds(&self, phase: Phase) -> &[Vec<(usize, usize)>] {
        match phase {
            Phase::Rail => &self.rail,
            Phase::Cross => &self.cross,
            Phase::Intra => &self.intra,
        }
    }

    /// Rounds of the whole plan: same-rail, cross-rail and intra-node.
    pub fn round_count(&self) -> usize {
        self.rail.len() + self.cross.len() + self.intra.len()
    }

    /// Every round in the order it runs: (phase, round within the phase, pairs).
    pub fn all_rounds(&self) -> impl Iterator<Item = (Phase, usize, &[(usize, usize)])> {
        [Phase::Rail, Phase::Cross, Phase::Intra]
            .into_iter()
            .flat_map(move |p| {
                self.rounds(p)
                    .iter()
                    .enumerate()
                    .map(move |(k, r)| (p, k, r.as_slice()))
            })
    }

    /// Every pair `a < b` within range, and no rank twice in a round.
    pub fn check(&self) -> Result<(), String> {
        let mut last = vec![usize::MAX; self.ranks()];
        for (i, (phase, k, round)) in self.all_rounds().enumerate() {
            for &(a, b) in round {
                if a >= b || b >= self.ranks() {
                    return Err(format!("{phase:?} round {k}: pair ({a},{b})"));
                }
                for x in [a, b] {
                    if last[x] == i {
                        return Err(format!("{phase:?} round {k}: rank {x} twice"));
                    }
                    last[x] = i;
                }
            }
        }
        Ok(())
    }
}

/// `kind` of a [`RailLinksReport`] file.
pub const RAIL_LINKS_KIND: &str = "rail-links";
pub const RAIL_LINKS_SCHEMA_VERSION: u32 = 1;

/// Index of node pair `a < b` in a row-major upper triangle of `n` nodes:
/// (0,1), (0,2), …, (0,n−1), (1,2), …
pub fn tri_index(n: usize, a: usize, b: usize) -> usize {
    let (a, b) = (a.min(b), a.max(b));
    debug_assert!(a < b && b < n);
    a * (2 * n - a - 1) / 2 + (b - a - 1)
}

/// One measured link as a record: a cross-rail sample, an intra-node pair, or an outlier
/// of the same-rail triangles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RailLink {
    /// Ranks, `a < b`.
    pub a: usize,
    pub b: usize,
    pub node_a: usize,
    pub node_b: usize,
    pub rail_a: usize,
    pub rail_b: usize,
    pub phase: Phase,
    /// Round within the phase.
    pub round: usize,
    /// a → b alone in its pair, GB/s.
    pub uni_gbs: f64,
    /// Each direction while both run, GB/s (the slower direction).
    pub bi_gbs: f64,
    /// Half the round-trip time of a small message, µs.
    pub latency_us: f64,
}

/// The same-rail links of one rail: entry [`tri_index`]`(nodes, a, b)` is node pair
/// `a < b`; `null` where not measured. Integers in MB/s (0.001 GB/s) and ns, rounded:
/// the same resolution as 3 decimals of GB/s and µs, written faster than floats (4.19 M
/// entries per quantity at 1,024 nodes × 8 rails: 0.55 s against 0.92 s as `f32`,
/// docs/DIAGNOSIS.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RailMatrix {
    pub rail: usize,
    /// One way, MB/s.
    pub uni_mb_per_s: Vec<Option<u32>>,
    /// Each direction while both run, MB/s.
    pub bi_mb_per_s: Vec<Option<u32>>,
    pub latency_ns: Vec<Option<u32>>,
}

/// `x · 1000`, rounded, saturating at 0 and `u32::MAX` (NaN: 0).
fn milli(x: f64) -> u32 {
    (x * 1000.0).round() as u32
}

/// Rounds per phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRounds {
    pub rail: usize,
    pub cross: usize,
    pub intra: usize,
}

/// What `links --backend nccl|hccl|mpi` measures on a rail cluster (`tool` "xccl-bench",
/// `kind` "rail-links").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RailLinksReport {
    pub tool: String,
    pub kind: String,
    pub schema_version: u32,
    /// "nccl", "hccl" or "mpi".
    pub backend: String,
    pub nodes: usize,
    pub rail_of_device: Vec<usize>,
    /// Message size of the bandwidth measurement, bytes.
    pub size_bytes: u64,
    /// Timed iterations per measurement.
    pub iters: usize,
    pub rounds: PhaseRounds,
    /// Same-rail links, one triangle per rail, in rail order.
    pub rails: Vec<RailMatrix>,
    /// Cross-rail samples, in the order measured (none with one rail).
    pub cross: Vec<RailLink>,
    /// Intra-node pairs (NVLink/NVSwitch, HCCS or PCIe), in the order measured (none with
    /// one device per node).
    pub intra: Vec<RailLink>,
    /// Same-rail links singled out (filled by the diagnosis), as records.
    #[serde(default)]
    pub outliers: Vec<RailLink>,
}

impl RailLinksReport {
    /// An empty record for `plan`: triangles of `null`, no samples.
    pub fn new(plan: &RailPlan, backend: &str, size_bytes: u64, iters: usize) -> Self {
        let pairs = plan.nodes * plan.nodes.saturating_sub(1) / 2;
        RailLinksReport {
            tool: "xccl-bench".into(),
            kind: RAIL_LINKS_KIND.into(),
            schema_version: RAIL_LINKS_SCHEMA_VERSION,
            backend: backend.into(),
            nodes: plan.nodes,
            rail_of_device: plan.rail_of_device.clone(),
            size_bytes,
            iters,
            rounds: PhaseRounds {
                rail: plan.rail.len(),
                cross: plan.cross.len(),
                intra: plan.intra.len(),
            },
            rails: (0..plan.devices())
                .map(|rail| RailMatrix {
                    rail,
                    uni_mb_per_s: vec![None; pairs],
                    bi_mb_per_s: vec![None; pairs],
                    latency_ns: vec![None; pairs],
                })
                .collect(),
            cross: vec![],
            intra: vec![],
            outliers: vec![],
        }
    }

    /// Records the measurement of pair `(a, b)` of `phase`'s round `round`: into its
    /// rail's triangle for [`Phase::Rail`], as a record otherwise.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        plan: &RailPlan,
        phase: Phase,
        round: usize,
        (a, b): (usize, usize),
        uni_gbs: f64,
        bi_gbs: f64,
        latency_us: f64,
    ) {
        let (a, b) = (a.min(b), a.max(b));
        match phase {
            Phase::Rail => {
                let m = &mut self.rails[plan.rail_of(a)];
                let i = tri_index(plan.nodes, plan.node_of(a), plan.node_of(b));
                m.uni_mb_per_s[i] = Some(milli(uni_gbs));
                m.bi_mb_per_s[i] = Some(milli(bi_gbs));
                m.latency_ns[i] = Some(milli(latency_us));
            }
            Phase::Cross | Phase::Intra => {
                let link = RailLink {
                    a,
                    b,
                    node_a: plan.node_of(a),
                    node_b: plan.node_of(b),
                    rail_a: plan.rail_of(a),
                    rail_b: plan.rail_of(b),
                    phase,
                    round,
                    uni_gbs,
                    bi_gbs,
                    latency_us,
                };
                if phase == Phase::Cross {
                    self.cross.push(link)
                } else {
                    self.intra.push(link)
                }
            }
        }
    }

    /// The same-rail link of nodes `a ≠ b` on `rail` as a record (its round recomputed
    /// by [`schedule::circle_round_of`]); `None` if not measured.
    pub fn same_rail(&self, plan: &RailPlan, rail: usize, a: usize, b: usize) -> Option<RailLink> {
        let m = &self.rails[rail];
        let i = tri_index(self.nodes, a, b);
        let (na, nb) = (a.min(b), a.max(b));
        Some(RailLink {
            a: plan.rank_on_rail(na, rail),
            b: plan.rank_on_rail(nb, rail),
            node_a: na,
            node_b: nb,
            rail_a: rail,
            rail_b: rail,
            phase: Phase::Rail,
            round: schedule::circle_round_of(self.nodes, a, b),
            uni_gbs: m.uni_mb_per_s[i]? as f64 / 1000.0,
            bi_gbs: m.bi_mb_per_s[i]? as f64 / 1000.0,
            latency_us: m.latency_ns[i]? as f64 / 1000.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn identity(r: usize) -> Vec<usize> {
        (0..r).collect()
    }

    /// Everything the module documentation promises, checked pair by pair.
    fn check_shape(n: usize, map: &[usize], opts: RailOptions) {
        let r = map.len();
        let p = RailPlan::new(n, map, opts).unwrap();
        let ctx = format!("N={n} R={r} map={map:?}");
        p.check().unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(p.rail.len(), schedule::circle_rounds(n), "{ctx}");
        assert_eq!(p.intra.len(), schedule::circle_rounds(r), "{ctx}");
        let want_cross = if n >= 2 && r >= 2 {
            opts.cross_rounds.unwrap_or(r - 1)
        } else {
            0
        };
        assert_eq!(p.cross.len(), want_cross, "{ctx}");

        // Same rail: every node pair exactly once per rail, both ends on that rail.
        let mut seen = BTreeSet::new();
        for &(a, b) in p.rail.iter().flatten() {
            assert_eq!(p.rail_of(a), p.rail_of(b), "{ctx}");
            assert_ne!(p.node_of(a), p.node_of(b), "{ctx}");
            assert!(
                seen.insert((p.rail_of(a), p.node_of(a), p.node_of(b))),
                "{ctx}: twice"
            );
        }
        assert_eq!(seen.len(), r * n * n.saturating_sub(1) / 2, "{ctx}");

        // Intra: every device pair of every node exactly once.
        let mut seen = BTreeSet::new();
        for &(a, b) in p.intra.iter().flatten() {
            assert_eq!(p.node_of(a), p.node_of(b), "{ctx}");
            assert!(seen.insert((a, b)), "{ctx}: intra ({a},{b}) twice");
        }
        assert_eq!(seen.len(), n * r * r.saturating_sub(1) / 2, "{ctx}");

        // Cross: different rails and nodes; every ordered rail pair (i, j), i ≠ j
        // (i on the lower node), sampled at least once.
        let mut rails = BTreeSet::new();
        for &(a, b) in p.cross.iter().flatten() {
            assert_ne!(p.rail_of(a), p.rail_of(b), "{ctx}");
            assert!(p.node_of(a) < p.node_of(b), "{ctx}");
            rails.insert((p.rail_of(a), p.rail_of(b)));
        }
        if n >= 2 && want_cross >= r.saturating_sub(1) {
            assert_eq!(rails.len(), r * r.saturating_sub(1), "{ctx}: {rails:?}");
        }
        if opts == RailOptions::default() && n >= 2 {
            let samples: usize = p.cross.iter().map(Vec::len).sum();
            assert_eq!(samples, r * r.saturating_sub(1) * (n / 2), "{ctx}");
        }
    }

    #[test]
    fn small_shapes_exhaustively() {
        for n in 0..=9 {
            for r in 1..=4 {
                check_shape(n, &identity(r), RailOptions::default());
                // Device d on rail R−1−d: the NICs wired the other way round.
                let rev: Vec<usize> = (0..r).rev().collect();
                check_shape(n, &rev, RailOptions::default());
                for opts in [
                    RailOptions {
                        cross_rounds: Some(2 * r + 1),
                        cross_node_pairs: None,
                    },
                    RailOptions {
                        cross_rounds: None,
                        cross_node_pairs: Some(1),
                    },
                    RailOptions {
                        cross_rounds: Some(0),
                        cross_node_pairs: None,
                    },
                ] {
                    check_shape(n, &identity(r), opts);
                }
            }
        }
        check_shape(5, &[2, 0, 3, 1, 4], RailOptions::default());
        check_shape(6, &[1, 2, 0], RailOptions::default());
    }

    #[test]
    fn cluster_of_1024_nodes_by_8_rails_counts() {
        let p = RailPlan::new(1024, &identity(8), RailOptions::default()).unwrap();
        assert_eq!((p.rail.len(), p.cross.len(), p.intra.len()), (1023, 7, 7));
        assert!(p.rail.iter().all(|r| r.len() == 8 * 512));
        assert!(p.cross.iter().all(|r| r.len() == 8 * 512));
        assert!(p.intra.iter().all(|r| r.len() == 1024 * 4));
        let same: usize = p.rail.iter().map(Vec::len).sum();
        assert_eq!(same, 8 * 1024 * 1023 / 2); // 4,190,208
        assert_eq!(p.all_rounds().count(), 1037);
        p.check().unwrap();
    }

    #[test]
    fn rail_map_must_be_a_permutation() {
        assert!(RailPlan::new(4, &[0, 0], RailOptions::default()).is_err());
        assert!(RailPlan::new(4, &[0, 2], RailOptions::default()).is_err());
        let p = RailPlan::new(2, &[1, 0], RailOptions::default()).unwrap();
        // Device 1 of each node is on rail 0: rail 0's pair is ranks 1 and 3.
        assert_eq!(p.rail, vec![vec![(1, 3), (0, 2)]]);
        assert_eq!(p.rank_on_rail(1, 0), 3);
    }

    #[test]
    fn tri_index_is_dense_row_major() {
        for n in 2..=9 {
            let mut k = 0;
            for a in 0..n {
                for b in a + 1..n {
                    assert_eq!(tri_index(n, a, b), k);
                    assert_eq!(tri_index(n, b, a), k);
                    k += 1;
                }
            }
            assert_eq!(k, n * (n - 1) / 2);
        }
    }

    #[test]
    fn report_records_every_pair_of_the_plan() {
        let p = RailPlan::new(5, &[1, 2, 0], RailOptions::default()).unwrap();
        let mut rep = RailLinksReport::new(&p, "nccl", 1 << 20, 10);
        for (phase, k, round) in p.all_rounds() {
            for &(a, b) in round {
                rep.record(&p, phase, k, (a, b), (a + b) as f64 + 0.25, 1.0, 2.0);
            }
        }
        assert_eq!(
            rep.rounds,
            PhaseRounds {
                rail: 5,
                cross: 2,
                intra: 3
            }
        );
        assert!(rep
            .rails
            .iter()
            .all(|m| m.uni_mb_per_s.iter().all(Option::is_some)));
        assert_eq!(rep.intra.len(), 5 * 3);
        assert_eq!(rep.cross.len(), 3 * 2 * 2);
        // A triangle entry expands back to the pair and round it was measured in.
        for (k, round) in p.rail.iter().enumerate() {
            for &(a, b) in round {
                let l = rep
                    .same_rail(&p, p.rail_of(a), p.node_of(a), p.node_of(b))
                    .unwrap();
                assert_eq!(
                    (l.a, l.b, l.round, l.uni_gbs),
                    (a, b, k, (a + b) as f64 + 0.25)
                );
            }
        }
        let fresh = RailLinksReport::new(&p, "nccl", 1 << 20, 10);
        assert_eq!(fresh.same_rail(&p, 0, 0, 1), None);
    }

    #[test]
    fn report_json_round_trips() {
        let p = RailPlan::new(3, &[0, 1], RailOptions::default()).unwrap();
        let mut rep = RailLinksReport::new(&p, "hccl", 4096, 3);
        rep.record(&p, Phase::Rail, 0, p.rail[0][0], 21.5, 20.25, 3.5);
        rep.record(&p, Phase::Cross, 0, p.cross[0][0], 20.0, 19.0, 4.0);
        rep.record(&p, Phase::Intra, 0, p.intra[0][0], 150.0, 140.0, 1.5);
        let text = serde_json::to_string(&rep).unwrap();
        assert!(text.contains(r#""kind":"rail-links""#), "{text}");
        assert!(text.contains(r#""phase":"cross""#), "{text}");
        assert!(text.contains("null"), "unmeasured entries are null: {text}");
        let back: RailLinksReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, rep);
    }
}
