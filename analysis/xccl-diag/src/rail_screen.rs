//! The O(log N) screen per device on rail clusters (`links --screen` with rails, issue 16).
//!
//! The full plan ([`crate::rail_plan`]) takes N−1 same-rail rounds. The screen instead runs
//! rings (every port sends to the next of its ring and receives from the previous one, all
//! at once) over groups of nodes, every group and every rail in the same round, and halves
//! only what falls short ([`crate::schedule::screen_short`] on each ring's rate over what the
//! topology expects of its flows, the round's other flows sharing the leaf uplinks). Three
//! kinds of ring, each a round of its own (one exchange per device at a time):
//! - **rail** (group, rail r): the group's NICs on rail r, node i → node i+1. Stays on rail
//!   r's leaf: a slow NIC, node or cable shows; so does a NIC cabled to another leaf where
//!   the spine cannot carry a same-rail flow (its flows then climb two uplinks).
//! - **cross** (group): node i's NIC on rail r → node i+1's NIC on rail r+1, every r: every
//!   leaf's uplink climbed and descended by every group at once, so a slow uplink or spine
//!   shows, and a slow NIC too where the uplinks are not the narrower part.
//! - **intra** (node), first level only: device on rail r → device on rail r+1 of the same
//!   node, every node at once: a slow device pair shows.
//!
//! A short ring of more than 3 nodes is halved for the next level; the nodes of a short
//! ring of 3 or fewer, and any node whose intra ring is short, are suspects. A short cross
//! ring is a node's fault only where it is not everyone's: when the cross rings of every
//! group (two at least) fall short while every same-rail ring of the level passes, the
//! part they all share (leaf uplinks, spine) is suspect, and halving nodes cannot localise
//! it; two nodes of each of two groups are then a sample the per-device test loads.
//! The suspects, the sample and up to two references (nodes no short ring held) then go
//! to the per-device pairwise test of [`crate::rail_plan`] on those nodes, judged by the
//! rules of [`crate::rails`] and confirmed alone: the screen's findings are that test's.

use crate::rails::{Port, RailFabric};
use crate::schedule::screen_short;
use serde::{Deserialize, Serialize};

/// Which ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Ring {
    Rail { rail: usize },
    Cross,
    Intra,
}

/// One ring of a round: its kind and its nodes (one node for `Intra`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub ring: Ring,
    pub nodes: Vec<usize>,
}

impl Unit {
    /// Its flows `a → b`, every port of the ring sending one and receiving one.
    pub fn flows(&self, rails: usize) -> Vec<(Port, Port)> {
        let g = &self.nodes;
        let k = g.len();
        let p = |node, rail| Port { node, rail };
        match self.ring {
            Ring::Rail { rail } if k >= 2 => (0..k)
                .map(|i| (p(g[i], rail), p(g[(i + 1) % k], rail)))
                .collect(),
            Ring::Cross if k >= 2 && rails >= 2 => (0..k)
                .flat_map(|i| {
                    (0..rails).map(move |r| (p(g[i], r), p(g[(i + 1) % k], (r + 1) % rails)))
                })
                .collect(),
            Ring::Intra if rails >= 2 => (0..rails)
                .map(|r| (p(g[0], r), p(g[0], (r + 1) % rails)))
                .collect(),
            _ => vec![],
        }
    }
}

/// Every flow of a round of `units`: (ring index, from, to).
fn round_flows(units: &[Unit], rails: usize) -> Vec<(usize, Port, Port)> {
    units
        .iter()
        .enumerate()
        .flat_map(|(k, u)| u.flows(rails).into_iter().map(move |(a, b)| (k, a, b)))
        .collect()
}

/// What flows running at once should give: within a node [`RailFabric::intra_gbs`],
/// across nodes [`RailFabric::expected`] over the inter-node flows of the round.
pub fn expected(f: &RailFabric, flows: &[(Port, Port)]) -> Vec<f64> {
    let inter: Vec<(Port, Port)> = flows
        .iter()
        .copied()
        .filter(|(a, b)| a.node != b.node)
        .collect();
    let mut e = f.expected(&inter).into_iter();
    flows
        .iter()
        .map(|(a, b)| {
            if a.node == b.node {
                f.intra_gbs
            } else {
                e.next().expect("one per inter flow")
            }
        })
        .collect()
}

/// One ring's reading: its slowest port's rate, its flows' least expectation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitResult {
    pub gbs: f64,
    pub expected_gbs: f64,
    pub efficiency: f64,
    pub short: bool,
}

