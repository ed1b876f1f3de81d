//! Command line: a subcommand per collective with nccl-tests' flags and meanings, plus
//! `list`. Parsing only; `main.rs` turns it into a [`crate::harness::Sweep`].

use crate::backend::{DeviceOpts, Timing};
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::harness::{self, Adaptive, Sweep};
use crate::types::{parse_size, DataType, ReduceOp};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The busbw explanation under every benchmark's `--help`, built from the vocabulary so
/// that each factor is written once (in its collective's module).
pub fn busbw_help() -> String {
    let factors: Vec<String> = CollKind::ALL
        .iter()
        .map(|k| format!("{} {}", k, k.imp().bus_factor_formula()))
        .collect();
    format!(
        "algbw = bytes / time. busbw = algbw × a per-collective factor ({}),\n\
         so busbw is comparable across rank counts and against one link's peak bandwidth, as in nccl-tests.",
        factors.join(", ")
    )
}

/// Subcommands other than the benchmarks; those are added by [`command`], one per
/// collective of the vocabulary.
#[derive(Parser, Debug)]
#[command(name = "xccl-bench", version, about = "Collective-communication benchmark for training clusters (MPI, NCCL, HCCL), nccl-tests compatible", after_help = busbw_help())]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Show collectives, data types, reduction ops and which backends are usable here.
    List,
    /// Show the detected or a loaded topology, check a topology file against this job, or
    /// ask its model.
    #[command(subcommand)]
    Topo(TopoCmd),
    /// Judge a saved result (--json file) against a topology, offline: the verdict each
    /// row would have had with --topology during the run.
    Judge(JudgeArgs),
    /// Build one self-contained HTML report (inline SVG plots, no network needed) from
    /// saved results (--json files).
    Report(ReportArgs),
    /// Compare two saved results row by row; exit 5 when a row got slower than the
    /// threshold and beyond the noise the two files record (for CI).
    Compare(CompareArgs),
    /// The pairwise link matrix: every pair of nodes in rounds of disjoint pairs (N−1 for
    /// even N), every device pair within each node; low links attributed to a slow node,
    /// uplink or link. Exit 0 no finding, 4 findings.
    Links(crate::links::LinksArgs),
    /// Predict a training job from measured communication: step time, MFU/HFU,
    /// throughput, linearity (offline; see docs/PREDICT.md).
    Predict(Box<crate::predict_cmd::PredictArgs>),
    /// Run one model's training-step communication for real under mpirun and print the
    /// measured step time beside the prediction (`--backend mpi|nccl|hccl`; compute
    /// phases are calibrated host-side waits on every backend).
    #[command(name = "train-sim")]
    TrainSim(Box<crate::predict_cmd::TrainSimArgs>),
}

