//! Is each declared switch uplink as fast as the file says? (`topo validate`: `slow_uplink`.)
//!
//! The contention test of [`crate::leaf`] tells *where* the uplinks are; it cannot tell
//! how fast they are (two flows that share an uplink get half each whatever its rate).
//! So every declared uplink gets a load test of its own ([`plan`]): in each direction,
//! as many disjoint flows across it as the smaller side has nodes (each node sends or
//! receives one flow), all at once, the receivers taken round-robin over the leaves of
//! the other side so that no single other uplink carries them all. What the flows should
//! carry together comes from the topology's flow model
//! ([`xccl_topo::model::node_flows`]: each node's NICs, and every uplink on the path
//! shared by the flows crossing it in the same direction), i.e. min(declared uplink,
//! the participating NICs together) when nothing else is on the way. A test is *low*
//! below 0.8 of that (docs/SOURCES.md [ascend-tuning]).
//!
//! A low test blames its uplink only when (in this order, [`diagnose`]):
//! 1. every node of the test sits where the file says (a misplaced node's flows do not
//!    cross the uplink the plan assumed);
//! 2. every node of the test has another node on its own leaf and its flows there, in
//!    the direction it uses in the test, reach 0.8 of the model ([`own_leaf`]): otherwise
//!    a slow NIC could explain the test (a slow node is not a slow uplink; `links` names
//!    it). With one node under a leaf its NIC and its uplink cannot be told apart (the
//!    same limit as `links`);
//! 3. the uplink is not explained by another suspect: uplink `u` is explained by `v`
//!    when every low flow of `u`'s low tests crosses `v` in a direction `v` tested low,
//!    and not the other way round. A flow is low below 0.8 of the test's fair share
//!    (expected / flows). When `u` and `v` explain each other (two leaves under one
//!    core: every flow climbs one uplink and descends the other) one finding names the
//!    path (`uplink leaf0 <-> core <-> leaf1`): no measurement between nodes can split
//!    them.
//!
//! Both directions of an uplink give one finding; its evidence lists each low direction
//! with the flows used, measured and expected GB/s.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use xccl_schema::finding::{Finding, FindingKind, Subject};
use xccl_topo::model::node_flows;
use xccl_topo::Topology;

/// Direction of a test across an uplink: `Up` from the switch's subtree towards its
/// parent, `Down` into the subtree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    Up,
    Down,
}

/// One load test of one uplink in one direction. Node indices are the job's (`nodes[i]`
/// is job node i's index in the topology).
#[derive(Clone, Debug, PartialEq)]
pub struct UplinkTest {
    /// Index into the topology's switches: the uplink of this switch to its parent.
    pub switch: usize,
    pub dir: Dir,
    /// Flows `(from, to)` that run at once.
    pub flows: Vec<(usize, usize)>,
    /// What the flows should carry together, GB/s (the topology's flow model).
    pub expected_gbs: f64,
    /// The model's most loaded resource.
    pub bottleneck: String,
}

/// What a test measured: all flows' bytes over the slowest flow's time, and each flow's
/// own rate (GB/s).
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    pub aggregate_gbs: f64,
    pub flow_gbs: Vec<f64>,
}

/// A node's best flow inside its own leaf, as a fraction of what the model expects of it
/// alone: sending and receiving. `None`: no other node on its leaf.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OwnLeaf {
    pub send: Option<f64>,
    pub recv: Option<f64>,
}

/// A test judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    pub efficiency: f64,
    pub low: bool,
    /// Why a low test does not count against its uplink.
    pub not_judged: Option<String>,
}

/// One uplink test as `topo validate --json` writes it (hosts by name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UplinkRecord {
    /// `[switch, parent]`.
    pub uplink: Vec<String>,
    pub dir: Dir,
    /// `from->to` per flow.
    pub flows: Vec<String>,
    pub measured_gbs: f64,
    pub flow_gbs: Vec<f64>,
    pub expected_gbs: f64,
    pub bottleneck: String,
    pub efficiency: f64,
    pub low: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
}

/// Bytes per flow the model is asked about (the rates do not depend on it).
const MODEL_BYTES: f64 = 1e9;

fn chain(t: &Topology, leaf: Option<usize>) -> Vec<usize> {
    let mut v = vec![];
    let mut s = leaf;
    while let Some(x) = s {
        v.push(x);
        s = t.switches[x].parent;
    }
    v
}

