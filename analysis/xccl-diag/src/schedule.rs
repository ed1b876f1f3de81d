//! Which pairs of nodes measure at the same time.
//!
//! Measuring every pair one after the other takes N(N−1)/2 rounds. The circle method
//! (round-robin tournament; SuperBench schedules node pairs the same way, docs/SOURCES.md
//! [superbench]) pairs every node with every other exactly once in N−1 rounds of N/2
//! disjoint pairs for even N, and N rounds with one node idle ("bye") per round for odd N.
//! Disjoint pairs do not share a NIC, so they can run at once; they may share a switch
//! uplink, which the expected rates in [`crate::links`] account for.
//!
//! [`Screen`] plans the O(log N) screen for large clusters: halves of the nodes run a
//! collective at once, the groups that fall short are halved again, and the nodes of the
//! smallest failing groups are the suspects the pairwise test then confirms.

/// Rounds of disjoint pairs `(a, b)` with `a < b` covering every pair of `0..n` once.
pub fn circle(n: usize) -> Vec<Vec<(usize, usize)>> {
    if n < 2 {
        return vec![];
    }
    let m = if n.is_multiple_of(2) { n } else { n + 1 }; // m−1 is a bye when n is odd
    let fixed = m - 1;
    let ring = m - 1; // the others rotate around a circle of m−1 seats
    (0..ring)
        .map(|r| {
            let mut round = Vec::with_capacity(m / 2);
            let mut push = |a: usize, b: usize| {
                if a < n && b < n {
                    round.push((a.min(b), a.max(b)));
                }
            };
            push(r, fixed);
            for k in 1..m / 2 {
                push((r + k) % ring, (r + ring - k) % ring);
            }
            round
        })
        .collect()
}

/// Number of rounds [`circle`] uses: N−1 for even N, N for odd N.
pub fn circle_rounds(n: usize) -> usize {
    match n {
        0 | 1 => 0,
        n if n.is_multiple_of(2) => n - 1,
        n => n,
    }
}

/// The round of [`circle`]`(n)` that holds the pair `{a, b}` (`a ≠ b`, both `< n`), without
/// building the schedule: seat `m−1` (the fixed seat, or the bye for odd `n`) meets seat `r`
/// in round `r`; two rotating seats `x, y` meet when `x + y ≡ 2r (mod m−1)`, and `m−1` is odd,
/// so `r = (x + y)·m/2 mod (m−1)` (m/2 is the inverse of 2 modulo m−1).
pub fn circle_round_of(n: usize, a: usize, b: usize) -> usize {
    assert!(a != b && a < n && b < n, "circle_round_of({n}, {a}, {b})");
    let m = if n.is_multiple_of(2) { n } else { n + 1 };
    let ring = m - 1;
    let (lo, hi) = (a.min(b), a.max(b));
    if hi == ring {
        return lo;
    }
    ((lo + hi) % ring) * (m / 2) % ring
}

/// The bisection screen: groups to run now, refined by which of them fell short.
#[derive(Clone, Debug)]
pub struct Screen {
    groups: Vec<Vec<usize>>,
    suspects: Vec<usize>,
    rounds: usize,
}

impl Screen {
    /// Starts with the two halves of `0..n` (nothing to screen below 4 nodes: the pairwise
    /// test is as cheap).
    pub fn new(n: usize) -> Screen {
        let all: Vec<usize> = (0..n).collect();
        let groups = if n >= 4 { halves(&all) } else { vec![] };
        Screen {
            groups,
            suspects: if n < 4 { all } else { vec![] },
            rounds: 0,
        }
    }

    /// Groups to run in the next round (all at once); empty when the screen is done.
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// Records which groups of [`Screen::groups`] fell short; returns whether another
    /// round is needed. A failing group of 3 or fewer nodes is not split again: its
    /// nodes become suspects (a group of 2 cannot tell which end is slow).
    pub fn report(&mut self, short: &[bool]) -> bool {
        assert_eq!(short.len(), self.groups.len(), "one result per group");
        self.rounds += 1;
        let mut next = vec![];
        for (g, &bad) in self.groups.iter().zip(short) {
            if !bad {
                continue;
            }
            if g.len() <= 3 {
                self.suspects.extend(g);
            } else {
                next.extend(halves(g));
            }
        }
        self.suspects.sort_unstable();
        self.groups = next;
        !self.groups.is_empty()
    }

    pub fn suspects(&self) -> &[usize] {
        &self.suspects
    }

    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// The nodes the pairwise test then measures, of `n`: the suspects and up to two
    /// nodes that no failing group held (references: two suspects of one group alone
    /// cannot tell which end is slow), in order. Empty when there is no suspect.
    pub fn confirm_nodes(&self, n: usize) -> Vec<usize> {
        if self.suspects.is_empty() {
            return vec![];
        }
        let mut v: Vec<usize> = (0..n)
            .filter(|x| !self.suspects.contains(x))
            .take(2)
            .collect();
        v.extend(&self.suspects);
        v.sort_unstable();
        v
    }
}