/// Judges a round: `secs(p)` is port p's time to exchange `bytes` with its ring (sending
/// and receiving at once). A ring falls short below `threshold` of what the topology
/// expects of it, or below `threshold` × the best ring's efficiency of the round, that
/// efficiency capped at 1 ([`screen_short`] with expectations).
pub fn judge(
    f: &RailFabric,
    units: &[Unit],
    secs: &dyn Fn(Port) -> f64,
    bytes: f64,
    threshold: f64,
) -> Vec<UnitResult> {
    let all = round_flows(units, f.rails);
    let flows: Vec<(Port, Port)> = all.iter().map(|&(_, a, b)| (a, b)).collect();
    // Per ring: its slowest sender's seconds, its flows' least expectation.
    let mut worst = vec![0.0f64; units.len()];
    let mut least = vec![f64::INFINITY; units.len()];
    for (&(k, a, _), x) in all.iter().zip(expected(f, &flows)) {
        worst[k] = worst[k].max(secs(a));
        least[k] = least[k].min(x);
    }
    let mut out: Vec<UnitResult> = worst
        .iter()
        .zip(&least)
        .map(|(&worst, &e)| {
            let gbs = if worst > 0.0 {
                bytes / worst / 1e9
            } else {
                0.0
            };
            UnitResult {
                gbs,
                expected_gbs: e,
                efficiency: if e > 0.0 && e.is_finite() {
                    gbs / e
                } else {
                    1.0
                },
                short: false,
            }
        })
        .collect();
    // A ring that gives what the topology expects is never short, however much faster
    // its peers run (device pairs within a node often beat a conservative figure).
    let eff: Vec<Option<f64>> = out.iter().map(|r| Some(r.efficiency.min(1.0))).collect();
    for (r, s) in out.iter_mut().zip(screen_short(&eff, true, threshold)) {
        r.short = s;
    }
    out
}

/// The screen's state: the rounds left of the current level, what fell short in it.
#[derive(Clone, Debug)]
pub struct RailScreen {
    rails: usize,
    rounds: Vec<Vec<Unit>>,
    short: Vec<Unit>,
    cross_run: usize,
    held: Vec<bool>,
    suspects: Vec<usize>,
    sample: Vec<usize>,
    done: usize,
}

fn halves(g: &[usize]) -> [Vec<usize>; 2] {
    let mid = g.len() / 2;
    [g[..mid].to_vec(), g[mid..].to_vec()]
}

/// The rounds of one level: rail rings, then cross rings (if any).
fn level(rails: usize, rail: Vec<Unit>, cross: Vec<Unit>) -> Vec<Vec<Unit>> {
    let mut v = vec![];
    if !rail.is_empty() {
        v.push(rail);
    }
    if !cross.is_empty() && rails >= 2 {
        v.push(cross);
    }
    v
}

impl RailScreen {
    /// `nodes` nodes of `rails` rails. Below 4 nodes nothing is screened: every node is a
    /// suspect (the pairwise test is as cheap).
    pub fn new(nodes: usize, rails: usize) -> RailScreen {
        let mut s = RailScreen {
            rails,
            rounds: vec![],
            short: vec![],
            cross_run: 0,
            held: vec![false; nodes],
            suspects: vec![],
            sample: vec![],
            done: 0,
        };
        if nodes < 4 {
            s.suspects = (0..nodes).collect();
            return s;
        }
        let all: Vec<usize> = (0..nodes).collect();
        let h = halves(&all);
        let rail = (0..rails)
            .flat_map(|r| {
                h.iter().map(move |g| Unit {
                    ring: Ring::Rail { rail: r },
                    nodes: g.clone(),
                })
            })
            .collect();
        let cross = h
            .iter()
            .map(|g| Unit {
                ring: Ring::Cross,
                nodes: g.clone(),
            })
            .collect();
        s.rounds = level(rails, rail, cross);
        if rails >= 2 {
            s.rounds.push(
                (0..nodes)
                    .map(|n| Unit {
                        ring: Ring::Intra,
                        nodes: vec![n],
                    })
                    .collect(),
            );
        }
        s
    }

    /// The rings of the next round (all at once); empty when the screen is done.
    pub fn units(&self) -> &[Unit] {
        self.rounds.first().map_or(&[], |r| r.as_slice())
    }

    /// Every flow of the next round: (ring index, from, to).
    pub fn flows(&self) -> Vec<(usize, Port, Port)> {
        round_flows(self.units(), self.rails)
    }

