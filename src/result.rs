//! The result contract: what a run measured, as serde structs. Exporters (table, JSON,
//! CSV) only format these; offline analysis reads the JSON. Bump `SCHEMA_VERSION` on any
//! change that breaks a reader.

use crate::backend::{BackendInfo, OpImpl};
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RankInfo {
    pub rank: usize,
    pub host: String,
    pub pid: u32,
    pub local_rank: usize,
    pub device: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunMeta {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub started_unix: u64,
    pub collective: String,
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

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub min_bytes: u64,
    pub max_bytes: u64,
    pub step_factor: Option<f64>,
    pub step_bytes: Option<u64>,
    pub iters: usize,
    pub warmup_iters: usize,
    pub check_iters: usize,
    pub average: String,
    pub blocking: bool,
    pub precision: Option<f64>,
    pub time_budget_s: Option<f64>,
    pub timeout_s: f64,
    /// How times were taken: "per-call" or "loop" (MPI, `--timing`), "device-events"
    /// (NCCL, HCCL). Absent in files written before it existed.
    #[serde(default)]
    pub timing: String,
}

/// Time statistics in microseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TimeStats {
    /// Per-rank means combined across ranks as `-a` says (avg by default).
    pub avg: f64,
    /// Fastest and slowest single iteration on any rank.
    pub min: f64,
    pub max: f64,
    /// Percentiles over every iteration of every rank.
    pub p50: f64,
    pub p99: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PerRank {
    pub mean_us: Vec<f64>,
    pub p50_us: Vec<f64>,
    pub p99_us: Vec<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub collective: String,
    pub size_bytes: u64,
    pub count: u64,
    pub dtype: String,
    /// "none" for collectives without a reduction.
    pub op: String,
    pub op_impl: Option<OpImpl>,
    /// -1 for collectives without a root, as nccl-tests prints.
    pub root: i64,
    /// "out-of-place" or "in-place".
    pub placement: String,
    pub iters: usize,
    pub time_us: TimeStats,
    pub algbw_gbs: f64,
    pub busbw_gbs: f64,
    /// Wrong elements summed over ranks; None when not checked (-c 0).
    pub wrong: Option<u64>,
    /// Achieved relative half-width of the 95% confidence interval of the mean time.
    pub precision: f64,
    pub per_rank: PerRank,
    /// Filled when a topology is known (see xccl-topo).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verdict: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub wrong_total: u64,
    pub check_ok: bool,
    pub avg_busbw_gbs: f64,
    pub complete: bool,
    /// Why the run stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub meta: RunMeta,
    pub rows: Vec<Row>,
    pub summary: Summary,
}
