//! Which link class limits a collective, from the collective run whole and in parts.
//!
//! A collective over several nodes moves data on two classes of links (REFERENCE §7):
//! SDMA within a node, RDMA between nodes. `--split` runs the same sizes again on the
//! intra-node groups (SDMA alone) and on the inter-node group, one rank per node (RDMA
//! alone), and judges each part against 0.8 × what its links should give. With one rank
//! per node there is no intra-node group and the inter-node group is the whole job: the
//! RDMA part is then a point-to-point probe of the same ranks (sendrecv to the ring
//! neighbour, all at once), i.e. exactly what the links can do for this job.
//!
//! Per size in the bandwidth regime, the whole's efficiency `busbw / expected` decides:
//! - ≥ threshold: the limiting class is the model's bottleneck, at *bandwidth*;
//! - below, and a part below too: that class's *efficiency* limits (its links are slow:
//!   `xccl-bench links` names which);
//! - below while every part reaches the threshold: neither class limits, the library's
//!   algorithm does → `algorithm` (e.g. a tree or recursive doubling where a ring would
//!   fill the links).
//!
//! Rows too small to reach bandwidth (the model calls them latency-bound) are not judged
//! on links: when they fall short of busbw while their time is within what the model
//! allows for their size (time / model time ≤ 1 / threshold) it is a `small_messages`
//! finding, never a slow link. A latency-bound row slower than that is judged like a
//! large one.

use crate::DEFAULT_THRESHOLD;
use std::collections::BTreeMap;
use xccl_schema::finding::{Finding, FindingKind, Subject};
use xccl_schema::{CollKind, LinkClass};

/// One judged row of one part.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    pub size_bytes: u64,
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
        if self.expected_gbs > 0.0 {
            self.busbw_gbs / self.expected_gbs
        } else {
            f64::NAN
        }
    }
}

/// The collective whole and its parts (rows matched by size).
#[derive(Clone, Debug, Default)]
pub struct Parts {
    pub whole: Vec<Judged>,
    /// SDMA alone (intra-node groups; the slowest group's row per size).
    pub intra: Vec<Judged>,
    /// RDMA alone (one rank per node, or the point-to-point probe).
    pub inter: Vec<Judged>,
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

/// The limit of each size of `p.whole`, in its order.
pub fn limits(p: &Parts, threshold: f64) -> Vec<(u64, Limit)> {
    p.whole
        .iter()
        .map(|w| {
            let eff = w.efficiency();
            let lim = if eff.is_nan() {
                Limit::None
            } else if w.latency_bound
                && (eff >= threshold || w.time_ratio.is_none_or(|x| x * threshold <= 1.0))
            {
                // Short on busbw only because it is small: its time is within what the
                // model allows for its size (time / model ≤ 1 / threshold).
                if eff < threshold {
                    Limit::SmallMessages
                } else {
                    Limit::None
                }
            } else if eff >= threshold {
                Limit::Bandwidth(w.bottleneck)
            } else {
                let low = |rows: &[Judged]| {
                    at(rows, w.size_bytes).is_some_and(|r| r.efficiency() < threshold)
                };
                // The model's bottleneck first: if both are low, that one limits.
                let (first, second) = match w.bottleneck {
                    LinkClass::Sdma => ((&p.intra, LinkClass::Sdma), (&p.inter, LinkClass::Rdma)),
                    _ => ((&p.inter, LinkClass::Rdma), (&p.intra, LinkClass::Sdma)),
                };
                if low(first.0) {
                    Limit::Efficiency(first.1)
                } else if low(second.0) {
                    Limit::Efficiency(second.1)
                } else if at(&p.inter, w.size_bytes).is_some()
                    || at(&p.intra, w.size_bytes).is_some()
                {
                    Limit::Algorithm
                } else {
                    Limit::None
                }
            };
            (w.size_bytes, lim)
        })
        .collect()
}

/// `algorithm` and `small_messages` findings (one each at most, listing the sizes).
/// A class limited by its efficiency is not a finding here: its links are slow, and
/// `xccl-bench links` names the node, uplink or link.
pub fn findings(coll: CollKind, p: &Parts, threshold: f64) -> Vec<Finding> {
    let lims = limits(p, threshold);
    let mut out = vec![];
    let sizes = |want: Limit| -> Vec<u64> {
        lims.iter()
            .filter(|(_, l)| *l == want)
            .map(|(s, _)| *s)
            .collect()
    };
    let alg = sizes(Limit::Algorithm);
    if !alg.is_empty() {
        let w: Vec<f64> = alg
            .iter()
            .filter_map(|s| at(&p.whole, *s))
            .map(Judged::efficiency)
            .collect();
        let parts: Vec<f64> = alg
            .iter()
            .flat_map(|s| [at(&p.inter, *s), at(&p.intra, *s)])
            .flatten()
            .map(Judged::efficiency)
            .collect();
        let (wmax, pmin) = (
            w.iter().copied().fold(0.0, f64::max),
            parts.iter().copied().fold(f64::INFINITY, f64::min),
        );
        let mut metrics = BTreeMap::new();
        metrics.insert("max_efficiency".into(), wmax);
        metrics.insert("parts_min_efficiency".into(), pmin);
        out.push(Finding {
            kind: FindingKind::Algorithm,
            subject: Subject::Operation {
                collective: coll,
                size_bytes: alg.clone(),
            },
            evidence: format!(
                "{coll} reaches at most {wmax:.2} of expected busbw while its links, run alone \
                 on the same ranks, reach at least {pmin:.2} (threshold {threshold}): the \
                 library's algorithm, not the links, falls short"
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
    findings(coll, p, DEFAULT_THRESHOLD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(size: u64, busbw: f64, exp: f64, lat: bool) -> Judged {
        Judged {
            size_bytes: size,
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
        // Whole at 0.82: RDMA bandwidth limits, no finding.
        let p = Parts {
            whole: vec![j(8 << 20, 0.041, 0.05, false)],
            inter: vec![j(8 << 20, 0.046, 0.05, false)],
            intra: vec![],
        };
        assert_eq!(
            limits(&p, 0.8),
            vec![(8 << 20, Limit::Bandwidth(LinkClass::Rdma))]
        );
        assert!(diagnose(CollKind::AllReduce, &p).is_empty());
        // Whole and its RDMA part both low: RDMA efficiency limits, not the algorithm.
        let p = Parts {
            whole: vec![j(8 << 20, 0.02, 0.05, false)],
            inter: vec![j(8 << 20, 0.02, 0.05, false)],
            intra: vec![j(8 << 20, 4.5, 5.0, false)],
        };
        assert_eq!(
            limits(&p, 0.8),
            vec![(8 << 20, Limit::Efficiency(LinkClass::Rdma))]
        );
        assert!(diagnose(CollKind::AllReduce, &p).is_empty());
        // SDMA part low while RDMA is fine: SDMA efficiency.
        let p = Parts {
            whole: vec![j(8 << 20, 0.02, 0.05, false)],
            inter: vec![j(8 << 20, 0.045, 0.05, false)],
            intra: vec![j(8 << 20, 2.0, 5.0, false)],
        };
        assert_eq!(
            limits(&p, 0.8),
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
}
