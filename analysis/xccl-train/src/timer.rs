//! How long one collective takes on a communicator: from measured sweeps (xccl-bench
//! `--json` files) or from the topology model.
//!
//! Measured: each row's median time (p50 over iterations and ranks) is used; rows are grouped by (collective, rank count, node count); within a group the
//! time between two measured sizes is interpolated linearly in log(size)–log(time), and
//! outside the measured sizes it comes from a least-squares α–β fit
//! (t = a + b·bytes) of that group. A rank or node count that was not measured takes α
//! and β of the nearest measured group of the same collective and link class and rescales
//! them with the ring cost (α-steps and the bus factor of the new count; docs/SOURCES.md
//! [thakur2005], [nccl-tests-perf]).
//! Every answer says where it came from and whether it was extrapolated.

use crate::comm::Group;
use crate::error::{bad, Result, TrainError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use xccl_schema::{CollKind, Report};
use xccl_topo::{model, Placement, Topology};

/// A collective's time and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timed {
    pub seconds: f64,
    pub source: String,
    /// Why the number is outside what was measured, if it is.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extrapolated: Option<String>,
}

/// Answers "how long does this collective of this size take on this communicator".
pub trait CommTimer {
    fn time(&self, coll: CollKind, bytes: u64, g: &Group) -> Timed;
    fn describe(&self) -> String;
    /// The bus bandwidth one node's NIC gave across nodes (bytes/s), when known: what
    /// groups sharing that NIC divide among themselves.
    fn nic_bytes_per_s(&self) -> Option<f64> {
        None
    }
}

/// α steps of the ring algorithms (docs/SOURCES.md [thakur2005]).
pub fn alpha_steps(coll: CollKind, p: u64) -> f64 {
    let p = p.max(1) as f64;
    match coll {
        CollKind::AllReduce => 2.0 * (p - 1.0),
        CollKind::Sendrecv => 1.0,
        CollKind::Broadcast | CollKind::Reduce => p.log2().ceil().max(1.0),
        _ => p - 1.0,
    }
}

