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
//! Only flows that can show contention testify. A flow whose rate alone is well below what
//! the topology model expects for it (a slow NIC or host, a slow link: below
//! [`BANDWIDTH_EFFICIENCY`] of expected, the 0.8 verdict) cannot load an uplink: beside
//! another flow it keeps its own low rate and the other gets the rest, so neither drops to
//! half, whether they share an uplink or not. Such a test says nothing either way; only
//! tests whose two flows both reach [`BANDWIDTH_EFFICIENCY`] of expected alone count
//! ([`infer`]). A pair joins a group only when it was in such a test and never contended;
//! a node in no such test is *undetermined*: a node none of whose flows reaches
//! [`BANDWIDTH_EFFICIENCY`] alone is reported as `slow_node` ("placement not
//! determinable"), never as misplaced, and a node whose own flows are fine but all of
//! whose partners were slow is only noted (with 4 nodes and one slow, every test involves
//! the slow node: nobody's placement can be told).
//!
//! Limits: it needs contention, i.e. an oversubscribed uplink (a non-blocking fabric shows
//! none, and then nothing can be inferred: every node looks like one leaf) and at least
//! two nodes on each side of an uplink (a node alone under a leaf has its NIC as its
//! uplink: the same caveat as `slow_uplink` in [`crate::links`]).
//!
//! Which tests run ([`plan_for`]): on a few nodes every two disjoint flows ([`plan`],
//! about N⁴/4 tests); beyond, each node is paired with two nodes of every declared leaf
//! and each such pair runs beside *witnesses* (tested pairs leaving either end's declared
//! leaf, and one leaving every other declared leaf), O(N × leaves²) tests: 498 instead of
//! 10,920 at 16 nodes on 2 leaves, 5,210 instead of 3.8 × 10⁶ at 64 on 4. The file only
//! chooses the tests; the grouping is measured.
//!
//! [`compare`] maps each measured group to the declared leaf holding most of its nodes
//! (greedily, the largest overlap first, each leaf used once) and names every node that
//! sits elsewhere than declared: `misplaced_node`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use xccl_schema::finding::{Finding, FindingKind, Subject};
use xccl_schema::rules::{BANDWIDTH_EFFICIENCY, CONTENDED};

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
    /// Nodes whose placement the tests cannot tell, with why; absent in older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undetermined: Vec<UndeterminedRecord>,
    /// Load tests of the declared uplinks (`crate::uplink`); absent in older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uplinks: Vec<crate::uplink::UplinkRecord>,
    /// Classes of declared leaves that contention cannot tell apart by the file's rates
    /// ([`leaf_classes`]); placements among a class's leaves are not judged. Absent in
    /// older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indistinguishable: Vec<Vec<String>>,
    pub findings: Vec<Finding>,
}

/// An undetermined node as `topo validate --json` writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UndeterminedRecord {
    pub host: String,
    /// Best of its flows alone over the model's rate for it.
    pub best_alone: f64,
    pub note: String,
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

/// Partners per node and declared leaf in [`plan_for`]: two, so that one misplaced
/// partner still leaves a true leaf-mate to join.
pub const PARTNERS_PER_LEAF: usize = 2;
/// Witness flows per tested pair in [`plan_for`] (each run in both directions): two from
/// each end's declared leaf, so one misplaced witness end still leaves a witness that
/// loads the pair's uplink.
pub const WITNESSES: usize = 4;

/// Up to this many nodes [`plan_for`] runs the exhaustive [`plan`] (at most 90 tests).
pub const EXHAUSTIVE_UP_TO: usize = 6;

/// Number of tests of the exhaustive [`plan`] for `n` nodes: C(n,2) × C(n−2,2), about
/// n⁴/4.
pub fn exhaustive_count(n: usize) -> usize {
    let c2 = |k: usize| k * k.saturating_sub(1) / 2;
    c2(n) * c2(n.saturating_sub(2))
}

