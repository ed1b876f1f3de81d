//! A row judged against what its links should give: the data a verdict carries. The rules
//! that produce it (the topology model and the 0.8× threshold) live in xccl-topo; the type
//! lives here so that a result file can be read without the model.

use serde::{Deserialize, Serialize};

/// Which kind of link carries the traffic (the SDMA/RDMA split of Ascend's tuning guidance,
/// docs/SOURCES.md [ascend-tuning]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinkClass {
    /// Intra-node: NVLink/NVSwitch/HCCS/PCIe/shared memory.
    #[serde(rename = "SDMA")]
    Sdma,
    /// Inter-node: NICs and switch uplinks (RoCE/InfiniBand; TCP for the CPU backend).
    #[serde(rename = "RDMA")]
    Rdma,
    /// No traffic (one rank).
    #[serde(rename = "none")]
    None,
}

impl LinkClass {
    pub fn name(self) -> &'static str {
        match self {
            LinkClass::Sdma => "SDMA",
            LinkClass::Rdma => "RDMA",
            LinkClass::None => "none",
        }
    }
}

display_as_name!(LinkClass);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Class {
    #[serde(rename = "bandwidth-bound")]
    BandwidthBound,
    #[serde(rename = "low efficiency")]
    LowEfficiency,
    #[serde(rename = "latency-bound")]
    LatencyBound,
    #[serde(rename = "above model")]
    AboveModel,
    /// No expectation (one rank, unknown NIC rate).
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::BandwidthBound => "bandwidth-bound",
            Class::LowEfficiency => "low efficiency",
            Class::LatencyBound => "latency-bound",
            Class::AboveModel => "above model",
            Class::NotApplicable => "n/a",
        }
    }
}

display_as_name!(Class);

/// The verdict of one row, as it goes into JSON (`"verdict": {...}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Model ceiling, GB/s one direction (0 when there is none).
    pub expected_busbw_gbs: f64,
    /// measured busbw / expected (0 when there is no expectation).
    pub efficiency: f64,
    pub class: Class,
    /// The link class whose transfers take longer in the model.
    pub bottleneck: LinkClass,
    /// One sentence a person can act on.
    pub note: String,
    /// Judged on bandwidth (true) or on latency (false).
    pub large: bool,
    /// α–β estimate of the operation time (µs), fastest candidate algorithm.
    pub model_time_us: f64,
    /// measured time / model time (`None` when either is unknown); what latency-bound rows
    /// are judged on.
    pub time_ratio: Option<f64>,
}

/// `num / den`, or `otherwise` where there is nothing to divide by (`den` zero, negative
/// or NaN): an efficiency without an expectation, a share of no time.
pub fn ratio_or(num: f64, den: f64, otherwise: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        otherwise
    }
}

impl Verdict {
    /// Short table cell: `BW 0.93 RDMA`, `LOW 0.47 RDMA`, `LAT 1.3x`, `ABOVE 1.12`, `n/a`.
    /// `LAT` shows measured time / model time.
    pub fn cell(&self) -> String {
        match self.class {
            Class::BandwidthBound => format!("BW {:.2} {}", self.efficiency, self.bottleneck),
            Class::LowEfficiency => format!("LOW {:.2} {}", self.efficiency, self.bottleneck),
            Class::AboveModel => format!("ABOVE {:.2}", self.efficiency),
            Class::LatencyBound => match self.time_ratio {
                Some(x) if x < 100.0 => format!("LAT {x:.1}x"),
                Some(x) => format!("LAT {x:.0}x"),
                None => "LAT".into(),
            },
            Class::NotApplicable => "n/a".into(),
        }
    }
}