/// Time of one of `share` groups that put their traffic through the same NIC at once,
/// each moving `bus_bytes` and taking `alone_s` by itself. LogGP (Alexandrov et al. 1995,
/// docs/SOURCES.md [loggp]): the per-byte gap is the link's, shared, the overhead is each
/// sender's own. So a group alone is on the wire for W = bus/nic and off it (its protocol:
/// a TCP exchange, both ranks sending to each other, gets half the NIC on the emulated
/// cluster) for O = alone − W. Together, with the groups' off periods independent of each
/// other (the decoupling approximation of Bianchi 2000, [bianchi2000]), the NIC idles only
/// while all k groups are off, (O/T)^k of the time, and its busy time carries all k
/// groups' wire time: T·(1 − (O/T)^k) = k·W. T lies between the two bounds it replaces:
/// the NIC saturated or the group alone, max(alone, k·W) (other groups' bytes fill all of
/// a group's off time), and alone + (k − 1)·W (they fill none of it).
pub fn shared_nic_seconds(alone_s: f64, bus_bytes: f64, nic: f64, share: u64) -> f64 {
    let wire = bus_bytes / nic;
    let k = share.max(1) as i32;
    // The NIC's busy time that all k groups' bytes need.
    let all_wire = k as f64 * wire;
    let off = (alone_s - wire).max(0.0);
    let busy = |t: f64| t - off * (off / t).powi(k - 1);
    // busy(t) rises with t: bisect between the bounds.
    let (mut lo, mut hi) = (alone_s.max(all_wire), off + all_wire);
    if busy(lo) >= all_wire {
        return lo;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if busy(mid) < all_wire {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// A least-squares fit t = a + b·bytes (seconds).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    pub a: f64,
    pub b: f64,
}

impl Fit {
    /// Least squares over (bytes, seconds); a and b kept ≥ 0.
    pub fn least_squares(pts: &[(f64, f64)]) -> Fit {
        let n = pts.len() as f64;
        if pts.len() == 1 {
            return Fit {
                a: 0.0,
                b: pts[0].1 / pts[0].0.max(1.0),
            };
        }
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let b = if sxx > 0.0 { (sxy / sxx).max(0.0) } else { 0.0 };
        let a = (my - b * mx).max(0.0);
        Fit { a, b }
    }
    pub fn at(&self, bytes: f64) -> f64 {
        self.a + self.b * bytes
    }
}

/// The measured points of one (collective, ranks, nodes).
#[derive(Clone, Debug)]
struct Curve {
    /// (bytes, seconds) sorted by bytes, one point per size.
    pts: Vec<(f64, f64)>,
    /// The rows as given (bytes, median, slowest rank's median), to merge files.
    raw: Vec<(f64, f64, f64)>,
    /// Fit over all points (for sizes below the range).
    fit_all: Fit,
    /// Fit over the largest sizes (bandwidth region, for sizes above the range).
    fit_top: Fit,
    /// The same over the slowest rank's median: when the transfer was done everywhere.
    fit_top_slowest: Fit,
    file: String,
}

impl Curve {
    /// `raw`: (bytes, median seconds, slowest rank's median seconds).
    fn new(mut raw: Vec<(f64, f64, f64)>, file: String) -> Curve {
        raw.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        let mut pts: Vec<(f64, f64)> = Vec::new();
        let mut slowest: Vec<(f64, f64)> = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let mut j = i;
            let (mut sum, mut sum_slow) = (0.0, 0.0);
            while j < raw.len() && raw[j].0 == raw[i].0 {
                sum += raw[j].1;
                sum_slow += raw[j].2;
                j += 1;
            }
            pts.push((raw[i].0, sum / (j - i) as f64));
            slowest.push((raw[i].0, sum_slow / (j - i) as f64));
            i = j;
        }
        let top = pts.len().saturating_sub(4);
        Curve {
            fit_all: Fit::least_squares(&pts),
            fit_top: Fit::least_squares(&pts[top..]),
            fit_top_slowest: Fit::least_squares(&slowest[top..]),
            raw,
            pts,
            file,
        }
    }
    fn lo(&self) -> f64 {
        self.pts[0].0
    }
    fn hi(&self) -> f64 {
        self.pts[self.pts.len() - 1].0
    }
    /// Time at `x` bytes and whether it is outside the measured sizes.
    fn at(&self, x: f64) -> (f64, bool) {
        if x < self.lo() {
            return (self.fit_all.at(x).max(0.0), true);
        }
        if x > self.hi() {
            let t_hi = self.pts[self.pts.len() - 1].1;
            // Continue from the last point with the bandwidth-region slope.
            return (t_hi + self.fit_top.b * (x - self.hi()), true);
        }
        let k = self.pts.partition_point(|p| p.0 < x);
        if self.pts[k].0 == x {
            return (self.pts[k].1, false);
        }
        let (x0, y0) = self.pts[k - 1];
        let (x1, y1) = self.pts[k];
        let f = (x.ln() - x0.ln()) / (x1.ln() - x0.ln());
        let y = if y0 > 0.0 && y1 > 0.0 {
            (y0.ln() + f * (y1.ln() - y0.ln())).exp()
        } else {
            y0 + f * (y1 - y0)
        };
        (y, false)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    coll: CollKindOrd,
    nranks: u64,
    nodes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CollKindOrd(usize);

fn ord(c: CollKind) -> CollKindOrd {
    CollKindOrd(CollKind::ALL.iter().position(|k| *k == c).unwrap_or(0))
}

/// Collective times from measured sweeps.
#[derive(Debug, Default)]
pub struct Measured {
    curves: BTreeMap<Key, Curve>,
    files: Vec<String>,
}

impl Measured {
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Measured> {
        let mut m = Measured::default();
        for p in paths {
            let p = p.as_ref();
            let r = xccl_schema::read_report(p).map_err(|e| TrainError::File {
                path: p.display().to_string(),
                msg: e.to_string(),
            })?;
            m.add(&r, &p.display().to_string())?;
        }
        Ok(m)
    }

    /// Adds the rows of one report.
    pub fn add(&mut self, r: &Report, file: &str) -> Result<()> {
        let mut hosts: Vec<&str> = r.meta.ranks.iter().map(|x| x.host.as_str()).collect();
        if hosts.is_empty() {
            hosts = r.meta.hosts.iter().map(String::as_str).collect();
        }
        hosts.sort();
        hosts.dedup();
        let nodes = hosts.len().max(1) as u64;
        let mut by: BTreeMap<Key, Vec<(f64, f64, f64)>> = BTreeMap::new();
        for row in &r.rows {
            // The median over every iteration of every rank: a typical collective of a
            // step, robust to the outliers of a shared machine (the mean when absent).
            let t_us = if row.time_us.p50 > 0.0 {
                row.time_us.p50
            } else {
                row.time_us.avg
            };
            if t_us <= 0.0 || row.size_bytes == 0 {
                continue;
            }
            let n = if row.nranks() > 0 {
                row.nranks()
            } else {
                r.meta.nranks
            } as u64;
            let key = Key {
                coll: ord(row.collective),
                nranks: n,
                nodes,
            };
            // The slowest rank's median: a rooted transfer (broadcast) is done when its
            // receiver has the data, not when the root's send returns (MPI lets a
            // collective return once the caller's part is done: docs/SOURCES.md [mpi40]).
            let slow_us = row.per_rank.p50_us.iter().copied().fold(t_us, f64::max);
            by.entry(key)
                .or_default()
                .push((row.size_bytes as f64, t_us * 1e-6, slow_us * 1e-6));
        }
        if by.is_empty() {
            return Err(bad(format!("{file}: no timed rows to fit")));
        }
        for (k, pts) in by {
            let mut all = pts;
            if let Some(old) = self.curves.get(&k) {
                all.extend(old.raw.iter().copied());
            }
            self.curves.insert(k, Curve::new(all, file.to_string()));
        }
        self.files.push(file.to_string());
        Ok(())
    }

    /// (collective, ranks, nodes, sizes) of every measured curve, for the output.
    pub fn coverage(&self) -> Vec<(CollKind, u64, u64, u64, u64)> {
        self.curves
            .iter()
            .map(|(k, c)| {
                (
                    CollKind::ALL[k.coll.0],
                    k.nranks,
                    k.nodes,
                    c.lo() as u64,
                    c.hi() as u64,
                )
            })
            .collect()
    }

    /// Bandwidth seconds of a ring collective (all_reduce, all_gather, reduce_scatter)
    /// on a group over several nodes that was not measured, from the NIC. Thakur et al.
    /// 2005 (docs/SOURCES.md [thakur2005]): the ring sends bus(p)·n bytes over each of its
    /// edges (2(p−1) steps of n/p for all_reduce). A group's ranks lie in blocks, one per
    /// node (`Group::strided`), so its ring leaves and enters each node once: one edge per
    /// NIC and direction, whatever the ranks per node; `share` groups put theirs through
    /// the same NIC at once. So bus(p)·n·share bytes at the NIC's rate ([nccl-tests-perf]:
    /// busbw is what the slowest link of the ring gives). Not the measured
    /// group's β scaled: a 2-rank ring is one exchange between two ranks, whose rate
    /// need not be the NIC's (see `nic_bytes_per_s`). None for other collectives, inside
    /// a node, or without an inter-node curve.
    fn ring_over_nodes(&self, coll: CollKind, x: f64, g: &Group) -> Option<f64> {
        let ring = matches!(
            coll,
            CollKind::AllReduce | CollKind::AllGather | CollKind::ReduceScatter
        );
        if !ring || g.intra() {
            return None;
        }
        let nic = self.nic_bytes_per_s()?;
        Some(coll.bus_factor(g.nranks as usize) * x * g.share.max(1) as f64 / nic)
    }
}

impl CommTimer for Measured {
    fn describe(&self) -> String {
        format!("measured sweeps ({})", self.files.join(", "))
    }

    /// The best bandwidth-region busbw (bus factor / slope of the top sizes' fit) of any
    /// inter-node curve. Best, not any: a 2-rank exchange (all_reduce, sendrecv: each rank
    /// sends to and receives from the same peer) can fall well short of the NIC (Open MPI
    /// over TCP on the emulated cluster: half its one-way rate), a one-way transfer
    /// (2-rank broadcast) does not. Timed by the slowest rank: a broadcast's root returns
    /// once its data is buffered, so its median (or the median over both ranks) runs
    /// ahead of the link (emu-2x2: up to 83 MB/s by the median, the receiver 23.9 at every
    /// size, the 200 Mbit/s tbf's TCP payload rate: 1448 of every 1514 bytes).
    fn nic_bytes_per_s(&self) -> Option<f64> {
        self.curves
            .iter()
            .filter(|(k, c)| k.nodes > 1 && c.fit_top_slowest.b > 0.0)
            .map(|(k, c)| {
                CollKind::ALL[k.coll.0].bus_factor(k.nranks as usize) / c.fit_top_slowest.b
            })
            .max_by(|a, b| a.partial_cmp(b).unwrap())
    }

    fn time(&self, coll: CollKind, bytes: u64, g: &Group) -> Timed {
        let x = bytes.max(1) as f64;
        let exact = Key {
            coll: ord(coll),
            nranks: g.nranks,
            nodes: g.nodes,
        };
        if let Some(c) = self.curves.get(&exact) {
            let (t, out) = c.at(x);
            return Timed {
                seconds: t,
                source: format!("{} {} ranks/{} nodes, {}", coll, g.nranks, g.nodes, c.file),
                extrapolated: out.then(|| {
                    format!(
                        "{bytes} B outside the measured {}–{} B (α–β fit)",
                        c.lo() as u64,
                        c.hi() as u64
                    )
                }),
            };
        }
        // Nearest measured communicator of the same collective and link class. Sendrecv
        // is one message whatever the ring size, so any rank count of its class serves.
        let same_class = |k: &Key| k.coll == ord(coll) && (k.nodes == 1) == g.intra();
        let near = self
            .curves
            .iter()
            .filter(|(k, _)| same_class(k))
            .min_by(|(a, _), (b, _)| {
                let d = |k: &Key| {
                    ((k.nranks as f64).ln() - (g.nranks as f64).ln()).abs()
                        + 0.5 * ((k.nodes as f64).ln() - (g.nodes as f64).ln()).abs()
                };
                d(a).partial_cmp(&d(b)).unwrap()
            })
            .or_else(|| self.curves.iter().find(|(k, _)| k.coll == ord(coll)));
        let Some((k, c)) = near else {
            return Timed {
                seconds: f64::NAN,
                source: format!("no measured {coll}"),
                extrapolated: Some(format!("no {coll} sweep among --measured files")),
            };
        };
        let same = coll == CollKind::Sendrecv;
        let (p0, p1) = (k.nranks, g.nranks);
        let mut how = "ring α–β rescaled";
        let (t, note) = if same {
            let (t, out) = c.at(x);
            (
                t,
                out.then(|| "size outside the measured range".to_string()),
            )
        } else if let Some(bw) = self.ring_over_nodes(coll, x, g) {
            how = "ring: α per step rescaled, bandwidth of the NIC";
            let alpha = c.fit_top.a / alpha_steps(coll, p0);
            (alpha * alpha_steps(coll, p1) + bw, None)
        } else {
            // Rescale a ring cost: α per step, β per byte of bus traffic.
            let (t0, _) = c.at(x);
            let f0 = c.fit_top;
            let alpha = f0.a / alpha_steps(coll, p0);
            let beta = f0.b / coll.bus_factor(p0 as usize);
            let scaled =
                |p: u64| alpha * alpha_steps(coll, p) + beta * coll.bus_factor(p as usize) * x;
            // Keep the measured shape at this size; scale by the model's ratio.
            let ratio = scaled(p1) / scaled(p0).max(1e-12);
            (t0 * ratio, None)
        };
        let class_note = if (k.nodes == 1) != g.intra() {
            format!(
                ", and link class {} from a {} measurement",
                g.class(),
                if k.nodes == 1 {
                    "intra-node"
                } else {
                    "inter-node"
                }
            )
        } else {
            String::new()
        };
        Timed {
            seconds: t,
            source: format!("{} {} ranks/{} nodes, {}", coll, k.nranks, k.nodes, c.file),
            extrapolated: if k.nranks == g.nranks && k.nodes == g.nodes && class_note.is_empty() {
                note
            } else {
                Some(format!(
                    "{} ranks on {} nodes from {} ranks on {} nodes ({how}){}{}",
                    g.nranks,
                    g.nodes,
                    k.nranks,
                    k.nodes,
                    class_note,
                    note.map(|n| format!("; {n}")).unwrap_or_default()
                ))
            },
        }
    }
}

/// Collective times from the topology model (no measurement).
pub struct FromTopology {
    pub topo: Topology,
    pub file: String,
}

impl FromTopology {
    /// The topology model of the file at `file`.
    pub fn load(file: &str) -> std::result::Result<FromTopology, xccl_topo::TopoError> {
        Ok(FromTopology {
            topo: Topology::load(file)?,
            file: file.into(),
        })
    }
}

impl CommTimer for FromTopology {
    fn describe(&self) -> String {
        format!("topology model ({})", self.file)
    }
    fn time(&self, coll: CollKind, bytes: u64, g: &Group) -> Timed {
        let per = g.ranks_per_node.max(1) as usize;
        let mut node_of = Vec::with_capacity(g.nranks as usize);
        for r in 0..g.nranks as usize {
            node_of.push(r / per);
        }
        let e = model::expected(&self.topo, &Placement::new(node_of), coll, bytes);
        Timed {
            seconds: e.time_us * 1e-6,
            source: format!(
                "model: {} ({}, bottleneck {})",
                self.file, e.algorithm, e.bottleneck_link
            ),
            extrapolated: e.unknown.clone(),
        }
    }
}
