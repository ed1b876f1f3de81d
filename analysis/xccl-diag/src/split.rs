//! Which link class limits a collective, from the collective run whole and in parts.
//!
//! A collective over several nodes moves data on two classes of links (docs/SOURCES.md
//! [ascend-tuning]): SDMA within a node, RDMA between nodes. `--split` runs the same sizes
//! again on the intra-node groups (SDMA alone) and on the inter-node group, one rank per node (RDMA
//! alone), and judges each part against 0.8 × what its links should give. With one rank
//! per node there is no intra-node group and the inter-node group is the whole job: the
//! RDMA part is then a point-to-point probe of the same ranks (sendrecv to the ring
//! neighbour, all at once), i.e. exactly what the links can do for this job.
//!
//! Per size in the bandwidth regime, the whole's efficiency `busbw / expected` decides:
//! - ≥ threshold: the class with the larger share of the whole's time at the measured
//!   rates ([`Weights`], below) limits, at *bandwidth* (the model's bottleneck at declared
//!   rates when the classes cannot be weighed); the shares are shown either way;
//! - below: each class is weighed by its share of the whole's time ([`Weights`]). The
//!   topology's flow model (xccl-topo `model`, the one the verdicts use) is run again for
//!   the whole with each class's declared rates scaled by its part's efficiency: the
//!   link rates as measured. It gives each class's time in the whole at those rates (the
//!   bytes the class must move on its busiest link, phase by phase, over the measured
//!   rate: NIC sharing, uplinks and the algorithm the model picks included) and the
//!   fraction of the whole's expected busbw those rates allow. A class limits at its
//!   *efficiency* (its links are slow: `xccl-bench links` names which) only when its part
//!   is below the threshold **and** that class alone, at its measured rate with the other
//!   class as declared, keeps the whole below the threshold; of two such classes the one
//!   with the larger share of the time. A class below the threshold whose share is too
//!   small to matter (on the emulated 2 × 2 cluster: shared memory at 0.1–0.2 of its
//!   declared rate, still 10 × faster than the NIC, ~6 % of the time) is reported in the
//!   split lines but is not the limit;
//! - below, no class alone explaining it, while the links together allow less than the
//!   threshold and the whole reaches 0.8 of what they allow: the class with the larger
//!   share bounds the whole (*efficiency* if its part is low, else *bandwidth*);
//! - below while the links, at their measured rates, allow the threshold (or the whole
//!   falls short even of 0.8 × what they allow): neither class limits, the library's
//!   algorithm does → `algorithm` (e.g. a tree or recursive doubling where a ring would
//!   fill the links).
//!
//! Rows too small to reach bandwidth (the model calls them latency-bound) are not judged
//! on links: when they fall short of busbw while their time is within what the model
//! allows for their size (time / model time ≤ 1 / threshold) it is a `small_messages`
//! finding, never a slow link. A latency-bound row slower than that is judged like a
//! large one.
//!
//! Without the whole's model ([`Parts::model`] `None`: e.g. rows read back without a
//! topology) the classes cannot be weighed and the unweighted order applies: the model's
//! bottleneck class if its part is low, else the other class if its part is low.

use std::collections::BTreeMap;
use xccl_schema::finding::{Finding, FindingKind, Subject};
use xccl_schema::rules::BANDWIDTH_EFFICIENCY;
use xccl_schema::verdict::ratio_or;
use xccl_schema::{CollKind, LinkClass};
use xccl_topo::{Placement, Topology};

/// One judged row of one part.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    pub size_bytes: u64,
    /// Root rank of the row (0 for collectives without one).
    pub root: usize,
    pub busbw_gbs: f64,
    /// Expected busbw (the model's ceiling), GB/s; 0 when unknown.
    pub expected_gbs: f64,
    /// The model's bottleneck class for this row.
    pub bottleneck: LinkClass,
    /// The model says the row is latency-bound: too small to reach bandwidth.
    pub latency_bound: bool,
    /// Measured time / the model's time (what latency-bound rows are judged on).
    pub time_ratio: Option<f64>,
}

impl Judged {
    pub fn efficiency(&self) -> f64 {
        ratio_or(self.busbw_gbs, self.expected_gbs, f64::NAN)
    }
}

/// The whole collective's model: the topology placed with the whole job's ranks.
#[derive(Clone, Debug)]
pub struct WholeModel {
    pub topo: Topology,
    pub placement: Placement,
    pub collective: CollKind,
}

/// The collective whole and its parts (rows matched by size).
#[derive(Clone, Debug, Default)]
pub struct Parts {
    pub whole: Vec<Judged>,
    /// SDMA alone (intra-node groups; the slowest group's row per size).
    pub intra: Vec<Judged>,
    /// RDMA alone (one rank per node, or the point-to-point probe).
    pub inter: Vec<Judged>,
    /// The whole's model, to weigh each class by its share of the whole's time.
    pub model: Option<WholeModel>,
}

/// What limits one size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Bandwidth(LinkClass),
    Efficiency(LinkClass),
    Algorithm,
    SmallMessages,
    /// Latency-bound and fine, or no expectation.
    None,
}

