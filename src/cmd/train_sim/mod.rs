//! `xccl-bench train-sim`: one model's training-step communication, run for real under
//! mpirun, its measured step time printed beside the prediction. The room: its arguments
//! ([`args`]), the run over the scales and the report ([`mod@run`]), the groups of one rank
//! ([`groups`]), the step simulator ([`step`], with the DP messages in [`dp`]), the
//! compute as real matrix products ([`work`]), a sleeping barrier ([`wait`]) and the
//! per-library transport ([`transport`]: MPI, NCCL, HCCL).

pub mod args;
mod dp;
mod groups;
mod run;
mod step;
pub mod transport;
mod wait;
mod work;

pub use args::TrainSimArgs;

use crate::error::Result;
use crate::world::World;

/// Runs the step simulation in `world`, which must be an MPI job.
#[cfg(feature = "mpi")]
pub fn run(world: &dyn World, a: &TrainSimArgs) -> Result<i32> {
    let mpi_world = crate::world::MpiWorld::of(world, "train-sim")?;
    run::run(mpi_world, a)
}

/// Without MPI the simulator is not built; the arguments still parse, so that the answer
/// is this line rather than "unknown command".
#[cfg(not(feature = "mpi"))]
pub fn run(_world: &dyn World, _a: &TrainSimArgs) -> Result<i32> {
    Err(crate::error::BenchError::Unsupported(
        "train-sim: this binary was built without MPI".into(),
    ))
}
