//! Command line: a subcommand per collective with nccl-tests' flags and meanings, plus
//! `list`. Parsing only; `main.rs` turns it into a [`crate::harness::Sweep`].

use crate::backend::{DeviceOpts, Timing};
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::harness::{self, Adaptive, Average, Sweep};
use crate::types::{parse_size, DataType, ReduceOp};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const BUSBW_HELP: &str = "algbw = bytes / time. busbw = algbw × a per-collective factor (2(n-1)/n for all_reduce, (n-1)/n for all_gather, reduce_scatter, alltoall, gather, scatter; 1 otherwise),\n\
so busbw is comparable across rank counts and against one link's peak bandwidth, as in nccl-tests.";

#[derive(Parser, Debug)]
#[command(name = "xccl-bench", version, about = "Collective-communication benchmark for training clusters (MPI, NCCL, HCCL), nccl-tests compatible", after_help = BUSBW_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    #[command(name = "all_reduce", visible_alias = "all-reduce", after_help = BUSBW_HELP)]
    AllReduce(BenchArgs),
    #[command(name = "all_gather", visible_alias = "all-gather", after_help = BUSBW_HELP)]
    AllGather(BenchArgs),
    #[command(name = "reduce_scatter", visible_alias = "reduce-scatter", after_help = BUSBW_HELP)]
    ReduceScatter(BenchArgs),
    #[command(name = "broadcast", after_help = BUSBW_HELP)]
    Broadcast(BenchArgs),
    #[command(name = "reduce", after_help = BUSBW_HELP)]
    Reduce(BenchArgs),
    #[command(name = "alltoall", visible_alias = "all-to-all", after_help = BUSBW_HELP)]
    Alltoall(BenchArgs),
    #[command(name = "sendrecv", visible_alias = "send-recv", after_help = BUSBW_HELP)]
    Sendrecv(BenchArgs),
    #[command(name = "gather", after_help = BUSBW_HELP)]
    Gather(BenchArgs),
    #[command(name = "scatter", after_help = BUSBW_HELP)]
    Scatter(BenchArgs),
    /// Show collectives, data types, reduction ops and which backends are usable here.
    List,
    /// Show the detected or a loaded topology, or check a topology file against this job.
    #[command(subcommand)]
    Topo(TopoCmd),
}