impl Limit {
    pub fn describe(self) -> String {
        match self {
            Limit::Bandwidth(c) => format!("{c} bandwidth"),
            Limit::Efficiency(c) => format!("{c} efficiency"),
            Limit::Algorithm => "neither class: the algorithm".into(),
            Limit::SmallMessages => "small messages (latency)".into(),
            Limit::None => "-".into(),
        }
    }
}

/// Each class of the whole weighed at the rates its part measured (one size).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Factor on the class's declared rates: its part's efficiency, capped at 1 (a part
    /// above its ceiling does not make the links faster than declared); 1 when the class
    /// has no part at this size.
    pub sdma_rate: f64,
    pub rdma_rate: f64,
    /// The class's time in the whole at those rates, µs (the flow model's per-class β
    /// time: each phase's most loaded link of the class, summed over phases).
    pub sdma_us: f64,
    pub rdma_us: f64,
    /// Expected busbw of the whole at the measured rates over the expected busbw at the
    /// declared rates: the fraction of its ceiling the links, as measured, allow.
    pub allowed: f64,
    /// The same with only SDMA (only RDMA) at its measured rate, the other as declared.
    pub sdma_alone: f64,
    pub rdma_alone: f64,
}

impl Weights {
    /// The class's share of the whole's time at the measured rates (0 with no traffic).
    pub fn share(&self, c: LinkClass) -> f64 {
        let total = self.sdma_us + self.rdma_us;
        let t = match c {
            LinkClass::Sdma => self.sdma_us,
            LinkClass::Rdma => self.rdma_us,
            LinkClass::None => 0.0,
        };
        ratio_or(t, total, 0.0)
    }

    pub fn rate(&self, c: LinkClass) -> f64 {
        match c {
            LinkClass::Sdma => self.sdma_rate,
            LinkClass::Rdma => self.rdma_rate,
            LinkClass::None => 1.0,
        }
    }

    /// What the whole's links allow with only `c` at its measured rate.
    pub fn alone(&self, c: LinkClass) -> f64 {
        match c {
            LinkClass::Sdma => self.sdma_alone,
            LinkClass::Rdma => self.rdma_alone,
            LinkClass::None => 1.0,
        }
    }

    /// `SDMA at 0.15 of its links, 6% of the time; RDMA at 0.90, 94%; at these rates the
    /// links allow 0.85 of expected` (a class that moves nothing in the whole is left out).
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        for c in [LinkClass::Sdma, LinkClass::Rdma] {
            let t = match c {
                LinkClass::Sdma => self.sdma_us,
                _ => self.rdma_us,
            };
            if t > 0.0 {
                let of = if parts.is_empty() {
                    " of its links"
                } else {
                    ""
                };
                let time = if parts.is_empty() { " of the time" } else { "" };
                parts.push(format!(
                    "{c} at {:.2}{of}, {:.0}%{time}",
                    self.rate(c),
                    100.0 * self.share(c)
                ));
            }
        }
        format!(
            "{}; at these rates the links allow {:.2} of expected",
            parts.join("; "),
            self.allowed
        )
    }
}

/// The topology with the SDMA rates scaled by `sdma` and the RDMA rates (NICs, switch
/// links) by `rdma`.
fn scaled(t: &Topology, sdma: f64, rdma: f64) -> Topology {
    let mut t = t.clone();
    t.fabric.bw_gbs *= sdma;
    t.fabric.link_gbs = t.fabric.link_gbs.map(|x| x * sdma);
    t.nics.rate_gbps *= rdma;
    for s in &mut t.switches {
        s.uplink_gbps = s.uplink_gbps.map(|x| x * rdma);
        s.downlink_gbps *= rdma;
    }
    t
}

/// Weighs the classes of the whole at one size, given its parts' efficiencies (`None`
/// or NaN: the class was not measured alone, taken as declared). `None` when the model
/// has no expectation for the whole.
pub fn weights(
    m: &WholeModel,
    size: u64,
    root: usize,
    sdma_eff: Option<f64>,
    rdma_eff: Option<f64>,
) -> Option<Weights> {
    let factor = |e: Option<f64>| match e {
        Some(e) if e.is_finite() => e.clamp(1e-6, 1.0),
        _ => 1.0,
    };
    let (fs, fr) = (factor(sdma_eff), factor(rdma_eff));
    let at = |s: f64, r: f64| {
        xccl_topo::model::expected_rooted(
            &scaled(&m.topo, s, r),
            &m.placement,
            m.collective,
            size,
            root,
        )
    };
    let declared =
        xccl_topo::model::expected_rooted(&m.topo, &m.placement, m.collective, size, root)
            .busbw_gbs
            .filter(|x| *x > 0.0)?;
    let allow = |s: f64, r: f64| at(s, r).busbw_gbs.unwrap_or(0.0) / declared;
    let both = at(fs, fr);
    Some(Weights {
        sdma_rate: fs,
        rdma_rate: fr,
        sdma_us: both.sdma_time_us,
        rdma_us: both.rdma_time_us,
        allowed: both.busbw_gbs.unwrap_or(0.0) / declared,
        sdma_alone: allow(fs, 1.0),
        rdma_alone: allow(1.0, fr),
    })
}

