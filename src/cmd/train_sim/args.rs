//! `train-sim`'s arguments.

use crate::backend::BackendKind;
use crate::cmd::job::JobArgs;
use clap::Args;
use std::path::PathBuf;

/// `train-sim`: the step's communication on MPI, NCCL or HCCL; compute is a calibrated
/// host-side wait on every backend.
#[derive(Args, Debug, Clone)]
pub struct TrainSimArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// Communication library: mpi (host memory), nccl or hccl (device buffers, one stream
    /// per communicator; compute stays a host-side wait).
    #[arg(long, value_enum, default_value_t = BackendKind::Mpi)]
    pub backend: BackendKind,
    /// Timed steps per scale (after one warm-up step).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// DP sizes to measure, besides the layout's (e.g. 1 for one replica: linearity).
    #[arg(long = "scale-dp", value_delimiter = ',')]
    pub scale_dp: Vec<u64>,
    /// Write predicted and measured step times as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write predicted and measured step times and the error per scale as Prometheus
    /// metrics (node_exporter's textfile format) to FILE, replaced atomically.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}
