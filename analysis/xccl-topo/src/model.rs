//! Bandwidth model: what busbw the links allow for a collective, and an α–β time estimate.
//!
//! # How it works
//!
//! An algorithm is a sequence of *phases*; each phase is a set of concurrent point-to-point
//! flows (source rank, destination rank, bytes). Every flow is routed over one-direction
//! resources:
//!
//! - SDMA (intra-node): the sender device's egress and the receiver's ingress, each at the
//!   fabric's per-device rate (`node.fabric.bw_gbs`);
//! - RDMA (inter-node): the sender node's NIC egress and the receiver node's NIC ingress,
//!   then the uplinks of every switch below the lowest common ancestor of the two leaves
//!   (up on the sender's side, down on the receiver's side) at `uplink_gbps`.
//!
//! A phase lasts as long as its most loaded resource (load / capacity): links run in
//! parallel, flows sharing a link share it fairly. Phases add up. The β time of the
//! algorithm is that sum; the expected busbw is `bus_factor × bytes / β time`, i.e. the
//! ceiling that the bottleneck link allows. Ring flows that leave a node are spread over
//! all NICs its ranks use (NCCL/HCCL run one channel per NIC); point-to-point flows
//! (alltoall, sendrecv, gather, scatter, the rails of the hierarchical all-reduce) use the
//! NIC of their device (`device_nic`).
//!
//! Algorithms (costs after Thakur, Rabenseifner and Gropp 2005, in Hockney's α–β model:
//! docs/SOURCES.md [thakur2005], [hockney1994]): ring for all_reduce / all_gather /
//! reduce_scatter (ring order groups ranks by node, as NCCL/HCCL build it), plus for
//! all_reduce on several nodes with the same number of ranks each the hierarchical form
//! (intra-node reduce-scatter, all-reduce across nodes per local rank, intra-node
//! all-gather — phases in sequence); the faster one sets the ceiling. Broadcast and reduce: pipelined chain from/to the root.
//! Alltoall: every pair directly. Sendrecv: rank r → r+1. Gather/scatter: every rank
//! to/from the root directly.
//!
//! α: each phase adds `steps × α_step`, α_step being the largest hop latency in it (fabric
//! `latency_us` inside a node; NIC `latency_us` plus each crossed switch's `latency_us`
//! between nodes). Ring all-reduce has 2(p−1) steps, ring all-gather p−1, the hierarchical
//! form 2(k−1) intra + 2(N−1) inter, alltoall p−1, chain p−1, sendrecv 1, gather/scatter
//! ⌈log2 p⌉. `best_time_us` also considers the latency-optimised forms of [thakur2005]
//! (tree or recursive doubling all-reduce: 2⌈log2 p⌉α with the ring's β; binomial
//! broadcast/reduce: ⌈log2 p⌉(α + nβ)).
//!
//! # Limits
//!
//! - A ceiling, not a prediction: protocol overheads (headers, LL/LL128 flags, TCP) and
//!   imperfect overlap put healthy measurements at roughly 0.8–0.95 of it.
//! - In-network reduction (NVLS on NVSwitch, SHARP on InfiniBand) and pipelined tree /
//!   hierarchical algorithms move fewer bytes than the ring and can beat this bound; the
//!   verdict then says "above model", it does not report efficiency > 1 as normal.
//! - Nodes are alike (one NIC set, one fabric). With a version-1 file a node's NICs are all
//!   on its leaf. With rails (format version 2, NIC i of every node on leaf i) each flow
//!   takes its NIC pair's route: point-to-point flows their devices' own NICs (same rail:
//!   the rail leaf; cross rail: up to the spine), ring flows one channel per rail on the
//!   same rail. With NCCL's PXN (`Fabric::pxn`, NVLink/NVSwitch fabrics) cross-rail data
//!   first crosses the fabric to the GPU on the destination's rail and stays on that
//!   leaf; without it cross-rail point-to-point flows climb the spine.
//! - A mesh fabric (HCCS) is modelled by its per-device aggregate, as if every algorithm
//!   used all links; one ring on a full mesh gets only one link's rate.
//! - MPI libraries may pick non-ring algorithms with worse bandwidth (the emulated-cluster
//!   test forces OpenMPI's ring all-reduce for that reason).

use crate::topology::{Placement, Topology};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use xccl_schema::verdict::ratio_or;
use xccl_schema::CollKind;