/// The intra-node part from every node's group run at once: per size (in the first
/// group's order), the row of the least efficient group, with that group's index. A
/// node whose SDMA is slow holds the collective back at its steps; the others do not
/// make up for it. Rows without an expectation (NaN efficiency) lose to any judged row.
pub fn slowest(groups: &[Vec<Judged>]) -> Vec<(Judged, usize)> {
    let Some(first) = groups.first() else {
        return vec![];
    };
    first
        .iter()
        .filter_map(|r0| {
            groups
                .iter()
                .enumerate()
                .filter_map(|(g, rows)| at(rows, r0.size_bytes).map(|r| (r, g)))
                .min_by(|(a, _), (b, _)| {
                    let key = |r: &Judged| {
                        let e = r.efficiency();
                        if e.is_nan() {
                            f64::INFINITY
                        } else {
                            e
                        }
                    };
                    key(a).total_cmp(&key(b))
                })
                .map(|(r, g)| (r.clone(), g))
        })
        .collect()
}

fn at(rows: &[Judged], size: u64) -> Option<&Judged> {
    rows.iter().find(|r| r.size_bytes == size)
}

/// The limit of one size, with the weights it was decided on (bandwidth regime, whole
/// short, with a model).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizeLimit {
    pub size_bytes: u64,
    pub limit: Limit,
    pub weights: Option<Weights>,
}

impl SizeLimit {
    /// The limit, and when the classes were weighed, their rates and shares.
    pub fn describe(&self) -> String {
        match (&self.limit, &self.weights) {
            (Limit::Efficiency(c), Some(w)) => format!(
                "{} ({c} alone keeps the whole at {:.2}; {})",
                self.limit.describe(),
                w.alone(*c),
                w.describe()
            ),
            (Limit::Algorithm | Limit::Bandwidth(_), Some(w)) => {
                format!("{} ({})", self.limit.describe(), w.describe())
            }
            _ => self.limit.describe(),
        }
    }
}

/// The limit of each size of `p.whole`, in its order, with the classes' weights.
pub fn decide(p: &Parts, threshold: f64) -> Vec<SizeLimit> {
    p.whole
        .iter()
        .map(|w| {
            let eff = w.efficiency();
            let (limit, weights) = if eff.is_nan() {
                (Limit::None, None)
            } else if w.latency_bound
                && (eff >= threshold || w.time_ratio.is_none_or(|x| x * threshold <= 1.0))
            {
                // Short on busbw only because it is small: its time is within what the
                // model allows for its size (time / model ≤ 1 / threshold).
                if eff < threshold {
                    (Limit::SmallMessages, None)
                } else {
                    (Limit::None, None)
                }
            } else if eff >= threshold {
                reached(w, p)
            } else {
                short(w, p, threshold)
            };
            SizeLimit {
                size_bytes: w.size_bytes,
                limit,
                weights,
            }
        })
        .collect()
}

/// The limit of each size of `p.whole`, in its order.
pub fn limits(p: &Parts, threshold: f64) -> Vec<(u64, Limit)> {
    decide(p, threshold)
        .into_iter()
        .map(|s| (s.size_bytes, s.limit))
        .collect()
}

/// The classes of one size weighed at their parts' measured rates (`None` without the
/// whole's model or without any part at this size).
fn weigh(w: &Judged, p: &Parts) -> Option<Weights> {
    let (intra, inter) = (at(&p.intra, w.size_bytes), at(&p.inter, w.size_bytes));
    if intra.is_none() && inter.is_none() {
        return None;
    }
    p.model.as_ref().and_then(|m| {
        weights(
            m,
            w.size_bytes,
            w.root,
            intra.map(Judged::efficiency),
            inter.map(Judged::efficiency),
        )
    })
}

/// A row in the bandwidth regime that reaches the threshold: bandwidth-bound, by the
/// class that takes most of the whole's time at the rates its part measured (the model's
/// bottleneck, at declared rates, when the classes cannot be weighed). The weights are
/// kept so the limit line shows the shares whether or not the whole fell short.
fn reached(w: &Judged, p: &Parts) -> (Limit, Option<Weights>) {
    match weigh(w, p) {
        Some(wt) if wt.sdma_us + wt.rdma_us > 0.0 => {
            let c = if wt.share(LinkClass::Sdma) > wt.share(LinkClass::Rdma) {
                LinkClass::Sdma
            } else {
                LinkClass::Rdma
            };
            (Limit::Bandwidth(c), Some(wt))
        }
        wt => (Limit::Bandwidth(w.bottleneck), wt),
    }
}