/// Which groups of one screen round fall short. `eff[k]` is group k's ring rate over what
/// it should give (`None`: a group of one node, which runs no ring and never falls short).
/// With `absolute` (expectations from a topology) a group falls short below `threshold` of
/// its expectation, so that a fault present in every group is not hidden by the others;
/// and, with or without a topology, below `threshold` × the best group's efficiency of the
/// round (a group much slower than its peers is suspect even when every ring is held back
/// by the hosts). Without a topology the expectation is only relative (`eff` is the bare
/// rate) and a fault slowing every group alike is not seen.
pub fn screen_short(eff: &[Option<f64>], absolute: bool, threshold: f64) -> Vec<bool> {
    let best = eff.iter().flatten().fold(0.0, |a: f64, &b| a.max(b));
    eff.iter()
        .map(|e| match *e {
            None => false,
            Some(e) => e < threshold * best || (absolute && e < threshold),
        })
        .collect()
}

fn halves(g: &[usize]) -> Vec<Vec<usize>> {
    let mid = g.len() / 2;
    vec![g[..mid].to_vec(), g[mid..].to_vec()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::tests::fabric;
    use crate::links::{diagnose, Fabric, Link, Matrix};
    use std::collections::BTreeSet;

    fn check(n: usize) {
        let rounds = circle(n);
        assert_eq!(rounds.len(), circle_rounds(n), "n={n}");
        let mut seen = BTreeSet::new();
        for r in &rounds {
            let mut used = BTreeSet::new();
            for &(a, b) in r {
                assert!(a < b && b < n);
                assert!(
                    used.insert(a) && used.insert(b),
                    "n={n}: node twice in a round"
                );
                assert!(seen.insert((a, b)), "n={n}: pair ({a},{b}) twice");
            }
            // Every node busy in every round for even n; one bye for odd n.
            assert_eq!(r.len(), n / 2, "n={n}");
        }
        assert_eq!(
            seen.len(),
            n * n.saturating_sub(1) / 2,
            "n={n}: every pair once"
        );
    }

    #[test]
    fn circle_covers_every_pair_once() {
        for n in 0..=33 {
            check(n);
        }
        check(100);
        check(257);
    }

    #[test]
    fn round_of_inverts_circle() {
        for n in 2..=33 {
            for (k, round) in circle(n).iter().enumerate() {
                for &(a, b) in round {
                    assert_eq!(circle_round_of(n, a, b), k, "n={n} ({a},{b})");
                    assert_eq!(circle_round_of(n, b, a), k, "n={n} ({b},{a})");
                }
            }
        }
    }

    #[test]
    fn four_nodes_by_hand() {
        // Seats 0,1,2 rotate, 3 fixed: r0 (0,3),(1,2); r1 (1,3),(0,2); r2 (2,3),(0,1).
        assert_eq!(
            circle(4),
            vec![
                vec![(0, 3), (1, 2)],
                vec![(1, 3), (0, 2)],
                vec![(2, 3), (0, 1)]
            ]
        );
        // Odd: seat 3 is the bye: r0 (1,2), r1 (0,2), r2 (0,1); one node idle each time.
        assert_eq!(circle(3), vec![vec![(1, 2)], vec![(0, 2)], vec![(0, 1)]]);
    }

    /// The screen on a cluster whose links give what `truth` expects, judged against `f`;
    /// `host` scales every ring (hosts that cannot drive a ring at the links' rate: 0.45
    /// on the emulated cluster). Then the pairwise test of its confirm nodes, judged by
    /// the rules of `links`. Returns the screen and its findings.
    fn screen(f: &Fabric, truth: &Fabric, host: f64, absolute: bool) -> (Screen, Vec<String>) {
        let n = f.leaf.len();
        let mut s = Screen::new(n);
        while !s.groups().is_empty() {
            let eff: Vec<Option<f64>> = s
                .groups()
                .iter()
                .map(|g| {
                    let ring: Vec<(usize, usize)> =
                        (0..g.len()).map(|i| (g[i], g[(i + 1) % g.len()])).collect();
                    let min = |v: Vec<f64>| v.into_iter().fold(f64::INFINITY, f64::min);
                    let got = host * min(truth.expected(&ring));
                    (g.len() >= 2).then(|| {
                        if absolute {
                            got / min(f.expected(&ring))
                        } else {
                            got
                        }
                    })
                })
                .collect();
            s.report(&screen_short(&eff, absolute, 0.8));
        }
        let nodes = s.confirm_nodes(n);
        (s, pairwise(f, truth, &nodes))
    }

    /// The pairwise test of `nodes` (all disjoint pairs of a round at once) on `truth`,
    /// judged against `f`: its findings as "kind subject", sorted.
    fn pairwise(f: &Fabric, truth: &Fabric, nodes: &[usize]) -> Vec<String> {
        let mut links = vec![];
        for (r, round) in circle(nodes.len()).iter().enumerate() {
            let round: Vec<(usize, usize)> =
                round.iter().map(|&(a, b)| (nodes[a], nodes[b])).collect();
            let uni = truth.expected(&round);
            for (k, &(a, b)) in round.iter().enumerate() {
                links.push(Link {
                    a,
                    b,
                    class: xccl_schema::LinkClass::Rdma,
                    round: r,
                    uni_gbs: 0.93 * uni[k],
                    bi_gbs: 0.45 * uni[k],
                    latency_us: 50.0,
                    expected_gbs: 0.0,
                    efficiency: 0.0,
                    bi_efficiency: 0.0,
                    low: false,
                });
            }
        }
        let mut m = Matrix {
            names: (0..f.leaf.len()).map(|i| format!("n{i}")).collect(),
            links,
            expected_from: String::new(),
        };
        let mut v: Vec<String> = diagnose(&mut m, Some(f))
            .iter()
            .map(|x| format!("{} {}", x.kind, x.subject))
            .collect();
        v.sort();
        v
    }

    fn slow(f: &Fabric, nodes: &[usize]) -> Fabric {
        let mut t = f.clone();
        for &x in nodes {
            t.nic_gbs[x] *= 0.25;
        }
        t
    }

    #[test]
    fn screen_finds_a_slow_nic_on_every_half() {
        // Issue 16's case: 6 nodes (4 + 2 on two leaves), one slow NIC on each half. Both
        // halves fall equally short: judged only against the best group they pass.
        let f = fabric(&[4, 2], 12.5, 25.0);
        let t = slow(&f, &[1, 4]);
        let all: Vec<usize> = (0..6).collect();
        let want = pairwise(&f, &t, &all);
        assert_eq!(want, vec!["slow_node host n1", "slow_node host n4"]);
        for host in [0.95, 0.45] {
            let (s, got) = screen(&f, &t, host, true);
            assert_eq!(got, want, "host {host}");
            assert_eq!(s.rounds(), 1);
        }
        let (s, got) = screen(&f, &t, 0.95, false);
        assert!(
            s.suspects().is_empty() && got.is_empty(),
            "relative only: {got:?}"
        );
    }

    #[test]
    fn screen_on_32_nodes_narrows_each_half_in_log_rounds() {
        let f = fabric(&[8, 8, 8, 8], 50.0, 200.0);
        let t = slow(&f, &[5, 27]);
        let (s, got) = screen(&f, &t, 0.95, true);
        assert_eq!(s.rounds(), 4);
        assert_eq!(s.suspects(), &[4, 5, 26, 27]);
        assert_eq!(s.confirm_nodes(32), vec![0, 1, 4, 5, 26, 27]);
        assert_eq!(got, vec!["slow_node host n27", "slow_node host n5"]);
        assert_eq!(got, pairwise(&f, &t, &(0..32).collect::<Vec<_>>()));
        // Healthy: one round, nothing to confirm.
        let (h, got) = screen(&f, &f, 0.95, true);
        assert_eq!((h.rounds(), h.suspects().len(), got.len()), (1, 0, 0));
    }

    #[test]
    fn screen_finds_what_pairwise_finds_at_any_position() {
        // Odd and even node counts, one or two slow NICs anywhere, hosts that reach the
        // links' rate or not, two leaves with 2:1 oversubscribed uplinks: the screen's
        // findings are the pairwise test's.
        for n in [4, 5, 7, 9, 13, 16] {
            let f = fabric(&[n / 2, n - n / 2], 12.5, 12.5 * (n / 2) as f64 / 2.0);
            let all: Vec<usize> = (0..n).collect();
            for a in 0..n {
                for b in a..n {
                    let t = slow(&f, &if a == b { vec![a] } else { vec![a, b] });
                    let want = pairwise(&f, &t, &all);
                    for host in [0.95, 0.45] {
                        let (_, got) = screen(&f, &t, host, true);
                        assert_eq!(got, want, "n={n} slow {a},{b} host {host}");
                    }
                }
            }
        }
    }

    #[test]
    fn screen_finds_one_slow_node_in_log_rounds() {
        // 16 nodes, node 11 slow: a group fails iff it holds 11.
        // 16 → {8..15} fails → {8..11} fails → {10,11} fails: suspects 10, 11; 3 rounds.
        let mut s = Screen::new(16);
        loop {
            let short: Vec<bool> = s.groups().iter().map(|g| g.contains(&11)).collect();
            if !s.report(&short) {
                break;
            }
        }
        assert_eq!(s.suspects(), &[10, 11]);
        assert_eq!(s.rounds(), 3);
        // Healthy: one round, no suspect.
        let mut h = Screen::new(16);
        assert!(!h.report(&[false, false]));
        assert!(h.suspects().is_empty());
        assert_eq!(h.rounds(), 1);
    }
}
