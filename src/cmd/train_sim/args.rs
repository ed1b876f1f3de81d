//! `train-sim`'s arguments.

use crate::backend::BackendKind;
use crate::cmd::job::JobArgs;
use crate::compute::ComputeOn;
use clap::Args;
use std::path::PathBuf;

/// `train-sim`: the step's communication on MPI, NCCL or HCCL, its compute the layer's
/// matrix products run for real (on the CPU, or cuBLAS on NCCL's GPU).
#[derive(Args, Debug, Clone)]
pub struct TrainSimArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// Communication library: mpi (host memory), nccl or hccl (device buffers, one stream
    /// per communicator).
    #[arg(long, value_enum, default_value_t = BackendKind::Mpi)]
    pub backend: BackendKind,
    /// Timed steps per scale (after one warm-up step).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// DP sizes to measure, besides the layout's (e.g. 1 for one replica: linearity).
    #[arg(long = "scale-dp", value_delimiter = ',')]
    pub scale_dp: Vec<u64>,
    /// Where the matrix products run: host (the CPU, one thread per rank; default on mpi
    /// and hccl) or device (cuBLAS on NCCL's GPU, the default on nccl; not implemented
    /// on hccl).
    #[arg(long, value_enum)]
    pub compute: Option<ComputeOn>,
    /// Fraction of each product's rows computed (0 < S ≤ 1): a step's FLOPs × S, so a
    /// large model's step fits the emulated cluster's CPUs; printed and recorded.
    #[arg(long = "compute-scale", default_value_t = 1.0)]
    pub compute_scale: f64,
    /// Write predicted and measured step times as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write predicted and measured step times and the error per scale as Prometheus
    /// metrics (node_exporter's textfile format) to FILE, replaced atomically.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}
