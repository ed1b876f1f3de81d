//! The result contract: what a run measured, as typed serde structs. The runtime's
//! exporters (table, JSON, CSV) only format these; offline tools read the JSON back with
//! [`crate::read::read_report`]. Enums serialize to the names the table prints, so the
//! JSON reads the same as the table. Bump [`SCHEMA_VERSION`] on any change that breaks a
//! reader, and teach the reader the old form.

use crate::coll::CollKind;
use crate::finding::Finding;
use crate::types::{DataType, ReduceOp};
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// 1: the first release. 2: typed rows (same JSON as 1) plus `findings`; version 1 files
/// read as version 2 with no findings.
pub const SCHEMA_VERSION: u32 = 2;
/// What `meta.tool` says in every file this project writes.
pub const TOOL: &str = "xccl-bench";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RankInfo {
    pub rank: usize,
    pub host: String,
    pub pid: u32,
    pub local_rank: usize,
    pub device: String,
}

/// How a backend carries out a reduction op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpImpl {
    Native,
    /// avg done as sum then a scale by 1/n on each rank; labelled so in results.
    SumThenScale,
}

/// What a backend says about itself for the run metadata.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct BackendInfo {
    pub name: String,
    /// Library that moved the data, e.g. "Open MPI", "NCCL", "HCCL".
    pub library: String,
    pub version: String,
    /// This rank's device, e.g. "host" or "NVIDIA H200 (0000:1b:00.0)".
    pub device: String,
}

/// How per-rank times combine into the reported time (nccl-tests `-a`; avg by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Average {
    Rank0,
    #[default]
    Avg,
    Min,
    Max,
}

impl Average {
    /// nccl-tests' `-a` numbering: 0 rank 0, 1 avg, 2 min, 3 max.
    pub fn from_flag(a: u8) -> Option<Self> {
        [Average::Rank0, Average::Avg, Average::Min, Average::Max]
            .get(a as usize)
            .copied()
    }
    pub fn name(self) -> &'static str {
        match self {
            Average::Rank0 => "rank0",
            Average::Avg => "avg",
            Average::Min => "min",
            Average::Max => "max",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunMeta {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub started_unix: u64,
    pub collective: CollKind,
    pub backend: BackendInfo,
    pub mpi_library: Option<String>,
    pub nranks: usize,
    pub hosts: Vec<String>,
    pub ranks_per_host: Vec<usize>,
    pub ranks: Vec<RankInfo>,
    /// The command line as given.
    pub args: Vec<String>,
    pub settings: Settings,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    pub min_bytes: u64,
    pub max_bytes: u64,
    pub step_factor: Option<f64>,
    pub step_bytes: Option<u64>,
    pub iters: usize,
    pub warmup_iters: usize,
    pub check_iters: usize,
    pub average: Average,
    pub blocking: bool,
    pub precision: Option<f64>,
    pub time_budget_s: Option<f64>,
    pub timeout_s: f64,
    /// How times were taken; absent in files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<TimingMethod>,
}

/// How a row's times were taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimingMethod {
    /// OSU's way: a barrier, then the host clock around each call.
    PerCall,
    /// nccl-tests' way: a barrier, then the whole loop timed as one.
    Loop,
    /// Device events around each call on the stream (NCCL, HCCL).
    DeviceEvents,
}

/// Time statistics in microseconds. A statistic the source did not record (an imported
/// nccl-tests table has the mean only) is NaN, written as `null`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TimeStats {
    /// Per-rank means combined across ranks as `-a` says (avg by default).
    pub avg: f64,
    /// Fastest and slowest single iteration on any rank.
    #[serde(deserialize_with = "null_as_nan")]
    pub min: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub max: f64,
    /// Percentiles over every iteration of every rank.
    #[serde(deserialize_with = "null_as_nan")]
    pub p50: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub p99: f64,
}

/// serde_json writes a non-finite float as `null`; read it back as NaN (not recorded)
/// instead of refusing the file.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PerRank {
    pub mean_us: Vec<f64>,
    pub p50_us: Vec<f64>,
    pub p99_us: Vec<f64>,
}

/// Whether the output buffer is a separate one or the input itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Placement {
    #[serde(rename = "out-of-place")]
    OutOfPlace,
    #[serde(rename = "in-place")]
    InPlace,
}

impl Placement {
    pub fn name(self) -> &'static str {
        match self {
            Placement::OutOfPlace => "out-of-place",
            Placement::InPlace => "in-place",
        }
    }
}

display_as_name!(Placement);

