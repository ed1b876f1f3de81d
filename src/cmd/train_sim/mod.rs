//! `xccl-bench train-sim`: one model's training-step communication, run for real under
//! mpirun, its measured step time printed beside the prediction. The room: the command
//! and its arguments (here), the step simulator ([`sim`]) and the per-library transport
//! ([`transport`]: MPI, NCCL, HCCL).

#[cfg(feature = "mpi")]
mod sim;
#[cfg(feature = "mpi")]
pub mod transport;

use super::job::JobArgs;
use crate::backend::BackendKind;
use crate::error::{BenchError, Result};
use crate::world::World;
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
}

/// Runs the step simulation in `world`, which must be an MPI job.
#[cfg(feature = "mpi")]
pub fn run(world: &dyn World, a: &TrainSimArgs) -> Result<i32> {
    let mpi_world = world
        .as_any()
        .downcast_ref::<crate::world::MpiWorld>()
        .ok_or_else(|| BenchError::Launch("train-sim needs an MPI world".into()))?;
    sim::run(mpi_world, a)
}

/// Without MPI the simulator is not built; the arguments still parse, so that the answer
/// is this line rather than "unknown command".
#[cfg(not(feature = "mpi"))]
pub fn run(_world: &dyn World, _a: &TrainSimArgs) -> Result<i32> {
    Err(BenchError::Unsupported(
        "train-sim: this binary was built without MPI".into(),
    ))
}