    /// Records which rings of [`RailScreen::units`] fell short; returns whether another
    /// round follows.
    pub fn report(&mut self, short: &[bool]) -> bool {
        assert_eq!(short.len(), self.units().len(), "one result per ring");
        let units = self.rounds.remove(0);
        self.done += 1;
        for (u, &bad) in units.into_iter().zip(short) {
            if u.ring == Ring::Cross {
                self.cross_run += 1;
            }
            if !bad {
                continue;
            }
            for &n in &u.nodes {
                self.held[n] = true;
            }
            if u.ring == Ring::Intra {
                self.suspects.extend(&u.nodes);
            } else {
                self.short.push(u);
            }
        }
        if self.rounds.is_empty() {
            self.next_level();
        }
        self.suspects.sort_unstable();
        self.suspects.dedup();
        !self.rounds.is_empty()
    }

    fn next_level(&mut self) {
        let short = std::mem::take(&mut self.short);
        let cross: Vec<&Unit> = short.iter().filter(|u| u.ring == Ring::Cross).collect();
        let shared =
            self.cross_run >= 2 && cross.len() == self.cross_run && cross.len() == short.len();
        self.cross_run = 0;
        let (mut rail, mut next_cross) = (vec![], vec![]);
        for u in &short {
            if shared && u.ring == Ring::Cross {
                continue;
            }
            if u.nodes.len() <= 3 {
                self.suspects.extend(&u.nodes);
                continue;
            }
            for g in halves(&u.nodes) {
                let v = Unit {
                    ring: u.ring,
                    nodes: g,
                };
                if u.ring == Ring::Cross {
                    next_cross.push(v);
                } else {
                    rail.push(v);
                }
            }
        }
        if shared {
            for u in cross.iter().take(2) {
                self.sample.extend(u.nodes.iter().take(2));
            }
            self.sample.sort_unstable();
        }
        self.rounds = level(self.rails, rail, next_cross);
    }

    /// Rounds run so far.
    pub fn rounds(&self) -> usize {
        self.done
    }

    /// Nodes of short rings of 3 or fewer nodes and of short intra rings.
    pub fn suspects(&self) -> &[usize] {
        &self.suspects
    }

    /// Nodes sampled for a fault of the shared fabric (uplinks, spine).
    pub fn sample(&self) -> &[usize] {
        &self.sample
    }

