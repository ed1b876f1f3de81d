//! Who we are in the job: rank, size, node, local rank, and the few control-plane
//! exchanges the harness needs (agreeing on iteration counts, gathering per-rank times,
//! broadcasting a vendor's unique id). Data-plane traffic never goes through here.
//!
//! Under a launcher this is MPI (OpenMPI, MPICH, `srun` via PMI); without one, or in a
//! build without the `mpi` feature, it is a world of one process.

//!
//! The rooms: [`api`] (the `World` trait, agreeing across ranks), [`launch`] (what the
//! launcher says before MPI starts), [`solo`] (one process) and `mpi_world` (the MPI world and
//! its sub-communicators). This file only names them and picks one ([`init`]).

pub mod api;
pub mod launch;
#[cfg(feature = "mpi")]
pub mod mpi_world;
pub mod solo;

pub use api::{agree, allgather_bytes, job_layout, share_from_0, Aborter, World};
pub use launch::{hostname, launcher_rank, launcher_size, library_name};
#[cfg(feature = "mpi")]
pub use mpi_world::{MpiWorld, SubWorld};
pub use solo::SoloWorld;

use crate::error::Result;

/// The world this process is in: MPI when built with it, else one process. `watchdog`:
/// a `-T` watchdog thread will need to abort the job from its own thread.
pub fn init(watchdog: bool) -> Result<Box<dyn World>> {
    #[cfg(feature = "mpi")]
    {
        Ok(Box::new(if watchdog {
            MpiWorld::with_watchdog()?
        } else {
            MpiWorld::new()?
        }))
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = watchdog;
        Ok(Box::new(SoloWorld::new()?))
    }
}
