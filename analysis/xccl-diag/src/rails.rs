//! Rail clusters: which part to replace — a NIC, a node, a device pair, a cable on the
//! wrong leaf, a leaf's uplink, or a link.
//!
//! Input is neutral ([`RailFabric`]: nodes, rails, each NIC's name, devices and declared
//! leaf, each leaf's uplink to the spine) and per-device measurements: inter-node links
//! between ports (node, rail) with the round each ran in, and intra-node device pairs.
//! The expected rate of an inter-node link is the slower NIC of its two ends and, when its
//! ends sit on different leaves, each leaf's uplink divided among the flows of the same
//! round that climb (or descend) it ([`RailFabric::expected`]); an intra-node pair expects
//! [`RailFabric::intra_gbs`]. A link is low below 0.8 of that
//! ([`xccl_schema::rules::BANDWIDTH_EFFICIENCY`]).
//!
//! Attribution ([`suspects`]), in this order, each step explaining the links it names so
//! that later steps do not see them again. Every rule asks for evidence that only the
//! named part explains (docs/DIAGNOSIS.md, "Rails: which part to replace"):
//! 1. `miswired_nic`: a NIC with most of its same-rail links low, such that placing it on
//!    another leaf L makes its links predominantly fine (≤ 25 % low), its links to ports
//!    on L are all fine there, and at least one of them measured faster than its declared
//!    path allows (above expected / 0.8, or anything where the declared path has none).
//! 2. `slow_uplink`: a leaf whose crossing links are ≥ 75 % low while the links within
//!    the leaf are predominantly fine (two ports at least on either side); leaves with the
//!    same crossing links (two leaves) are one finding naming the path.
//! 3. `slow_nic` / `slow_node`: a port with more than half of its same-rail links low and
//!    at least two low links in all, greedily from the port with the most low links; a
//!    node with at least half of its NICs so (two at least, unless it has one NIC) is one
//!    `slow_node`, else each such NIC is a `slow_nic`.
//! 4. `slow_device_link`: a low intra-node pair whose two devices are predominantly fine
//!    with the node's other devices.
//! 5. `slow_link`: every low link left.
//!
//! Confirmation as in [`crate::links`]: [`plan_rechecks`] lists each suspect's lowest
//! links (and, for `miswired_nic`, the links that showed where it is cabled), the runtime
//! measures each alone [`links::CONFIRM_REPEATS`] times, [`recheck`] judges the median
//! against what the link alone should give, and [`confirm`] keeps what stays as its rule
//! asks ([`links::confirm`]; a `miswired_nic` also needs its evidence links to stay fine).

use crate::links::{self, Link, Matrix, Recheck, Suspect, UPLINK_SHARE};
use crate::stats::median;
use std::collections::BTreeMap;
use xccl_schema::finding::{Finding, FindingKind, Subject};
use xccl_schema::rules::BANDWIDTH_EFFICIENCY;
use xccl_schema::LinkClass;

/// Share of a node's NICs that must be slow to blame the node (its host, PCIe root).
pub const NODE_SHARE: f64 = 0.5;

/// Evidence links of a `miswired_nic` measured again alone (they must stay fine).
pub const CONFIRM_WIRING_LINKS: usize = 2;

/// A NIC: node index and rail (index into the node's NICs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port {
    pub node: usize,
    pub rail: usize,
}

/// What the topology says about a rail cluster, in diagnosis terms.
#[derive(Clone, Debug, PartialEq)]
pub struct RailFabric {
    pub nodes: Vec<String>,
    pub rails: usize,
    /// Per node, per rail: the NIC's name.
    pub nic_names: Vec<Vec<String>>,
    /// Per node, per rail: the devices that use the NIC.
    pub nic_devices: Vec<Vec<Vec<usize>>>,
    /// Per node, per rail: the leaf the NIC is declared on (rail-optimised: the rail).
    pub nic_leaf: Vec<Vec<usize>>,
    /// Per leaf: its name.
    pub leaf_names: Vec<String>,
    /// Per leaf: GB/s one direction from the leaf to the spine, all its uplinks together
    /// (0: no spine, the leaves are not connected).
    pub leaf_spine_gbs: Vec<f64>,
    /// Per leaf: the name of the switch its uplink goes to (the spine), as findings name it.
    pub leaf_spine_names: Vec<String>,
    /// Per node, per rail: the NIC's GB/s one direction.
    pub nic_gbs: Vec<Vec<f64>>,
    /// GB/s one direction of a device pair within a node.
    pub intra_gbs: f64,
}

impl RailFabric {
    /// A rail-optimised cluster: `rails` NICs per node named `nic0..`, device r on NIC r,
    /// NIC r on leaf r (`leaf0..`), every NIC `nic_gbs`, every leaf `spine_gbs` up.
    pub fn rail_optimised(
        nodes: Vec<String>,
        rails: usize,
        nic_gbs: f64,
        spine_gbs: f64,
        intra_gbs: f64,
    ) -> RailFabric {
        let n = nodes.len();
        RailFabric {
            nodes,
            rails,
            nic_names: vec![(0..rails).map(|r| format!("nic{r}")).collect(); n],
            nic_devices: vec![(0..rails).map(|r| vec![r]).collect(); n],
            nic_leaf: vec![(0..rails).collect(); n],
            leaf_names: (0..rails).map(|r| format!("leaf{r}")).collect(),
            leaf_spine_gbs: vec![spine_gbs; rails],
            leaf_spine_names: vec!["spine".into(); rails],
            nic_gbs: vec![vec![nic_gbs; rails]; n],
            intra_gbs,
        }
    }

    pub fn leaf(&self, p: Port) -> usize {
        self.nic_leaf[p.node][p.rail]
    }

    pub fn ports(&self) -> impl Iterator<Item = Port> + '_ {
        (0..self.nodes.len())
            .flat_map(move |node| (0..self.rails).map(move |rail| Port { node, rail }))
    }

    /// Expected GB/s of each flow `a → b` running at once: the slower NIC, and, between
    /// leaves, each leaf's uplink shared by the flows climbing (descending) it.
    pub fn expected(&self, flows: &[(Port, Port)]) -> Vec<f64> {
        let mut up = vec![0usize; self.leaf_spine_gbs.len()];
        let mut down = up.clone();
        for &(a, b) in flows {
            if self.leaf(a) != self.leaf(b) {
                up[self.leaf(a)] += 1;
                down[self.leaf(b)] += 1;
            }
        }
        flows
            .iter()
            .map(|&(a, b)| {
                let (la, lb) = (self.leaf(a), self.leaf(b));
                let mut e = self.nic_gbs[a.node][a.rail].min(self.nic_gbs[b.node][b.rail]);
                if la != lb {
                    e = e
                        .min(self.leaf_spine_gbs[la] / up[la] as f64)
                        .min(self.leaf_spine_gbs[lb] / down[lb] as f64);
                }
                e
            })
            .collect()
    }

    /// The rail whose NICs are declared on leaf `l` (the most common; `l` if none).
    pub fn rail_of_leaf(&self, l: usize) -> usize {
        let mut count: BTreeMap<usize, usize> = BTreeMap::new();
        for p in self.ports().filter(|&p| self.leaf(p) == l) {
            *count.entry(p.rail).or_default() += 1;
        }
        count
            .into_iter()
            .max_by_key(|&(r, c)| (c, std::cmp::Reverse(r)))
            .map_or(l, |(r, _)| r)
    }

    /// The same fabric with only `nodes` (in that order): what the per-device test of a
    /// screen's suspects judges against (leaves and uplinks unchanged).
    pub fn subset(&self, nodes: &[usize]) -> RailFabric {
        fn pick<T: Clone>(v: &[T], nodes: &[usize]) -> Vec<T> {
            nodes.iter().map(|&n| v[n].clone()).collect()
        }
        RailFabric {
            nodes: nodes.iter().map(|&n| self.nodes[n].clone()).collect(),
            nic_names: pick(&self.nic_names, nodes),
            nic_devices: pick(&self.nic_devices, nodes),
            nic_leaf: pick(&self.nic_leaf, nodes),
            nic_gbs: pick(&self.nic_gbs, nodes),
            ..self.clone()
        }
    }

    fn port_name(&self, p: Port) -> String {
        format!("{}/{}", self.nodes[p.node], self.nic_names[p.node][p.rail])
    }
}