    /// The nodes the per-device pairwise test then measures: suspects, sample and, with
    /// suspects, up to two nodes no short ring held (references: two suspects of one ring
    /// alone cannot tell which end is slow), in order. Empty when nothing fell short.
    pub fn confirm_nodes(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.suspects.iter().chain(&self.sample).copied().collect();
        if !self.suspects.is_empty() {
            let refs: Vec<usize> = (0..self.held.len())
                .filter(|&x| !self.held[x] && !v.contains(&x))
                .take(2)
                .collect();
            v.extend(refs);
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Screen levels until every ring is of 3 or fewer nodes (halving, the larger half).
pub fn levels(nodes: usize) -> usize {
    if nodes < 4 {
        return 0;
    }
    let (mut s, mut k) = (nodes, 0);
    while s > 3 {
        s = s.div_ceil(2);
        k += 1;
    }
    k
}

/// Screen rounds at most: a rail and a cross round per level, the intra round once.
pub fn max_rounds(nodes: usize, rails: usize) -> usize {
    let per_level = if rails >= 2 { 2 } else { 1 };
    per_level * levels(nodes) + usize::from(rails >= 2 && nodes >= 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rails::tests::{confirmed, fabric, kinds, Sim, NIC};
    use std::collections::BTreeMap;
    use xccl_schema::finding::FindingKind;

    /// The screen on the cluster `sim` (its truth, its slow device pairs), judged against
    /// `declared`; every ring at 0.93 × `host` of what the truth gives it (hosts that
    /// cannot drive a ring at the links' rate: below 0.8).
    fn screen(sim: &Sim, declared: &RailFabric, host: f64) -> RailScreen {
        let rails = declared.rails;
        let mut s = RailScreen::new(declared.nodes.len(), rails);
        while !s.units().is_empty() {
            let units = s.units().to_vec();
            let flows = s.flows();
            let ab: Vec<(Port, Port)> = flows.iter().map(|&(_, a, b)| (a, b)).collect();
            let mut rate: BTreeMap<Port, f64> = BTreeMap::new();
            for ((a, b), e) in ab.iter().zip(expected(&sim.truth, &ab)) {
                let (i, j) = (a.rail.min(b.rail), a.rail.max(b.rail));
                let f = if a.node == b.node {
                    sim.intra.get(&(a.node, i, j)).copied().unwrap_or(1.0)
                } else {
                    1.0
                };
                let r = 0.93 * host * e * f;
                for p in [*a, *b] {
                    let x = rate.entry(p).or_insert(f64::INFINITY);
                    *x = x.min(r);
                }
            }
            let res = judge(declared, &units, &|p| 1.0 / rate[&p], 1e9, 0.8);
            let short: Vec<bool> = res.iter().map(|r| r.short).collect();
            s.report(&short);
        }
        s
    }

    /// The findings of the per-device test (judged, confirmed alone) on `nodes` only.
    fn pairwise(sim: &Sim, declared: &RailFabric, nodes: &[usize]) -> Vec<(FindingKind, String)> {
        if nodes.is_empty() {
            return vec![];
        }
        let mut sub = Sim::new(sim.truth.subset(nodes));
        sub.noise = sim.noise;
        sub.seed = sim.seed;
        for (&(n, i, j), &f) in &sim.intra {
            if let Some(k) = nodes.iter().position(|&x| x == n) {
                sub.intra.insert((k, i, j), f);
            }
        }
        let (found, _, _) = confirmed(&sub, &declared.subset(nodes), &sub);
        kinds(&found)
    }

    /// The screen's findings equal the full test's, and `culprits` (nodes) are among the
    /// screen's own suspects or sample, not only its references. Returns the screen.
    fn same(sim: &Sim, declared: &RailFabric, culprits: &[usize], what: &str) -> RailScreen {
        let n = declared.nodes.len();
        let all: Vec<usize> = (0..n).collect();
        let want = pairwise(sim, declared, &all);
        for host in [0.95, 0.45] {
            let s = screen(sim, declared, host);
            let got = pairwise(sim, declared, &s.confirm_nodes());
            assert_eq!(
                got,
                want,
                "{what} host {host}: screen {:?}",
                s.confirm_nodes()
            );
            for c in culprits {
                assert!(
                    s.suspects().contains(c) || s.sample().contains(c),
                    "{what} host {host}: node {c} not found by the screen ({:?}, sample {:?})",
                    s.suspects(),
                    s.sample()
                );
            }
            assert!(s.rounds() <= max_rounds(n, declared.rails), "{what}");
        }
        screen(sim, declared, 0.95)
    }

    const SHAPES: [(usize, usize); 6] = [(32, 8), (5, 2), (7, 4), (33, 8), (6, 4), (4, 2)];

    #[test]
    fn healthy_takes_one_level_and_confirms_nothing() {
        for (n, rails) in SHAPES {
            for spine in [None, Some(0.5 * NIC)] {
                let f = fabric(n, rails, spine);
                let s = same(&Sim::new(f.clone()), &f, &[], &format!("{n}x{rails}"));
                assert!(s.confirm_nodes().is_empty(), "{n}x{rails}");
                assert_eq!(s.rounds(), 3, "{n}x{rails}: rail, cross, intra");
            }
        }
    }

    #[test]
    fn a_slow_nic_anywhere_is_found_as_the_full_test_finds_it() {
        for (n, rails) in SHAPES {
            for spine in [None, Some(0.5 * NIC)] {
                let f = fabric(n, rails, spine);
                for node in [0, n / 2, n - 1] {
                    for rail in [0, rails - 1] {
                        let mut sim = Sim::new(f.clone());
                        sim.truth.nic_gbs[node][rail] *= 0.25;
                        sim.noise = 0.05;
                        let what = format!("{n}x{rails} {spine:?} nic ({node}, {rail})");
                        let s = same(&sim, &f, &[node], &what);
                        assert!(s.confirm_nodes().len() <= 5, "{what}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_slow_nic_on_each_half_first_and_last_node() {
        for (n, rails) in SHAPES {
            let f = fabric(n, rails, Some(0.5 * NIC));
            let mut sim = Sim::new(f.clone());
            sim.truth.nic_gbs[0][0] *= 0.25;
            sim.truth.nic_gbs[n - 1][rails - 1] *= 0.25;
            let what = format!("{n}x{rails} halves");
            same(&sim, &f, &[0, n - 1], &what);
            let (found, _, _) = confirmed(&sim, &f, &sim);
            assert!(
                kinds(&found).iter().all(|k| k.0 == FindingKind::SlowNic
                    && (k.1.contains("n1 ") || k.1.contains(&format!("n{n} ")))),
                "{what}: {found:?}"
            );
        }
    }

    #[test]
    fn a_slow_node_a_slow_device_pair_and_a_miswired_nic() {
        for (n, rails) in SHAPES {
            let f = fabric(n, rails, Some(0.5 * NIC));
            for node in [0, n - 1] {
                let mut sim = Sim::new(f.clone());
                for r in 0..rails {
                    sim.truth.nic_gbs[node][r] *= 0.25;
                }
                same(&sim, &f, &[node], &format!("{n}x{rails} slow node {node}"));
                let mut sim = Sim::new(f.clone());
                sim.intra.insert((node, 0, rails - 1), 0.3);
                same(
                    &sim,
                    &f,
                    &[node],
                    &format!("{n}x{rails} device pair {node}"),
                );
                for spine in [0.0, 0.5 * NIC] {
                    let f = fabric(n, rails, Some(spine));
                    let mut sim = Sim::new(f.clone());
                    sim.truth.nic_leaf[node][rails - 1] = 0;
                    let what = format!("{n}x{rails} spine {spine} miswired {node}");
                    same(&sim, &f, &[node], &what);
                }
            }
        }
    }

    #[test]
    fn a_slow_uplink_is_sampled_not_bisected() {
        for (n, rails) in SHAPES {
            for leaf in [0, rails - 1] {
                let f = fabric(n, rails, Some(0.5 * NIC));
                let mut sim = Sim::new(f.clone());
                sim.truth.leaf_spine_gbs[leaf] *= 0.25;
                let what = format!("{n}x{rails} uplink {leaf}");
                let s = same(&sim, &f, &[], &what);
                // Every group's cross ring short, every rail ring fine: one level, a sample.
                assert!(s.suspects().is_empty(), "{what}: {:?}", s.suspects());
                assert_eq!(s.sample().len(), 4, "{what}");
                assert_eq!(s.rounds(), 3, "{what}");
                let (found, _, _) = confirmed(&sim, &f, &sim);
                assert!(
                    kinds(&found).iter().all(|k| k.0 == FindingKind::SlowUplink)
                        && !found.is_empty(),
                    "{what}: {found:?}"
                );
            }
        }
    }

    #[test]
    fn thirty_two_by_eight_narrows_a_slow_nic_in_log_rounds() {
        let f = fabric(32, 8, None);
        let mut sim = Sim::new(f.clone());
        sim.truth.nic_gbs[27][5] *= 0.25;
        let s = screen(&sim, &f, 0.95);
        assert_eq!(s.suspects(), &[26, 27]);
        assert_eq!(s.confirm_nodes(), vec![0, 1, 26, 27]);
        // 4 levels (16, 8, 4, 2 nodes) of a rail and a cross round, the intra round once.
        assert_eq!(s.rounds(), 9);
        assert_eq!(max_rounds(32, 8), 9);
    }

    #[test]
    fn a_ring_at_its_expectation_is_not_short_beside_faster_ones() {
        // Intra rings at 22x and 34x a conservative figure: neither is short.
        let f = fabric(4, 2, None);
        let units: Vec<Unit> = (0..2)
            .map(|n| Unit {
                ring: Ring::Intra,
                nodes: vec![n],
            })
            .collect();
        let secs = |p: Port| 1.0 / (f.intra_gbs * if p.node == 0 { 22.0 } else { 34.0 });
        let res = judge(&f, &units, &secs, 1e9, 0.8);
        assert!(res.iter().all(|r| !r.short), "{res:?}");
        // One at 0.5 of its expectation is.
        let secs = |p: Port| 1.0 / (f.intra_gbs * if p.node == 0 { 0.5 } else { 34.0 });
        let res = judge(&f, &units, &secs, 1e9, 0.8);
        assert_eq!(
            res.iter().map(|r| r.short).collect::<Vec<_>>(),
            [true, false]
        );
    }

    #[test]
    fn round_arithmetic() {
        assert_eq!((levels(3), levels(4), levels(5), levels(7)), (0, 1, 1, 2));
        assert_eq!(levels(1024), 9);
        assert_eq!(max_rounds(1024, 8), 19);
        assert_eq!(max_rounds(1024, 1), 9);
    }

    #[test]
    fn rings_send_and_receive_once_per_port() {
        for (n, rails) in SHAPES {
            let s = RailScreen::new(n, rails);
            let mut s = s;
            while !s.units().is_empty() {
                let mut out = BTreeMap::new();
                let mut inn = BTreeMap::new();
                for (_, a, b) in s.flows() {
                    assert!(out.insert(a, b).is_none(), "{n}x{rails}: {a:?} sends twice");
                    assert!(
                        inn.insert(b, a).is_none(),
                        "{n}x{rails}: {b:?} receives twice"
                    );
                }
                assert_eq!(out.len(), inn.len());
                let k = s.units().len();
                s.report(&vec![true; k]);
            }
        }
    }
}