#[derive(Subcommand, Debug)]
pub enum TopoCmd {
    /// Print the topology loaded from FILE, or detected from this job (hosts and ranks per
    /// host from MPI, NIC rates from sysfs) when no FILE is given.
    Show { file: Option<PathBuf> },
    /// Validate FILE against the running job: rank count, hosts, ranks per host against
    /// devices per node. Exit 0 when it matches, 1 otherwise.
    Check {
        file: PathBuf,
        /// Devices per node the job sees (GPUs/NPUs), checked against the file.
        #[arg(long)]
        devices_per_node: Option<usize>,
        /// The backend the job will use: its intra-node fabric (shm, NVLink, HCCS) is
        /// checked against the file's.
        #[arg(long, value_enum, default_value_t = BackendKind::Mpi)]
        backend: BackendKind,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// MPI on host memory (the default; runs anywhere MPI does).
    Mpi,
    /// NVIDIA NCCL on GPUs (library loaded at run time).
    Nccl,
    /// Ascend HCCL on NPUs (libraries loaded at run time).
    Hccl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// nccl-tests' table (default).
    Nccl,
    /// hccl_test's columns.
    #[value(name = "hccl_test", alias = "hccl-test")]
    HcclTest,
}

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Minimum size to start with (bytes, K/M/G suffixes).
    #[arg(short = 'b', long = "minbytes", default_value = "8", value_parser = parse_size)]
    pub min_bytes: u64,
    /// Maximum size to end at.
    #[arg(short = 'e', long = "maxbytes", default_value = "128M", value_parser = parse_size)]
    pub max_bytes: u64,
    /// Multiplication factor between sizes (default 2).
    #[arg(short = 'f', long = "stepfactor")]
    pub step_factor: Option<f64>,
    /// Fixed increment between sizes (instead of -f).
    #[arg(short = 'i', long = "stepbytes", value_parser = parse_size)]
    pub step_bytes: Option<u64>,
    /// Timed iterations per size (ignored with --precision/--time-budget).
    #[arg(short = 'n', long = "iters", default_value_t = 20)]
    pub iters: usize,
    /// Warm-up iterations per size (not timed).
    #[arg(short = 'w', long = "warmup_iters", default_value_t = 5)]
    pub warmup: usize,
    /// Correctness-check iterations per size (0 disables the check).
    #[arg(short = 'c', long = "check", default_value_t = 1)]
    pub check: usize,
    /// Data type (nccl-tests names: int8 uint8 int32 uint32 int64 uint64 half float double bfloat16 f8e4m3 f8e5m2; aliases fp16 bf16 fp32 fp64 fp8_e4m3 fp8_e5m2), or `all`.
    #[arg(short = 'd', long = "datatype", default_value = "float")]
    pub dtype: String,
    /// Reduction op: sum prod max min avg, or `all`.
    #[arg(short = 'o', long = "op", default_value = "sum")]
    pub op: String,
    /// Root rank for broadcast, reduce, gather, scatter, or `all`.
    #[arg(short = 'r', long = "root", default_value = "0")]
    pub root: String,
    /// How ranks' times combine: 0 rank 0, 1 avg, 2 min, 3 max.
    #[arg(short = 'a', long = "average", default_value_t = 1)]
    pub average: u8,
    /// Blocking collectives: synchronize after each call (device backends).
    #[arg(short = 'z', long = "blocking", default_value_t = 0)]
    pub blocking: u8,
    /// Repeat the whole sweep this many times (0: until interrupted).
    #[arg(short = 'N', long = "run_cycles", default_value_t = 1)]
    pub cycles: usize,
    /// Seconds a collective may take before the run aborts all ranks (0: no limit).
    #[arg(short = 'T', long = "timeout", default_value_t = 0.0)]
    pub timeout: f64,
    /// GPUs driven by this process (NCCL, for runs without MPI).
    #[arg(short = 'g', long = "ngpus", default_value_t = 1)]
    pub ngpus: usize,
    /// Capture iterations in a CUDA graph (NCCL).
    #[arg(short = 'G', long = "cudagraph", default_value_t = 0)]
    pub cuda_graph: u8,
    /// NPUs per node (HCCL; device = local rank modulo this, as hccl_test -p).
    #[arg(short = 'p', long = "npus")]
    pub npus_per_node: Option<usize>,
    /// Communication library.
    #[arg(long, value_enum, default_value_t = BackendKind::Mpi)]
    pub backend: BackendKind,
    /// How the MPI backend times calls: `per-call` (OSU's method: a barrier, then
    /// MPI_Wtime around each call; per-iteration percentiles) or `loop` (nccl-tests'
    /// method: a barrier, then the whole loop timed, mean only). NCCL and HCCL time with
    /// device events.
    #[arg(long, value_enum, default_value_t = Timing::PerCall)]
    pub timing: Timing,
    /// Write the results (versioned JSON schema) to FILE, updated after every size.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write one CSV line per row to FILE, as measured.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Adaptive mode: iterate each size until the 95% confidence interval of the mean
    /// time is within this fraction (e.g. `1%` or `0.01`).
    #[arg(long, value_parser = parse_fraction)]
    pub precision: Option<f64>,
    /// Adaptive mode: seconds of timed iterations allowed per size.
    #[arg(long = "time-budget", value_name = "SECONDS")]
    pub time_budget: Option<f64>,
    /// Adaptive mode: cap on iterations per size.
    #[arg(long = "max-iters", default_value_t = 1000)]
    pub max_iters: usize,
    /// Table format on stdout: nccl-tests columns, or hccl_test's (root rank's
    /// data_size, aveg_time, alg_bandwidth, check_result).
    #[arg(long, value_enum, default_value_t = OutputFormat::Nccl)]
    pub format: OutputFormat,
    /// Judge every row against this topology file (see docs/TOPOLOGY.md), or against
    /// the topology detected from the job (`detect`): expected busbw, efficiency and a
    /// verdict column.
    #[arg(long, value_name = "FILE|detect")]
    pub topology: Option<String>,
    /// Efficiency (measured / expected busbw) at or above which a large-message row is
    /// "bandwidth-bound" (default 0.8, or --min-efficiency when given).
    #[arg(long, value_parser = parse_unit_fraction)]
    pub threshold: Option<f64>,
    /// Health check: exit with status 4 when any large-message row falls below this
    /// efficiency (needs --topology), listing those rows on stderr.
    #[arg(long = "min-efficiency", value_parser = parse_unit_fraction)]
    pub min_efficiency: Option<f64>,
    /// Test only: corrupt one input element on the root rank before each check.
    #[arg(long = "test-corrupt-one", hide = true)]
    pub corrupt_one: bool,
}

fn parse_unit_fraction(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("'{s}' must be a number in (0, 1], e.g. 0.8")),
    }
}