/// Job nodes below switch `s` (its subtree).
fn below(t: &Topology, nodes: &[usize], s: usize) -> Vec<usize> {
    (0..nodes.len())
        .filter(|&i| chain(t, t.leaf_of_node[nodes[i]]).contains(&s))
        .collect()
}

/// Does the flow `a → b` (job nodes) cross the uplink of `s` in direction `d`?
fn crosses(t: &Topology, nodes: &[usize], (a, b): (usize, usize), s: usize, d: Dir) -> bool {
    t.route_switches(nodes[a], nodes[b])
        .is_some_and(|(up, down)| match d {
            Dir::Up => up.contains(&s),
            Dir::Down => down.contains(&s),
        })
}

fn expected_single(t: &Topology, nodes: &[usize], a: usize, b: usize) -> f64 {
    node_flows(t, &[(nodes[a], nodes[b])], MODEL_BYTES).aggregate_gbs
}

/// The load tests for every declared uplink (a switch with a parent and `uplink_gbps`)
/// with job nodes on both sides, both directions. `nodes[i]`: job node i's index in `t`.
pub fn plan(t: &Topology, nodes: &[usize]) -> Vec<UplinkTest> {
    let mut out = vec![];
    for (s, sw) in t.switches.iter().enumerate() {
        if sw.parent.is_none() || sw.uplink_gbps.is_none() {
            continue;
        }
        let inside = below(t, nodes, s);
        let outside: Vec<usize> = (0..nodes.len()).filter(|i| !inside.contains(i)).collect();
        if inside.is_empty() || outside.is_empty() {
            continue;
        }
        // The other side, round-robin over its leaves (in switch order).
        let mut by_leaf: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
        for &o in &outside {
            by_leaf.entry(t.leaf_of_node[nodes[o]]).or_default().push(o);
        }
        let mut rr = vec![];
        for k in 0.. {
            let before = rr.len();
            rr.extend(by_leaf.values().filter_map(|v| v.get(k)));
            if rr.len() == before {
                break;
            }
        }
        let k = inside.len().min(rr.len());
        for dir in [Dir::Up, Dir::Down] {
            let flows: Vec<(usize, usize)> = (0..k)
                .map(|i| match dir {
                    Dir::Up => (inside[i], rr[i]),
                    Dir::Down => (rr[i], inside[i]),
                })
                .collect();
            let topo_flows: Vec<(usize, usize)> =
                flows.iter().map(|&(a, b)| (nodes[a], nodes[b])).collect();
            let e = node_flows(t, &topo_flows, MODEL_BYTES);
            if e.unknown.is_some() {
                continue;
            }
            out.push(UplinkTest {
                switch: s,
                dir,
                flows,
                expected_gbs: e.aggregate_gbs,
                bottleneck: e.bottleneck,
            });
        }
    }
    out
}

/// Each job node's best flow inside its own (declared) leaf over the model's rate for it.
/// `best[a][b]`: the best rate (GB/s) measured for `a → b` without contention (0: none).
pub fn own_leaf(t: &Topology, nodes: &[usize], best: &[Vec<f64>]) -> Vec<OwnLeaf> {
    let n = nodes.len();
    (0..n)
        .map(|a| {
            let leaf = t.leaf_of_node[nodes[a]];
            let peers: Vec<usize> = (0..n)
                .filter(|&b| b != a && t.leaf_of_node[nodes[b]] == leaf)
                .collect();
            if peers.is_empty() {
                return OwnLeaf::default();
            }
            let eff = |from: usize, to: usize| {
                let e = expected_single(t, nodes, from, to);
                let r = best[from][to];
                if e > 0.0 && r.is_finite() {
                    r / e
                } else {
                    0.0
                }
            };
            OwnLeaf {
                send: Some(peers.iter().map(|&b| eff(a, b)).fold(0.0, f64::max)),
                recv: Some(peers.iter().map(|&b| eff(b, a)).fold(0.0, f64::max)),
            }
        })
        .collect()
}

/// `uplink` name pair of switch `s`: `[s, parent]`.
fn uplink_names(t: &Topology, s: usize) -> Vec<String> {
    let parent = t.switches[s]
        .parent
        .map_or("-".to_string(), |p| t.switches[p].name.clone());
    vec![t.switches[s].name.clone(), parent]
}