/// A row in the bandwidth regime below the threshold.
fn short(w: &Judged, p: &Parts, threshold: f64) -> (Limit, Option<Weights>) {
    let (intra, inter) = (at(&p.intra, w.size_bytes), at(&p.inter, w.size_bytes));
    if intra.is_none() && inter.is_none() {
        return (Limit::None, None);
    }
    let Some(wt) = weigh(w, p) else {
        return (unweighted(w, intra, inter, threshold), None);
    };
    let classes = [LinkClass::Sdma, LinkClass::Rdma];
    let largest_share = |cands: Vec<LinkClass>| {
        cands
            .into_iter()
            .max_by(|a, b| wt.share(*a).total_cmp(&wt.share(*b)))
    };
    let low: Vec<LinkClass> = classes
        .into_iter()
        .filter(|c| wt.rate(*c) < threshold)
        .collect();
    // A low class that, alone at its measured rate, keeps the whole below the threshold.
    let culprits = low
        .iter()
        .copied()
        .filter(|c| wt.alone(*c) < threshold)
        .collect();
    let limit = if let Some(c) = largest_share(culprits) {
        Limit::Efficiency(c)
    } else if wt.allowed >= threshold || w.efficiency() < threshold * wt.allowed {
        // The links as measured allow the threshold, or the whole falls short of 0.8 of
        // what they allow: the shortfall is not theirs.
        Limit::Algorithm
    } else {
        // Together the classes fall short, neither alone does, and the whole reaches 0.8
        // of what they allow: the class that takes most of the time bounds the whole, at
        // its efficiency only if its own part is low.
        match largest_share(classes.to_vec()) {
            Some(c) if wt.rate(c) < threshold => Limit::Efficiency(c),
            Some(c) => Limit::Bandwidth(c),
            None => Limit::Algorithm,
        }
    };
    (limit, Some(wt))
}

/// Without the whole's model: the model's bottleneck class first, if its part is low.
fn unweighted(w: &Judged, intra: Option<&Judged>, inter: Option<&Judged>, threshold: f64) -> Limit {
    let low = |r: Option<&Judged>| r.is_some_and(|r| r.efficiency() < threshold);
    let (first, second) = match w.bottleneck {
        LinkClass::Sdma => ((intra, LinkClass::Sdma), (inter, LinkClass::Rdma)),
        _ => ((inter, LinkClass::Rdma), (intra, LinkClass::Sdma)),
    };
    if low(first.0) {
        Limit::Efficiency(first.1)
    } else if low(second.0) {
        Limit::Efficiency(second.1)
    } else {
        Limit::Algorithm
    }
}

/// `algorithm` and `small_messages` findings (one each at most, listing the sizes).
/// A class limited by its efficiency is not a finding here: its links are slow, and
/// `xccl-bench links` names the node, uplink or link.
pub fn findings(coll: CollKind, p: &Parts, threshold: f64) -> Vec<Finding> {
    let lims = decide(p, threshold);
    let mut out = vec![];
    let sizes = |want: Limit| -> Vec<u64> {
        lims.iter()
            .filter(|s| s.limit == want)
            .map(|s| s.size_bytes)
            .collect()
    };
    let alg = sizes(Limit::Algorithm);
    if !alg.is_empty() {
        let w: Vec<f64> = alg
            .iter()
            .filter_map(|s| at(&p.whole, *s))
            .map(Judged::efficiency)
            .collect();
        let part_min = |rows: &[Judged]| {
            alg.iter()
                .filter_map(|s| at(rows, *s))
                .map(Judged::efficiency)
                .fold(f64::INFINITY, f64::min)
        };
        let (sdma_min, rdma_min) = (part_min(&p.intra), part_min(&p.inter));
        let wmax = w.iter().copied().fold(0.0, f64::max);
        let pmin = sdma_min.min(rdma_min);
        let mut metrics = BTreeMap::new();
        metrics.insert("max_efficiency".into(), wmax);
        metrics.insert("parts_min_efficiency".into(), pmin);
        // The weights of the size where the links allow least (the most favourable to
        // blaming them), said in the evidence.
        let worst = lims
            .iter()
            .filter(|s| s.limit == Limit::Algorithm)
            .filter_map(|s| s.weights.map(|w| (s.size_bytes, w)))
            .min_by(|a, b| a.1.allowed.total_cmp(&b.1.allowed));
        let parts = [("SDMA", sdma_min), ("RDMA", rdma_min)]
            .iter()
            .filter(|(_, e)| e.is_finite())
            .map(|(c, e)| format!("{c} {e:.2}"))
            .collect::<Vec<_>>()
            .join(", ");
        let weighed = match worst {
            Some((size, wt)) => {
                metrics.insert("links_allow".into(), wt.allowed);
                metrics.insert("sdma_share".into(), wt.share(LinkClass::Sdma));
                metrics.insert("rdma_share".into(), wt.share(LinkClass::Rdma));
                format!(
                    "; weighed by their share of the whole's time (at {size} B: {}), no class below {threshold} explains the shortfall",
                    wt.describe()
                )
            }
            None => String::new(),
        };
        out.push(Finding {
            kind: FindingKind::Algorithm,
            subject: Subject::Operation {
                collective: coll,
                size_bytes: alg.clone(),
            },
            evidence: format!(
                "{coll} reaches at most {wmax:.2} of expected busbw while its parts, run alone \
                 on the same ranks, reach at least {parts} (threshold {threshold}){weighed}: \
                 the library's algorithm, not the links, falls short"
            ),
            metrics,
        });
    }
    let small = sizes(Limit::SmallMessages);
    if !small.is_empty() {
        let mut metrics = BTreeMap::new();
        metrics.insert("rows".into(), small.len() as f64);
        out.push(Finding {
            kind: FindingKind::SmallMessages,
            subject: Subject::Operation {
                collective: coll,
                size_bytes: small.clone(),
            },
            evidence: format!(
                "{} row(s) below {threshold} of expected are too small to reach link \
                 bandwidth (latency-bound in the model): judged on latency, not a slow link",
                small.len()
            ),
            metrics,
        });
    }
    out
}