impl Cmd {
    /// Whether the command works on files alone: it runs without MPI or a job.
    pub fn is_offline(&self) -> bool {
        match self {
            Cmd::List | Cmd::Judge(_) | Cmd::Report(_) | Cmd::Compare(_) | Cmd::Predict(_) => true,
            Cmd::Links(_) | Cmd::TrainSim(_) => false,
            Cmd::Topo(t) => !matches!(
                t,
                TopoCmd::Check { .. } | TopoCmd::Show { file: None } | TopoCmd::Validate { .. }
            ),
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    Bench(CollKind, Box<BenchArgs>),
    Other(Cmd),
}

/// The whole command line: [`Cli`] plus one benchmark subcommand per collective.
pub fn command() -> clap::Command {
    let mut c = Cli::command();
    for k in CollKind::ALL {
        let imp = k.imp();
        let mut sub = clap::Command::new(k.name())
            .about(format!(
                "Sweep {k} over message sizes (busbw factor {}{}{})",
                imp.bus_factor_formula(),
                if imp.has_op() { "; -o op" } else { "" },
                if imp.has_root() { "; -r root" } else { "" },
            ))
            .after_help(busbw_help());
        if let Some((first, rest)) = k.aliases().split_first() {
            sub = sub.visible_alias(*first).aliases(rest.iter().copied());
        }
        c = c.subcommand(BenchArgs::augment_args(sub));
    }
    c
}

/// Parses `args` (program name first).
pub fn parse_from<I, T>(args: I) -> std::result::Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let m = command().try_get_matches_from(args)?;
    if let Some((name, sub)) = m.subcommand() {
        if let Ok(k) = name.parse::<CollKind>() {
            return Ok(Invocation::Bench(
                k,
                Box::new(BenchArgs::from_arg_matches(sub)?),
            ));
        }
    }
    Cmd::from_arg_matches(&m).map(Invocation::Other)
}

#[derive(Args, Debug, Clone)]
pub struct JudgeArgs {
    /// A result file written by `--json`.
    pub report: PathBuf,
    /// The topology to judge against (see docs/TOPOLOGY.md).
    #[arg(long, value_name = "FILE")]
    pub topology: PathBuf,
    /// Efficiency at or above which a large-message row is bandwidth-bound (default 0.8,
    /// or --min-efficiency when given).
    #[arg(long, value_parser = parse_unit_fraction)]
    pub threshold: Option<f64>,
    /// Exit with status 4 when any large-message row falls below this efficiency.
    #[arg(long = "min-efficiency", value_parser = parse_unit_fraction)]
    pub min_efficiency: Option<f64>,
    /// Write the result with every row's verdict to FILE.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Files written by `--json`: benchmark results (several runs, collectives or
    /// backends), `links`, `predict` and `train-sim` files, in any mix.
    #[arg(required = true, value_name = "FILE.json")]
    pub reports: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "report.html")]
    pub output: PathBuf,
    /// Title at the top of the report.
    #[arg(long, default_value = "xccl-bench report")]
    pub title: String,
    /// The efficiency line drawn under the expected busbw (default 0.8).
    #[arg(long, value_parser = parse_unit_fraction, default_value_t = 0.8)]
    pub threshold: f64,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The reference result (--json file).
    pub base: PathBuf,
    /// The result to check against it.
    pub new: PathBuf,
    /// Relative slowdown that counts as a regression, e.g. `5%` or `0.05` (default 5%).
    #[arg(long, value_parser = parse_threshold, default_value = "5%")]
    pub threshold: f64,
    /// Also write the comparison as GitHub Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the comparison as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
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
    /// Check by measurement (under mpirun, one rank per node carries the traffic) that the
    /// nodes sit under the leaf switches FILE declares: flows that slow each other down
    /// share an uplink. Then loads each declared uplink. Names each misplaced node and each
    /// uplink slower than declared (exit 4); exit 0 when all match.
    Validate {
        file: PathBuf,
        /// Write the tests, groups and findings to FILE (JSON).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// What the model of FILE expects for COLL at BYTES: busbw ceiling, bottleneck link,
    /// α–β time. Ranks are placed one per device on every node, or by NODE_OF_RANK
    /// (node index of each rank, e.g. `0 0 1 1`).
    Model {
        file: PathBuf,
        collective: CollKind,
        #[arg(value_parser = parse_size)]
        bytes: u64,
        node_of_rank: Vec<usize>,
    },
    /// Link rates and addresses for scripts/emu-cluster.sh, from FILE's `[emulation]`
    /// table; `--slow-node HOST:FRACTION` (or XCCL_EMU_SLOW) slows one node's NIC.
    EmuPlan {
        file: PathBuf,
        #[arg(long = "slow-node", value_name = "HOST:FRACTION", value_parser = parse_slow_node)]
        slow_node: Vec<(String, f64)>,
        /// Shape SWITCH's uplink to FRACTION of its declared rate (or XCCL_EMU_SLOW_UPLINK).
        #[arg(long = "slow-uplink", value_name = "SWITCH:FRACTION", value_parser = parse_slow_node)]
        slow_uplink: Vec<(String, f64)>,
    },
}

/// `HOST:FRACTION` of `topo emu-plan --slow-node`.
pub fn parse_slow_node(s: &str) -> std::result::Result<(String, f64), String> {
    let (h, f) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("'{s}': expected HOST:FRACTION"))?;
    let f: f64 = f
        .parse()
        .map_err(|_| format!("'{s}': the fraction must be a number"))?;
    if !(f > 0.0 && f <= 1.0) {
        return Err(format!("'{s}': the fraction must be in (0, 1]"));
    }
    Ok((h.to_string(), f))
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
pub enum ProgressMode {
    Auto,
    Always,
    Never,
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
    /// Write the table as GitHub Markdown to FILE, updated after every size.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
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
    pub delay: Option<crate::backend::Delay>,
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

fn parse_unit_fraction(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("'{s}' must be a number in (0, 1], e.g. 0.8")),
    }
}

fn parse_threshold(s: &str) -> std::result::Result<f64, String> {
    parse_fraction(s).map_err(|e| e.replace("precision", "threshold"))
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
