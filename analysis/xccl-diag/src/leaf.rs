//! Which nodes share a leaf switch, inferred from measurement, against the topology file.
//!
//! Latency cannot tell a leaf from its neighbour (one more switch hop is sub-microsecond
//! on real fabrics and nothing on the emulated one). Contention can: two flows `a → b`
//! and `c → d` between four distinct nodes, run at once, slow each other down only when
//! they share a bottleneck beyond the NICs, i.e. an uplink both climb (or descend) in the
//! same direction. So a pair `{a, b}` *crosses* an uplink when some disjoint pair's flow
//! slows down together with it; a pair that never slows down with any other stays inside
//! a leaf. Leaves are then the connected components of "never contends" ([`infer`]).
//!
//! Limits: it needs contention, i.e. an oversubscribed uplink (a non-blocking fabric shows
//! none, and then nothing can be inferred: every node looks like one leaf) and at least
//! two nodes on each side of an uplink (a node alone under a leaf has its NIC as its
//! uplink: the same caveat as `slow_uplink` in [`crate::links`]).
//!
//! [`compare`] maps each measured group to the declared leaf holding most of its nodes
//! (greedily, the largest overlap first, each leaf used once) and names every node that
//! sits elsewhere than declared: `misplaced_node`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use xccl_schema::finding::{Finding, FindingKind, Subject};

/// A flow slowed to below this share of its rate alone counts as contended: two flows on
/// one bottleneck get about half each; 0.75 leaves room for noise on either side.
pub const CONTENDED: f64 = 0.75;

/// One contention test: flows `a → b` and `c → d` at once, each one's rate over its rate
/// alone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Test {
    pub a: usize,
    pub b: usize,
    pub c: usize,
    pub d: usize,
    pub ab_share: f64,
    pub cd_share: f64,
}

impl Test {
    /// Both flows slowed down: they share a bottleneck.
    pub fn contended(&self) -> bool {
        self.ab_share < CONTENDED && self.cd_share < CONTENDED
    }
}

/// Version of the `topo validate --json` file.
pub const VALIDATE_SCHEMA_VERSION: u32 = 1;

/// One contention test as `topo validate --json` writes it (hosts by name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestRecord {
    pub a: String,
    pub b: String,
    pub c: String,
    pub d: String,
    pub ab_share: f64,
    pub cd_share: f64,
    pub contended: bool,
}

/// What `xccl-bench topo validate --json` writes: the leaf groups inferred from
/// contention beside the switches the file declares, and the findings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidateReport {
    pub tool: String,
    /// `topo-validate`.
    pub kind: String,
    #[serde(default = "one")]
    pub schema_version: u32,
    /// The topology file checked.
    pub file: String,
    pub hosts: Vec<String>,
    /// Declared leaf switch of each host (`-`: none).
    pub declared: Vec<String>,
    pub wall_s: f64,
    pub tests: Vec<TestRecord>,
    /// Hosts that behave as if they shared a leaf switch.
    pub groups: Vec<Vec<String>>,
    /// Load tests of the declared uplinks (`crate::uplink`); absent in older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uplinks: Vec<crate::uplink::UplinkRecord>,
    pub findings: Vec<Finding>,
}

fn one() -> u32 {
    1
}

/// The tests to run for `n` nodes: every unordered pair of disjoint pairs, in both
/// relative directions (`a → b` with `c → d`, and with `d → c`): an uplink is full duplex,
/// so only flows in the same direction share it.
pub fn plan(n: usize) -> Vec<(usize, usize, usize, usize)> {
    let mut pairs = vec![];
    for a in 0..n {
        for b in a + 1..n {
            pairs.push((a, b));
        }
    }
    let mut out = vec![];
    for (i, &(a, b)) in pairs.iter().enumerate() {
        for &(c, d) in &pairs[i + 1..] {
            if a == c || a == d || b == c || b == d {
                continue;
            }
            out.push((a, b, c, d));
            out.push((a, b, d, c));
        }
    }
    out
}

