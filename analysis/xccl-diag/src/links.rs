//! The pairwise link matrix and who is to blame for its low links.
//!
//! Each link (pair of nodes, or pair of devices in one node) is measured in a round of
//! disjoint pairs ([`crate::schedule::circle`]), one direction then both, and judged
//! against 0.8 × its expected bandwidth (REFERENCE §7). Expected comes from the topology
//! ([`Fabric`]): the slower NIC of the pair, and every switch uplink on the path divided
//! among the pairs of the same round that cross it in the same direction (an oversubscribed
//! uplink carrying two pairs gives each half). Without a topology the expectation is the
//! median of the links of the same class (msprof's communication matrix compares links
//! with the mean of their transport; the median is not dragged down by the slow ones).
//!
//! Attribution ([`attribute`]), in this order, each step explaining low links the next
//! does not see again:
//! 1. `slow_uplink`: an uplink whose crossing links are predominantly low (≥ 75 %) while
//!    the links on either side that do not cross it are fine, with at least two nodes on
//!    each side (with one node on a side, the uplink and that node cannot be told apart:
//!    step 2 names the node).
//! 2. `slow_node`: a node with at least two links, all but at most one of them low, taken
//!    greedily from the node with the most low links; its links are then explained.
//! 3. `slow_link`: every low link left.

use crate::stats::median;
use crate::DEFAULT_THRESHOLD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use xccl_schema::finding::{Finding, FindingKind, Subject};
use xccl_schema::LinkClass;

/// Share of an uplink's crossing links that must be low to blame the uplink.
pub const UPLINK_SHARE: f64 = 0.75;

/// One measured link between endpoints `a < b` (indices into [`Matrix::names`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub a: usize,
    pub b: usize,
    pub class: LinkClass,
    /// Round of the schedule it was measured in.
    pub round: usize,
    /// a → b alone in its pair, GB/s.
    pub uni_gbs: f64,
    /// Each direction while both run, GB/s (the slower direction).
    pub bi_gbs: f64,
    /// Half the round-trip time of a small message, µs.
    pub latency_us: f64,
    /// Expected GB/s one direction (filled by [`judge`]).
    #[serde(default)]
    pub expected_gbs: f64,
    /// One-way GB/s over expected (filled by [`judge`]): what a link is judged on.
    #[serde(default)]
    pub efficiency: f64,
    /// Both-ways GB/s (each direction) over expected: reported, not judged. Full duplex
    /// links should reach the same, but two flows per pair also double the work of the
    /// hosts; on the emulated cluster (2 shared cores) both-ways measured half the rate
    /// while one-way reached 0.9 of it, i.e. it measured the machine, not the links.
    #[serde(default)]
    pub bi_efficiency: f64,
    #[serde(default)]
    pub low: bool,
}

/// The matrix: endpoint names (hosts, or `host/device` for intra-node links) and links.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub names: Vec<String>,
    pub links: Vec<Link>,
    /// Where the expectation came from: "topology FILE" or "class median".
    #[serde(default)]
    pub expected_from: String,
}

/// `kind` of a [`LinksReport`] file.
pub const LINKS_KIND: &str = "links";
/// 1: the first typed form (files written before `schema_version` existed read as 1).
pub const LINKS_SCHEMA_VERSION: u32 = 1;

fn links_version() -> u32 {
    1
}

/// What `xccl-bench links --json` writes, and what `xccl-bench report` reads back: a
/// typed file of its own (`tool` "xccl-bench", `kind` "links"), told apart from benchmark
/// results by `xccl_schema::read::kind_of`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinksReport {
    pub tool: String,
    pub kind: String,
    #[serde(default = "links_version")]
    pub schema_version: u32,
    pub hosts: Vec<String>,
    pub size_bytes: u64,
    pub iters: usize,
    /// "circle" or "serial".
    pub schedule: String,
    /// Rounds of inter-node pairs used, and what one pair at a time would need.
    pub rounds: usize,
    pub serial_rounds: usize,
    /// Wall time of the measurement, seconds.
    pub wall_s: f64,
    pub matrix: Matrix,
    pub findings: Vec<Finding>,
}