fn parse_fraction(s: &str) -> std::result::Result<f64, String> {
    let (num, pct) = match s.strip_suffix('%') {
        Some(n) => (n, true),
        None => (s, false),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("malformed precision '{s}' (e.g. 1% or 0.01)"))?;
    let v = if pct { v / 100.0 } else { v };
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("precision '{s}' must be between 0 and 100%"))
    }
}

impl Cmd {
    pub fn bench(&self) -> Option<(CollKind, &BenchArgs)> {
        Some(match self {
            Cmd::AllReduce(a) => (CollKind::AllReduce, a),
            Cmd::AllGather(a) => (CollKind::AllGather, a),
            Cmd::ReduceScatter(a) => (CollKind::ReduceScatter, a),
            Cmd::Broadcast(a) => (CollKind::Broadcast, a),
            Cmd::Reduce(a) => (CollKind::Reduce, a),
            Cmd::Alltoall(a) => (CollKind::Alltoall, a),
            Cmd::Sendrecv(a) => (CollKind::Sendrecv, a),
            Cmd::Gather(a) => (CollKind::Gather, a),
            Cmd::Scatter(a) => (CollKind::Scatter, a),
            Cmd::List | Cmd::Topo(_) => return None,
        })
    }
}

fn list_or_all<T: std::str::FromStr<Err = String> + Copy>(s: &str, all: &[T]) -> Result<Vec<T>> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(all.to_vec());
    }
    s.split(',')
        .map(|p| p.trim().parse::<T>().map_err(BenchError::Usage))
        .collect()
}

impl BenchArgs {
    pub fn device_opts(&self) -> DeviceOpts {
        DeviceOpts {
            gpus_per_process: self.ngpus,
            blocking: self.blocking != 0,
            cuda_graph: self.cuda_graph != 0,
            npus_per_node: self.npus_per_node,
        }
    }

    pub fn sweep(&self, coll: CollKind, nranks: usize) -> Result<Sweep> {
        let sizes = harness::sizes(
            self.min_bytes,
            self.max_bytes,
            self.step_factor,
            self.step_bytes,
        )?;
        let dtypes = list_or_all(&self.dtype, &DataType::ALL)?;
        let ops = list_or_all(&self.op, &ReduceOp::ALL)?;
        let roots = if self.root.eq_ignore_ascii_case("all") || self.root == "-1" {
            (0..nranks).collect()
        } else {
            self.root
                .split(',')
                .map(|r| {
                    r.trim().parse::<usize>().map_err(|_| {
                        BenchError::Usage(format!(
                            "malformed root '{r}' (-r): expected a rank number or `all`"
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?
        };
        if self.timeout < 0.0 || !self.timeout.is_finite() {
            return Err(BenchError::Usage(format!(
                "-T {}: the timeout must be a non-negative number of seconds",
                self.timeout
            )));
        }
        if self.min_efficiency.is_some() && self.topology.is_none() {
            return Err(BenchError::Usage(
                "--min-efficiency needs --topology FILE (or --topology detect) to know what the links should give".into(),
            ));
        }
        if self.iters == 0 && self.precision.is_none() && self.time_budget.is_none() {
            return Err(BenchError::Usage(
                "-n 0: at least one timed iteration is needed".into(),
            ));
        }
        if let Some(b) = self.time_budget {
            if b.is_nan() || b <= 0.0 {
                return Err(BenchError::Usage(format!(
                    "--time-budget {b}: must be a positive number of seconds"
                )));
            }
        }
        let is_adaptive = self.precision.is_some() || self.time_budget.is_some();
        if self.timing == Timing::Loop && self.backend != BackendKind::Mpi {
            return Err(BenchError::Usage(
                "--timing loop: only the MPI backend times on the host; NCCL and HCCL time with device events".into(),
            ));
        }
        if self.timing == Timing::Loop && is_adaptive {
            return Err(BenchError::Usage(
                "--timing loop measures only each loop's mean; adaptive mode (--precision, --time-budget) needs --timing per-call".into(),
            ));
        }
        let adaptive = is_adaptive.then_some(Adaptive {
            precision: self.precision,
            time_budget_s: self.time_budget,
            min_iters: 5.min(self.max_iters.max(1)),
            max_iters: self.max_iters.max(1),
        });
        Ok(Sweep {
            coll,
            sizes,
            dtypes,
            ops,
            roots,
            iters: self.iters,
            warmup: self.warmup,
            check: self.check,
            average: Average::from_flag(self.average)?,
            adaptive,
            cycles: self.cycles,
            corrupt_one: self.corrupt_one,
            timing: self.timing,
        })
    }
}
