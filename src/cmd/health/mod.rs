//! `xccl-bench health`: one command for the acceptance check of a new node or cluster and
//! for periodic checks between jobs (what Azure's node health checks and SuperBench do
//! with nccl-tests against per-SKU floors), with one exit status: 0 healthy, 4 a check
//! failed or found something, 1 a check could not run, 2 bad input.
//!
//! The checks are the commands a person would run by hand, run in the same job, one after
//! the other, each printing its own table as it goes:
//!
//! 1. **all_reduce sweep** against the topology's floor (`--min-efficiency`, 0.8 of the
//!    model's busbw unless overridden), with `--split` when the job has several nodes of
//!    several ranks each, so that the intra-node (SDMA) part is judged on its own; the
//!    slow-rank analysis of the same rows comes with it.
//! 2. **links**: every node pair and every intra-node device pair, findings confirmed
//!    alone.
//!
//! Health reads back what each wrote (its JSON) and reduces it, so a health finding is
//! the finding the command gives alone. Before it starts it prints what it will run and
//! how long that takes at the topology's nominal rates ([`estimate`]).

mod args;
#[cfg(feature = "mpi")]
mod estimate;
// Without MPI health cannot run; its record is still the type other code names.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
mod outcome;

pub use args::HealthArgs;
pub use outcome::{Check, HealthReport, Status};

use crate::error::Result;
use crate::world::World;

#[cfg(feature = "mpi")]
mod run;

/// `health`: the checks in one job; the exit status on every rank.
#[cfg(feature = "mpi")]
pub fn run(world: &dyn World, a: &HealthArgs) -> Result<i32> {
    run::run(world, a)
}

#[cfg(not(feature = "mpi"))]
pub fn run(_world: &dyn World, _a: &HealthArgs) -> Result<i32> {
    Err(crate::error::BenchError::Unsupported(
        "health: this binary was built without MPI (--no-default-features)".into(),
    ))
}