/// What the topology says about the inter-node links, in diagnosis terms.
#[derive(Clone, Debug, PartialEq)]
pub struct Fabric {
    /// Node NIC bandwidth, GB/s one direction (all NICs of a node together).
    pub nic_gbs: Vec<f64>,
    /// Leaf switch of each node (`None`: one ideal switch).
    pub leaf: Vec<Option<usize>>,
    pub switches: Vec<Sw>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sw {
    pub name: String,
    pub parent: Option<usize>,
    /// GB/s one direction towards the parent.
    pub uplink_gbs: Option<f64>,
}

impl Fabric {
    /// The inter-node fabric of `t` for its nodes in file order.
    pub fn from_topology(t: &xccl_topo::Topology) -> Fabric {
        Fabric {
            nic_gbs: vec![t.nics.node_gbs(); t.nodes.len()],
            leaf: t.leaf_of_node.clone(),
            switches: t
                .switches
                .iter()
                .map(|s| Sw {
                    name: s.name.clone(),
                    parent: s.parent,
                    uplink_gbs: s.uplink_gbps.map(|g| g / 8.0),
                })
                .collect(),
        }
    }

    /// Switches from `s` to the top.
    fn chain(&self, mut s: usize) -> Vec<usize> {
        let mut v = vec![s];
        while let Some(p) = self.switches[s].parent {
            v.push(p);
            s = p;
        }
        v
    }

    /// Uplinks climbed and descended from node a to node b.
    pub fn route(&self, a: usize, b: usize) -> (Vec<usize>, Vec<usize>) {
        match (self.leaf[a], self.leaf[b]) {
            (Some(la), Some(lb)) => {
                let (ca, cb) = (self.chain(la), self.chain(lb));
                let Some(lca) = ca.iter().find(|s| cb.contains(s)).copied() else {
                    return (vec![], vec![]);
                };
                (
                    ca.iter().take_while(|s| **s != lca).copied().collect(),
                    cb.iter().take_while(|s| **s != lca).copied().collect(),
                )
            }
            _ => (vec![], vec![]),
        }
    }

    /// Expected GB/s of each flow `from → to` running at once: the slower NIC, and each
    /// uplink shared by the flows crossing it in the same direction.
    pub fn expected(&self, flows: &[(usize, usize)]) -> Vec<f64> {
        let mut up: BTreeMap<usize, usize> = BTreeMap::new();
        let mut down: BTreeMap<usize, usize> = BTreeMap::new();
        let routes: Vec<_> = flows.iter().map(|&(a, b)| self.route(a, b)).collect();
        for (u, d) in &routes {
            u.iter().for_each(|s| *up.entry(*s).or_default() += 1);
            d.iter().for_each(|s| *down.entry(*s).or_default() += 1);
        }
        flows
            .iter()
            .zip(&routes)
            .map(|(&(a, b), (u, d))| {
                let mut e = self.nic_gbs[a].min(self.nic_gbs[b]);
                for (s, n) in u
                    .iter()
                    .map(|s| (s, up[s]))
                    .chain(d.iter().map(|s| (s, down[s])))
                {
                    if let Some(c) = self.switches[*s].uplink_gbs {
                        e = e.min(c / n as f64);
                    }
                }
                e
            })
            .collect()
    }