/// The link classes of Ascend's tuning guidance (docs/SOURCES.md [ascend-tuning]).
pub use xccl_schema::verdict::LinkClass;

/// Bytes one rank moves over each class (the larger of what it sends and receives).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RankBytes {
    pub sdma: f64,
    pub rdma: f64,
}

/// What the links allow for one collective at one size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    pub collective: CollKind,
    /// Message size as the table's size column (the bytes algbw divides by).
    pub bytes: u64,
    pub nranks: usize,
    /// Nodes holding ranks.
    pub nodes: usize,
    /// Algorithm that sets the ceiling (`ring`, `hierarchical`, `chain`, `direct`).
    pub algorithm: String,
    /// Expected busbw ceiling, GB/s; `None` when there is none (one rank, no NIC rate).
    pub busbw_gbs: Option<f64>,
    /// The class whose transfers take longer.
    pub bottleneck: LinkClass,
    /// The most loaded resource, e.g. `NIC of emu-n3 (in)` or `uplink leaf1 (up)`.
    pub bottleneck_link: String,
    /// Busiest rank's bytes over SDMA and RDMA.
    pub sdma_bytes: f64,
    pub rdma_bytes: f64,
    /// Time the SDMA and RDMA transfers take (sum over phases of each class's slowest link).
    pub sdma_time_us: f64,
    pub rdma_time_us: f64,
    /// β part (bandwidth), α part (latency) and their sum for `algorithm`.
    pub beta_time_us: f64,
    pub alpha_time_us: f64,
    pub time_us: f64,
    /// Fastest estimate over all candidate algorithms, latency-optimised ones included.
    pub best_time_us: f64,
    /// NVLS/SHARP declared for the links this collective uses.
    pub in_network_reduction: bool,
    /// Links slower than 1 GB/s (emulated cluster).
    pub scaled_down: bool,
    /// Why `busbw_gbs` is `None`.
    pub unknown: Option<String>,
    /// Per-rank bytes (left out of JSON: large jobs).
    #[serde(skip)]
    pub per_rank: Vec<RankBytes>,
}