/// Leaf groups of `0..n` from the tests: nodes joined by a pair that never contended.
/// Groups are sorted by their smallest node.
pub fn infer(n: usize, tests: &[Test]) -> Vec<Vec<usize>> {
    let mut crosses = vec![vec![false; n]; n];
    for t in tests.iter().filter(|t| t.contended()) {
        for (x, y) in [(t.a, t.b), (t.c, t.d)] {
            crosses[x][y] = true;
            crosses[y][x] = true;
        }
    }
    // Union-find over pairs that never crossed.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while p[r] != r {
            r = p[r];
        }
        p[x] = r;
        r
    }
    for (a, row) in crosses.iter().enumerate() {
        for (b, &crossed) in row.iter().enumerate().skip(a + 1) {
            if !crossed {
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for x in 0..n {
        let r = root(&mut parent, x);
        groups.entry(r).or_default().push(x);
    }
    groups.into_values().collect()
}

/// `misplaced_node` for every node whose measured group maps to another leaf than the
/// one `declared` (leaf name per node) says. `names`: host per node.
pub fn compare(groups: &[Vec<usize>], declared: &[String], names: &[String]) -> Vec<Finding> {
    // Overlaps (count, group, leaf), the largest first; ties by group then leaf name.
    let mut leaves: Vec<&String> = declared.iter().collect();
    leaves.sort();
    leaves.dedup();
    let mut cand = vec![];
    for (g, members) in groups.iter().enumerate() {
        for l in &leaves {
            let k = members.iter().filter(|&&m| &declared[m] == *l).count();
            if k > 0 {
                cand.push((k, g, (*l).clone()));
            }
        }
    }
    cand.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut leaf_of_group: Vec<Option<String>> = vec![None; groups.len()];
    let mut used: Vec<String> = vec![];
    for (_, g, l) in cand {
        if leaf_of_group[g].is_none() && !used.contains(&l) {
            leaf_of_group[g] = Some(l.clone());
            used.push(l);
        }
    }
    let mut out = vec![];
    for (g, members) in groups.iter().enumerate() {
        for &m in members {
            let measured_leaf = leaf_of_group[g].as_deref();
            if measured_leaf == Some(declared[m].as_str()) {
                continue;
            }
            let with: Vec<String> = members
                .iter()
                .filter(|&&o| o != m)
                .map(|&o| names[o].clone())
                .collect();
            let with_s = if with.is_empty() {
                "no other node".to_string()
            } else {
                with.join(", ")
            };
            out.push(Finding {
                kind: FindingKind::MisplacedNode,
                subject: Subject::Placement {
                    host: names[m].clone(),
                    declared: declared[m].clone(),
                    measured: with_s.clone(),
                },
                evidence: format!(
                    "its flows never contend with those of {with_s} (the same leaf{}), while \
                     flows between it and the nodes declared under {} share an uplink",
                    measured_leaf.map_or(String::new(), |l| format!(", declared {l}")),
                    declared[m],
                ),
                metrics: BTreeMap::new(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a fabric with leaves `leaf[node]` and oversubscribed uplinks measures: flows
    /// climbing the same leaf's uplink (or descending into the same leaf) get half.
    fn measure(leaf: &[usize]) -> Vec<Test> {
        plan(leaf.len())
            .into_iter()
            .map(|(a, b, c, d)| {
                let cross1 = leaf[a] != leaf[b];
                let cross2 = leaf[c] != leaf[d];
                let share = cross1 && cross2 && (leaf[a] == leaf[c] || leaf[b] == leaf[d]);
                // Healthy noise: 0.9..1.0 alone-rate shares, 0.45..0.55 when shared.
                let s = if share { 0.5 } else { 0.93 };
                Test {
                    a,
                    b,
                    c,
                    d,
                    ab_share: s + 0.02 * ((a + c) % 3) as f64,
                    cd_share: s - 0.02 * ((b + d) % 3) as f64,
                }
            })
            .collect()
    }

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn plan_by_hand() {
        // 4 nodes: 3 partitions into two pairs × 2 directions = 6 tests.
        assert_eq!(
            plan(4),
            vec![
                (0, 1, 2, 3),
                (0, 1, 3, 2),
                (0, 2, 1, 3),
                (0, 2, 3, 1),
                (0, 3, 1, 2),
                (0, 3, 2, 1)
            ]
        );
        assert!(plan(3).is_empty());
    }

    #[test]
    fn infers_two_and_three_leaves() {
        assert_eq!(
            infer(4, &measure(&[0, 0, 1, 1])),
            vec![vec![0, 1], vec![2, 3]]
        );
        // Interleaved order: n1, n3 on one leaf; n2, n4 on the other.
        assert_eq!(
            infer(4, &measure(&[0, 1, 0, 1])),
            vec![vec![0, 2], vec![1, 3]]
        );
        // 6 nodes on 3 leaves, and 7 nodes on 3 leaves of 3, 2, 2.
        assert_eq!(
            infer(6, &measure(&[0, 0, 1, 1, 2, 2])),
            vec![vec![0, 1], vec![2, 3], vec![4, 5]]
        );
        assert_eq!(
            infer(7, &measure(&[2, 0, 0, 1, 1, 2, 2])),
            vec![vec![0, 5, 6], vec![1, 2], vec![3, 4]]
        );
        // Non-blocking: nothing contends, one group.
        let flat: Vec<Test> = measure(&[0, 0, 0, 0]);
        assert_eq!(infer(4, &flat), vec![vec![0, 1, 2, 3]]);
    }

    #[test]
    fn misplaced_node_is_named_alone() {
        let d = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let groups = infer(4, &measure(&[0, 0, 1, 1]));
        // Correct file: nothing.
        assert!(compare(&groups, &d(&["sw1", "sw1", "sw2", "sw2"]), &names(4)).is_empty());
        // n2 declared under sw2: measured with n1. Overlaps: {n3,n4}–sw2 = 2 first, then
        // {n1,n2}–sw1 = 1 (sw2 taken) → n2 (declared sw2) is the one misplaced.
        let f = compare(&groups, &d(&["sw1", "sw2", "sw2", "sw2"]), &names(4));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].subject,
            Subject::Placement {
                host: "n2".into(),
                declared: "sw2".into(),
                measured: "n1".into()
            }
        );
        // 6 nodes, 3 leaves: n5 declared under leaf0 but measured with n6 (leaf2).
        let groups = infer(6, &measure(&[0, 0, 1, 1, 2, 2]));
        let f = compare(
            &groups,
            &d(&["l0", "l0", "l1", "l1", "l0", "l2"]),
            &names(6),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].subject.to_string(),
            "host n5: declared under l0, measured with n6"
        );
    }
}
