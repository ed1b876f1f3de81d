//! Verdict per result row: is the measurement as good as the links allow?
//!
//! Ascend's tuning guidance (docs/SOURCES.md [ascend-tuning]): the empirical bandwidth of a
//! link is 0.8 × its maximum, so a large-message row at or above 0.8 of the model's ceiling
//! is *bandwidth-bound* (healthy, the bottleneck link is saturated) and below it *low
//! efficiency*. Small messages cannot reach link speed whatever the health of the links, so
//! they are *latency-bound* and judged on time against the α–β estimate, never on
//! bandwidth.
//!
//! "Large" (see [`LargeRule`]): on real links, msprof's sizes — ≥ 32 MiB when SDMA is the
//! bottleneck, ≥ 0.5 MiB when RDMA is. Those sizes assume 25–200 GB/s links; on the
//! emulated cluster's Mbit links they would call every size large and, worse, on a real
//! cluster's slow TCP network the same. So for a scaled-down topology (any link below
//! 1 GB/s, or an `[emulation]` table) the rule comes from the model instead: a row is large
//! when latency (α) is at most 10 % of the modelled time, i.e. the message is ≥ 9× the
//! bandwidth-delay product of the path.
//!
//! Efficiency above the ceiling is not reported as normal: a row more than 5 % above it is
//! *above model*, with a note (in-network reduction such as NVLS/SHARP, a pipelined tree,
//! or declared rates that are too low).

use crate::model::{self, Expectation, LinkClass};
use crate::topology::{Placement, Topology};
use serde::{Deserialize, Serialize};
use xccl_schema::rules::BANDWIDTH_EFFICIENCY;
use xccl_schema::Row;

/// msprof's "large" threshold for SDMA-bound operators (32 MB).
pub const MSPROF_SDMA_LARGE: u64 = 32 << 20;
/// msprof's "large" threshold for RDMA-bound operators (0.5 MB).
pub const MSPROF_RDMA_LARGE: u64 = 512 << 10;
/// Default α share under which a row counts as large on scaled-down links.
pub const DEFAULT_MAX_ALPHA_SHARE: f64 = 0.10;
/// Header of the table column, and its width.
pub const CELL_HEADER: &str = "verdict";
pub const CELL_WIDTH: usize = 12;

pub use xccl_schema::verdict::{Class, Verdict};