impl Expectation {
    /// Share of the modelled time spent in latency (α / (α + β)).
    pub fn alpha_share(&self) -> f64 {
        ratio_or(self.alpha_time_us, self.time_us, 1.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Res {
    SdmaOut(usize, usize),
    SdmaIn(usize, usize),
    NicOut(usize, usize),
    NicIn(usize, usize),
    Up(usize),
    Down(usize),
}

struct Flow {
    src: usize,
    dst: usize,
    bytes: f64,
    /// Spread inter-node bytes over all NICs the node's ranks use (ring channels).
    spread: bool,
}

struct Phase {
    flows: Vec<Flow>,
    /// Latency steps of this phase (multiplied by its largest hop latency).
    steps: f64,
}

struct Algo {
    name: &'static str,
    phases: Vec<Phase>,
}

#[derive(Default)]
struct Cost {
    beta_s: f64,
    alpha_s: f64,
    sdma_s: f64,
    rdma_s: f64,
    sdma_link: (f64, String),
    rdma_link: (f64, String),
    per_rank: Vec<RankBytes>,
    missing: Option<String>,
}

struct Ctx<'a> {
    t: &'a Topology,
    p: &'a Placement,
    /// NICs used by each node's ranks.
    node_nics: HashMap<usize, Vec<usize>>,
}

impl<'a> Ctx<'a> {
    fn new(t: &'a Topology, p: &'a Placement) -> Ctx<'a> {
        let mut node_nics: HashMap<usize, Vec<usize>> = HashMap::new();
        for r in 0..p.nranks() {
            let nic = t
                .nics
                .device_nic
                .get(p.device_of_rank[r])
                .copied()
                .unwrap_or(0);
            let v = node_nics.entry(p.node_of_rank[r]).or_default();
            if !v.contains(&nic) {
                v.push(nic);
            }
        }
        Ctx { t, p, node_nics }
    }

    fn nic(&self, r: usize) -> usize {
        self.t
            .nics
            .device_nic
            .get(self.p.device_of_rank[r])
            .copied()
            .unwrap_or(0)
    }

    /// The NIC pairs `(sender's, receiver's, share of the bytes)` an inter-node flow uses
    /// when NICs hang on leaves one by one: its devices' own NICs, or for a spread (ring)
    /// flow every NIC its node's ranks use, each paired with the same NIC (the same rail)
    /// of the receiver when that one is used too — NCCL keeps a ring channel on one rail.
    fn nic_pairs(&self, f: &Flow) -> Vec<(usize, usize, f64)> {
        if !f.spread {
            return vec![(self.nic(f.src), self.nic(f.dst), 1.0)];
        }
        let (a, b) = (self.p.node_of_rank[f.src], self.p.node_of_rank[f.dst]);
        let (na, nb) = (&self.node_nics[&a], &self.node_nics[&b]);
        let share = 1.0 / na.len() as f64;
        na.iter()
            .enumerate()
            .map(|(k, &i)| {
                let j = if nb.contains(&i) { i } else { nb[k % nb.len()] };
                (i, j, share)
            })
            .collect()
    }

    /// Where NCCL's PXN relays a flow from NIC `i` of node `a` to NIC `j` of node `b`:
    /// the NIC of `a` on `j`'s leaf and the device that uses it, when the fabric relays
    /// ([`xccl_topo::Fabric::pxn`]) and `i` is on another leaf than `j`.
    fn pxn_relay(&self, a: usize, i: usize, b: usize, j: usize) -> Option<(usize, usize)> {
        let target = self.t.nic_leaf(b, j)?;
        if !self.t.fabric.pxn || self.t.nic_leaf(a, i) == Some(target) {
            return None;
        }
        let nic = (0..self.t.nics.count).find(|&k| self.t.nic_leaf(a, k) == Some(target))?;
        let dev =
            (0..self.t.devices_per_node).find(|&d| self.t.nics.device_nic.get(d) == Some(&nic))?;
        Some((nic, dev))
    }

    fn hop_latency_us(&self, a: usize, b: usize) -> f64 {
        let (na, nb) = (self.p.node_of_rank[a], self.p.node_of_rank[b]);
        if na == nb {
            self.t.fabric.latency_us
        } else if !self.t.nic_leaf.is_empty() {
            self.t.nic_latency_us((na, self.nic(a)), (nb, self.nic(b)))
        } else {
            self.t.inter_latency_us(na, nb)
        }
    }

    fn max_latency_us(&self) -> f64 {
        let used = self.p.nodes_used();
        let mut l: f64 = if used.len() < self.p.nranks() {
            self.t.fabric.latency_us
        } else {
            0.0
        };
        for &a in &used {
            for &b in &used {
                if a != b {
                    l = l.max(self.t.inter_latency_us(a, b));
                }
            }
        }
        l
    }

    fn capacity(&self, r: Res) -> f64 {
        match r {
            Res::SdmaOut(..) | Res::SdmaIn(..) => self.t.fabric.bw_gbs * 1e9,
            Res::NicOut(..) | Res::NicIn(..) => self.t.nics.nic_gbs() * 1e9,
            Res::Up(s) | Res::Down(s) => self.t.switches[s].uplink_gbps.unwrap_or(0.0) / 8.0 * 1e9,
        }
    }

    fn describe(&self, r: Res) -> String {
        let t = self.t;
        match r {
            Res::SdmaOut(n, d) => {
                format!("{} of {} device {d} (out)", t.fabric.kind, t.node_name(n))
            }
            Res::SdmaIn(n, d) => format!("{} of {} device {d} (in)", t.fabric.kind, t.node_name(n)),
            Res::NicOut(n, i) => format!("NIC {i} of {} (out)", t.node_name(n)),
            Res::NicIn(n, i) => format!("NIC {i} of {} (in)", t.node_name(n)),
            Res::Up(s) => format!("uplink of {} (up)", t.switches[s].name),
            Res::Down(s) => format!("uplink of {} (down)", t.switches[s].name),
        }
    }

    fn cost(&self, algo: &Algo) -> Cost {
        let mut c = Cost {
            per_rank: vec![RankBytes::default(); self.p.nranks()],
            ..Cost::default()
        };
        for phase in &algo.phases {
            let mut load: HashMap<Res, f64> = HashMap::new();
            let mut sent = vec![RankBytes::default(); self.p.nranks()];
            let mut recv = vec![RankBytes::default(); self.p.nranks()];
            let mut hop: f64 = 0.0;
            for f in &phase.flows {
                if f.src == f.dst || f.bytes <= 0.0 {
                    continue;
                }
                hop = hop.max(self.hop_latency_us(f.src, f.dst));
                let (a, b) = (self.p.node_of_rank[f.src], self.p.node_of_rank[f.dst]);
                if a == b {
                    *load
                        .entry(Res::SdmaOut(a, self.p.device_of_rank[f.src]))
                        .or_default() += f.bytes;
                    *load
                        .entry(Res::SdmaIn(b, self.p.device_of_rank[f.dst]))
                        .or_default() += f.bytes;
                    sent[f.src].sdma += f.bytes;
                    recv[f.dst].sdma += f.bytes;
                    continue;
                }
                sent[f.src].rdma += f.bytes;
                recv[f.dst].rdma += f.bytes;
                if !self.t.nic_leaf.is_empty() {
                    // NICs on leaves one by one (rails): each NIC pair has its own route.
                    for (i, j, share) in self.nic_pairs(f) {
                        let bytes = f.bytes * share;
                        // PXN: cross-rail data first crosses the fabric to the device
                        // whose NIC is on the receiver's rail, then stays on that leaf.
                        let i = match self.pxn_relay(a, i, b, j) {
                            Some((relay_nic, relay_dev)) => {
                                let from = self.p.device_of_rank[f.src];
                                *load.entry(Res::SdmaOut(a, from)).or_default() += bytes;
                                *load.entry(Res::SdmaIn(a, relay_dev)).or_default() += bytes;
                                sent[f.src].sdma += bytes;
                                relay_nic
                            }
                            None => i,
                        };
                        *load.entry(Res::NicOut(a, i)).or_default() += bytes;
                        *load.entry(Res::NicIn(b, j)).or_default() += bytes;
                        if let Some((up, down, _)) = self.t.nic_route_switches((a, i), (b, j)) {
                            for s in up {
                                *load.entry(Res::Up(s)).or_default() += bytes;
                            }
                            for s in down {
                                *load.entry(Res::Down(s)).or_default() += bytes;
                            }
                        }
                    }
                    continue;
                }
                if f.spread {
                    let (na, nb) = (&self.node_nics[&a], &self.node_nics[&b]);
                    for i in na {
                        *load.entry(Res::NicOut(a, *i)).or_default() += f.bytes / na.len() as f64;
                    }
                    for i in nb {
                        *load.entry(Res::NicIn(b, *i)).or_default() += f.bytes / nb.len() as f64;
                    }
                } else {
                    *load.entry(Res::NicOut(a, self.nic(f.src))).or_default() += f.bytes;
                    *load.entry(Res::NicIn(b, self.nic(f.dst))).or_default() += f.bytes;
                }
                if let Some((up, down)) = self.t.route_switches(a, b) {
                    for s in up {
                        *load.entry(Res::Up(s)).or_default() += f.bytes;
                    }
                    for s in down {
                        *load.entry(Res::Down(s)).or_default() += f.bytes;
                    }
                }
            }
            // Per class: slowest resource, its name, and how many others are as slow.
            let (mut ps, mut pr) = ((0.0, String::new(), 0usize), (0.0, String::new(), 0usize));
            let mut items: Vec<(Res, f64)> = load.iter().map(|(r, b)| (*r, *b)).collect();
            items.sort_by_key(|(r, _)| self.describe(*r));
            for (res, bytes) in items {
                let cap = self.capacity(res);
                if cap <= 0.0 {
                    c.missing = Some(format!("no rate known for {}", self.describe(res)));
                    continue;
                }
                let t = bytes / cap;
                let slot = match res {
                    Res::SdmaOut(..) | Res::SdmaIn(..) => &mut ps,
                    _ => &mut pr,
                };
                if t > slot.0 * (1.0 + 1e-9) {
                    *slot = (t, self.describe(res), 0);
                } else if t >= slot.0 * (1.0 - 1e-9) {
                    slot.2 += 1;
                }
            }
            let named = |(t, d, more): (f64, String, usize)| {
                if more > 0 {
                    (t, format!("{d} and {more} more equally loaded"))
                } else {
                    (t, d)
                }
            };
            let (ps, pr) = (named(ps), named(pr));
            c.sdma_s += ps.0;
            c.rdma_s += pr.0;
            c.beta_s += ps.0.max(pr.0);
            c.alpha_s += phase.steps * hop * 1e-6;
            if ps.0 > c.sdma_link.0 {
                c.sdma_link = ps;
            }
            if pr.0 > c.rdma_link.0 {
                c.rdma_link = pr;
            }
            for r in 0..self.p.nranks() {
                c.per_rank[r].sdma += sent[r].sdma.max(recv[r].sdma);
                c.per_rank[r].rdma += sent[r].rdma.max(recv[r].rdma);
            }
        }
        c
    }

    /// Ranks grouped by node (nodes in order of first appearance), rank order within.
    fn ring_order(&self) -> Vec<usize> {
        self.p
            .nodes_used()
            .into_iter()
            .flat_map(|n| self.p.ranks_on(n))
            .collect()
    }
}

fn ring_phase(order: &[usize], edge_bytes: f64, steps: f64, spread: bool) -> Phase {
    let p = order.len();
    Phase {
        flows: (0..p)
            .map(|i| Flow {
                src: order[i],
                dst: order[(i + 1) % p],
                bytes: edge_bytes,
                spread,
            })
            .collect(),
        steps,
    }
}

fn ceil_log2(p: usize) -> f64 {
    (p.max(1) as f64).log2().ceil()
}

fn candidates(ctx: &Ctx, coll: CollKind, s: f64, root: usize) -> Vec<Algo> {
    let p = ctx.p.nranks();
    let pf = p as f64;
    let order = ctx.ring_order();
    let root = root.min(p.saturating_sub(1));
    // Chain order starting at the root, grouped by node.
    let chain: Vec<usize> = {
        let i = order.iter().position(|r| *r == root).unwrap_or(0);
        order[i..].iter().chain(&order[..i]).copied().collect()
    };
    let chain_flows = |rev: bool| -> Vec<Flow> {
        (0..p.saturating_sub(1))
            .map(|i| {
                let (a, b) = (chain[i], chain[i + 1]);
                let (src, dst) = if rev { (b, a) } else { (a, b) };
                Flow {
                    src,
                    dst,
                    bytes: s,
                    spread: true,
                }
            })
            .collect()
    };
    match coll {
        CollKind::AllReduce => {
            let mut v = vec![Algo {
                name: "ring",
                phases: vec![ring_phase(
                    &order,
                    2.0 * (pf - 1.0) / pf * s,
                    2.0 * (pf - 1.0),
                    true,
                )],
            }];
            let nodes = ctx.p.nodes_used();
            let per: Vec<Vec<usize>> = nodes.iter().map(|n| ctx.p.ranks_on(*n)).collect();
            let k = per.first().map_or(0, |v| v.len());
            let nn = nodes.len();
            if nn > 1 && k > 1 && per.iter().all(|v| v.len() == k) {
                let kf = k as f64;
                let nf = nn as f64;
                let intra = || {
                    let mut flows = Vec::new();
                    for ranks in &per {
                        flows.extend(ring_phase(ranks, (kf - 1.0) / kf * s, 0.0, true).flows);
                    }
                    Phase {
                        flows,
                        steps: kf - 1.0,
                    }
                };
                let mut inter = Vec::new();
                for j in 0..k {
                    let rail: Vec<usize> = per.iter().map(|v| v[j]).collect();
                    inter.extend(
                        ring_phase(&rail, 2.0 * (nf - 1.0) / nf * s / kf, 0.0, false).flows,
                    );
                }
                v.push(Algo {
                    name: "hierarchical",
                    phases: vec![
                        intra(),
                        Phase {
                            flows: inter,
                            steps: 2.0 * (nf - 1.0),
                        },
                        intra(),
                    ],
                });
            }
            v
        }
        CollKind::AllGather | CollKind::ReduceScatter => vec![Algo {
            name: "ring",
            phases: vec![ring_phase(&order, (pf - 1.0) / pf * s, pf - 1.0, true)],
        }],
        CollKind::Broadcast | CollKind::Reduce => vec![Algo {
            name: "chain",
            phases: vec![Phase {
                flows: chain_flows(coll == CollKind::Reduce),
                steps: pf - 1.0,
            }],
        }],
        CollKind::Alltoall => {
            let mut flows = Vec::new();
            for a in 0..p {
                for b in 0..p {
                    if a != b {
                        flows.push(Flow {
                            src: a,
                            dst: b,
                            bytes: s / pf,
                            spread: false,
                        });
                    }
                }
            }
            vec![Algo {
                name: "direct",
                phases: vec![Phase {
                    flows,
                    steps: pf - 1.0,
                }],
            }]
        }
        CollKind::Sendrecv => vec![Algo {
            name: "direct",
            phases: vec![Phase {
                flows: (0..p)
                    .map(|r| Flow {
                        src: r,
                        dst: (r + 1) % p,
                        bytes: s,
                        spread: false,
                    })
                    .collect(),
                steps: 1.0,
            }],
        }],
        CollKind::Gather | CollKind::Scatter => vec![Algo {
            name: "direct",
            phases: vec![Phase {
                flows: (0..p)
                    .filter(|r| *r != root)
                    .map(|r| {
                        let (src, dst) = if coll == CollKind::Gather {
                            (r, root)
                        } else {
                            (root, r)
                        };
                        Flow {
                            src,
                            dst,
                            bytes: s / pf,
                            spread: false,
                        }
                    })
                    .collect(),
                steps: ceil_log2(p),
            }],
        }],
    }
}

/// Expected busbw and time for `coll` with `bytes` (the size column) on `placement`
/// (root rank 0 where there is one).
pub fn expected(topo: &Topology, placement: &Placement, coll: CollKind, bytes: u64) -> Expectation {
    expected_rooted(topo, placement, coll, bytes, 0)
}

/// [`expected`] with a root rank for broadcast, reduce, gather and scatter.
pub fn expected_rooted(
    topo: &Topology,
    placement: &Placement,
    coll: CollKind,
    bytes: u64,
    root: usize,
) -> Expectation {
    let ctx = Ctx::new(topo, placement);
    let p = placement.nranks();
    let s = bytes as f64;
    let nodes = placement.nodes_used().len();
    let algos = candidates(&ctx, coll, s, root);
    let costs: Vec<Cost> = algos.iter().map(|a| ctx.cost(a)).collect();
    // The ceiling: smallest β time; ties go to the smaller α.
    let best = (0..costs.len())
        .min_by(|a, b| {
            let (ca, cb) = (&costs[*a], &costs[*b]);
            ca.beta_s
                .partial_cmp(&cb.beta_s)
                .unwrap()
                .then(ca.alpha_s.partial_cmp(&cb.alpha_s).unwrap())
        })
        .unwrap_or(0);
    let c = &costs[best];
    let time_s = c.alpha_s + c.beta_s;
    // Latency-optimised forms (docs/SOURCES.md [thakur2005]) for the time estimate.
    let amax = ctx.max_latency_us() * 1e-6;
    let lg = ceil_log2(p);
    let mut best_time = costs
        .iter()
        .map(|c| c.alpha_s + c.beta_s)
        .fold(f64::INFINITY, f64::min);
    match coll {
        CollKind::AllReduce => best_time = best_time.min(2.0 * lg * amax + c.beta_s),
        CollKind::AllGather | CollKind::ReduceScatter => {
            best_time = best_time.min(lg * amax + c.beta_s)
        }
        CollKind::Broadcast | CollKind::Reduce if p > 1 => {
            best_time = best_time.min(lg * (amax + c.beta_s));
        }
        _ => {}
    }
    let factor = coll.bus_factor(p);
    let (busbw, unknown) = if p < 2 {
        (None, Some("one rank: no link is used".to_string()))
    } else if let Some(m) = &c.missing {
        (None, Some(m.clone()))
    } else if c.beta_s <= 0.0 || bytes == 0 {
        (None, Some("no bytes move".to_string()))
    } else {
        (Some(factor * s / c.beta_s / 1e9), None)
    };
    let bottleneck = if c.sdma_s == 0.0 && c.rdma_s == 0.0 {
        LinkClass::None
    } else if c.rdma_s >= c.sdma_s {
        LinkClass::Rdma
    } else {
        LinkClass::Sdma
    };
    let bottleneck_link = match bottleneck {
        LinkClass::Sdma => c.sdma_link.1.clone(),
        LinkClass::Rdma => c.rdma_link.1.clone(),
        LinkClass::None => String::new(),
    };
    let busiest = |f: fn(&RankBytes) -> f64| c.per_rank.iter().map(f).fold(0.0, f64::max);
    let inr = (coll.reduces() || coll == CollKind::AllGather)
        && ((topo.fabric.in_network_reduction && nodes < p)
            || (topo.nics.in_network_reduction && nodes > 1));
    Expectation {
        collective: coll,
        bytes,
        nranks: p,
        nodes,
        algorithm: algos[best].name.to_string(),
        busbw_gbs: busbw,
        bottleneck,
        bottleneck_link,
        sdma_bytes: busiest(|r| r.sdma),
        rdma_bytes: busiest(|r| r.rdma),
        sdma_time_us: c.sdma_s * 1e6,
        rdma_time_us: c.rdma_s * 1e6,
        beta_time_us: c.beta_s * 1e6,
        alpha_time_us: c.alpha_s * 1e6,
        time_us: time_s * 1e6,
        best_time_us: best_time.min(time_s) * 1e6,
        in_network_reduction: inr,
        scaled_down: topo.scaled_down(),
        unknown,
        per_rank: c.per_rank.clone(),
    }
}

/// What the model expects of point-to-point flows between nodes that run at once.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeFlows {
    /// Time the flows take together (the most loaded resource), seconds.
    pub time_s: f64,
    /// All flows' bytes over that time, GB/s (the aggregate the links allow).
    pub aggregate_gbs: f64,
    /// The most loaded resource, e.g. `uplink of leaf0 (up)`.
    pub bottleneck: String,
    /// Why there is no estimate (a resource on the path has no rate), if so.
    pub unknown: Option<String>,
}

