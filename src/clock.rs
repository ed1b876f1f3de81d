//! A clock aligned across ranks, so that "rank 2 entered the call 2 ms after the others"
//! can be read from per-rank timestamps (the slow-rank analysis, docs/DIAGNOSIS.md).
//!
//! `MPI_Wtime` is a local clock; MPI promises nothing about agreement between nodes
//! (`MPI_WTIME_IS_GLOBAL` is false in practice). Once per run each rank estimates its
//! offset to rank 0 by ping-pong (Cristian's method): the rank sends, rank 0 answers with
//! its own time `t0`, and the rank takes `t0 − (send + receive) / 2` from the exchange
//! with the shortest round trip of [`REPS`]. The true offset lies within half that round
//! trip of the estimate: this *residual* is reported and used as the analysis's noise
//! floor (intervals under 3× the residual count as zero). Ranks are done one after the
//! other, so rank 0 answers each without queueing.

#[cfg(feature = "mpi")]
use mpi::ffi;

/// Ping-pongs per rank; the shortest round trip wins.
pub const REPS: usize = 16;

/// This rank's offset to rank 0's clock and the bound on its error, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Clock {
    /// Add to a local `MPI_Wtime` to get rank 0's time.
    pub offset_s: f64,
    /// Half the shortest round trip: the estimate is within this of the true offset.
    pub residual_s: f64,
}

/// Collective over `comm`: every rank calls it. Rank 0 gets offset 0, residual 0.
#[cfg(feature = "mpi")]
pub fn align(comm: ffi::MPI_Comm, rank: usize, size: usize) -> Clock {
    use std::os::raw::{c_int, c_void};
    const TAG: c_int = 0x7c10;
    // SAFETY: MPI is initialized; buffers are live f64s for the duration of each call.
    unsafe {
        let wtime = || ffi::RSMPI_Wtime();
        let send = |v: &f64, to: usize| {
            ffi::MPI_Send(
                v as *const f64 as *const c_void,
                1,
                ffi::RSMPI_DOUBLE,
                to as c_int,
                TAG,
                comm,
            );
        };
        let recv = |v: &mut f64, from: usize| {
            ffi::MPI_Recv(
                v as *mut f64 as *mut c_void,
                1,
                ffi::RSMPI_DOUBLE,
                from as c_int,
                TAG,
                comm,
                ffi::RSMPI_STATUS_IGNORE,
            );
        };
        let mut clock = Clock::default();
        if rank == 0 {
            for r in 1..size {
                for _ in 0..REPS {
                    let mut x = 0.0;
                    recv(&mut x, r);
                    send(&wtime(), r);
                }
            }
        } else {
            let mut best = f64::INFINITY;
            for _ in 0..REPS {
                let ta = wtime();
                send(&ta, 0);
                let mut t0 = 0.0;
                recv(&mut t0, 0);
                let tb = wtime();
                if tb - ta < best {
                    best = tb - ta;
                    clock = Clock {
                        offset_s: t0 - (ta + tb) / 2.0,
                        residual_s: best / 2.0,
                    };
                }
            }
        }
        ffi::MPI_Barrier(comm);
        clock
    }
}