/// The tests to run for nodes on the declared leaves `declared[i]`: O(n × leaves²)
/// instead of the exhaustive [`plan`]'s n⁴/4, which it returns up to
/// [`EXHAUSTIVE_UP_TO`] nodes and wherever it costs at most twice as many tests.
///
/// Why it is enough. A pair `a → b` that crosses leaves climbs `a`'s uplink and descends
/// into `b`'s; a flow leaving `a`'s leaf (or entering `b`'s) shares one of those in one
/// of its two directions. So each tested pair needs only such *witnesses*, not every
/// disjoint flow: [`WITNESSES`] tested pairs from a declared leaf-mate of `a` and of `b`
/// (alternately, distinct sources) to a node declared elsewhere, then one tested pair
/// leaving each other declared leaf: when both ends sit elsewhere than declared, their
/// declared leaf-mates load the wrong uplinks, and a flow leaving their true leaf is
/// among the latter (without them, one misplaced node per leaf on 64 nodes × 8 leaves
/// merged the leaves into two groups). Witnesses must be tested pairs: a flow only ever
/// run beside flows sharing nothing with it would "never contend" and join two leaves.
/// A node needs pairs only with a few nodes of each declared leaf
/// ([`PARTNERS_PER_LEAF`]) to join its measured group: the groups are connected
/// components. The file chooses the tests only; the placement is measured. Against an
/// oracle fabric (test `plan_accuracy`, 40 random files per case, table in
/// docs/DIAGNOSIS.md): exact groups for every file with 1 or 2 misplaced nodes up to 128
/// nodes on 8 leaves; with an eighth of the nodes misplaced 31–40 of 40, with a quarter
/// 11–40 of 40. A file that wrong is better checked on subsets of up to
/// [`EXHAUSTIVE_UP_TO`] nodes (the exhaustive plan).
pub fn plan_for(declared: &[String]) -> Vec<(usize, usize, usize, usize)> {
    let n = declared.len();
    let mut leaves: Vec<&str> = declared.iter().map(String::as_str).collect();
    leaves.sort_unstable();
    leaves.dedup();
    let members: Vec<Vec<usize>> = leaves
        .iter()
        .map(|l| (0..n).filter(|&i| declared[i] == *l).collect())
        .collect();
    let leaf_of: Vec<usize> = declared
        .iter()
        .map(|d| leaves.iter().position(|l| l == d).expect("a leaf"))
        .collect();
    // Pairs: each node with up to PARTNERS_PER_LEAF nodes of every declared leaf, chosen
    // in a rotation by the node's index so that the partners spread over the leaf.
    let mut pairs = std::collections::BTreeSet::new();
    for x in 0..n {
        for m in &members {
            let others: Vec<usize> = m.iter().copied().filter(|&y| y != x).collect();
            for k in 0..others.len().min(PARTNERS_PER_LEAF) {
                let y = others[(x + k) % others.len()];
                pairs.insert((x.min(y), x.max(y)));
            }
        }
    }
    // Witnesses are themselves tested pairs. A flow only ever run beside flows that share
    // nothing with it would "never contend" and join two leaves; a tested pair also runs
    // beside its own witnesses, one of which loads its uplink when it crosses.
    let mut partners = vec![vec![]; n];
    for &(a, b) in &pairs {
        partners[a].push(b);
        partners[b].push(a);
    }
    // Each node's partners declared under another leaf.
    let outside: Vec<Vec<usize>> = (0..n)
        .map(|c| {
            partners[c]
                .iter()
                .copied()
                .filter(|&y| leaf_of[y] != leaf_of[c])
                .collect()
        })
        .collect();
    let mut out = vec![];
    let mut seen = std::collections::BTreeSet::new();
    for &(a, b) in &pairs {
        let free = |c: usize| c != a && c != b;
        // Pairs from the members of declared leaf `l` to nodes declared elsewhere, one
        // per member; the members in a rotation by the pair (so that no few nodes
        // witness every pair of their leaf), the partner rotated too.
        // Lazy: only the first few are used.
        let (members, outside) = (&members, &outside);
        let leaving = move |l: usize, rot: usize| {
            let mates = &members[l];
            let from = (a + b) % mates.len();
            mates[from..]
                .iter()
                .chain(&mates[..from])
                .copied()
                .filter(move |&c| free(c))
                .enumerate()
                .filter_map(move |(i, c)| {
                    let out = &outside[c];
                    (0..out.len())
                        .map(|k| out[(i + rot + k) % out.len()])
                        .find(|&y| free(y))
                        .map(|y| (c, y))
                })
        };
        // The interleaving below stops within the first WITNESSES of each side.
        let side = |end: usize| -> Vec<(usize, usize)> {
            leaving(leaf_of[end], end).take(WITNESSES).collect()
        };
        let (from_a, from_b) = (side(a), side(b));
        let mut cands = vec![];
        for i in 0..from_a.len().max(from_b.len()) {
            cands.extend(from_a.get(i));
            cands.extend(from_b.get(i));
        }
        // Lazily: the loop below stops at WITNESSES, normally within the first few.
        let crossing = pairs
            .iter()
            .copied()
            .filter(|&(c, d)| leaf_of[c] != leaf_of[d]);
        let rest = pairs.iter().copied();
        let mut chosen: Vec<(usize, usize)> = vec![];
        let take = |(c, d): (usize, usize), chosen: &mut Vec<(usize, usize)>| {
            let key = (c.min(d), c.max(d));
            let fresh = free(c) && free(d) && !chosen.contains(&key);
            if fresh {
                chosen.push(key);
            }
            fresh
        };
        for f in cands.into_iter().chain(crossing).chain(rest) {
            if chosen.len() == WITNESSES {
                break;
            }
            take(f, &mut chosen);
        }
        // And one leaving every other declared leaf: when both ends sit elsewhere than
        // declared, their declared leaf-mates' flows load other uplinks than theirs; a
        // flow leaving their true leaf is among these.
        for l in 0..leaves.len() {
            if l != leaf_of[a] && l != leaf_of[b] {
                leaving(l, a + b).find(|&f| take(f, &mut chosen));
            }
        }
        for (c, d) in chosen {
            // One test (both relative directions) per unordered pair of pairs.
            if seen.insert(((a, b).min((c, d)), (a, b).max((c, d)))) {
                out.push((a, b, c, d));
                out.push((a, b, d, c));
            }
        }
    }
    if n <= EXHAUSTIVE_UP_TO || exhaustive_count(n) <= 2 * out.len() {
        return plan(n);
    }
    out
}