/// Flows `(from node, to node)` (indices into [`Topology::nodes`]), `bytes` each, all at
/// once: the same resources and sharing as a collective's phase (each node's NICs
/// together, every uplink on the path shared by the flows crossing it in the same
/// direction). `topo validate` uses it for the aggregate an uplink should carry.
pub fn node_flows(topo: &Topology, flows: &[(usize, usize)], bytes: f64) -> NodeFlows {
    // Every node with all its devices, so that a flow spreads over all of a node's NICs.
    let per = topo.devices_per_node.max(1);
    let placement = Placement::block(topo.nodes.len(), per);
    let ctx = Ctx::new(topo, &placement);
    let algo = Algo {
        name: "flows",
        phases: vec![Phase {
            flows: flows
                .iter()
                .map(|&(a, b)| Flow {
                    src: a * per,
                    dst: b * per,
                    bytes,
                    spread: true,
                })
                .collect(),
            steps: 0.0,
        }],
    };
    let c = ctx.cost(&algo);
    let total = bytes * flows.len() as f64;
    let unknown = c
        .missing
        .clone()
        .or_else(|| (c.beta_s <= 0.0 || total <= 0.0).then(|| "no bytes cross a link".to_string()));
    NodeFlows {
        time_s: c.beta_s,
        aggregate_gbs: if unknown.is_none() {
            total / c.beta_s / 1e9
        } else {
            0.0
        },
        bottleneck: c.rdma_link.1.clone(),
        unknown,
    }
}