    /// Nodes below switch `s` (its subtree).
    pub fn below(&self, s: usize) -> Vec<usize> {
        (0..self.leaf.len())
            .filter(|&n| self.leaf[n].is_some_and(|l| self.chain(l).contains(&s)))
            .collect()
    }
}

/// Fills expected, efficiency and low for every link: from `fabric` for inter-node links
/// (with the sharing of each link's round), else from the median of its class.
pub fn judge(m: &mut Matrix, fabric: Option<&Fabric>, threshold: f64) {
    let mut by_round: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, l) in m.links.iter().enumerate() {
        by_round.entry(l.round).or_default().push(i);
    }
    let med = |class: LinkClass, f: fn(&Link) -> f64, links: &[Link]| {
        median(
            &links
                .iter()
                .filter(|l| l.class == class)
                .map(f)
                .collect::<Vec<_>>(),
        )
    };
    let mut expected = vec![(f64::NAN, f64::NAN); m.links.len()];
    for idx in by_round.values() {
        let rdma: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| m.links[i].class == LinkClass::Rdma)
            .collect();
        if let Some(f) = fabric {
            // One direction: a → b for every pair; both: also b → a.
            let uni: Vec<_> = rdma.iter().map(|&i| (m.links[i].a, m.links[i].b)).collect();
            let mut both = uni.clone();
            both.extend(uni.iter().map(|&(a, b)| (b, a)));
            let eu = f.expected(&uni);
            let eb = f.expected(&both);
            for (k, &i) in rdma.iter().enumerate() {
                expected[i] = (eu[k], eb[k].min(eb[k + rdma.len()]));
            }
        }
    }
    let from_file = fabric.is_some();
    let links = m.links.clone();
    for (i, l) in m.links.iter_mut().enumerate() {
        let (mut eu, mut eb) = expected[i];
        if eu.is_nan() || eb.is_nan() {
            eu = med(l.class, |l| l.uni_gbs, &links);
            eb = med(l.class, |l| l.bi_gbs, &links);
        }
        l.expected_gbs = eu;
        let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
        l.efficiency = finite(l.uni_gbs / eu);
        l.bi_efficiency = finite(l.bi_gbs / eb);
        l.low = l.efficiency < threshold;
    }
    m.expected_from = if from_file {
        "topology".into()
    } else {
        "class median".into()
    };
}