/// `Option<ReduceOp>` written as the op's name, or `"none"` for collectives without one
/// (what the table's redop column shows).
mod op_or_none {
    use crate::types::ReduceOp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(op: &Option<ReduceOp>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(op.map_or("none", ReduceOp::name))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ReduceOp>, D::Error> {
        let name = String::deserialize(d)?;
        if name == "none" {
            return Ok(None);
        }
        name.parse().map(Some).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub collective: CollKind,
    pub size_bytes: u64,
    pub count: u64,
    pub dtype: DataType,
    /// `None` ("none" in JSON) for collectives without a reduction.
    #[serde(with = "op_or_none")]
    pub op: Option<ReduceOp>,
    pub op_impl: Option<OpImpl>,
    /// -1 for collectives without a root, as nccl-tests prints.
    pub root: i64,
    pub placement: Placement,
    pub iters: usize,
    pub time_us: TimeStats,
    pub algbw_gbs: f64,
    pub busbw_gbs: f64,
    /// Wrong elements summed over ranks; None when not checked (-c 0).
    pub wrong: Option<u64>,
    /// Achieved relative half-width of the 95% confidence interval of the mean time; NaN
    /// (`null`) when the source recorded no spread (imported tables without per-iteration
    /// times).
    #[serde(deserialize_with = "null_as_nan")]
    pub precision: f64,
    pub per_rank: PerRank,
    /// Filled when a topology is known (see xccl-topo).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verdict: Option<Verdict>,
    /// When each rank entered and left the timed calls (MPI backend, per-call timing):
    /// the slow-rank analysis of this row (docs/DIAGNOSIS.md).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ranks_timing: Option<RankTiming>,
}

/// Per-rank wait, sync and transit of one row, from entry and exit times on a clock
/// aligned to rank 0 (docs/SOURCES.md [ascend-tuning]; xccl-diag `ranks`). Vectors are
/// indexed by rank.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RankTiming {
    /// Calls analysed.
    pub calls: usize,
    /// Residual error of the aligned clock, µs: intervals under 3× this count as zero.
    pub clock_residual_us: f64,
    /// Mean over calls of wait / (wait + transit).
    pub wait_ratio: Vec<f64>,
    /// Mean over calls of sync / (sync + transit).
    pub sync_ratio: Vec<f64>,
    /// Mean wait, µs: time not moving data (sync included).
    pub wait_us: Vec<f64>,
    /// Mean sync, µs: time before the last rank entered.
    pub sync_us: Vec<f64>,
    /// Mean transit, µs (one value per call, the same for every rank).
    pub transit_us: f64,
    /// Calls in which the outlier test named this rank the late one.
    pub late_votes: Vec<usize>,
    /// The rank this row names slow (two-step rule and the vote), if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub slow_rank: Option<usize>,
}

impl Row {
    /// Rank count of the row: one mean per rank.
    pub fn nranks(&self) -> usize {
        self.per_rank.mean_us.len()
    }
    /// The redop column: the op's name or `none`.
    pub fn op_name(&self) -> &'static str {
        self.op.map_or("none", ReduceOp::name)
    }
    /// A short label naming the row: `all_reduce 1048576 B float sum out-of-place`.
    pub fn label(&self) -> String {
        format!(
            "{} {} B {} {} {}",
            self.collective,
            self.size_bytes,
            self.dtype,
            self.op_name(),
            self.placement
        )
    }
    /// What the row measured, as the CSV and Markdown tables print it: size (B), count,
    /// type, redop, root, placement.
    pub fn what_cells(&self) -> [String; 6] {
        [
            self.size_bytes.to_string(),
            self.count.to_string(),
            self.dtype.to_string(),
            self.op_name().to_string(),
            self.root.to_string(),
            self.placement.to_string(),
        ]
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub wrong_total: u64,
    pub check_ok: bool,
    pub avg_busbw_gbs: f64,
    /// False while the run is going on, and for good in a file an interrupted run left.
    pub complete: bool,
    /// Why the run stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub meta: RunMeta,
    pub rows: Vec<Row>,
    pub summary: Summary,
    /// What diagnosis concluded (empty: nothing found, or not diagnosed).
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Set when the result was read from another tool's output (`crate::import`): which
    /// format, and what it lacks or what was derived here instead of read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<Provenance>,
}

/// Where an imported result came from, and how faithful it is.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// The tool and format, e.g. `nccl-tests text`, `nccl-tests JSON`, `hccl_test text`.
    pub format: String,
    /// The tool's version as its output states it, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What the format does not record; the rows leave it unset (NaN, empty, None).
    pub lacks: Vec<String>,
    /// What was computed here rather than read, and how.
    pub derived: Vec<String>,
    /// Anything else a reader must know (skipped rows, a run that did not finish).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Provenance {
    /// One line for the commands that read the file: `nccl-tests text (2.13.9); lacks:
    /// ...; derived: ...`.
    pub fn summary(&self) -> String {
        let mut s = self.format.clone();
        if let Some(v) = &self.version {
            s += &format!(" {v}");
        }
        for (what, list) in [
            ("lacks", &self.lacks),
            ("derived", &self.derived),
            ("note", &self.notes),
        ] {
            if !list.is_empty() {
                s += &format!("; {what}: {}", list.join(", "));
            }
        }
        s
    }
}
