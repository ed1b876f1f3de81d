//! The world of one process: a build without MPI, or a command that reads files only.

use super::api::{Aborter, World};
use super::launch::{check_launcher, hostname};
use crate::error::Result;

/// A world of one process.
pub struct SoloWorld {
    host: String,
}

impl SoloWorld {
    /// The job's world when the binary has no MPI: refuses a launcher that started
    /// several ranks (each would believe it is alone).
    pub fn new() -> Result<Self> {
        check_launcher(1, false)?;
        Ok(Self::for_files())
    }

    /// The world of a command that reads files only: one process, whatever launched it
    /// (under mpirun, rank 0 answers and the others have already exited).
    pub fn for_files() -> Self {
        SoloWorld { host: hostname() }
    }
}

fn exit_now(code: i32) -> ! {
    std::process::exit(code)
}

impl World for SoloWorld {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn local_rank(&self) -> usize {
        0
    }
    fn local_size(&self) -> usize {
        1
    }
    fn hostname(&self) -> &str {
        &self.host
    }
    fn barrier(&self) {}
    fn broadcast_bytes(&self, _root: usize, _buf: &mut [u8]) {}
    fn gather_bytes(&self, data: &[u8]) -> Option<Vec<Vec<u8>>> {
        Some(vec![data.to_vec()])
    }
    fn allreduce_max(&self, v: f64) -> f64 {
        v
    }
    fn aborter(&self) -> Aborter {
        Aborter { abort_fn: exit_now }
    }
    fn mpi_library(&self) -> Option<String> {
        None
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