/// Findings from a judged matrix. `fabric` (node-indexed like the RDMA endpoints) enables
/// the uplink rule; SDMA endpoints are never blamed as nodes, only as links.
pub fn attribute(m: &Matrix, fabric: Option<&Fabric>) -> Vec<Finding> {
    let mut out: Vec<Finding> = vec![];
    let mut explained = vec![false; m.links.len()];
    let rdma: Vec<usize> = (0..m.links.len())
        .filter(|&i| m.links[i].class == LinkClass::Rdma)
        .collect();
    let is_low = |i: usize| m.links[i].low;
    // 1. Uplinks.
    let mut same_cross: Vec<(usize, Vec<usize>)> = vec![];
    if let Some(f) = fabric {
        for (s, sw) in f.switches.iter().enumerate() {
            if sw.parent.is_none() {
                continue;
            }
            let inside = f.below(s);
            let outside: Vec<usize> = (0..f.leaf.len()).filter(|n| !inside.contains(n)).collect();
            if inside.len() < 2 || outside.len() < 2 {
                continue;
            }
            let crosses = |i: usize| {
                let l = &m.links[i];
                inside.contains(&l.a) != inside.contains(&l.b)
            };
            let cross: Vec<usize> = rdma.iter().copied().filter(|&i| crosses(i)).collect();
            let rest: Vec<usize> = rdma.iter().copied().filter(|&i| !crosses(i)).collect();
            let low = cross.iter().filter(|&&i| is_low(i)).count();
            if cross.is_empty() || (low as f64) < UPLINK_SHARE * cross.len() as f64 {
                continue;
            }
            if rest.iter().any(|&i| is_low(i) && !explained[i]) {
                continue;
            }
            // The same crossing links as an uplink already named (two leaves under one
            // core: every path climbs one and descends the other): one finding for the
            // path, since no measurement between nodes can tell the two uplinks apart.
            if let Some((k, _)) = same_cross.iter().find(|(_, c)| *c == cross) {
                let k: usize = *k;
                if let Subject::Switches { switches } = &mut out[k].subject {
                    switches.push(sw.name.clone());
                }
                out[k].evidence.push_str(&format!(
                    "; the same links cross {}'s uplink: the measurement cannot tell which \
                     of the two uplinks on this path is slow",
                    sw.name
                ));
                continue;
            }
            same_cross.push((out.len(), cross.clone()));
            let eff: Vec<f64> = cross.iter().map(|&i| m.links[i].efficiency).collect();
            let parent = sw.parent.map_or("-".into(), |p| f.switches[p].name.clone());
            let mut metrics = BTreeMap::new();
            metrics.insert("median_efficiency".into(), median(&eff));
            metrics.insert("low_links".into(), low as f64);
            metrics.insert("crossing_links".into(), cross.len() as f64);
            out.push(Finding {
                kind: FindingKind::SlowUplink,
                subject: Subject::Switches {
                    switches: vec![sw.name.clone(), parent.clone()],
                },
                evidence: format!(
                    "{low} of {} links crossing {} <-> {parent} are below 0.8 of expected \
                     (median {:.2}) while the {} links within either side are fine",
                    cross.len(),
                    sw.name,
                    median(&eff),
                    rest.len()
                ),
                metrics,
            });
            for i in cross {
                explained[i] = true;
            }
        }
    }
    // 2. Nodes (RDMA endpoints), greedily.
    loop {
        let mut best: Option<(usize, usize, usize)> = None; // (node, low, degree)
        for n in 0..m.names.len() {
            let mine: Vec<usize> = rdma
                .iter()
                .copied()
                .filter(|&i| !explained[i] && (m.links[i].a == n || m.links[i].b == n))
                .collect();
            let deg = mine.len();
            let low = mine.iter().filter(|&&i| is_low(i)).count();
            if deg >= 2 && low >= 2 && low + 1 >= deg && best.is_none_or(|b| low > b.1) {
                best = Some((n, low, deg));
            }
        }
        let Some((n, low, deg)) = best else { break };
        let mine: Vec<usize> = rdma
            .iter()
            .copied()
            .filter(|&i| !explained[i] && (m.links[i].a == n || m.links[i].b == n))
            .collect();
        let eff: Vec<f64> = mine.iter().map(|&i| m.links[i].efficiency).collect();
        let mut metrics = BTreeMap::new();
        metrics.insert("median_efficiency".into(), median(&eff));
        metrics.insert("low_links".into(), low as f64);
        metrics.insert("links".into(), deg as f64);
        out.push(Finding {
            kind: FindingKind::SlowNode,
            subject: Subject::Host {
                host: m.names[n].clone(),
            },
            evidence: format!(
                "{low} of its {deg} links are below 0.8 of expected (median efficiency {:.2}) \
                 while the other nodes' links among themselves are fine: its NIC, PCIe or host",
                median(&eff)
            ),
            metrics,
        });
        for i in mine {
            explained[i] = true;
        }
    }
    // 3. Links left.
    for (i, l) in m.links.iter().enumerate() {
        if l.low && !explained[i] {
            let mut metrics = BTreeMap::new();
            metrics.insert("efficiency".into(), l.efficiency);
            metrics.insert("expected_gbs".into(), l.expected_gbs);
            metrics.insert("uni_gbs".into(), l.uni_gbs);
            metrics.insert("bi_gbs".into(), l.bi_gbs);
            out.push(Finding {
                kind: FindingKind::SlowLink,
                subject: Subject::Link {
                    a: m.names[l.a].clone(),
                    b: m.names[l.b].clone(),
                },
                evidence: format!(
                    "{} link at {:.2} of expected ({:.4} GB/s one way, {:.4} each way when \
                     both run, expected {:.4} from the {}) while both ends are fine elsewhere",
                    l.class, l.efficiency, l.uni_gbs, l.bi_gbs, l.expected_gbs, m.expected_from
                ),
                metrics,
            });
        }
    }
    out
}

/// Judges and attributes in one step with the default threshold.
pub fn diagnose(m: &mut Matrix, fabric: Option<&Fabric>) -> Vec<Finding> {
    judge(m, fabric, DEFAULT_THRESHOLD);
    attribute(m, fabric)
}