/// An inter-node link measured one direction, `a → b`, in round `round` (the flows of one
/// round ran at once and share what the topology says they share).
#[derive(Clone, Debug, PartialEq)]
pub struct InterLink {
    pub a: Port,
    pub b: Port,
    pub round: usize,
    pub gbs: f64,
}

/// A device pair within node `node`, one direction `i → j`.
#[derive(Clone, Debug, PartialEq)]
pub struct IntraLink {
    pub node: usize,
    pub i: usize,
    pub j: usize,
    pub gbs: f64,
}

/// The two ends of a link of a [`RailMatrix`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ends {
    Inter(Port, Port),
    Intra { node: usize, i: usize, j: usize },
}

/// The judged links: a [`links::Matrix`] (endpoint names `host/NIC` and `host/devD`,
/// expected, efficiency, low), with the ends of each link.
#[derive(Clone, Debug, PartialEq)]
pub struct RailMatrix {
    pub matrix: Matrix,
    pub ends: Vec<Ends>,
}

/// Efficiency of `gbs` against `expected`; a path the topology says carries nothing is
/// not judged (1).
fn efficiency(gbs: f64, expected: f64) -> f64 {
    if expected > 0.0 {
        gbs / expected
    } else {
        1.0
    }
}

/// Expected GB/s of the inter-node links `idx` of `m` on fabric `f`, each with the flows
/// of its round.
fn expected_in_rounds(f: &RailFabric, m: &RailMatrix, idx: &[usize]) -> Vec<f64> {
    let mut by_round: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, e) in m.ends.iter().enumerate() {
        if matches!(e, Ends::Inter(..)) {
            by_round.entry(m.matrix.links[i].round).or_default().push(i);
        }
    }
    let mut cache: BTreeMap<usize, BTreeMap<usize, f64>> = BTreeMap::new();
    idx.iter()
        .map(|&i| {
            let r = m.matrix.links[i].round;
            let exp = cache.entry(r).or_insert_with(|| {
                let members = &by_round[&r];
                let flows: Vec<(Port, Port)> = members.iter().map(|&k| inter_ends(m, k)).collect();
                members.iter().copied().zip(f.expected(&flows)).collect()
            });
            exp[&i]
        })
        .collect()
}

fn inter_ends(m: &RailMatrix, i: usize) -> (Port, Port) {
    match m.ends[i] {
        Ends::Inter(a, b) => (a, b),
        Ends::Intra { .. } => unreachable!("an intra-node link has no ports"),
    }
}

/// Judges every link against `fabric` at `threshold` × expected.
pub fn judge(
    fabric: &RailFabric,
    inter: &[InterLink],
    intra: &[IntraLink],
    threshold: f64,
) -> RailMatrix {
    let mut names: Vec<String> = fabric.ports().map(|p| fabric.port_name(p)).collect();
    let mut devices: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut device = |node: usize, d: usize, names: &mut Vec<String>| {
        *devices.entry((node, d)).or_insert_with(|| {
            names.push(format!("{}/dev{d}", fabric.nodes[node]));
            names.len() - 1
        })
    };
    let port = |p: Port| p.node * fabric.rails + p.rail;
    let link = |a, b, class, round, gbs| Link {
        a,
        b,
        class,
        round,
        uni_gbs: gbs,
        bi_gbs: 0.0,
        latency_us: 0.0,
        expected_gbs: 0.0,
        efficiency: 0.0,
        bi_efficiency: 0.0,
        low: false,
    };
    let mut links = vec![];
    let mut ends = vec![];
    for l in inter {
        links.push(link(port(l.a), port(l.b), LinkClass::Rdma, l.round, l.gbs));
        ends.push(Ends::Inter(l.a, l.b));
    }
    for l in intra {
        let (a, b) = (
            device(l.node, l.i, &mut names),
            device(l.node, l.j, &mut names),
        );
        links.push(link(a, b, LinkClass::Sdma, 0, l.gbs));
        ends.push(Ends::Intra {
            node: l.node,
            i: l.i,
            j: l.j,
        });
    }
    let mut m = RailMatrix {
        matrix: Matrix {
            names,
            links,
            expected_from: "rail topology".into(),
        },
        ends,
    };
    let idx: Vec<usize> = (0..inter.len()).collect();
    let mut expected = expected_in_rounds(fabric, &m, &idx);
    expected.resize(m.ends.len(), fabric.intra_gbs);
    for (l, e) in m.matrix.links.iter_mut().zip(expected) {
        l.expected_gbs = e;
        l.efficiency = efficiency(l.uni_gbs, e);
        l.low = l.efficiency < threshold;
    }
    m
}

/// A suspect of the rounds: the finding, the links that must stay low alone (lowest
/// first), and the links that must stay fine alone (a `miswired_nic`'s evidence), each
/// with the GB/s it gives alone where the suspect says it is (on the leaf it behaves as on).
#[derive(Clone, Debug, PartialEq)]
pub struct RailSuspect {
    pub finding: Finding,
    pub links: Vec<usize>,
    pub fine: Vec<(usize, f64)>,
    /// A `slow_node`'s blamed NICs, each a `slow_nic` suspect whose one link (its lowest)
    /// is measured alone: the node stands only if enough of them stay low ([`confirm`]).
    pub per_nic: Vec<RailSuspect>,
}

/// State of the attribution: which links are explained.
struct Attr<'a> {
    f: &'a RailFabric,
    m: &'a RailMatrix,
    explained: Vec<bool>,
    /// Inter-node links of each port.
    by_port: BTreeMap<Port, Vec<usize>>,
    out: Vec<RailSuspect>,
}