#[cfg(test)]
mod node_flows_tests {
    use super::*;

    const TWO_LEAVES: &str = include_str!("../tests/fixtures/two-leaves-2x100.toml");

    #[test]
    fn aggregate_is_min_of_uplink_and_nics() {
        let t = Topology::from_toml_str(TWO_LEAVES, "t.toml").unwrap();
        // A node: 2 NICs × 100 Gb/s = 25 GB/s. Uplink 200 Gb/s = 25 GB/s.
        // One crossing flow: min(uplink 25, NIC 25) = 25 GB/s.
        let one = node_flows(&t, &[(0, 2)], 1e9);
        assert!((one.aggregate_gbs - 25.0).abs() < 1e-9, "{one:?}");
        // Two crossing flows the same way: the uplink carries both: 25 GB/s in all.
        let two = node_flows(&t, &[(0, 2), (1, 3)], 1e9);
        assert!((two.aggregate_gbs - 25.0).abs() < 1e-9, "{two:?}");
        assert_eq!(two.bottleneck, "uplink of leaf0 (up)");
        // Opposite directions do not share it: 2 × 25 = 50 GB/s.
        let duplex = node_flows(&t, &[(0, 2), (3, 1)], 1e9);
        assert!((duplex.aggregate_gbs - 50.0).abs() < 1e-9, "{duplex:?}");
        // Inside a leaf: NIC-bound, 25 GB/s per flow.
        let inside = node_flows(&t, &[(0, 1), (2, 3)], 1e9);
        assert!((inside.aggregate_gbs - 50.0).abs() < 1e-9, "{inside:?}");
    }
}