/// A node whose placement the tests cannot tell.
#[derive(Clone, Debug, PartialEq)]
pub struct Undetermined {
    pub node: usize,
    /// Best of its flows alone (sending or receiving) over what the model expects.
    pub best_alone: f64,
}

impl Undetermined {
    /// None of its flows reaches [`BANDWIDTH_EFFICIENCY`] alone: the node itself is slow.
    pub fn slow(&self) -> bool {
        self.best_alone < BANDWIDTH_EFFICIENCY
    }
}

/// What [`infer`] finds: the leaf groups of the nodes it can place, and the others.
#[derive(Clone, Debug, PartialEq)]
pub struct Inference {
    /// Sorted by their smallest node; undetermined nodes are in none.
    pub groups: Vec<Vec<usize>>,
    pub undetermined: Vec<Undetermined>,
}

/// Does test `t` count: both its flows reach [`BANDWIDTH_EFFICIENCY`] of expected alone?
/// `alone_eff[a][b]`: flow `a → b`'s rate alone over the model's rate for it.
pub fn informative(t: &Test, alone_eff: &[Vec<f64>]) -> bool {
    alone_eff[t.a][t.b] >= BANDWIDTH_EFFICIENCY && alone_eff[t.c][t.d] >= BANDWIDTH_EFFICIENCY
}

