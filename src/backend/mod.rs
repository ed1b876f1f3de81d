//! The seam between the harness and a communication library.
//!
//! A backend owns its buffers (host memory for MPI, device memory for NCCL/HCCL) and
//! times its own calls, because only it knows how: `MPI_Wtime` around a blocking call, or
//! device events on a stream. The harness never touches a buffer except through
//! `write`/`read`, so the same fill, check and statistics serve every library.

use crate::coll::{CollKind, Counts};
use crate::error::Result;
pub use crate::result::{BackendInfo, OpImpl};
use crate::types::{DataType, ReduceOp};

pub mod data;
pub mod hccl;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod nccl;
pub mod p2p;
pub mod rendezvous;

/// The communication library a command drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// MPI on host memory (the default; runs anywhere MPI does).
    Mpi,
    /// NVIDIA NCCL on GPUs (library loaded at run time).
    Nccl,
    /// Ascend HCCL on NPUs (libraries loaded at run time).
    Hccl,
}

impl BackendKind {
    /// The name on the command line and in result files (`BackendInfo::name`).
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Mpi => "mpi",
            BackendKind::Nccl => "nccl",
            BackendKind::Hccl => "hccl",
        }
    }
}

/// Device options of the NCCL and HCCL backends, from the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceOpts {
    /// Devices driven by this process (nccl-tests `-g`; NCCL only; default 1).
    pub gpus_per_process: usize,
    /// Synchronize the stream after every call (`-z`).
    pub blocking: bool,
    /// Capture the timed iterations in a CUDA graph and replay it (`-G`; NCCL only).
    pub cuda_graph: bool,
    /// NPUs per node (hccl_test `-p`; HCCL only): device = local rank modulo this.
    /// `None`: the number of devices the runtime sees.
    pub npus_per_node: Option<usize>,
}

impl Default for DeviceOpts {
    fn default() -> Self {
        DeviceOpts {
            gpus_per_process: 1,
            blocking: false,
            cuda_graph: false,
            npus_per_node: None,
        }
    }
}

/// What one `run_timed` runs: the call, how many times in a row, and how it is timed.
#[derive(Clone, Copy, Debug)]
pub struct Timed<'a> {
    pub call: &'a Call,
    pub iters: usize,
    pub timing: Timing,
}

/// How a backend that times on the host (MPI) times its calls (`--timing`). Backends
/// that time with device events (NCCL, HCCL) ignore it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Timing {
    /// OSU micro-benchmarks' method: a barrier, then `MPI_Wtime` around one call, for
    /// every call. Per-iteration samples (percentiles, precision).
    #[default]
    PerCall,
    /// nccl-tests' method: a barrier, then the whole loop of calls timed as one; every
    /// sample is the loop's mean (no spread).
    Loop,
}

impl Timing {
    pub fn name(self) -> &'static str {
        match self {
            Timing::PerCall => "per-call",
            Timing::Loop => "loop",
        }
    }
}

/// `--delay RANK:MICROSECONDS` or `RANK:PERCENT%`: the what-if knob of the slow-rank
/// diagnosis. That rank spins before each timed call, after the barrier, as a rank that
/// arrives late would (percent: of its mean call time in the row's previous batch of
/// calls, i.e. the warm-up).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Delay {
    pub rank: usize,
    pub amount: DelayAmount,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DelayAmount {
    Micros(f64),
    Percent(f64),
}

impl std::str::FromStr for Delay {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!(
                "--delay '{s}': expected RANK:MICROSECONDS or RANK:PERCENT% (e.g. 2:2000 or 2:50%)"
            )
        };
        let (r, a) = s.split_once(':').ok_or_else(bad)?;
        let rank = r.trim().parse().map_err(|_| bad())?;
        let (num, pct) = match a.trim().strip_suffix('%') {
            Some(n) => (n, true),
            None => (a.trim(), false),
        };
        let v: f64 = num.parse().map_err(|_| bad())?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(bad());
        }
        Ok(Delay {
            rank,
            amount: if pct {
                DelayAmount::Percent(v)
            } else {
                DelayAmount::Micros(v)
            },
        })
    }
}

/// One collective call, fully described.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    pub coll: CollKind,
    pub counts: Counts,
    pub dtype: DataType,
    pub op: ReduceOp,
    pub root: usize,
    pub in_place: bool,
}

/// Buffers of one call: two for out-of-place, one shared for in-place.
pub enum Bufs<'a, B> {
    Separate { send: &'a mut B, recv: &'a mut B },
    InPlace(&'a mut B),
}

pub trait Backend {
    type Buf;

    fn info(&self) -> BackendInfo;

    /// Whether `coll` can run with `dtype` and `op` (op is ignored for collectives without
    /// one); the error names what is missing.
    fn support(&self, coll: CollKind, dtype: DataType, op: ReduceOp) -> Result<OpImpl>;

    /// Bytes a rank may allocate, when the backend can tell; used to refuse sizes that do
    /// not fit before anything is allocated.
    fn memory_available(&self) -> Option<u64>;

    fn alloc(&mut self, bytes: usize) -> Result<Self::Buf>;
    fn write(&mut self, buf: &mut Self::Buf, offset: usize, data: &[u8]) -> Result<()>;
    fn read(&mut self, buf: &Self::Buf, offset: usize, out: &mut [u8]) -> Result<()>;

    /// Element offsets of the input and of the output inside the one in-place buffer.
    /// The default is NCCL's convention (nccl-tests): a rank's own block sits at
    /// `rank × count` where the other side is the n-block buffer.
    fn in_place_offsets(&self, call: &Call, rank: usize) -> (usize, usize) {
        let c = call.counts.count;
        match call.coll {
            CollKind::AllGather | CollKind::Gather => (rank * c, 0),
            CollKind::ReduceScatter | CollKind::Scatter => (0, rank * c),
            _ => (0, 0),
        }
    }

    /// Runs `iters` calls and returns each one's duration in seconds, measured as the
    /// library's users would (wall clock around a blocking call as `timing` says, or
    /// device events). Every call completes before this returns.
    fn run_timed(&mut self, run: Timed<'_>, bufs: Bufs<'_, Self::Buf>) -> Result<Vec<f64>>;

    /// Entry and exit of every timed call since the last take, in seconds on a clock
    /// aligned to rank 0, and that clock's residual error (seconds). `None` where the
    /// backend does not record them (device-timed backends, loop timing).
    fn take_stamps(&mut self) -> Option<(Vec<(f64, f64)>, f64)> {
        None
    }

    /// Waits until all work issued on this rank is complete.
    fn synchronize(&mut self) -> Result<()>;
}