fn dir_arrow(t: &Topology, s: usize, d: Dir) -> String {
    let [a, b]: [String; 2] = uplink_names(t, s).try_into().expect("two names");
    match d {
        Dir::Up => format!("{a} -> {b}"),
        Dir::Down => format!("{b} -> {a}"),
    }
}

/// Judges every test at `threshold` × expected and names each uplink slower than declared
/// (`slow_uplink`). `names`: host per job node; `misplaced[i]`: job node i is reported as
/// `misplaced_node`.
#[allow(clippy::too_many_arguments)]
pub fn diagnose(
    t: &Topology,
    nodes: &[usize],
    names: &[String],
    tests: &[UplinkTest],
    measured: &[Measured],
    own: &[OwnLeaf],
    misplaced: &[bool],
    threshold: f64,
) -> (Vec<Judged>, Vec<Finding>) {
    let mut judged = vec![];
    for (test, m) in tests.iter().zip(measured) {
        let eff = if test.expected_gbs > 0.0 && m.aggregate_gbs.is_finite() {
            m.aggregate_gbs / test.expected_gbs
        } else {
            0.0
        };
        let low = eff < threshold;
        let mut why = None;
        if low {
            'flows: for &(a, b) in &test.flows {
                for (x, role) in [(a, "send"), (b, "recv")] {
                    if misplaced[x] {
                        why = Some(format!(
                            "{} is misplaced: its flows do not take the path planned",
                            names[x]
                        ));
                        break 'flows;
                    }
                    let ol = own[x];
                    let (e, verb) = if role == "send" {
                        (ol.send, "sending")
                    } else {
                        (ol.recv, "receiving")
                    };
                    match e {
                        None => {
                            why = Some(format!(
                                "{} has no other node on its leaf: its NIC and the uplink \
                                 cannot be told apart",
                                names[x]
                            ));
                            break 'flows;
                        }
                        Some(e) if e < threshold => {
                            why = Some(format!(
                                "{} reaches only {e:.2} of expected {verb} inside its own \
                                 leaf: the node, not the uplink (run links)",
                                names[x]
                            ));
                            break 'flows;
                        }
                        _ => {}
                    }
                }
            }
        }
        judged.push(Judged {
            efficiency: eff,
            low,
            not_judged: why,
        });
    }
    // Suspects: uplink → its low judged tests.
    let mut suspects: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, (test, j)) in tests.iter().zip(&judged).enumerate() {
        if j.low && j.not_judged.is_none() {
            suspects.entry(test.switch).or_default().push(i);
        }
    }
    // Low flows of each suspect; the directions it tested low in.
    let low_flows = |u: usize| -> Vec<(usize, usize)> {
        let mut v = vec![];
        for &i in &suspects[&u] {
            let (test, m) = (&tests[i], &measured[i]);
            let share = test.expected_gbs / test.flows.len() as f64;
            let mut low: Vec<(usize, usize)> = test
                .flows
                .iter()
                .zip(&m.flow_gbs)
                .filter(|(_, &r)| r < threshold * share)
                .map(|(f, _)| *f)
                .collect();
            if low.is_empty() {
                low = test.flows.clone();
            }
            v.extend(low);
        }
        v
    };
    let dirs = |u: usize| -> BTreeSet<Dir> { suspects[&u].iter().map(|&i| tests[i].dir).collect() };
    let covers = |v: usize, u: usize| {
        let dv = dirs(v);
        low_flows(u)
            .iter()
            .all(|&f| dv.iter().any(|&d| crosses(t, nodes, f, v, d)))
    };
    let keys: Vec<usize> = suspects.keys().copied().collect();
    let kept: Vec<usize> = keys
        .iter()
        .copied()
        .filter(|&u| {
            !keys
                .iter()
                .any(|&v| v != u && covers(v, u) && !covers(u, v))
        })
        .collect();
    // Groups of uplinks that explain each other: one finding per group.
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut findings = vec![];
    for &u in &kept {
        if done.contains(&u) {
            continue;
        }
        let group: Vec<usize> = kept
            .iter()
            .copied()
            .filter(|&v| v == u || (!done.contains(&v) && covers(v, u) && covers(u, v)))
            .collect();
        done.extend(group.iter().copied());
        let mut switches = uplink_names(t, u);
        for &v in &group[1..] {
            let name = t.switches[v].name.clone();
            if !switches.contains(&name) {
                switches.push(name);
            }
        }
        let mut parts = vec![];
        let (mut measured_sum, mut expected_sum, mut flows_n, mut eff_min) =
            (0.0, 0.0, 0usize, f64::INFINITY);
        for &i in &suspects[&u] {
            let (test, m) = (&tests[i], &measured[i]);
            let flows: Vec<String> = test
                .flows
                .iter()
                .map(|&(a, b)| format!("{}->{}", names[a], names[b]))
                .collect();
            parts.push(format!(
                "{}: {} flow(s) at once ({}) carried {:.4} GB/s together against {:.4} \
                 expected from the declared rates (limit: {}): {:.2}",
                dir_arrow(t, u, test.dir),
                test.flows.len(),
                flows.join(", "),
                m.aggregate_gbs,
                test.expected_gbs,
                test.bottleneck,
                judged[i].efficiency
            ));
            measured_sum += m.aggregate_gbs;
            expected_sum += test.expected_gbs;
            flows_n = flows_n.max(test.flows.len());
            eff_min = eff_min.min(judged[i].efficiency);
        }
        let mut evidence = format!(
            "{}; below {threshold} of expected while the same nodes' flows inside their own \
             leaves reach it",
            parts.join("; ")
        );
        if group.len() > 1 {
            let others: Vec<&str> = group[1..]
                .iter()
                .map(|&v| t.switches[v].name.as_str())
                .collect();
            evidence.push_str(&format!(
                "; the same flows cross {}'s uplink: the measurement cannot tell which \
                 uplink on this path is slow",
                others.join(", ")
            ));
        }
        let n = suspects[&u].len() as f64;
        let mut metrics = BTreeMap::new();
        metrics.insert("efficiency".into(), eff_min);
        metrics.insert("measured_gbs".into(), measured_sum / n);
        metrics.insert("expected_gbs".into(), expected_sum / n);
        metrics.insert("flows".into(), flows_n as f64);
        findings.push(Finding {
            kind: FindingKind::SlowUplink,
            subject: Subject::Switches { switches },
            evidence,
            metrics,
        });
    }
    (judged, findings)
}