/// Leaf groups of `0..n` from the tests that count ([`informative`]): nodes joined by a
/// pair that was in such a test and never contended in one. Nodes in no such test are
/// [`Undetermined`].
pub fn infer(n: usize, tests: &[Test], alone_eff: &[Vec<f64>]) -> Inference {
    let mut crosses = vec![vec![false; n]; n];
    let mut tested = vec![vec![false; n]; n];
    let mut seen = vec![false; n];
    for t in tests.iter().filter(|t| informative(t, alone_eff)) {
        for (x, y) in [(t.a, t.b), (t.c, t.d)] {
            tested[x][y] = true;
            tested[y][x] = true;
            seen[x] = true;
            seen[y] = true;
            if t.contended() {
                crosses[x][y] = true;
                crosses[y][x] = true;
            }
        }
    }
    // Union-find over pairs tested and never crossed.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while p[r] != r {
            r = p[r];
        }
        p[x] = r;
        r
    }
    for a in 0..n {
        for b in a + 1..n {
            if tested[a][b] && !crosses[a][b] {
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut undetermined = vec![];
    for x in 0..n {
        if !seen[x] {
            let best_alone = (0..n)
                .filter(|&y| y != x)
                .flat_map(|y| [alone_eff[x][y], alone_eff[y][x]])
                .filter(|e| e.is_finite())
                .fold(0.0, f64::max);
            undetermined.push(Undetermined {
                node: x,
                best_alone,
            });
            continue;
        }
        let r = root(&mut parent, x);
        groups.entry(r).or_default().push(x);
    }
    Inference {
        groups: groups.into_values().collect(),
        undetermined,
    }
}

/// `slow_node` for each undetermined node none of whose flows reaches
/// [`BANDWIDTH_EFFICIENCY`] of expected alone (the same kind and subject as `links` uses);
/// `names`: host per node.
pub fn undetermined_findings(und: &[Undetermined], names: &[String]) -> Vec<Finding> {
    und.iter()
        .filter(|u| u.slow())
        .map(|u| {
            let mut metrics = BTreeMap::new();
            metrics.insert("best_alone_efficiency".into(), u.best_alone);
            Finding {
                kind: FindingKind::SlowNode,
                subject: Subject::Host {
                    host: names[u.node].clone(),
                },
                evidence: format!(
                    "placement not determinable: its own flows reach only {:.2} of expected \
                     alone (best of its flows, sending and receiving; below \
                     {BANDWIDTH_EFFICIENCY}): its NIC, PCIe or host (run links)",
                    u.best_alone
                ),
                metrics,
            }
        })
        .collect()
}

/// One line per undetermined node: why its placement cannot be told.
pub fn undetermined_note(u: &Undetermined, names: &[String]) -> String {
    if u.slow() {
        format!(
            "{}: placement not determinable: its own flows reach only {:.2} of expected",
            names[u.node], u.best_alone
        )
    } else {
        format!(
            "{}: placement not determinable: its flows reach {:.2} of expected alone, but \
             every test pairs them with a flow below {BANDWIDTH_EFFICIENCY} of expected (a \
             slow node or link), which cannot show contention",
            names[u.node], u.best_alone
        )
    }
}

/// Flow `a → b`'s rate over what the topology model expects of it alone, for every
/// ordered pair of job nodes; `nodes[i]`: job node i's index in `t`, `rate[a][b]` in GB/s.
pub fn alone_efficiency(
    t: &xccl_topo::Topology,
    nodes: &[usize],
    rate: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    let n = nodes.len();
    (0..n)
        .map(|a| {
            (0..n)
                .map(|b| {
                    if a == b {
                        return 0.0;
                    }
                    let e = xccl_topo::model::node_flows(t, &[(nodes[a], nodes[b])], 1e9);
                    if e.unknown.is_none() && e.aggregate_gbs > 0.0 {
                        rate[a][b] / e.aggregate_gbs
                    } else {
                        // No model for it: judge it as fine (the old behaviour).
                        1.0
                    }
                })
                .collect()
        })
        .collect()
}

/// A crossing shows in a test only when the file's rates predict each of its two flows
/// at this share of its rate alone or less: well under [`CONTENDED`], so that noise on a
/// predicted 0.75 cannot decide a placement.
pub const VISIBLE: f64 = 0.6;

/// Declared leaves that two-flow contention cannot tell apart, merged into classes.
///
/// Two crossing flows slow each other down only when an uplink on their path carries less
/// than both at full rate. On a non-blocking fabric (or under an uplink of 1.5 NICs or
/// more) no test contends, every node lands in one measured group, and comparing that
/// group with the file would call most nodes misplaced. So a placement is judged only
/// between leaves the file's own rates say a test can separate: leaves `X` and `Y` are
/// *visible* to each other when some uplink on the path between them (climbing from `X`
/// or descending into `Y`, below their common ancestor) carries at most 2 × [`VISIBLE`]
/// of a NIC, i.e. two flows through it each keep [`VISIBLE`] of their rate or less (the
/// slowest NIC of the job: the least visible case). Only the declared *rates* are used,
/// not the declared membership, which is what is being checked. Leaves not visible to
/// each other are merged (transitively, as the measured groups are). Returns each node's
/// class label: its leaf's name, or the class's leaf names joined by `+` (`-`, no leaf,
/// stays alone). `declared[i]` is node `i`'s leaf; `nodes[i]` its index in `topo`.
pub fn leaf_classes(
    topo: &xccl_topo::Topology,
    nodes: &[usize],
    declared: &[String],
) -> Vec<String> {
    let mut leaves: Vec<&str> = declared.iter().map(String::as_str).collect();
    leaves.sort_unstable();
    leaves.dedup();
    let fabric = crate::links::Fabric::from_topology(topo);
    let nic = nodes
        .iter()
        .map(|&i| fabric.nic_gbs[i])
        .fold(f64::INFINITY, f64::min);
    let switch = |name: &str| fabric.switches.iter().position(|s| s.name == name);
    let visible = |x: &str, y: &str| -> bool {
        let (Some(sx), Some(sy)) = (switch(x), switch(y)) else {
            return false;
        };
        let (up, down) = fabric.switch_route(sx, sy);
        up.into_iter()
            .chain(down)
            .filter_map(|s| fabric.switches[s].uplink_gbs)
            .any(|gbs| nic.is_finite() && nic > 0.0 && gbs / (2.0 * nic) <= VISIBLE)
    };
    let mut parent: Vec<usize> = (0..leaves.len()).collect();
    fn root(p: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while p[r] != r {
            r = p[r];
        }
        p[x] = r;
        r
    }
    for x in 0..leaves.len() {
        for y in x + 1..leaves.len() {
            let named = leaves[x] != "-" && leaves[y] != "-";
            if named && !visible(leaves[x], leaves[y]) {
                let (rx, ry) = (root(&mut parent, x), root(&mut parent, y));
                parent[rx.max(ry)] = rx.min(ry);
            }
        }
    }
    let label: Vec<String> = (0..leaves.len())
        .map(|x| {
            let r = root(&mut parent, x);
            (0..leaves.len())
                .filter(|&y| root(&mut parent, y) == r)
                .map(|y| leaves[y])
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    declared
        .iter()
        .map(|d| label[leaves.iter().position(|l| l == d).expect("a leaf")].clone())
        .collect()
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
    // A class of leaves contention cannot tell apart (`a+b`, [`leaf_classes`]) may show
    // as up to as many groups as it has leaves.
    let room = |l: &str| l.split('+').count();
    for (_, g, l) in cand {
        if leaf_of_group[g].is_none() && used.iter().filter(|u| **u == l).count() < room(&l) {
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
        measure_plan(leaf, plan(leaf.len()))
    }

    /// [`measure`] of the tests of `plan`.
    fn measure_plan(leaf: &[usize], plan: Vec<(usize, usize, usize, usize)>) -> Vec<Test> {
        plan.into_iter()
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

    /// Every flow alone at its expected rate.
    fn fine(n: usize) -> Vec<Vec<f64>> {
        vec![vec![1.0; n]; n]
    }

    /// As [`measure`], with node `slow`'s NIC at a quarter (both directions): its flows
    /// alone reach 0.25 of expected; beside a flow on the same uplink it keeps its rate
    /// (it cannot use more than a quarter of the uplink) and the other gets the rest,
    /// 0.72 of its own (measured on the emulated cluster: 0.70..0.80), so no test with
    /// it has both flows below 0.75.
    fn measure_slow(leaf: &[usize], slow: usize) -> (Vec<Test>, Vec<Vec<f64>>) {
        measure_slow_plan(leaf, slow, plan(leaf.len()))
    }

    /// [`measure_slow`] of the tests of `plan`.
    fn measure_slow_plan(
        leaf: &[usize],
        slow: usize,
        plan: Vec<(usize, usize, usize, usize)>,
    ) -> (Vec<Test>, Vec<Vec<f64>>) {
        let n = leaf.len();
        let mut eff = fine(n);
        for row in eff.iter_mut() {
            row[slow] = 0.25;
        }
        eff[slow] = vec![0.25; n];
        let tests = measure_plan(leaf, plan)
            .into_iter()
            .map(|mut t| {
                let ab_slow = t.a == slow || t.b == slow;
                let cd_slow = t.c == slow || t.d == slow;
                if t.contended() && ab_slow {
                    (t.ab_share, t.cd_share) = (1.0, 0.72);
                } else if t.contended() && cd_slow {
                    (t.ab_share, t.cd_share) = (0.72, 1.0);
                }
                t
            })
            .collect();
        (tests, eff)
    }

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    /// `f` is one finding, about `subject`.
    fn one(f: &[Finding], subject: &str) {
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].subject.to_string(), subject);
    }

    /// The leaf switch a topology file declares for each node, in node order.
    fn declared(switches: &[&str]) -> Vec<String> {
        switches.iter().map(|s| s.to_string()).collect()
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

    /// Leaf names `sw{leaf[i]}`.
    fn files(leaf: &[usize]) -> Vec<String> {
        leaf.iter().map(|l| format!("sw{l}")).collect()
    }

    /// Every unordered pair of nodes that some test of `plan` carries as a flow.
    fn flows_of(
        plan: &[(usize, usize, usize, usize)],
    ) -> std::collections::BTreeSet<(usize, usize)> {
        plan.iter()
            .flat_map(|&(a, b, c, d)| [(a.min(b), a.max(b)), (c.min(d), c.max(d))])
            .collect()
    }

    #[test]
    fn the_declared_plan_is_exhaustive_where_that_costs_little() {
        // 4 and 6 nodes: the exhaustive plan is at most twice the reduced one.
        assert_eq!(plan_for(&files(&[0, 0, 1, 1])), plan(4));
        assert_eq!(plan_for(&files(&[0, 1, 1, 1])), plan(4));
        assert_eq!(plan_for(&files(&[0, 0, 1, 1, 2, 2])), plan(6));
        // Every file of 4 to 6 nodes on up to 3 leaves.
        for n in 4..=6usize {
            for code in 0..3usize.pow(n as u32) {
                let leaf: Vec<usize> = (0..n).map(|i| code / 3usize.pow(i as u32) % 3).collect();
                assert_eq!(plan_for(&files(&leaf)), plan(n), "{leaf:?}");
            }
        }
        assert_eq!(exhaustive_count(4), plan(4).len());
        assert_eq!(exhaustive_count(9), plan(9).len());
    }

    #[test]
    fn the_declared_plan_grows_with_nodes_times_leaves_squared() {
        // 16 nodes on 2 leaves: 10,920 tests exhaustive; each node names ≤ 4 partners
        // (≤ 64 pairs), each pair ≤ 4 witnesses + 1 leaving the other leaf, × 2
        // directions → ≤ 640 tests.
        let leaf: Vec<usize> = (0..16).map(|i| i / 8).collect();
        let p = plan_for(&files(&leaf));
        assert_eq!(exhaustive_count(16), 10_920);
        assert!(p.len() <= 640, "{}", p.len());
        // 256 nodes on 16 leaves: ≤ 256 × 32 pairs × (4 + 15) × 2 = 311,296 tests (the
        // exhaustive plan: 1.0 × 10⁹).
        let leaf: Vec<usize> = (0..256).map(|i| i / 16).collect();
        let p = plan_for(&files(&leaf));
        assert!(p.len() <= 311_296, "{}", p.len());
        // Every test is of four distinct nodes, and every node is in some pair.
        for &(a, b, c, d) in &p {
            let mut v = [a, b, c, d];
            v.sort_unstable();
            assert!(v.windows(2).all(|w| w[0] != w[1]));
        }
        let mut in_a_pair = [false; 256];
        for (a, b) in flows_of(&p) {
            (in_a_pair[a], in_a_pair[b]) = (true, true);
        }
        assert!(in_a_pair.iter().all(|&x| x));
    }

    #[test]
    fn the_declared_plan_infers_what_the_exhaustive_one_does() {
        // Fabrics measured through the oracle with the file right, and with one or two
        // nodes declared under the wrong leaf: the reduced plan (chosen from the file)
        // gives the same groups as the exhaustive plan, and the same findings.
        let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
            // (true leaf per node, declared leaf per node)
            (
                (0..12).map(|i| i / 6).collect(),
                (0..12).map(|i| i / 6).collect(),
            ),
            ((0..12).map(|i| i / 4).collect(), {
                let mut d: Vec<usize> = (0..12).map(|i| i / 4).collect();
                d[5] = 2;
                d
            }),
            ((0..12).map(|i| i % 3).collect(), {
                let mut d: Vec<usize> = (0..12).map(|i| i % 3).collect();
                d[0] = 1;
                d[7] = 0;
                d
            }),
            // 9 nodes on leaves of 5, 3 and 1, the lone node declared with the 3.
            (
                vec![0, 0, 0, 0, 0, 1, 1, 1, 2],
                vec![0, 0, 0, 0, 0, 1, 1, 1, 1],
            ),
        ];
        for (truth, decl) in cases {
            let n = truth.len();
            let p = plan_for(&files(&decl));
            assert!(p.len() < plan(n).len(), "{n} nodes: not reduced");
            let reduced = infer(n, &measure_plan(&truth, p), &fine(n)).groups;
            let full = infer(n, &measure(&truth), &fine(n)).groups;
            assert_eq!(reduced, full, "truth {truth:?}, file {decl:?}");
            let find = |g: &[Vec<usize>]| {
                let mut h: Vec<String> = compare(g, &files(&decl), &names(n))
                    .into_iter()
                    .map(|f| f.subject.to_string())
                    .collect();
                h.sort();
                h
            };
            assert_eq!(find(&reduced), find(&full));
            let wrong = (0..n).filter(|&i| truth[i] != decl[i]).count();
            assert_eq!(
                find(&reduced).len(),
                wrong,
                "truth {truth:?}, file {decl:?}"
            );
        }
        // 64 nodes on 4 leaves, two misplaced: exactly those two (the exhaustive plan
        // would be 3.8 × 10⁶ tests).
        let truth: Vec<usize> = (0..64).map(|i| i / 16).collect();
        let mut decl = truth.clone();
        decl[3] = 2;
        decl[40] = 0;
        let p = plan_for(&files(&decl));
        let g = infer(64, &measure_plan(&truth, p), &fine(64)).groups;
        assert_eq!(g.len(), 4);
        let f = compare(&g, &files(&decl), &names(64));
        let mut hosts: Vec<String> = f
            .iter()
            .map(|f| match &f.subject {
                Subject::Placement { host, .. } => host.clone(),
                s => panic!("{s:?}"),
            })
            .collect();
        hosts.sort();
        assert_eq!(hosts, vec!["n4".to_string(), "n41".to_string()]);
    }

    /// Fabrics of `n` nodes on `l` leaves of equal size, files with `m` nodes declared
    /// under another leaf (a fixed pseudo-random choice per trial): how many of `trials`
    /// files give exactly the true groups, and the mean number of tests.
    fn accuracy(n: usize, l: usize, m: usize, trials: usize) -> (usize, usize) {
        let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (n * 1000 + l * 10 + m) as u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        let truth: Vec<usize> = (0..n).map(|i| i / (n / l)).collect();
        let want: Vec<Vec<usize>> = (0..l)
            .map(|k| (k * n / l..(k + 1) * n / l).collect())
            .collect();
        let (mut right, mut tests) = (0, 0);
        for _ in 0..trials {
            let mut decl = truth.clone();
            for _ in 0..m {
                let i = next() % n;
                decl[i] = (truth[i] + 1 + next() % (l - 1)) % l;
            }
            let p = plan_for(&files(&decl));
            tests += p.len();
            right += usize::from(infer(n, &measure_plan(&truth, p), &fine(n)).groups == want);
        }
        (right, tests / trials)
    }

    #[test]
    fn the_declared_plan_survives_one_misplaced_node_per_leaf() {
        // 64 nodes on 8 leaves, each leaf's last node declared under the next leaf: both
        // ends of many pairs sit elsewhere than declared, so their declared leaf-mates'
        // flows load the wrong uplinks; the witness leaving every other leaf still
        // loads theirs (without it: 2 groups of 32).
        let truth: Vec<usize> = (0..64).map(|i| i / 8).collect();
        let decl: Vec<usize> = (0..64).map(|i| (i + 1) % 64 / 8).collect();
        let g = infer(
            64,
            &measure_plan(&truth, plan_for(&files(&decl))),
            &fine(64),
        )
        .groups;
        assert_eq!(
            g,
            (0..8)
                .map(|k| (k * 8..k * 8 + 8).collect())
                .collect::<Vec<Vec<usize>>>()
        );
        let f = compare(&g, &files(&decl), &names(64));
        assert_eq!(f.len(), 8);
        // Random files with 1 and 2 misplaced nodes: always the true groups.
        for (n, l) in [(16, 2), (32, 4), (64, 8)] {
            for m in [1, 2] {
                assert_eq!(
                    accuracy(n, l, m, 10).0,
                    10,
                    "{n} nodes, {l} leaves, {m} misplaced"
                );
            }
        }
    }

    /// The table in docs/DIAGNOSIS.md: `cargo test --release -p xccl-diag plan_accuracy --
    /// --ignored --nocapture`.
    #[test]
    #[ignore]
    fn plan_accuracy() {
        for (n, l) in [(16, 2), (16, 4), (32, 4), (64, 8), (128, 8)] {
            let mut ms = vec![1, 2, n / 8, n / 4];
            ms.dedup();
            for m in ms {
                let (right, tests) = accuracy(n, l, m, 40);
                eprintln!("{n} nodes, {l} leaves, {m} misplaced: {right}/40 exact, {tests} tests");
            }
        }
    }

    #[test]
    fn the_declared_plan_with_a_slow_node_places_the_others() {
        // 16 nodes on 2 leaves of 8, node 5's NIC at a quarter: its tests say nothing, it
        // is undetermined (slow), and the 15 others still fall into their two leaves,
        // though the slow node is a witness of some of their pairs.
        let truth: Vec<usize> = (0..16).map(|i| i / 8).collect();
        let (tests, eff) = measure_slow_plan(&truth, 5, plan_for(&files(&truth)));
        let inf = infer(16, &tests, &eff);
        let mut left: Vec<usize> = (0..8).collect();
        left.retain(|&i| i != 5);
        assert_eq!(inf.groups, vec![left, (8..16).collect::<Vec<_>>()]);
        assert_eq!(inf.undetermined.len(), 1);
        assert!(inf.undetermined[0].node == 5 && inf.undetermined[0].slow());
    }

    #[test]
    fn infers_two_and_three_leaves() {
        assert_eq!(
            infer(4, &measure(&[0, 0, 1, 1]), &fine(4)).groups,
            vec![vec![0, 1], vec![2, 3]]
        );
        // Interleaved order: n1, n3 on one leaf; n2, n4 on the other.
        assert_eq!(
            infer(4, &measure(&[0, 1, 0, 1]), &fine(4)).groups,
            vec![vec![0, 2], vec![1, 3]]
        );
        // 6 nodes on 3 leaves, and 7 nodes on 3 leaves of 3, 2, 2.
        assert_eq!(
            infer(6, &measure(&[0, 0, 1, 1, 2, 2]), &fine(6)).groups,
            vec![vec![0, 1], vec![2, 3], vec![4, 5]]
        );
        assert_eq!(
            infer(7, &measure(&[2, 0, 0, 1, 1, 2, 2]), &fine(7)).groups,
            vec![vec![0, 5, 6], vec![1, 2], vec![3, 4]]
        );
        // Non-blocking: nothing contends, one group.
        let flat: Vec<Test> = measure(&[0, 0, 0, 0]);
        assert_eq!(infer(4, &flat, &fine(4)).groups, vec![vec![0, 1, 2, 3]]);
    }

    #[test]
    fn misplaced_node_is_named_alone() {
        let groups = infer(4, &measure(&[0, 0, 1, 1]), &fine(4)).groups;
        // Correct file: nothing.
        assert!(compare(&groups, &declared(&["sw1", "sw1", "sw2", "sw2"]), &names(4)).is_empty());
        // n2 declared under sw2: measured with n1. Overlaps: {n3,n4}–sw2 = 2 first, then
        // {n1,n2}–sw1 = 1 (sw2 taken) → n2 (declared sw2) is the one misplaced.
        let f = compare(&groups, &declared(&["sw1", "sw2", "sw2", "sw2"]), &names(4));
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
        let groups = infer(6, &measure(&[0, 0, 1, 1, 2, 2]), &fine(6)).groups;
        let f = compare(
            &groups,
            &declared(&["l0", "l0", "l1", "l1", "l0", "l2"]),
            &names(6),
        );
        one(&f, "host n5: declared under l0, measured with n6");
    }

    #[test]
    fn slow_node_is_not_misplaced() {
        let file = declared(&["sw1", "sw1", "sw2", "sw2"]);
        // 4 nodes on 2 leaves, n3 at a quarter, the right file. Every test of 4 nodes has
        // n3 in one of its two flows: none counts, nobody can be placed; n3 (best flow
        // 0.25 < 0.8) is slow_node, the others (flows at 1.0) are only noted.
        let (tests, eff) = measure_slow(&[0, 0, 1, 1], 2);
        let inf = infer(4, &tests, &eff);
        assert!(inf.groups.is_empty(), "{inf:?}");
        assert_eq!(
            inf.undetermined,
            vec![
                Undetermined {
                    node: 0,
                    best_alone: 1.0
                },
                Undetermined {
                    node: 1,
                    best_alone: 1.0
                },
                Undetermined {
                    node: 2,
                    best_alone: 0.25
                },
                Undetermined {
                    node: 3,
                    best_alone: 1.0
                },
            ]
        );
        assert!(compare(&inf.groups, &file, &names(4)).is_empty());
        let f = undetermined_findings(&inf.undetermined, &names(4));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, FindingKind::SlowNode);
        assert_eq!(f[0].subject.to_string(), "host n3");
        assert!(
            f[0].evidence.contains("reach only 0.25 of expected"),
            "{}",
            f[0].evidence
        );
        // 6 nodes on 2 leaves of 3, n6 slow, the right file: n1..n5 placed as declared.
        let file6 = declared(&["l0", "l0", "l0", "l1", "l1", "l1"]);
        let (tests, eff) = measure_slow(&[0, 0, 0, 1, 1, 1], 5);
        let inf = infer(6, &tests, &eff);
        assert_eq!(inf.groups, vec![vec![0, 1, 2], vec![3, 4]]);
        assert!(compare(&inf.groups, &file6, &names(6)).is_empty());
        let f = undetermined_findings(&inf.undetermined, &names(6));
        one(&f, "host n6");
    }

    #[test]
    fn misplaced_node_found_beside_a_slow_node() {
        // 6 nodes, leaves {n1,n2,n3} {n4,n5,n6}, n6 slow; the file puts n3 under l1.
        // Groups from the tests that count: {n1,n2,n3}, {n4,n5}. Overlaps: {n1,n2,n3}–l0
        // = 2 and {n4,n5}–l1 = 2 first → n3 (declared l1) sits with n1, n2: misplaced.
        let (tests, eff) = measure_slow(&[0, 0, 0, 1, 1, 1], 5);
        let inf = infer(6, &tests, &eff);
        let f = compare(
            &inf.groups,
            &declared(&["l0", "l0", "l1", "l1", "l1", "l1"]),
            &names(6),
        );
        one(&f, "host n3: declared under l1, measured with n1, n2");
        let slow = undetermined_findings(&inf.undetermined, &names(6));
        one(&slow, "host n6");
    }

    #[test]
    fn healthy_gives_nothing() {
        for (leaf, file) in [
            (vec![0, 0, 1, 1], declared(&["a", "a", "b", "b"])),
            (
                vec![0, 0, 1, 1, 2, 2],
                declared(&["a", "a", "b", "b", "c", "c"]),
            ),
        ] {
            let n = leaf.len();
            let inf = infer(n, &measure(&leaf), &fine(n));
            assert!(inf.undetermined.is_empty());
            assert!(compare(&inf.groups, &file, &names(n)).is_empty());
            assert!(undetermined_findings(&inf.undetermined, &names(n)).is_empty());
        }
    }

    /// Declared leaf of each node, as `topo validate` passes it.
    fn leaves(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn classes_of(sw: &[(&str, &[&str], Option<&str>, f64)], declared: &[&str]) -> Vec<String> {
        let hosts: Vec<String> = names(declared.len());
        let h: Vec<&str> = hosts.iter().map(String::as_str).collect();
        let t = crate::uplink::tests::topo(&h, sw);
        let idx: Vec<usize> = (0..declared.len()).collect();
        leaf_classes(&t, &idx, &leaves(declared))
    }

    #[test]
    fn an_oversubscribed_uplink_keeps_its_leaves_apart() {
        // 2:1 as on the emulated cluster: the uplink carries one NIC's rate, two crossing
        // flows get half each (0.5 <= VISIBLE).
        let c = classes_of(
            &[
                ("sw1", &["n1", "n2"], Some("sw2"), 0.4),
                ("sw2", &["n3", "n4"], None, 0.0),
            ],
            &["sw1", "sw1", "sw2", "sw2"],
        );
        assert_eq!(c, leaves(&["sw1", "sw1", "sw2", "sw2"]));
    }

    #[test]
    fn a_non_blocking_fabric_is_not_judged_misplaced() {
        // The uplink carries both NICs (0.8 Gbit/s, 1:1) or more: no test can contend, one
        // measured group, and against the raw file two nodes would be "misplaced".
        for uplink in [0.8, 0.6, 100.0] {
            let declared = ["sw1", "sw1", "sw2", "sw2"];
            let c = classes_of(
                &[
                    ("sw1", &["n1", "n2"], Some("sw2"), uplink),
                    ("sw2", &["n3", "n4"], None, 0.0),
                ],
                &declared,
            );
            assert_eq!(c, leaves(&["sw1+sw2"; 4]), "uplink {uplink}");
            let one_group = vec![vec![0, 1, 2, 3]];
            assert_eq!(compare(&one_group, &leaves(&declared), &names(4)).len(), 2);
            assert!(compare(&one_group, &c, &names(4)).is_empty());
        }
    }

    #[test]
    fn only_leaves_that_contention_separates_are_compared() {
        // leaf1 climbs a one-NIC uplink (visible from both others); leaf2 and leaf3 sit
        // under non-blocking uplinks: they form one class.
        let sw: &[(&str, &[&str], Option<&str>, f64)] = &[
            ("leaf1", &["n1", "n2"], Some("core"), 0.4),
            ("leaf2", &["n3", "n4"], Some("core"), 10.0),
            ("leaf3", &["n5", "n6"], Some("core"), 10.0),
            ("core", &[], None, 0.0),
        ];
        let declared = ["leaf1", "leaf1", "leaf2", "leaf2", "leaf3", "leaf3"];
        let c = classes_of(sw, &declared);
        assert_eq!(
            c,
            leaves(&[
                "leaf1",
                "leaf1",
                "leaf2+leaf3",
                "leaf2+leaf3",
                "leaf2+leaf3",
                "leaf2+leaf3"
            ])
        );
        // Healthy: leaf2 and leaf3 measure as one group, which is no finding.
        assert!(compare(&[vec![0, 1], vec![2, 3, 4, 5]], &c, &names(6)).is_empty());
        // n3 really sits under leaf1: it is named, and only it.
        let f = compare(&[vec![0, 1, 2], vec![3, 4, 5]], &c, &names(6));
        assert_eq!(f.len(), 1);
        assert!(matches!(&f[0].subject, Subject::Placement { host, .. } if host == "n3"));
    }

    #[test]
    fn a_wrong_membership_does_not_hide_an_oversubscribed_uplink() {
        // The file puts n2 under sw2 with n3 and n4 and leaves n1 alone under sw1: the
        // classes come from the uplink's rate, not from who is declared where, so n2 is
        // still judged (and found) misplaced.
        let declared = ["sw1", "sw2", "sw2", "sw2"];
        let c = classes_of(
            &[
                ("sw1", &["n1"], Some("sw2"), 0.4),
                ("sw2", &["n2", "n3", "n4"], None, 0.0),
            ],
            &declared,
        );
        assert_eq!(c, leaves(&declared));
        let f = compare(&[vec![0, 1], vec![2, 3]], &c, &names(4));
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(matches!(&f[0].subject, Subject::Placement { host, .. } if host == "n2"));
    }

    #[test]
    fn a_merged_class_may_measure_as_several_groups() {
        // Leaves declared non-blocking that contended anyway (an uplink slower than
        // declared: the uplink load test's business) are no misplaced node.
        let c = leaves(&["sw1+sw2"; 4]);
        assert!(compare(&[vec![0, 1], vec![2, 3]], &c, &names(4)).is_empty());
    }
}