/// Judges with the default threshold.
pub fn diagnose(coll: CollKind, p: &Parts) -> Vec<Finding> {
    findings(coll, p, BANDWIDTH_EFFICIENCY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(size: u64, busbw: f64, exp: f64, lat: bool) -> Judged {
        Judged {
            size_bytes: size,
            root: 0,
            busbw_gbs: busbw,
            expected_gbs: exp,
            bottleneck: LinkClass::Rdma,
            latency_bound: lat,
            time_ratio: Some(if lat { 1.1 } else { 1.0 }),
        }
    }

    #[test]
    fn short_whole_with_fine_links_is_the_algorithm() {
        // Whole at 0.025/0.05 = 0.5 at 4 and 8 MiB; the probe of the same ranks at
        // 0.045/0.05 = 0.9 → neither class limits: one algorithm finding for both sizes.
        let p = Parts {
            whole: vec![
                j(4 << 20, 0.025, 0.05, false),
                j(8 << 20, 0.026, 0.05, false),
            ],
            inter: vec![
                j(4 << 20, 0.045, 0.05, false),
                j(8 << 20, 0.046, 0.05, false),
            ],
            intra: vec![],
            model: None,
        };
        let f = diagnose(CollKind::AllReduce, &p);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FindingKind::Algorithm);
        assert_eq!(
            f[0].subject,
            Subject::Operation {
                collective: CollKind::AllReduce,
                size_bytes: vec![4 << 20, 8 << 20]
            }
        );
        assert!((f[0].metrics["max_efficiency"] - 0.52).abs() < 1e-9);
        assert!((f[0].metrics["parts_min_efficiency"] - 0.9).abs() < 1e-9);
    }

    #[test]
    fn healthy_and_slow_links_give_no_algorithm() {
        // Without the whole's model (unweighted order): one 8 MiB row, its whole, RDMA part
        // and SDMA part (if measured) at these busbw on 0.05 GB/s NICs and 5 GB/s SDMA.
        let p = |whole: f64, inter: f64, intra: Option<f64>| Parts {
            whole: vec![j(8 << 20, whole, 0.05, false)],
            inter: vec![j(8 << 20, inter, 0.05, false)],
            intra: intra.iter().map(|&b| j(8 << 20, b, 5.0, false)).collect(),
            model: None,
        };
        let limit = |p: &Parts| limits(p, 0.8);
        // Whole at 0.82: RDMA bandwidth limits, no finding.
        let bw = p(0.041, 0.046, None);
        assert_eq!(
            limit(&bw),
            vec![(8 << 20, Limit::Bandwidth(LinkClass::Rdma))]
        );
        assert!(diagnose(CollKind::AllReduce, &bw).is_empty());
        // Whole and its RDMA part both low: RDMA efficiency limits, not the algorithm.
        let rdma = p(0.02, 0.02, Some(4.5));
        assert_eq!(
            limit(&rdma),
            vec![(8 << 20, Limit::Efficiency(LinkClass::Rdma))]
        );
        assert!(diagnose(CollKind::AllReduce, &rdma).is_empty());
        // SDMA part low while RDMA is fine: SDMA efficiency.
        let sdma = p(0.02, 0.045, Some(2.0));
        assert_eq!(
            limit(&sdma),
            vec![(8 << 20, Limit::Efficiency(LinkClass::Sdma))]
        );
        // No part measured at that size: nothing to say.
        let p = Parts {
            whole: vec![j(8 << 20, 0.02, 0.05, false)],
            ..Default::default()
        };
        assert_eq!(limits(&p, 0.8), vec![(8 << 20, Limit::None)]);
    }

    #[test]
    fn slowest_node_group_speaks_for_sdma() {
        // Two nodes' groups at 1 and 8 MiB on 5 GB/s links: node 0 at 4.5 and 4.6
        // (0.90, 0.92), node 1 at 4.8 (0.96) then 2.0 (0.40). Per size the lower one:
        // 1 MiB → node 0 (0.90 < 0.96), 8 MiB → node 1 (0.40 < 0.92).
        let sdma = |b: f64| Judged {
            bottleneck: LinkClass::Sdma,
            ..j(0, b, 5.0, false)
        };
        let g0 = vec![
            Judged {
                size_bytes: 1 << 20,
                ..sdma(4.5)
            },
            Judged {
                size_bytes: 8 << 20,
                ..sdma(4.6)
            },
        ];
        let g1 = vec![
            Judged {
                size_bytes: 1 << 20,
                ..sdma(4.8)
            },
            Judged {
                size_bytes: 8 << 20,
                ..sdma(2.0)
            },
        ];
        let s = slowest(&[g0.clone(), g1.clone()]);
        assert_eq!(s, vec![(g0[0].clone(), 0), (g1[1].clone(), 1)]);
        // A row without expectation never wins over a judged one; no group, no rows.
        let mut g2 = g1.clone();
        g2[0].expected_gbs = 0.0;
        assert_eq!(slowest(&[g2, g0.clone()])[0], (g0[0].clone(), 1));
        assert!(slowest(&[]).is_empty());
        // Fed to the rule: whole short, RDMA fine, the slow node's SDMA 0.40 → SDMA
        // efficiency at 8 MiB; at 1 MiB both parts ≥ 0.8 → the algorithm.
        let p = Parts {
            whole: vec![j(1 << 20, 0.02, 0.05, false), j(8 << 20, 0.02, 0.05, false)],
            inter: vec![
                j(1 << 20, 0.045, 0.05, false),
                j(8 << 20, 0.045, 0.05, false),
            ],
            intra: s.into_iter().map(|(r, _)| r).collect(),
            model: None,
        };
        assert_eq!(
            limits(&p, 0.8),
            vec![
                (1 << 20, Limit::Algorithm),
                (8 << 20, Limit::Efficiency(LinkClass::Sdma))
            ]
        );
    }

    #[test]
    fn small_rows_are_small_messages_not_links() {
        // 8 B at 0.1 of expected but latency-bound: small_messages; 8 MiB fine.
        let p = Parts {
            whole: vec![j(8, 0.000_01, 0.0001, true), j(8 << 20, 0.045, 0.05, false)],
            inter: vec![j(8, 0.000_01, 0.0001, true), j(8 << 20, 0.046, 0.05, false)],
            intra: vec![],
            model: None,
        };
        let f = diagnose(CollKind::AllReduce, &p);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FindingKind::SmallMessages);
        assert_eq!(f[0].subject.to_string(), "all_reduce 8 B");
        // A latency-bound row 2× slower than the model allows is judged like a large one:
        // its probe is fine, so the algorithm (not small messages).
        let mut p = p;
        p.whole[0].time_ratio = Some(2.0);
        p.inter[0].busbw_gbs = 0.000_09;
        let f = diagnose(CollKind::AllReduce, &p);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FindingKind::Algorithm);
    }
    /// emu-2x2 as declared (topologies/emu-2x2.toml, inlined so that the hand-computed
    /// answers below do not move with that file): 2 nodes × 2 ranks, shared memory at
    /// 2 GB/s per device, one 200 Mbit/s (0.025 GB/s) NIC per node shared by its 2 ranks.
    fn model_2x2() -> WholeModel {
        let t = Topology::from_toml_str(
            r#"
version = 1
name = "t2x2"
hosts = ["a", "b"]
[node]
devices = 2
[node.fabric]
kind = "shm"
bw_gbs = 2.0
latency_us = 5.0
[node.nic]
count = 1
rate_gbps = 0.2
transport = "tcp"
latency_us = 5000.0
"#,
            "t2x2.toml",
        )
        .unwrap();
        WholeModel {
            topo: t,
            placement: Placement::block(2, 2),
            collective: CollKind::AllReduce,
        }
    }

    const S16: u64 = 16 << 20;

    /// all_reduce of 16 MiB on 2 × 2 by hand, with D = S / 0.025 GB/s (one NIC moving S;
    /// S at 2 GB/s is D/80). Hierarchical: reduce-scatter in the node (each rank sends
    /// S/2 at 2 GB/s: D/160), all-reduce of S/2 per local rank across the 2 nodes (each
    /// sends S/2; the two local ranks share the NIC: S on it, D), all-gather in the node
    /// (D/160): SDMA 0.0125 D, RDMA D, in sequence: β = 1.0125 D. Ring over 4 ranks: each
    /// flow 2·3/4 S = 1.5 S, at once: NIC 1.5 D, shared memory 0.01875 D, β = 1.5 D.
    /// Hierarchical sets the ceiling: busbw = 1.5 S / 1.0125 D = 1.5 × 0.025 / 1.0125 =
    /// 0.037037 GB/s.
    const EXP_2X2: f64 = 1.5 * 0.025 / 1.0125;

    /// The whole at `whole` of expected, its SDMA part (2 ranks on 2 GB/s: expected 2)
    /// and its RDMA part (2 ranks, one NIC each: expected 0.025) at the given efficiencies.
    fn parts_2x2(whole: f64, sdma: f64, rdma: f64) -> Parts {
        Parts {
            whole: vec![j(S16, whole * EXP_2X2, EXP_2X2, false)],
            intra: vec![Judged {
                bottleneck: LinkClass::Sdma,
                ..j(S16, sdma * 2.0, 2.0, false)
            }],
            inter: vec![j(S16, rdma * 0.025, 0.025, false)],
            model: Some(model_2x2()),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn the_model_of_the_2x2_whole_is_the_hand_computed_one() {
        let m = model_2x2();
        let e = xccl_topo::model::expected(&m.topo, &m.placement, CollKind::AllReduce, S16);
        assert_eq!(e.algorithm, "hierarchical");
        assert!(close(e.busbw_gbs.unwrap(), EXP_2X2));
        // Declared rates: the weights are 1 and the links allow exactly the ceiling.
        let w = weights(&m, S16, 0, Some(1.0), None).unwrap();
        assert!(close(w.allowed, 1.0) && close(w.sdma_alone, 1.0) && close(w.rdma_alone, 1.0));
        // SDMA share 0.0125 / 1.0125 = 0.012346.
        assert!(close(w.share(LinkClass::Sdma), 0.0125 / 1.0125));
    }

    #[test]
    fn slow_sdma_with_a_small_share_is_not_the_limit() {
        // The emulated 2 × 2 case: SDMA part at 0.15, RDMA at 0.9, whole at 0.6.
        // Measured rates: SDMA 0.0125/0.15 = 0.083333 D, RDMA 1/0.9 = 1.111111 D,
        // hierarchical 1.194444 D (ring: max(1.5/0.9, 0.01875/0.15) = 1.666667 D, loses).
        // Links allow 1.0125/1.194444 = 0.847674; SDMA share 0.083333/1.194444 = 0.069767;
        // SDMA alone 1.0125/(0.083333 + 1) = 0.934615 ≥ 0.8: not what holds the whole
        // back → the algorithm (the links allow more than 0.8).
        let p = parts_2x2(0.6, 0.15, 0.9);
        let d = decide(&p, 0.8);
        assert_eq!(d[0].limit, Limit::Algorithm);
        let w = d[0].weights.unwrap();
        assert!(close(w.allowed, 1.0125 / (0.0125 / 0.15 + 1.0 / 0.9)));
        assert!(close(
            w.share(LinkClass::Sdma),
            (0.0125 / 0.15) / (0.0125 / 0.15 + 1.0 / 0.9)
        ));
        assert!(close(w.sdma_alone, 1.0125 / (0.0125 / 0.15 + 1.0)));
        let f = diagnose(CollKind::AllReduce, &p);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FindingKind::Algorithm);
        assert!(f[0]
            .evidence
            .contains("SDMA at 0.15 of its links, 7% of the time"));
        assert!(close(f[0].metrics["links_allow"], 0.847674));

        // RDMA part at 0.7 instead: RDMA 1/0.7 = 1.428571 D; RDMA alone 1.0125/(0.0125 +
        // 1.428571) = 0.702602 < 0.8 and its part low → RDMA efficiency; its share
        // 1.428571/(0.083333 + 1.428571) = 0.944882. No finding (`links` names the link).
        let p = parts_2x2(0.6, 0.15, 0.7);
        let d = decide(&p, 0.8);
        assert_eq!(d[0].limit, Limit::Efficiency(LinkClass::Rdma));
        let w = d[0].weights.unwrap();
        assert!(close(w.rdma_alone, 1.0125 / (0.0125 + 1.0 / 0.7)));
        assert!(close(
            w.share(LinkClass::Rdma),
            (1.0 / 0.7) / (0.0125 / 0.15 + 1.0 / 0.7)
        ));
        assert!(d[0]
            .describe()
            .starts_with("RDMA efficiency (RDMA alone keeps the whole at 0.70"));
        assert!(diagnose(CollKind::AllReduce, &p).is_empty());

        // RDMA at 0.81 (fine), whole at 0.7: RDMA 1/0.81 = 1.234568 D, both 1.317901 D,
        // links allow 1.0125/1.317901 = 0.768267 < 0.8, yet SDMA alone allows 0.934615
        // and RDMA is not low: no class alone explains it, and the whole reaches
        // 0.7 ≥ 0.8 × 0.768267 = 0.614614 of it → the class with the largest share,
        // RDMA (0.936768), at its bandwidth. Whole at 0.6 < 0.614614 → the algorithm.
        let d = decide(&parts_2x2(0.7, 0.15, 0.81), 0.8);
        assert_eq!(d[0].limit, Limit::Bandwidth(LinkClass::Rdma));
        assert_eq!(
            d[0].describe(),
            "RDMA bandwidth (SDMA at 0.15 of its links, 6% of the time; RDMA at 0.81, 94%; \
             at these rates the links allow 0.77 of expected)"
        );
        assert_eq!(
            limits(&parts_2x2(0.6, 0.15, 0.81), 0.8),
            vec![(S16, Limit::Algorithm)]
        );
    }

    #[test]
    fn slow_sdma_with_a_large_share_is_the_limit() {
        // SDMA part at 0.01 (0.02 GB/s, below the NIC's 0.025), RDMA at 0.9, whole 0.4.
        // Hierarchical at these rates: SDMA 0.0125/0.01 = 1.25 D, RDMA 1.111111 D, sum
        // 2.361111 D; ring: shared memory 1.5 S at 0.02 GB/s = 1.875 D, NIC 1.5/0.9 =
        // 1.666667 D, max 1.875 D → the ring is the faster at these rates. Links allow
        // 1.0125/1.875 = 0.54; SDMA share 1.875/(1.875 + 1.666667) = 0.529412. SDMA alone
        // (RDMA as declared): hierarchical 1.25 + 1 = 2.25, ring max(1.875, 1.5) = 1.875
        // → 0.54 < 0.8 → SDMA efficiency. RDMA alone: 1.0125/(0.0125 + 1.111111) =
        // 0.901112, and its part is fine.
        let p = parts_2x2(0.4, 0.01, 0.9);
        let d = decide(&p, 0.8);
        assert_eq!(d[0].limit, Limit::Efficiency(LinkClass::Sdma));
        let w = d[0].weights.unwrap();
        assert!(close(w.allowed, 0.54));
        assert!(close(w.sdma_alone, 0.54));
        assert!(close(w.rdma_alone, 1.0125 / (0.0125 + 1.0 / 0.9)));
        assert!(close(w.share(LinkClass::Sdma), 1.875 / (1.875 + 1.5 / 0.9)));
        assert!(diagnose(CollKind::AllReduce, &p).is_empty());
    }

    #[test]
    fn both_classes_fine_and_the_whole_short_is_the_algorithm() {
        // Both parts at 0.9, whole at 0.5: SDMA 0.0125/0.9 = 0.013889 D, RDMA 1.111111 D,
        // sum 1.125 D: links allow 1.0125/1.125 = 0.9 ≥ 0.8 → the algorithm.
        let p = parts_2x2(0.5, 0.9, 0.9);
        let f = diagnose(CollKind::AllReduce, &p);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FindingKind::Algorithm);
        assert!(close(f[0].metrics["links_allow"], 0.9));
        assert!(close(f[0].metrics["max_efficiency"], 0.5));
        assert!(close(f[0].metrics["parts_min_efficiency"], 0.9));
        // The whole at 0.85: bandwidth of the class with the larger share, no finding.
        assert_eq!(
            limits(&parts_2x2(0.85, 0.15, 0.9), 0.8),
            vec![(S16, Limit::Bandwidth(LinkClass::Rdma))]
        );
    }

    #[test]
    fn a_whole_that_reaches_the_threshold_still_shows_the_shares() {
        // Whole at 0.85, SDMA part at 0.15, RDMA at 0.9 (as in the small-share case):
        // RDMA 1.111111 D of 1.194444 D → 93 %, SDMA 7 %; the line says so.
        let d = decide(&parts_2x2(0.85, 0.15, 0.9), 0.8);
        assert_eq!(d[0].limit, Limit::Bandwidth(LinkClass::Rdma));
        let w = d[0].weights.unwrap();
        assert!(close(
            w.share(LinkClass::Rdma),
            (1.0 / 0.9) / (0.0125 / 0.15 + 1.0 / 0.9)
        ));
        assert!(d[0].describe().starts_with(
            "RDMA bandwidth (SDMA at 0.15 of its links, 7% of the time; RDMA at 0.90, 93%"
        ));
        // SDMA slower than the NIC (part at 0.01 → 1.875 D against 1.666667 D) and the
        // whole still at 0.85: the class that takes most of the time is SDMA.
        let d = decide(&parts_2x2(0.85, 0.01, 0.9), 0.8);
        assert_eq!(d[0].limit, Limit::Bandwidth(LinkClass::Sdma));
        // Without the whole's model: the model's bottleneck at declared rates, no shares.
        let mut p = parts_2x2(0.85, 0.15, 0.9);
        p.model = None;
        let d = decide(&p, 0.8);
        assert_eq!(d[0].limit, Limit::Bandwidth(LinkClass::Rdma));
        assert!(d[0].weights.is_none());
    }

    #[test]
    fn one_rank_per_node_weighs_the_probe_alone() {
        // 4 nodes × 1 rank, one 400 Mbit/s NIC each, one switch: the ring all_reduce moves
        // only RDMA (SDMA share 0), so the links allow exactly the probe's efficiency.
        // Probe 0.93, whole 0.45 → allowed 0.93 ≥ 0.8 → the algorithm; probe 0.4, whole
        // 0.4 → RDMA alone 0.4 < 0.8 → RDMA efficiency.
        let t = Topology::from_toml_str(
            r#"
version = 1
name = "t4"
hosts = ["a", "b", "c", "d"]
[node]
devices = 1
[node.fabric]
kind = "shm"
bw_gbs = 5.0
latency_us = 1.0
[node.nic]
count = 1
rate_gbps = 0.4
transport = "tcp"
latency_us = 5000.0
"#,
            "t4.toml",
        )
        .unwrap();
        let m = WholeModel {
            topo: t,
            placement: Placement::block(4, 1),
            collective: CollKind::AllReduce,
        };
        let p = |whole: f64, probe: f64| Parts {
            whole: vec![j(S16, whole * 0.05, 0.05, false)],
            inter: vec![j(S16, probe * 0.05, 0.05, false)],
            intra: vec![],
            model: Some(m.clone()),
        };
        let d = decide(&p(0.45, 0.93), 0.8);
        assert_eq!(d[0].limit, Limit::Algorithm);
        let w = d[0].weights.unwrap();
        assert!(close(w.allowed, 0.93) && close(w.share(LinkClass::Rdma), 1.0));
        assert_eq!(
            d[0].describe(),
            "neither class: the algorithm (RDMA at 0.93 of its links, 100% of the time; at \
             these rates the links allow 0.93 of expected)"
        );
        assert_eq!(
            limits(&p(0.4, 0.4), 0.8),
            vec![(S16, Limit::Efficiency(LinkClass::Rdma))]
        );
    }
}