impl Attr<'_> {
    fn low(&self, i: usize) -> bool {
        self.m.matrix.links[i].low
    }

    fn eff(&self, i: usize) -> f64 {
        self.m.matrix.links[i].efficiency
    }

    /// Links of port `p` not explained yet.
    fn open(&self, p: Port) -> Vec<usize> {
        self.by_port.get(&p).map_or(vec![], |v| {
            v.iter().copied().filter(|&i| !self.explained[i]).collect()
        })
    }

    /// The links of `v` between two NICs on the same rail.
    fn same_rail(&self, v: &[usize]) -> Vec<usize> {
        v.iter()
            .copied()
            .filter(|&i| {
                let (a, b) = inter_ends(self.m, i);
                a.rail == b.rail
            })
            .collect()
    }

    fn count_low(&self, v: &[usize]) -> usize {
        v.iter().filter(|&&i| self.low(i)).count()
    }

    /// The low ones of `v`, lowest first.
    fn lowest(&self, v: &[usize]) -> Vec<usize> {
        let mut l: Vec<usize> = v.iter().copied().filter(|&i| self.low(i)).collect();
        l.sort_by(|&x, &y| self.eff(x).total_cmp(&self.eff(y)));
        l
    }

    /// A finding about NIC `p` (with the rail it behaves as on, for a miswired one): its
    /// subject, the evidence text and the figures behind it.
    fn nic_finding(
        &self,
        kind: FindingKind,
        p: Port,
        behaves_as_rail: Option<usize>,
        evidence: String,
        metrics: &[(&str, f64)],
    ) -> Finding {
        let subject = Subject::Nic {
            host: self.f.nodes[p.node].clone(),
            nic: self.f.nic_names[p.node][p.rail].clone(),
            rail: p.rail,
            devices: self.f.nic_devices[p.node][p.rail]
                .iter()
                .map(|d| format!("dev{d}"))
                .collect(),
            behaves_as_rail,
        };
        Finding {
            kind,
            subject,
            evidence,
            metrics: numbers(metrics),
        }
    }

    fn push(
        &mut self,
        finding: Finding,
        explains: &[usize],
        links: Vec<usize>,
        fine: Vec<(usize, f64)>,
    ) {
        for &i in explains {
            self.explained[i] = true;
        }
        self.out.push(RailSuspect {
            finding,
            links,
            fine,
            per_nic: vec![],
        });
    }

    /// 1. NICs that behave as if on another leaf.
    fn miswired(&mut self) {
        let ports: Vec<Port> = self.f.ports().collect();
        for p in ports {
            let mine = self.open(p);
            let same = self.same_rail(&mine);
            let low_same = self.count_low(&same);
            if same.is_empty() || 2 * low_same <= same.len() {
                continue;
            }
            let declared = self.f.leaf(p);
            let mut best: Option<(usize, usize, Vec<usize>, Vec<f64>)> = None;
            for l in (0..self.f.leaf_spine_gbs.len()).filter(|&l| l != declared) {
                let mut moved = self.f.clone();
                moved.nic_leaf[p.node][p.rail] = l;
                let exp = expected_in_rounds(&moved, self.m, &mine);
                let eff: Vec<f64> = mine
                    .iter()
                    .zip(&exp)
                    .map(|(&i, &e)| efficiency(self.m.matrix.links[i].uni_gbs, e))
                    .collect();
                let low = eff.iter().filter(|&&e| e < BANDWIDTH_EFFICIENCY).count();
                // Links to ports on `l`: all fine once moved, one at least faster than
                // the declared path allows.
                let to_l: Vec<usize> = (0..mine.len())
                    .filter(|&k| {
                        let (a, b) = inter_ends(self.m, mine[k]);
                        self.f.leaf(if a == p { b } else { a }) == l
                    })
                    .collect();
                let impossible = |k: &usize| {
                    let link = &self.m.matrix.links[mine[*k]];
                    link.uni_gbs > 0.0
                        && (link.expected_gbs <= 0.0
                            || link.efficiency > 1.0 / BANDWIDTH_EFFICIENCY)
                };
                if to_l.is_empty()
                    || to_l.iter().any(|&k| eff[k] < BANDWIDTH_EFFICIENCY)
                    || !to_l.iter().any(impossible)
                    || (low as f64) > (1.0 - UPLINK_SHARE) * mine.len() as f64
                {
                    continue;
                }
                if best.as_ref().is_none_or(|b| low < b.1) {
                    let ev: Vec<usize> = to_l.iter().map(|&k| mine[k]).collect();
                    let ev_eff: Vec<f64> = to_l.iter().map(|&k| eff[k]).collect();
                    best = Some((l, low, ev, ev_eff));
                }
            }
            let Some((l, _, mut ev, ev_eff)) = best else {
                continue;
            };
            let rail = self.f.rail_of_leaf(l);
            let same_eff: Vec<f64> = same.iter().map(|&i| self.eff(i)).collect();
            let declared_eff: Vec<f64> = ev.iter().map(|&i| self.eff(i)).collect();
            ev.sort_by(|&x, &y| self.eff(y).total_cmp(&self.eff(x)));
            let finding = self.nic_finding(
                FindingKind::MiswiredNic,
                p,
                Some(rail),
                format!(
                    "{low_same} of its {} links with NICs on rail {} are below \
                     {BANDWIDTH_EFFICIENCY} of expected (median {:.2}), while its {} links \
                     to NICs on {} (rail {rail}) reach {:.2} of a link within that leaf \
                     (median; {:.2} of what its declared path through the spine allows): \
                     it behaves as if cabled to {} instead of {}",
                    same.len(),
                    p.rail,
                    median(&same_eff),
                    ev.len(),
                    self.f.leaf_names[l],
                    median(&ev_eff),
                    median(&declared_eff),
                    self.f.leaf_names[l],
                    self.f.leaf_names[declared],
                ),
                &[
                    ("same_rail_median_efficiency", median(&same_eff)),
                    ("low_same_rail_links", low_same as f64),
                    ("same_rail_links", same.len() as f64),
                    ("behaves_as_rail", rail as f64),
                    ("evidence_links", ev.len() as f64),
                ],
            );
            // It also explains the other low links of the rounds it ran in that are fine
            // once it sits on `l` (its flows took a share of uplinks they do not cross).
            let mut moved = self.f.clone();
            moved.nic_leaf[p.node][p.rail] = l;
            let rounds: Vec<usize> = mine.iter().map(|&i| self.m.matrix.links[i].round).collect();
            let others: Vec<usize> = (0..self.m.ends.len())
                .filter(|&i| {
                    matches!(self.m.ends[i], Ends::Inter(..))
                        && self.low(i)
                        && !self.explained[i]
                        && rounds.contains(&self.m.matrix.links[i].round)
                })
                .collect();
            let exp = expected_in_rounds(&moved, self.m, &others);
            let mut explains = mine.clone();
            explains.extend(others.iter().zip(exp).filter_map(|(&i, e)| {
                (efficiency(self.m.matrix.links[i].uni_gbs, e) >= BANDWIDTH_EFFICIENCY).then_some(i)
            }));
            let links = self.lowest(&same);
            let fine = ev
                .into_iter()
                .map(|i| {
                    let (a, b) = inter_ends(self.m, i);
                    (i, moved.expected(&[(a, b)])[0])
                })
                .collect();
            self.push(finding, &explains, links, fine);
        }
    }

    /// 2. Leaf uplinks.
    fn uplinks(&mut self) {
        let inter: Vec<usize> = (0..self.m.ends.len())
            .filter(|&i| matches!(self.m.ends[i], Ends::Inter(..)))
            .collect();
        let mut named: Vec<(usize, Vec<usize>)> = vec![];
        // Links explained by the steps before: two leaves may share their crossing links.
        let open: Vec<usize> = inter
            .iter()
            .copied()
            .filter(|&i| !self.explained[i])
            .collect();
        for l in 0..self.f.leaf_spine_gbs.len() {
            let on = |p: Port| self.f.leaf(p) == l;
            let inside = self.f.ports().filter(|&p| on(p)).count();
            let outside = self.f.ports().count() - inside;
            if inside < 2 || outside < 2 {
                continue;
            }
            let cross: Vec<usize> = open
                .iter()
                .copied()
                .filter(|&i| {
                    let (a, b) = inter_ends(self.m, i);
                    on(a) != on(b)
                })
                .collect();
            let within: Vec<usize> = open
                .iter()
                .copied()
                .filter(|&i| {
                    let (a, b) = inter_ends(self.m, i);
                    on(a) && on(b)
                })
                .collect();
            let low = self.count_low(&cross);
            if cross.is_empty()
                || (low as f64) < UPLINK_SHARE * cross.len() as f64
                || within.is_empty()
                || (self.count_low(&within) as f64) > (1.0 - UPLINK_SHARE) * within.len() as f64
            {
                continue;
            }
            let name = self.f.leaf_names[l].clone();
            let spine = self.f.leaf_spine_names[l].clone();
            if let Some((k, _)) = named.iter().find(|(_, c)| *c == cross) {
                let s = &mut self.out[*k].finding;
                if let Subject::Switches { switches } = &mut s.subject {
                    switches.push(name.clone());
                }
                s.evidence.push_str(&format!(
                    "; the same links cross {name}'s uplink: the measurement cannot tell which \
                     of the two uplinks on this path is slow"
                ));
                continue;
            }
            named.push((self.out.len(), cross.clone()));
            let eff: Vec<f64> = cross.iter().map(|&i| self.eff(i)).collect();
            let metrics = numbers(&[
                ("median_efficiency", median(&eff)),
                ("low_links", low as f64),
                ("crossing_links", cross.len() as f64),
            ]);
            let finding = Finding {
                kind: FindingKind::SlowUplink,
                subject: Subject::Switches {
                    switches: vec![name.clone(), spine.clone()],
                },
                evidence: format!(
                    "{low} of {} links crossing {name} <-> {spine} are below \
                     {BANDWIDTH_EFFICIENCY} of expected (median {:.2}) while {} of the {} \
                     links within {name} are low",
                    cross.len(),
                    median(&eff),
                    self.count_low(&within),
                    within.len()
                ),
                metrics,
            };
            let links = self.lowest(&cross);
            self.push(finding, &cross, links, vec![]);
        }
    }

    /// 3. NICs, greedily; nodes with at least half of their NICs slow.
    fn nics(&mut self) {
        let mut slow: BTreeMap<usize, Vec<(Port, Vec<usize>)>> = BTreeMap::new();
        loop {
            let mut best: Option<(Port, usize)> = None;
            for p in self.f.ports() {
                let mine = self.open(p);
                let same = self.same_rail(&mine);
                let (low_same, low) = (self.count_low(&same), self.count_low(&mine));
                if 2 * low_same > same.len() && low >= 2 && best.is_none_or(|b| low > b.1) {
                    best = Some((p, low));
                }
            }
            let Some((p, _)) = best else { break };
            let mine = self.open(p);
            for &i in &mine {
                self.explained[i] = true;
            }
            slow.entry(p.node).or_default().push((p, mine));
        }
        for (node, ports) in slow {
            let k = ports.len();
            let r = self.f.rails;
            if k >= 2.min(r) && k as f64 >= NODE_SHARE * r as f64 {
                self.slow_node(node, &ports);
            } else {
                for (p, mine) in &ports {
                    self.slow_nic(*p, mine);
                }
            }
        }
    }

    fn slow_nic(&mut self, p: Port, mine: &[usize]) {
        let s = self.slow_nic_suspect(p, mine);
        self.out.push(s);
    }

    fn slow_nic_suspect(&self, p: Port, mine: &[usize]) -> RailSuspect {
        let same = self.same_rail(mine);
        let low_same = self.count_low(&same);
        let low = self.count_low(mine);
        let eff: Vec<f64> = same.iter().map(|&i| self.eff(i)).collect();
        // The node's other NICs, and the peers of its low links with everyone else.
        let others: Vec<usize> = (0..self.f.rails)
            .filter(|&r| r != p.rail)
            .flat_map(|rail| {
                self.by_port
                    .get(&Port { node: p.node, rail })
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let peers: Vec<Port> = self
            .lowest(mine)
            .iter()
            .map(|&i| {
                let (a, b) = inter_ends(self.m, i);
                if a == p {
                    b
                } else {
                    a
                }
            })
            .collect();
        let peer_links: Vec<usize> = peers
            .iter()
            .flat_map(|q| self.by_port.get(q).cloned().unwrap_or_default())
            .filter(|&i| {
                let (a, b) = inter_ends(self.m, i);
                a != p && b != p
            })
            .collect();
        let finding = self.nic_finding(
            FindingKind::SlowNic,
            p,
            None,
            format!(
                "{low_same} of its {} links with NICs on rail {} are below {BANDWIDTH_EFFICIENCY} \
                 of expected (median {:.2}; {low} of all its {} links), while only {} of the {} \
                 links of the node's other NICs and {} of the {} links of those peers with \
                 others are low: the NIC, its cable or its leaf port",
                same.len(),
                p.rail,
                median(&eff),
                mine.len(),
                self.count_low(&others),
                others.len(),
                self.count_low(&peer_links),
                peer_links.len()
            ),
            &[
                ("median_efficiency", median(&eff)),
                ("low_same_rail_links", low_same as f64),
                ("same_rail_links", same.len() as f64),
                ("low_links", low as f64),
                ("links", mine.len() as f64),
            ],
        );
        let links = self.lowest(&same);
        RailSuspect {
            finding,
            links,
            fine: vec![],
            per_nic: vec![],
        }
    }

    fn slow_node(&mut self, node: usize, ports: &[(Port, Vec<usize>)]) {
        let all: Vec<usize> = ports.iter().flat_map(|(_, m)| m.iter().copied()).collect();
        let eff: Vec<f64> = all.iter().map(|&i| self.eff(i)).collect();
        // The lowest link of each slow NIC first, so that confirmation spans NICs.
        let mut firsts: Vec<usize> = ports
            .iter()
            .filter_map(|(_, m)| self.lowest(m).first().copied())
            .collect();
        firsts.sort_by(|&x, &y| self.eff(x).total_cmp(&self.eff(y)));
        let mut links = firsts.clone();
        links.extend(
            self.lowest(&all)
                .into_iter()
                .filter(|i| !firsts.contains(i)),
        );
        let nics: Vec<&str> = ports
            .iter()
            .map(|(p, _)| self.f.nic_names[node][p.rail].as_str())
            .collect();
        let metrics = numbers(&[
            ("median_efficiency", median(&eff)),
            ("slow_nics", ports.len() as f64),
            ("nics", self.f.rails as f64),
            ("low_links", self.count_low(&all) as f64),
            ("links", all.len() as f64),
        ]);
        let finding = Finding {
            kind: FindingKind::SlowNode,
            subject: Subject::Host {
                host: self.f.nodes[node].clone(),
            },
            evidence: format!(
                "{} of its {} NICs ({}) have most of their same-rail links below \
                 {BANDWIDTH_EFFICIENCY} of expected ({} of {} links low, median {:.2}) while \
                 their peers are fine with others: its host, PCIe root or node",
                ports.len(),
                self.f.rails,
                nics.join(" "),
                self.count_low(&all),
                all.len(),
                median(&eff)
            ),
            metrics,
        };
        let per_nic = ports
            .iter()
            .map(|(p, m)| RailSuspect {
                links: self.lowest(m).into_iter().take(1).collect(),
                ..self.slow_nic_suspect(*p, m)
            })
            .collect();
        self.out.push(RailSuspect {
            finding,
            links,
            fine: vec![],
            per_nic,
        });
    }

    /// 4. Device pairs within a node.
    fn device_links(&mut self) {
        let intra: Vec<(usize, usize, usize, usize)> = (0..self.m.ends.len())
            .filter_map(|k| match self.m.ends[k] {
                Ends::Intra { node, i, j } => Some((k, node, i, j)),
                Ends::Inter(..) => None,
            })
            .collect();
        for &(k, node, i, j) in &intra {
            if !self.low(k) || self.explained[k] {
                continue;
            }
            let fine_elsewhere = |d: usize| {
                let other: Vec<usize> = intra
                    .iter()
                    .filter(|&&(x, n, a, b)| x != k && n == node && (a == d || b == d))
                    .map(|t| t.0)
                    .collect();
                (self.count_low(&other) as f64) <= (1.0 - UPLINK_SHARE) * other.len() as f64
            };
            if !(fine_elsewhere(i) && fine_elsewhere(j)) {
                continue;
            }
            let l = &self.m.matrix.links[k];
            let mut f = links::slow_link(
                &self.m.matrix,
                l,
                format!(
                    "device pair at {:.2} of expected ({:.4} GB/s, expected {:.4}) while both \
                     devices are fine with the node's other devices: the link between them",
                    l.efficiency, l.uni_gbs, l.expected_gbs
                ),
                &[
                    ("efficiency", l.efficiency),
                    ("expected_gbs", l.expected_gbs),
                ],
            );
            f.kind = FindingKind::SlowDeviceLink;
            self.push(f, &[k], vec![k], vec![]);
        }
    }

    /// 5. Every low link left.
    fn rest(&mut self) {
        for k in 0..self.m.ends.len() {
            if !self.low(k) || self.explained[k] {
                continue;
            }
            let l = &self.m.matrix.links[k];
            let f = links::slow_link(
                &self.m.matrix,
                l,
                format!(
                    "{} link at {:.2} of expected ({:.4} GB/s one way, expected {:.4}) that no \
                     NIC, node, uplink or wiring explains",
                    l.class, l.efficiency, l.uni_gbs, l.expected_gbs
                ),
                &[
                    ("efficiency", l.efficiency),
                    ("expected_gbs", l.expected_gbs),
                ],
            );
            self.push(f, &[k], vec![k], vec![]);
        }
    }
}

/// A finding's metrics from name–value pairs.
fn numbers(kv: &[(&str, f64)]) -> BTreeMap<String, f64> {
    kv.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

/// The attribution of a judged rail matrix (see the module documentation).
pub fn suspects(m: &RailMatrix, fabric: &RailFabric) -> Vec<RailSuspect> {
    let mut by_port: BTreeMap<Port, Vec<usize>> = BTreeMap::new();
    for (i, e) in m.ends.iter().enumerate() {
        if let Ends::Inter(a, b) = *e {
            by_port.entry(a).or_default().push(i);
            by_port.entry(b).or_default().push(i);
        }
    }
    let mut a = Attr {
        f: fabric,
        m,
        explained: vec![false; m.ends.len()],
        by_port,
        out: vec![],
    };
    a.miswired();
    a.uplinks();
    a.nics();
    a.device_links();
    a.rest();
    a.out
}

/// Judges at the default threshold and attributes: the suspects' findings.
pub fn diagnose(fabric: &RailFabric, inter: &[InterLink], intra: &[IntraLink]) -> Vec<Finding> {
    let m = judge(fabric, inter, intra, BANDWIDTH_EFFICIENCY);
    suspects(&m, fabric)
        .into_iter()
        .map(|s| s.finding)
        .collect()
}

fn plain(s: &[RailSuspect]) -> Vec<Suspect> {
    s.iter()
        .map(|s| Suspect {
            finding: s.finding.clone(),
            links: s.links.clone(),
        })
        .collect()
}

/// The links to measure again alone: [`links::recheck_plan`] over the suspects, then each
/// `miswired_nic`'s best [`CONFIRM_WIRING_LINKS`] evidence links.
pub fn plan_rechecks(suspects: &[RailSuspect]) -> Vec<usize> {
    let mut plan = links::recheck_plan(&plain(suspects));
    for s in suspects {
        let per_nic = s.per_nic.iter().flat_map(|n| n.links.iter().copied());
        for i in per_nic.chain(s.fine.iter().take(CONFIRM_WIRING_LINKS).map(|f| f.0)) {
            if !plan.contains(&i) {
                plan.push(i);
            }
        }
    }
    plan
}

/// What link `link` alone should give: its two NICs and, between leaves, both uplinks
/// unshared; a device pair [`RailFabric::intra_gbs`].
pub fn expected_alone(m: &RailMatrix, fabric: &RailFabric, link: usize) -> f64 {
    match m.ends[link] {
        Ends::Inter(a, b) => fabric.expected(&[(a, b)])[0],
        Ends::Intra { .. } => fabric.intra_gbs,
    }
}

/// A [`Recheck`] of `link` from its rates measured alone.
pub fn recheck(
    m: &RailMatrix,
    fabric: &RailFabric,
    link: usize,
    rates_gbs: Vec<f64>,
    threshold: f64,
) -> Recheck {
    let l = &m.matrix.links[link];
    let expected_gbs = expected_alone(m, fabric, link);
    let efficiency = efficiency(median(&rates_gbs), expected_gbs);
    Recheck {
        link,
        a: m.matrix.names[l.a].clone(),
        b: m.matrix.names[l.b].clone(),
        rates_gbs,
        expected_gbs,
        efficiency,
        round_efficiency: l.efficiency,
        low: efficiency < threshold,
    }
}

/// A `slow_node` stands only if, alone, as many of its NICs stay low as the rule that
/// named it asks (half of the node's NICs, two at least): it then keeps the links of
/// those NICs. Otherwise it is refuted and each NIC confirmed low alone is a `slow_nic`
/// suspect of its own (under load, a node's NICs once all read low in their rounds while
/// alone only one was).
fn node_by_nics(
    suspects: Vec<RailSuspect>,
    rechecks: &[Recheck],
    refuted: &mut Vec<Finding>,
) -> Vec<RailSuspect> {
    let low = |i: &usize| rechecks.iter().any(|r| r.link == *i && r.low);
    let mut out = vec![];
    for mut s in suspects {
        if s.per_nic.is_empty() {
            out.push(s);
            continue;
        }
        let r = s.finding.metrics.get("nics").copied().unwrap_or(0.0) as usize;
        let need = 2.min(r).max((NODE_SHARE * r as f64).ceil() as usize);
        let (stay, fine): (Vec<RailSuspect>, Vec<RailSuspect>) = std::mem::take(&mut s.per_nic)
            .into_iter()
            .partition(|n| n.links.iter().any(low));
        let names = |v: &[RailSuspect]| -> String {
            let n: Vec<String> = v.iter().map(|n| n.finding.subject.to_string()).collect();
            if n.is_empty() {
                "none".into()
            } else {
                n.join("; ")
            }
        };
        if stay.len() >= need {
            s.links = stay.iter().flat_map(|n| n.links.clone()).collect();
            s.finding.evidence.push_str(&format!(
                "; alone, {} of its {r} NICs stayed low (at least {need} needed)",
                stay.len()
            ));
            out.push(s);
        } else {
            let mut f = s.finding;
            f.evidence.push_str(&format!(
                "; not confirmed as a node: alone only {} of its {r} NICs stayed low ({need} \
                 needed; low: {}; fine: {})",
                stay.len(),
                names(&stay),
                names(&fine)
            ));
            refuted.push(f);
            out.extend(stay);
        }
    }
    out
}

/// Confirmed findings and unconfirmed suspects, as [`links::confirm`]; a `miswired_nic`
/// whose evidence links do not stay at 0.8 of what they give within the leaf it behaves
/// as on is not confirmed.
pub fn confirm(
    m: &RailMatrix,
    suspects: Vec<RailSuspect>,
    rechecks: &[Recheck],
) -> (Vec<Finding>, Vec<Finding>) {
    let mut keep = vec![];
    let mut refuted = vec![];
    for s in node_by_nics(suspects, rechecks, &mut refuted) {
        let low: Vec<(&Recheck, f64)> = rechecks
            .iter()
            .filter_map(|r| {
                let (_, e) = s.fine.iter().find(|f| f.0 == r.link)?;
                let eff = efficiency(median(&r.rates_gbs), *e);
                (eff < BANDWIDTH_EFFICIENCY).then_some((r, eff))
            })
            .collect();
        if low.is_empty() {
            keep.push(s);
        } else {
            let mut f = s.finding;
            f.evidence.push_str(&format!(
                "; not confirmed: alone, {} of its links to the leaf it behaves as on measured \
                 below {BANDWIDTH_EFFICIENCY} ({})",
                low.len(),
                low.iter()
                    .map(|(r, e)| format!("{} -> {} {e:.2}", r.a, r.b))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            refuted.push(f);
        }
    }
    let (found, mut unconfirmed) = links::confirm(&m.matrix, plain(&keep), rechecks);
    unconfirmed.extend(refuted);
    (found, unconfirmed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::schedule::circle;

    pub(crate) const NIC: f64 = 50.0;
    const INTRA: f64 = 300.0;

    /// A tiny LCG: the same noise on every run, no dependency.
    struct Lcg(u64);

    impl Lcg {
        /// Uniform in [1 − x, 1 + x].
        fn noise(&mut self, x: f64) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
            1.0 - x + 2.0 * x * u
        }
    }

    /// A rail-optimised fabric of `n` nodes `n1..`, `rails` rails, a non-blocking spine
    /// (each leaf's uplinks carry all its NICs) unless `spine` says otherwise.
    pub(crate) fn fabric(n: usize, rails: usize, spine: Option<f64>) -> RailFabric {
        RailFabric::rail_optimised(
            (1..=n).map(|i| format!("n{i}")).collect(),
            rails,
            NIC,
            spine.unwrap_or(n as f64 * NIC),
            INTRA,
        )
    }

    /// What a cluster measures: the real fabric `truth` (faults applied to its NICs, leaves
    /// and uplinks), device pairs scaled by `intra`, every link at 0.93 of its rate (TCP
    /// framing, as links.rs) times ±`noise`. Rounds: the circle schedule on every rail at
    /// once (same rail), then one round per rail shift s in which NIC i of every node a
    /// sends to NIC i+s of node a+1 (cross-rail samples: every NIC sends one and receives
    /// one, odd node counts included).
    pub(crate) struct Sim {
        pub(crate) truth: RailFabric,
        pub(crate) intra: BTreeMap<(usize, usize, usize), f64>,
        pub(crate) noise: f64,
        pub(crate) seed: u64,
    }

    impl Sim {
        pub(crate) fn new(truth: RailFabric) -> Sim {
            Sim {
                truth,
                intra: BTreeMap::new(),
                noise: 0.0,
                seed: 1,
            }
        }

        fn measure(&self) -> (Vec<InterLink>, Vec<IntraLink>) {
            let t = &self.truth;
            let (n, rails) = (t.nodes.len(), t.rails);
            let mut rng = Lcg(self.seed);
            let mut rounds: Vec<Vec<(Port, Port)>> = vec![];
            let pairs = circle(n);
            for round in &pairs {
                rounds.push(
                    (0..rails)
                        .flat_map(|rail| {
                            round.iter().map(move |&(a, b)| {
                                (Port { node: a, rail }, Port { node: b, rail })
                            })
                        })
                        .collect(),
                );
            }
            for s in 1..rails {
                rounds.push(
                    (0..n)
                        .flat_map(|a| {
                            (0..rails).map(move |i| {
                                let b = Port {
                                    node: (a + 1) % n,
                                    rail: (i + s) % rails,
                                };
                                (Port { node: a, rail: i }, b)
                            })
                        })
                        .collect(),
                );
            }
            let mut inter = vec![];
            for (r, flows) in rounds.iter().enumerate() {
                for (&(a, b), e) in flows.iter().zip(t.expected(flows)) {
                    let gbs = 0.93 * e * rng.noise(self.noise);
                    inter.push(InterLink {
                        a,
                        b,
                        round: r,
                        gbs,
                    });
                }
            }
            let mut intra = vec![];
            for node in 0..n {
                for i in 0..rails {
                    for j in i + 1..rails {
                        let f = self.intra.get(&(node, i, j)).copied().unwrap_or(1.0);
                        let gbs = 0.93 * t.intra_gbs * f * rng.noise(self.noise);
                        intra.push(IntraLink { node, i, j, gbs });
                    }
                }
            }
            (inter, intra)
        }

        fn diagnose(&self, declared: &RailFabric) -> Vec<(FindingKind, String)> {
            let (inter, intra) = self.measure();
            kinds(&diagnose(declared, &inter, &intra))
        }
    }

    pub(crate) fn kinds(f: &[Finding]) -> Vec<(FindingKind, String)> {
        let mut v: Vec<_> = f.iter().map(|f| (f.kind, f.subject.to_string())).collect();
        v.sort();
        v
    }

    fn nic(host: usize, rail: usize) -> String {
        format!(
            "NIC nic{rail} of n{} (rail {rail}, devices dev{rail})",
            host + 1
        )
    }

    #[test]
    fn expected_shares_leaf_uplinks_in_a_round() {
        let f = fabric(4, 2, Some(60.0));
        let p = |node, rail| Port { node, rail };
        // Same rail: the NIC. Across rails: two flows up leaf0 share its 60 GB/s.
        assert_eq!(f.expected(&[(p(0, 0), p(1, 0))]), vec![50.0]);
        assert_eq!(
            f.expected(&[(p(0, 0), p(1, 1)), (p(2, 0), p(3, 1))]),
            vec![30.0, 30.0]
        );
        // Opposite directions do not share.
        assert_eq!(
            f.expected(&[(p(0, 0), p(1, 1)), (p(3, 1), p(2, 0))]),
            vec![50.0, 50.0]
        );
        // No spine: across leaves nothing.
        assert_eq!(
            fabric(2, 2, Some(0.0)).expected(&[(p(0, 0), p(1, 1))]),
            vec![0.0]
        );
    }

    #[test]
    fn healthy_clusters_give_nothing_even_with_noise() {
        for (n, rails) in [(32, 8), (5, 2), (7, 4), (33, 8), (2, 2), (3, 1)] {
            for spine in [None, Some(0.0), Some(NIC)] {
                let f = fabric(n, rails, spine);
                let mut sim = Sim::new(f.clone());
                assert!(sim.diagnose(&f).is_empty(), "{n}x{rails} {spine:?}");
                sim.noise = 0.1;
                for seed in 1..4 {
                    sim.seed = seed;
                    assert!(
                        sim.diagnose(&f).is_empty(),
                        "{n}x{rails} {spine:?} seed {seed}"
                    );
                }
            }
        }
    }

    /// Shapes the faults are placed on: the 32 × 8, odd node counts, other rails.
    const SHAPES: [(usize, usize); 5] = [(32, 8), (5, 2), (7, 4), (33, 8), (6, 4)];

    /// First, middle and last node; first and last rail.
    fn positions(n: usize, rails: usize) -> Vec<(usize, usize)> {
        let mut v = vec![];
        for node in [0, n / 2, n - 1] {
            for rail in [0, rails - 1] {
                if !v.contains(&(node, rail)) {
                    v.push((node, rail));
                }
            }
        }
        v
    }

    #[test]
    fn one_slow_nic_is_named_with_its_devices() {
        for (n, rails) in SHAPES {
            for spine in [None, Some(0.0)] {
                let f = fabric(n, rails, spine);
                for (node, rail) in positions(n, rails) {
                    let mut truth = f.clone();
                    truth.nic_gbs[node][rail] *= 0.25;
                    let mut sim = Sim::new(truth);
                    sim.noise = 0.1;
                    assert_eq!(
                        sim.diagnose(&f),
                        vec![(FindingKind::SlowNic, nic(node, rail))],
                        "{n}x{rails} {spine:?} at ({node}, {rail})"
                    );
                }
            }
        }
    }

    #[test]
    fn a_node_with_all_or_half_of_its_nics_slow_is_a_slow_node_only() {
        for (n, rails) in SHAPES {
            let f = fabric(n, rails, None);
            for node in [0, n / 2, n - 1] {
                for slow in [rails, rails.div_ceil(2).max(2)] {
                    let mut truth = f.clone();
                    for r in 0..slow {
                        truth.nic_gbs[node][(r + node) % rails] *= 0.25;
                    }
                    let mut sim = Sim::new(truth);
                    sim.noise = 0.1;
                    assert_eq!(
                        sim.diagnose(&f),
                        vec![(FindingKind::SlowNode, format!("host n{}", node + 1))],
                        "{n}x{rails} node {node}, {slow} NICs slow"
                    );
                }
            }
        }
    }

    #[test]
    fn one_slow_device_pair_is_a_slow_device_link_only() {
        for (n, rails) in SHAPES {
            let f = fabric(n, rails, None);
            let (node, i, j) = (n - 1, 0, rails - 1);
            let mut sim = Sim::new(f.clone());
            sim.noise = 0.1;
            sim.intra.insert((node, i, j), 0.3);
            assert_eq!(
                sim.diagnose(&f),
                vec![(
                    FindingKind::SlowDeviceLink,
                    format!("link n{n}/dev{i} <-> n{n}/dev{j}")
                )],
                "{n}x{rails}"
            );
        }
    }

    #[test]
    fn a_nic_on_another_rails_leaf_is_miswired_naming_both_rails() {
        // Visible where the spine cannot carry a same-rail flow: none (rail-only), or
        // thinner than one NIC.
        for (n, rails) in SHAPES {
            for spine in [0.0, 0.5 * NIC] {
                let f = fabric(n, rails, Some(spine));
                for (node, rail) in positions(n, rails) {
                    let to = (rail + 1) % rails;
                    let mut truth = f.clone();
                    truth.nic_leaf[node][rail] = to;
                    let mut sim = Sim::new(truth);
                    sim.noise = 0.1;
                    let want = nic(node, rail).replace(')', &format!("; behaves as on rail {to})"));
                    assert_eq!(
                        sim.diagnose(&f),
                        vec![(FindingKind::MiswiredNic, want)],
                        "{n}x{rails} spine {spine} at ({node}, {rail}) on leaf {to}"
                    );
                }
            }
        }
    }

    #[test]
    fn one_slow_leaf_uplink_is_a_slow_uplink_for_that_leaf() {
        for (n, rails) in SHAPES.into_iter().filter(|&(_, r)| r > 2) {
            let f = fabric(n, rails, None);
            for leaf in [0, rails - 1] {
                let mut truth = f.clone();
                truth.leaf_spine_gbs[leaf] *= 0.25;
                let mut sim = Sim::new(truth);
                sim.noise = 0.1;
                assert_eq!(
                    sim.diagnose(&f),
                    vec![(
                        FindingKind::SlowUplink,
                        format!("uplink leaf{leaf} <-> spine")
                    )],
                    "{n}x{rails} leaf {leaf}"
                );
            }
        }
        // Two leaves: every crossing link climbs one uplink and descends the other.
        let f = fabric(5, 2, None);
        let mut truth = f.clone();
        truth.leaf_spine_gbs[1] *= 0.25;
        assert_eq!(
            Sim::new(truth).diagnose(&f),
            vec![(
                FindingKind::SlowUplink,
                "uplink leaf0 <-> spine <-> leaf1".into()
            )]
        );
    }

    #[test]
    fn a_slow_nic_and_a_slow_node_elsewhere_are_both_named() {
        for (n, rails) in SHAPES {
            let f = fabric(n, rails, None);
            let mut truth = f.clone();
            truth.nic_gbs[1][rails - 1] *= 0.25;
            let node = n - 2;
            for r in 0..rails {
                truth.nic_gbs[node][r] *= 0.3;
            }
            let mut sim = Sim::new(truth);
            sim.noise = 0.1;
            let mut want = vec![
                (FindingKind::SlowNic, nic(1, rails - 1)),
                (FindingKind::SlowNode, format!("host n{}", node + 1)),
            ];
            want.sort();
            assert_eq!(sim.diagnose(&f), want, "{n}x{rails}");
        }
    }

    #[test]
    fn one_slow_cable_between_two_nics_is_a_slow_link() {
        // Neither end is slow with anyone else: only the link between them explains it.
        let f = fabric(7, 4, None);
        let (inter, intra) = Sim::new(f.clone()).measure();
        let mut inter = inter;
        let p = |node, rail| Port { node, rail };
        for l in inter
            .iter_mut()
            .filter(|l| (l.a, l.b) == (p(1, 2), p(4, 2)))
        {
            l.gbs *= 0.3;
        }
        assert_eq!(
            kinds(&diagnose(&f, &inter, &intra)),
            vec![(FindingKind::SlowLink, "link n2/nic2 <-> n5/nic2".into())]
        );
    }

    /// Judges and attributes what `sim` measured, measures the planned links again alone
    /// on `alone` (the cluster at recheck time), three times each, and confirms.
    pub(crate) fn confirmed(
        sim: &Sim,
        declared: &RailFabric,
        alone: &Sim,
    ) -> (Vec<Finding>, Vec<Finding>, usize) {
        let (inter, intra) = sim.measure();
        let m = judge(declared, &inter, &intra, BANDWIDTH_EFFICIENCY);
        let sus = suspects(&m, declared);
        let plan = plan_rechecks(&sus);
        let rc: Vec<Recheck> = plan
            .iter()
            .map(|&i| {
                let rate = match m.ends[i] {
                    Ends::Inter(a, b) => alone.truth.expected(&[(a, b)])[0],
                    Ends::Intra { node, i, j } => {
                        alone.truth.intra_gbs
                            * alone.intra.get(&(node, i, j)).copied().unwrap_or(1.0)
                    }
                };
                recheck(
                    &m,
                    declared,
                    i,
                    vec![0.93 * rate; links::CONFIRM_REPEATS],
                    BANDWIDTH_EFFICIENCY,
                )
            })
            .collect();
        let (found, unconfirmed) = confirm(&m, sus, &rc);
        (found, unconfirmed, plan.len())
    }

    #[test]
    fn suspects_are_findings_only_when_they_stay_low_alone() {
        let f = fabric(7, 4, None);
        let healthy = Sim::new(f.clone());
        // A slow NIC, a slow node, a slow device pair: confirmed on their lowest links.
        let mut truth = f.clone();
        truth.nic_gbs[2][3] *= 0.25;
        for r in 0..4 {
            truth.nic_gbs[5][r] *= 0.25;
        }
        let mut sim = Sim::new(truth);
        sim.intra.insert((0, 1, 2), 0.3);
        let (found, unconfirmed, planned) = confirmed(&sim, &f, &sim);
        assert!(unconfirmed.is_empty(), "{unconfirmed:?}");
        assert_eq!(
            kinds(&found),
            vec![
                (FindingKind::SlowNode, "host n6".into()),
                (FindingKind::SlowNic, nic(2, 3)),
                (
                    FindingKind::SlowDeviceLink,
                    "link n1/dev1 <-> n1/dev2".into()
                ),
            ]
        );
        // The NIC's 3 lowest links, the node's lowest link of each of its 4 NICs, the pair.
        assert_eq!(planned, 3 + 4 + 1);
        assert!(found
            .iter()
            .all(|f| f.evidence.contains("confirmed alone: 0.")));
        // The same rounds, but everything measures fine alone (a load spike): nothing.
        let (found, unconfirmed, _) = confirmed(&sim, &f, &healthy);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(unconfirmed.len(), 3);
    }

    #[test]
    fn a_slow_node_stands_only_if_most_of_its_nics_stay_low_alone() {
        // Every NIC of n6 low in the rounds (a load spike); alone, k of its 4 NICs are.
        let f = fabric(7, 4, None);
        let mut rounds = f.clone();
        for r in 0..4 {
            rounds.nic_gbs[5][r] *= 0.25;
        }
        let sim = Sim::new(rounds);
        for (k, want) in [
            (4, vec![(FindingKind::SlowNode, "host n6".to_string())]),
            (2, vec![(FindingKind::SlowNode, "host n6".to_string())]),
            (1, vec![(FindingKind::SlowNic, nic(5, 0))]),
            (0, vec![]),
        ] {
            let mut alone = f.clone();
            for r in 0..k {
                alone.nic_gbs[5][r] *= 0.25;
            }
            let (found, unconfirmed, _) = confirmed(&sim, &f, &Sim::new(alone));
            assert_eq!(kinds(&found), want, "{k} NICs slow alone");
            let refuted = unconfirmed.iter().any(|u| {
                u.kind == FindingKind::SlowNode && u.evidence.contains("not confirmed as a node")
            });
            assert_eq!(refuted, k < 2, "{k}: {unconfirmed:?}");
        }
    }

    #[test]
    fn a_miswired_nic_is_confirmed_when_its_wiring_evidence_holds_alone() {
        let f = fabric(6, 4, Some(0.0));
        let mut truth = f.clone();
        truth.nic_leaf[3][1] = 2;
        let sim = Sim::new(truth);
        let (found, unconfirmed, planned) = confirmed(&sim, &f, &sim);
        assert!(unconfirmed.is_empty(), "{unconfirmed:?}");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, FindingKind::MiswiredNic);
        assert_eq!(planned, 3 + CONFIRM_WIRING_LINKS);
        // Alone the NIC turns out merely slow (its links to leaf2 low as well): refuted.
        let mut slow = f.clone();
        slow.nic_gbs[3][1] = 0.0;
        let (found, unconfirmed, _) = confirmed(&sim, &f, &Sim::new(slow));
        assert_eq!(
            kinds(&unconfirmed),
            vec![(
                FindingKind::MiswiredNic,
                nic(3, 1).replace(')', "; behaves as on rail 2)")
            )]
        );
        assert!(unconfirmed[0].evidence.contains("not confirmed"));
        // Its same-rail links that stayed low are each a slow_link of their own.
        assert!(
            found.iter().all(|f| f.kind == FindingKind::SlowLink),
            "{found:?}"
        );
    }
}
