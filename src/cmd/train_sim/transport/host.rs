//! What goes over MPI on every backend: splits by color and key (each group keeps the MPI
//! communicator of its ranks), the maximum of the step times, the ids of the device
//! libraries' communicators ([`Rendezvous`] on a group's MPI communicator), and the end of
//! the job when a call fails after set-up ([`fatal`]).

use crate::backend::rendezvous::Rendezvous;
use crate::error::{say, BenchError, Result};
use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::topology::{Color, Communicator, SimpleCommunicator};

/// Prints one line and ends the whole job with exit status 1: a rank that returned early
/// would leave its peers blocked in the next collective.
pub fn fatal(what: impl std::fmt::Display) -> ! {
    say(&format!("xccl-bench: error: train-sim: {what}"));
    unsafe {
        ::mpi::ffi::MPI_Abort(::mpi::ffi::RSMPI_COMM_WORLD, 1);
    }
    std::process::exit(1)
}

/// `MPI_Comm_split` of `parent` (collective over it): ranks with the same color form one
/// communicator, ordered by key; `None` takes this rank out.
pub fn split(
    parent: &SimpleCommunicator,
    color: Option<u32>,
    key: u32,
) -> Option<SimpleCommunicator> {
    let color = color.map_or(Color::undefined(), |c| Color::with_value(c as i32));
    parent.split_by_color_with_key(color, key as i32)
}

/// The maximum of `v` over the ranks of `c`.
pub fn max(c: &SimpleCommunicator, v: f64) -> f64 {
    let mut out = 0.0f64;
    c.all_reduce_into(&v, &mut out, SystemOperation::max());
    out
}

/// A device library's id over a group's MPI communicator: a flag from rank 0 (did it make
/// one?), then the bytes. Where rank 0 failed, it prints why and every rank returns an
/// error naming the call.
impl Rendezvous for SimpleCommunicator {
    fn rank(&self) -> usize {
        Communicator::rank(self) as usize
    }

    fn size(&self) -> usize {
        Communicator::size(self) as usize
    }

    fn share(&self, made: Option<Result<Vec<u8>>>, id: &mut [u8], call: &str) -> Result<()> {
        let mut ok = [1u8];
        match made {
            Some(Ok(bytes)) => id.copy_from_slice(&bytes),
            Some(Err(e)) => {
                ok[0] = 0;
                say(&format!("xccl-bench: error: {e}"));
            }
            None => {}
        }
        let root = self.process_at_rank(0);
        root.broadcast_into(&mut ok[..]);
        if ok[0] == 0 {
            return Err(BenchError::Backend(format!("{call} failed on rank 0")));
        }
        root.broadcast_into(id);
        Ok(())
    }
}
