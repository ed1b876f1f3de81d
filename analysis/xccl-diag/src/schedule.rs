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
}

fn halves(g: &[usize]) -> Vec<Vec<usize>> {
    let mid = g.len() / 2;
    vec![g[..mid].to_vec(), g[mid..].to_vec()]
}

#[cfg(test)]
mod tests {
    use super::*;
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