/// When a row counts as a large message (judged on bandwidth).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum LargeRule {
    /// [`LargeRule::Model`] with [`DEFAULT_MAX_ALPHA_SHARE`] on scaled-down topologies,
    /// msprof's sizes otherwise.
    Auto,
    /// Size thresholds by bottleneck class.
    Msprof { sdma_bytes: u64, rdma_bytes: u64 },
    /// α / (α + β) of the model at most this.
    Model { max_alpha_share: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct JudgeOptions {
    /// Fraction of the ceiling a large row must reach to be bandwidth-bound (0.8).
    pub threshold: f64,
    pub large: LargeRule,
    /// Efficiency above which a row is "above model" (1.05).
    pub above_model: f64,
}

impl Default for JudgeOptions {
    fn default() -> Self {
        JudgeOptions {
            threshold: BANDWIDTH_EFFICIENCY,
            large: LargeRule::Auto,
            above_model: 1.05,
        }
    }
}

impl JudgeOptions {
    /// Defaults with another threshold (e.g. the value of `--min-efficiency`).
    pub fn with_threshold(threshold: f64) -> JudgeOptions {
        JudgeOptions {
            threshold,
            ..JudgeOptions::default()
        }
    }

    /// Whether `e` is a large message under these options.
    pub fn is_large(&self, e: &Expectation) -> bool {
        let rule = match self.large {
            LargeRule::Auto if e.scaled_down => LargeRule::Model {
                max_alpha_share: DEFAULT_MAX_ALPHA_SHARE,
            },
            LargeRule::Auto => LargeRule::Msprof {
                sdma_bytes: MSPROF_SDMA_LARGE,
                rdma_bytes: MSPROF_RDMA_LARGE,
            },
            r => r,
        };
        match rule {
            LargeRule::Model { max_alpha_share } => e.alpha_share() <= max_alpha_share,
            LargeRule::Msprof {
                sdma_bytes,
                rdma_bytes,
            } => match e.bottleneck {
                LinkClass::Sdma => e.bytes >= sdma_bytes,
                LinkClass::Rdma => e.bytes >= rdma_bytes,
                LinkClass::None => false,
            },
            LargeRule::Auto => unreachable!(),
        }
    }
}

fn gbs(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// Judges one row: `measured_busbw_gbs` from the table's busbw column, `measured_time_us`
/// from its time column (both for the same out-of-place or in-place run).
pub fn judge(
    e: &Expectation,
    measured_busbw_gbs: f64,
    measured_time_us: f64,
    opts: &JudgeOptions,
) -> Verdict {
    let model_time_us = e.best_time_us;
    let time_ratio =
        (model_time_us > 0.0 && measured_time_us > 0.0).then(|| measured_time_us / model_time_us);
    let Some(expected) = e.busbw_gbs.filter(|x| *x > 0.0) else {
        return Verdict {
            expected_busbw_gbs: 0.0,
            efficiency: 0.0,
            class: Class::NotApplicable,
            bottleneck: e.bottleneck,
            note: e.unknown.clone().unwrap_or_else(|| "no expectation".into()),
            large: false,
            model_time_us,
            time_ratio,
        };
    };
    let efficiency = measured_busbw_gbs / expected;
    let large = opts.is_large(e);
    let (class, note) = if !large {
        let ratio = time_ratio.unwrap_or(f64::NAN);
        let judged = if ratio * opts.threshold > 1.0 {
            "slower than the model allows even for its size: check the links"
        } else {
            "too small to reach link speed, judged on latency"
        };
        (
            Class::LatencyBound,
            format!(
                "time {ratio:.2}x model ({measured_time_us:.1} us vs {model_time_us:.1} us, α {:.1} us): {judged}",
                e.alpha_time_us
            ),
        )
    } else if efficiency > opts.above_model {
        let why = if e.in_network_reduction {
            "in-network reduction (NVLS/SHARP) declared: the ring bound does not apply"
        } else {
            "in-network reduction? pipelined tree? or declared rates below the real ones"
        };
        (
            Class::AboveModel,
            format!(
                "above model: {efficiency:.2} of {} GB/s ({why})",
                gbs(expected)
            ),
        )
    } else if efficiency >= opts.threshold {
        (
            Class::BandwidthBound,
            format!(
                "{} saturated: {efficiency:.2} of {} GB/s ({}, bottleneck {})",
                e.bottleneck,
                gbs(expected),
                e.algorithm,
                e.bottleneck_link
            ),
        )
    } else {
        (
            Class::LowEfficiency,
            format!(
                "{} below {:.2}: {efficiency:.2} of {} GB/s ({}, bottleneck {}): a link or a peer there is slower than declared",
                e.bottleneck,
                opts.threshold,
                gbs(expected),
                e.algorithm,
                e.bottleneck_link
            ),
        )
    };
    Verdict {
        expected_busbw_gbs: expected,
        efficiency,
        class,
        bottleneck: e.bottleneck,
        note,
        large,
        model_time_us,
        time_ratio,
    }
}

/// Judges one result row against `topo`: the one path from a row to its verdict, used by
/// the runtime as rows are measured and by `xccl-bench judge` on a saved file.
pub fn judge_row(
    topo: &Topology,
    placement: &Placement,
    row: &Row,
    opts: &JudgeOptions,
) -> Verdict {
    let root = row.root.max(0) as usize;
    let e = model::expected_rooted(topo, placement, row.collective, row.size_bytes, root);
    judge(&e, row.busbw_gbs, row.time_us.avg, opts)
}