/// The matrix as text: one row per endpoint, efficiency per column ("." on the diagonal,
/// "!" marks a low link), then GB/s and latency per link.
pub fn render(m: &Matrix) -> String {
    use std::fmt::Write;
    // Endpoints that have links (a job on one node has no inter-node row).
    let shown: Vec<usize> = (0..m.names.len())
        .filter(|&e| m.links.iter().any(|l| l.a == e || l.b == e))
        .collect();
    let w = m.names.iter().map(String::len).max().unwrap_or(4).max(6);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# link efficiency (one-way GB/s over expected from the {})",
        m.expected_from
    );
    let _ = write!(s, "{:>w$}", "");
    for &e in &shown {
        let _ = write!(s, " {:>w$}", m.names[e]);
    }
    s.push('\n');
    for &a in &shown {
        let _ = write!(s, "{:>w$}", m.names[a]);
        for &b in &shown {
            let cell = m
                .links
                .iter()
                .find(|l| (l.a, l.b) == (a.min(b), a.max(b)))
                .map_or(if a == b { ".".into() } else { "-".into() }, |l| {
                    format!("{:.2}{}", l.efficiency, if l.low { "!" } else { " " })
                });
            let _ = write!(s, " {cell:>w$}");
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "# {:>w$} {:>w$} {:>5} {:>5} {:>10} {:>10} {:>10} {:>9} {:>5} {:>6}",
        "a", "b", "class", "round", "uni_GB/s", "bi_GB/s", "exp_GB/s", "lat_us", "eff", "bi_eff"
    );
    for l in &m.links {
        let _ = writeln!(
            s,
            "  {:>w$} {:>w$} {:>5} {:>5} {:>10.4} {:>10.4} {:>10.4} {:>9.1} {:>5.2} {:>6.2}{}",
            m.names[l.a],
            m.names[l.b],
            l.class.name(),
            l.round,
            l.uni_gbs,
            l.bi_gbs,
            l.expected_gbs,
            l.latency_us,
            l.efficiency,
            l.bi_efficiency,
            if l.low { " LOW" } else { "" }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::circle;

    /// A fabric of `groups` leaf switches (node counts), all children of the first
    /// switch's parent-less top "core" with uplinks `up` GB/s, NICs `nic` GB/s.
    fn fabric(groups: &[usize], nic: f64, up: f64) -> Fabric {
        let mut leaf = vec![];
        let mut switches = vec![Sw {
            name: "core".into(),
            parent: None,
            uplink_gbs: None,
        }];
        for (g, &k) in groups.iter().enumerate() {
            switches.push(Sw {
                name: format!("leaf{g}"),
                parent: Some(0),
                uplink_gbs: Some(up),
            });
            leaf.extend(std::iter::repeat_n(Some(g + 1), k));
        }
        Fabric {
            nic_gbs: vec![nic; leaf.len()],
            leaf,
            switches,
        }
    }

    /// "Measures" every pair with the fabric's own expectation, scaled by `truth`
    /// (the actual fabric) — i.e. the matrix a cluster with `truth` would give.
    fn measure(truth: &Fabric) -> Matrix {
        let n = truth.leaf.len();
        let mut links = vec![];
        for (r, round) in circle(n).iter().enumerate() {
            let uni = truth.expected(round);
            let mut both: Vec<_> = round.clone();
            both.extend(round.iter().map(|&(a, b)| (b, a)));
            let bi = truth.expected(&both);
            for (k, &(a, b)) in round.iter().enumerate() {
                links.push(Link {
                    a,
                    b,
                    class: LinkClass::Rdma,
                    round: r,
                    // TCP framing: a healthy link measures ~0.93 of the rate.
                    uni_gbs: 0.93 * uni[k],
                    bi_gbs: 0.93 * bi[k].min(bi[k + round.len()]),
                    latency_us: 50.0,
                    expected_gbs: 0.0,
                    efficiency: 0.0,
                    bi_efficiency: 0.0,
                    low: false,
                });
            }
        }
        Matrix {
            names: (0..n).map(|i| format!("n{}", i + 1)).collect(),
            links,
            expected_from: String::new(),
        }
    }

    fn kinds(f: &[Finding]) -> Vec<(FindingKind, String)> {
        f.iter().map(|f| (f.kind, f.subject.to_string())).collect()
    }

    #[test]
    fn expected_shares_an_oversubscribed_uplink() {
        // 2+2 nodes, NIC 0.05 GB/s, uplink 0.05: two pairs cross at once → 0.025 each;
        // pairs inside a leaf get the NIC rate.
        let f = fabric(&[2, 2], 0.05, 0.05);
        assert_eq!(f.expected(&[(0, 2), (1, 3)]), vec![0.025, 0.025]);
        assert_eq!(f.expected(&[(0, 1), (2, 3)]), vec![0.05, 0.05]);
        // Opposite directions do not share (full duplex).
        assert_eq!(f.expected(&[(0, 2), (3, 1)]), vec![0.05, 0.05]);
    }

    #[test]
    fn healthy_gives_nothing_with_and_without_topology() {
        for groups in [&[2, 2][..], &[2, 2, 2], &[3, 2], &[1, 2, 2]] {
            let f = fabric(groups, 0.05, 0.05);
            let mut m = measure(&f);
            assert!(diagnose(&mut m, Some(&f)).is_empty(), "{groups:?}");
        }
        // Non-blocking fabric, no topology: median of the class.
        let f = fabric(&[3, 3], 0.05, 1.0);
        let mut m = measure(&f);
        assert!(diagnose(&mut m, None).is_empty());
    }

    #[test]
    fn slow_node_named_alone() {
        // Node n3 at a quarter rate on 2+2; also 6 nodes on 3 switches and odd 5 nodes.
        for (groups, slow) in [
            (&[2, 2][..], 2),
            (&[2, 2, 2], 4),
            (&[3, 2], 1),
            (&[2, 3], 4),
        ] {
            let f = fabric(groups, 0.05, 0.05);
            let mut truth = f.clone();
            truth.nic_gbs[slow] *= 0.25;
            let mut m = measure(&truth);
            let got = diagnose(&mut m, Some(&f));
            assert_eq!(
                kinds(&got),
                vec![(FindingKind::SlowNode, format!("host n{}", slow + 1))],
                "{groups:?}"
            );
            // And without a topology (median of the class), on a non-blocking fabric.
            let f = fabric(groups, 0.05, 1.0);
            let mut truth = f.clone();
            truth.nic_gbs[slow] *= 0.25;
            let mut m = measure(&truth);
            let got = diagnose(&mut m, None);
            assert_eq!(
                kinds(&got),
                vec![(FindingKind::SlowNode, format!("host n{}", slow + 1))],
                "{groups:?} without topology"
            );
        }
    }

    #[test]
    fn slow_uplink_named_without_nodes() {
        // Uplink of leaf1 (nodes n3, n4) at a quarter: its crossing links fall, the rest not.
        // With two leaves under one core, every crossing path climbs leaf0's uplink and
        // descends leaf1's: the finding names the path.
        for (groups, name) in [
            (&[2, 2][..], "uplink leaf0 <-> core <-> leaf1"),
            (&[2, 2, 2], "uplink leaf1 <-> core"),
            (&[3, 3, 2], "uplink leaf1 <-> core"),
        ] {
            let f = fabric(groups, 0.05, 0.05);
            let mut truth = f.clone();
            truth.switches[2].uplink_gbs = Some(0.0125);
            let mut m = measure(&truth);
            let got = diagnose(&mut m, Some(&f));
            assert_eq!(
                kinds(&got),
                vec![(FindingKind::SlowUplink, name.into())],
                "{groups:?}: {}",
                render(&m)
            );
        }
    }

    #[test]
    fn one_slow_pair_is_a_slow_link() {
        let f = fabric(&[3, 3], 0.05, 0.1);
        let mut m = measure(&f);
        let l = m.links.iter_mut().find(|l| (l.a, l.b) == (1, 4)).unwrap();
        l.uni_gbs *= 0.3;
        let got = diagnose(&mut m, Some(&f));
        assert_eq!(
            kinds(&got),
            vec![(FindingKind::SlowLink, "link n2 <-> n5".into())]
        );
    }

    #[test]
    fn two_slow_nodes() {
        // n1 and n4 both slow on 6 nodes: greedy takes both, nothing else.
        let f = fabric(&[3, 3], 0.05, 1.0);
        let mut truth = f.clone();
        truth.nic_gbs[0] *= 0.25;
        truth.nic_gbs[3] *= 0.5;
        let mut m = measure(&truth);
        let mut got = kinds(&diagnose(&mut m, Some(&f)));
        got.sort();
        assert_eq!(
            got,
            vec![
                (FindingKind::SlowNode, "host n1".into()),
                (FindingKind::SlowNode, "host n4".into())
            ]
        );
    }
}