/// The records of `topo validate --json`.
pub fn records(
    t: &Topology,
    names: &[String],
    tests: &[UplinkTest],
    measured: &[Measured],
    judged: &[Judged],
) -> Vec<UplinkRecord> {
    tests
        .iter()
        .zip(measured)
        .zip(judged)
        .map(|((test, m), j)| UplinkRecord {
            uplink: uplink_names(t, test.switch),
            dir: test.dir,
            flows: test
                .flows
                .iter()
                .map(|&(a, b)| format!("{}->{}", names[a], names[b]))
                .collect(),
            measured_gbs: m.aggregate_gbs,
            flow_gbs: m.flow_gbs.clone(),
            expected_gbs: test.expected_gbs,
            bottleneck: test.bottleneck.clone(),
            efficiency: j.efficiency,
            low: j.low,
            not_judged: j.not_judged.clone(),
        })
        .collect()
}

/// One line per test for the terminal.
pub fn render(
    t: &Topology,
    names: &[String],
    tests: &[UplinkTest],
    measured: &[Measured],
    judged: &[Judged],
) -> String {
    let mut s = String::new();
    for ((test, m), j) in tests.iter().zip(measured).zip(judged) {
        let flows: Vec<String> = test
            .flows
            .iter()
            .map(|&(a, b)| format!("{}->{}", names[a], names[b]))
            .collect();
        s.push_str(&format!(
            "  uplink {}: {} ({} flow(s)) {:.4} GB/s, expected {:.4}: {:.2}{}\n",
            dir_arrow(t, test.switch, test.dir),
            flows.join(" "),
            test.flows.len(),
            m.aggregate_gbs,
            test.expected_gbs,
            j.efficiency,
            match (&j.not_judged, j.low) {
                (Some(w), _) => format!("  LOW, not judged: {w}"),
                (None, true) => "  LOW".to_string(),
                _ => String::new(),
            }
        ));
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `n` emulated-style nodes (400 Mbit/s = 0.05 GB/s NICs, one device) under the
    /// switches `sw` = (name, hosts, parent, uplink Gbit/s).
    pub(crate) fn topo(hosts: &[&str], sw: &[(&str, &[&str], Option<&str>, f64)]) -> Topology {
        let q = |v: &[&str]| {
            v.iter()
                .map(|h| format!("\"{h}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = format!(
            "version = 1\nname = \"t\"\nhosts = [{}]\n[node]\ndevices = 1\n\
             [node.fabric]\nkind = \"shm\"\nbw_gbs = 5.0\n\
             [node.nic]\ncount = 1\nrate_gbps = 0.4\ntransport = \"tcp\"\n",
            q(hosts)
        );
        for (tier, (name, h, parent, up)) in sw.iter().enumerate() {
            s.push_str(&format!(
                "[[switch]]\nname = \"{name}\"\ntier = {}\nhosts = [{}]\n",
                if parent.is_some() { 1 } else { tier.max(2) },
                q(h)
            ));
            if let Some(p) = parent {
                s.push_str(&format!("parent = \"{p}\"\nuplink_gbps = {up}\n"));
            }
        }
        Topology::from_toml_str(&s, "t.toml").unwrap()
    }

    fn two_switches(uplink_gbps: f64) -> Topology {
        topo(
            &["n1", "n2", "n3", "n4"],
            &[
                ("sw1", &["n1", "n2"], Some("sw2"), uplink_gbps),
                ("sw2", &["n3", "n4"], None, 0.0),
            ],
        )
    }

    fn three_switches() -> Topology {
        topo(
            &["n1", "n2", "n3", "n4", "n5", "n6"],
            &[
                ("sw1", &["n1", "n2"], Some("sw3"), 0.4),
                ("sw2", &["n3", "n4"], Some("sw3"), 0.4),
                ("sw3", &["n5", "n6"], None, 0.0),
            ],
        )
    }

    /// The real fabric: actual GB/s of each node's NIC (both directions) and of each
    /// switch's uplink (both directions), whatever the file declares.
    struct Truth {
        nic: Vec<f64>,
        up: Vec<f64>,
    }

    impl Truth {
        fn healthy(t: &Topology) -> Truth {
            Truth {
                nic: vec![0.05; t.nodes.len()],
                up: t
                    .switches
                    .iter()
                    .map(|s| s.uplink_gbps.unwrap_or(0.0) / 8.0)
                    .collect(),
            }
        }

        /// Max-min fair rates of flows running at once (water-filling over NIC out/in
        /// and uplink up/down), written independently of the topology model.
        fn rates(&self, t: &Topology, flows: &[(usize, usize)]) -> Vec<f64> {
            // Resources: 0..n NIC out, n..2n NIC in, then 2 per switch (up, down).
            let n = self.nic.len();
            let mut cap: Vec<f64> = self.nic.iter().chain(&self.nic).copied().collect();
            for u in &self.up {
                cap.push(*u);
                cap.push(*u);
            }
            let uses: Vec<Vec<usize>> = flows
                .iter()
                .map(|&(a, b)| {
                    let mut r = vec![a, n + b];
                    let (up, down) = t.route_switches(a, b).unwrap();
                    r.extend(up.iter().map(|s| 2 * n + 2 * s));
                    r.extend(down.iter().map(|s| 2 * n + 2 * s + 1));
                    r
                })
                .collect();
            let mut rate = vec![f64::NAN; flows.len()];
            while rate.iter().any(|r| r.is_nan()) {
                let (mut best, mut share) = (0, f64::INFINITY);
                for (res, c) in cap.iter().enumerate() {
                    let k = (0..flows.len())
                        .filter(|&f| rate[f].is_nan() && uses[f].contains(&res))
                        .count();
                    if k > 0 && c / (k as f64) < share {
                        (best, share) = (res, c / k as f64);
                    }
                }
                for f in 0..flows.len() {
                    if rate[f].is_nan() && uses[f].contains(&best) {
                        rate[f] = share;
                        for &r in &uses[f] {
                            cap[r] -= share;
                        }
                    }
                }
            }
            rate
        }

        /// What `topo validate` measures: each flow its own rate (× `noise`), the
        /// aggregate all bytes over the slowest flow's time (k × the lowest rate).
        fn measure(&self, t: &Topology, tests: &[UplinkTest], noise: f64) -> Vec<Measured> {
            tests
                .iter()
                .map(|x| {
                    let r: Vec<f64> = self.rates(t, &x.flows).iter().map(|r| r * noise).collect();
                    Measured {
                        aggregate_gbs: r.len() as f64
                            * r.iter().copied().fold(f64::INFINITY, f64::min),
                        flow_gbs: r,
                    }
                })
                .collect()
        }

        /// Every ordered pair alone.
        fn alone(&self, t: &Topology, noise: f64) -> Vec<Vec<f64>> {
            let n = self.nic.len();
            (0..n)
                .map(|a| {
                    (0..n)
                        .map(|b| {
                            if a == b {
                                0.0
                            } else {
                                self.rates(t, &[(a, b)])[0] * noise
                            }
                        })
                        .collect()
                })
                .collect()
        }
    }

    fn run(
        t: &Topology,
        truth: &Truth,
        misplaced: &[bool],
    ) -> (Vec<UplinkTest>, Vec<Judged>, Vec<Finding>) {
        let nodes: Vec<usize> = (0..t.nodes.len()).collect();
        let tests = plan(t, &nodes);
        let measured = truth.measure(t, &tests, 0.9);
        let own = own_leaf(t, &nodes, &truth.alone(t, 0.9));
        let (j, f) = diagnose(t, &nodes, &t.nodes, &tests, &measured, &own, misplaced, 0.8);
        (tests, j, f)
    }

    fn subjects(f: &[Finding]) -> Vec<String> {
        f.iter().map(|f| f.subject.to_string()).collect()
    }

    #[test]
    fn plan_two_switches_by_hand() {
        let t = two_switches(0.4);
        let tests = plan(&t, &[0, 1, 2, 3]);
        // One uplink (sw1's), both directions, two flows each: n1→n3, n2→n4 and back.
        assert_eq!(tests.len(), 2);
        assert_eq!((tests[0].switch, tests[0].dir), (0, Dir::Up));
        assert_eq!(tests[0].flows, vec![(0, 2), (1, 3)]);
        assert_eq!(tests[1].flows, vec![(2, 0), (3, 1)]);
        // Expected: min(uplink 0.4 Gb/s = 0.05 GB/s, 2 NICs × 0.05) = 0.05 GB/s.
        assert!((tests[0].expected_gbs - 0.05).abs() < 1e-12);
        assert_eq!(tests[0].bottleneck, "uplink of sw1 (up)");
        // Not oversubscribed (1.6 Gb/s = 0.2 GB/s): the two NICs, 0.1 GB/s.
        let t = two_switches(1.6);
        assert!((plan(&t, &[0, 1, 2, 3])[0].expected_gbs - 0.1).abs() < 1e-12);
    }

    #[test]
    fn healthy_gives_nothing() {
        for t in [two_switches(0.4), two_switches(1.6), three_switches()] {
            let (tests, j, f) = run(&t, &Truth::healthy(&t), &vec![false; t.nodes.len()]);
            assert!(f.is_empty(), "{f:?}");
            // Every test at the 0.9 the noise leaves.
            for (x, j) in tests.iter().zip(&j) {
                assert!((j.efficiency - 0.9).abs() < 1e-9, "{x:?} {j:?}");
            }
        }
    }

    #[test]
    fn quarter_uplink_is_named() {
        let t = two_switches(0.4);
        let mut truth = Truth::healthy(&t);
        truth.up[0] = 0.05 / 4.0;
        let (_, j, f) = run(&t, &truth, &[false; 4]);
        assert_eq!(subjects(&f), vec!["uplink sw1 <-> sw2"]);
        assert_eq!(f[0].kind, FindingKind::SlowUplink);
        // 2 flows share 0.0125 GB/s: 0.00625 each × 0.9; together 0.01125 of 0.05 = 0.225.
        assert!((j[0].efficiency - 0.225).abs() < 1e-9, "{j:?}");
        assert!((f[0].metrics["efficiency"] - 0.225).abs() < 1e-9);
        assert!(
            f[0].evidence.contains("n1->n3, n2->n4"),
            "{}",
            f[0].evidence
        );
    }

    #[test]
    fn slow_node_is_not_a_slow_uplink() {
        // n3's NIC at a quarter. Oversubscribed: up test n1→n3 gets 0.0125, n2→n4 the
        // rest of the uplink (0.0375); the aggregate (2 × the slowest) is 0.025: 0.45
        // with noise, LOW — but n3 receives only 0.25 from n4 inside its leaf: not judged.
        // Non-blocking uplink (0.2 GB/s): the same, NIC-bound.
        for up in [0.4, 1.6] {
            let t = two_switches(up);
            let mut truth = Truth::healthy(&t);
            truth.nic[2] = 0.0125;
            let (_, j, f) = run(&t, &truth, &[false; 4]);
            assert!(f.is_empty(), "uplink {up}: {f:?}");
            assert!(j[0].low, "{j:?}");
            let why = j[0].not_judged.as_deref().unwrap();
            // 0.25 × 0.9 = 0.225 of the NIC.
            assert!(
                why.starts_with("n3 reaches only 0.2") && why.contains("receiving"),
                "{why}"
            );
        }
    }

    #[test]
    fn misplaced_or_lone_nodes_are_not_judged() {
        let t = two_switches(0.4);
        let mut truth = Truth::healthy(&t);
        truth.up[0] = 0.0125;
        let (_, j, f) = run(&t, &truth, &[false, true, false, false]);
        assert!(f.is_empty(), "{f:?}");
        assert!(j[0]
            .not_judged
            .as_deref()
            .unwrap()
            .starts_with("n2 is misplaced"));
        // n1 alone under sw1: its NIC and the uplink look the same.
        let t = topo(
            &["n1", "n2", "n3"],
            &[
                ("sw1", &["n1"], Some("sw2"), 0.4),
                ("sw2", &["n2", "n3"], None, 0.0),
            ],
        );
        let mut truth = Truth::healthy(&t);
        truth.up[0] = 0.0125;
        let (tests, j, f) = run(&t, &truth, &[false; 3]);
        assert_eq!(tests[0].flows, vec![(0, 1)]);
        assert!(f.is_empty(), "{f:?}");
        assert!(j[0]
            .not_judged
            .as_deref()
            .unwrap()
            .contains("no other node on its leaf"));
    }

    #[test]
    fn three_switches_name_only_the_slow_uplink() {
        let t = three_switches();
        let nodes: Vec<usize> = (0..6).collect();
        let tests = plan(&t, &nodes);
        // sw1: inside n1 n2, the other side round-robin over sw2 and sw3: n3, n5, n4, n6.
        assert_eq!(tests[0].flows, vec![(0, 2), (1, 4)]);
        // sw2: inside n3 n4, other side n1, n5, n2, n6.
        assert_eq!(tests[2].flows, vec![(2, 0), (3, 4)]);
        for slow in [0usize, 1] {
            let mut truth = Truth::healthy(&t);
            truth.up[slow] = 0.0125;
            let (_, j, f) = run(&t, &truth, &[false; 6]);
            // sw2 slow: sw1's up test n1→n3 gets 0.0125 (sw2's downlink), n2→n5 0.0375:
            // 2 × 0.0125 × 0.9 / 0.05 = 0.45, LOW; its low flow n1→n3 crosses sw2's
            // uplink, which tested low, while sw2's low flows (n4→n5, ...) do not all
            // cross sw1's: sw1 is explained, sw2 named. And the same the other way round.
            let other = 1 - slow;
            assert!(j[2 * other].low, "{j:?}");
            let want = format!("uplink sw{} <-> sw3", slow + 1);
            assert_eq!(subjects(&f), vec![want]);
        }
    }

    #[test]
    fn two_leaves_under_a_core_name_the_path() {
        let t = topo(
            &["n1", "n2", "n3", "n4"],
            &[
                ("leaf0", &["n1", "n2"], Some("core"), 0.4),
                ("leaf1", &["n3", "n4"], Some("core"), 0.4),
                ("core", &[], None, 0.0),
            ],
        );
        let mut truth = Truth::healthy(&t);
        truth.up[0] = 0.0125;
        let (_, _, f) = run(&t, &truth, &[false; 4]);
        // Every flow of leaf0's tests crosses leaf1's uplink and the reverse: one path.
        assert_eq!(subjects(&f), vec!["uplink leaf0 <-> core <-> leaf1"]);
    }
}
