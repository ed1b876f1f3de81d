//! The sweep's arguments: nccl-tests' flags and meanings (`-b -e -f -i -n -w -c -d -o
//! -r -a -z -N -T -g -G`), hccl_test's `-p`, and this tool's own (backend, timing,
//! exporters, adaptive iterations, topology verdicts, `--split`). [`BenchArgs::sweep`]
//! turns them into the harness's plan.

use crate::backend::{BackendKind, Delay, DeviceOpts, Timing};
use crate::cmd::parse::{list_or_all, parse_fraction, parse_unit_fraction};
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::harness::{self, Adaptive, Sweep};
use crate::output::progress::ProgressMode;
use crate::output::OutputFormat;
use crate::types::{parse_size, DataType, ReduceOp};
use clap::Args;
use std::path::PathBuf;

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
    /// Write the table as GitHub Markdown to FILE, updated after every size.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the results as Prometheus metrics (node_exporter's textfile format: busbw,
    /// efficiency, findings, run info) to FILE, replaced atomically at the end.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Progress on rank 0's stderr (rows done, current row, elapsed, ETA): `auto` shows
    /// it when a person watches (see docs/REPORT.md), `always` (plain lines when stderr
    /// is no terminal), `never`.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
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
    /// What-if: RANK arrives late at every timed call, by MICROSECONDS or by PERCENT%
    /// of its mean call time (MPI backend): it spins after the barrier, before the call.
    /// The slow-rank diagnosis should then name it.
    #[arg(long, value_name = "RANK:MICROSECONDS|RANK:PERCENT%")]
    pub delay: Option<Delay>,
    /// Diagnose which link class limits the collective (needs --topology): after the
    /// sweep, run the same sizes on its parts (with one rank per node: sendrecv to the
    /// ring neighbour, the links alone) and judge each at 0.8 of expected. A collective
    /// short of it while its links are not gives an `algorithm` finding (exit 4).
    #[arg(long)]
    pub split: bool,
    /// Test only: corrupt one input element on the root rank before each check.
    #[arg(long = "test-corrupt-one", hide = true)]
    pub corrupt_one: bool,
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
        if self.split && (self.topology.is_none() || self.backend != BackendKind::Mpi) {
            return Err(BenchError::Usage(
                "--split needs --topology FILE (what each link class should give) and the MPI backend".into(),
            ));
        }
        if let Some(d) = self.delay {
            if self.backend != BackendKind::Mpi {
                return Err(BenchError::Usage(
                    "--delay: only the MPI backend can delay a rank before its calls".into(),
                ));
            }
            if d.rank >= nranks {
                return Err(BenchError::Usage(format!(
                    "--delay {}: rank out of range for {nranks} ranks (0..{})",
                    d.rank,
                    nranks - 1
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
            average: harness::average_from_flag(self.average)?,
            adaptive,
            cycles: self.cycles,
            corrupt_one: self.corrupt_one,
            timing: self.timing,
        })
    }
}
