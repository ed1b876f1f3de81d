//! One timed batch of MPI calls: OSU's per-call method (a barrier, then `MPI_Wtime`
//! around each call) or nccl-tests' loop (a barrier, then the whole loop timed). The loop
//! is generic over the call's closure, so that each iteration is the MPI call, a
//! return-code compare and the watchdog's tick (docs/PERFORMANCE.md).

use super::ffi_util::check;
use crate::backend::Timing;
use crate::error::Result;
use mpi::ffi;
use std::os::raw::c_int;

/// One timed batch: `iters` calls, timed by `timing`'s method.
pub struct Batch<'a> {
    pub comm: ffi::MPI_Comm,
    pub iters: usize,
    pub timing: Timing,
    pub what: &'static str,
    /// This rank's `--delay` before each call, if it is the delayed rank.
    pub delay_s: Option<f64>,
    /// Where to record (entry, exit) on the aligned clock, and that clock's offset.
    pub stamps: Option<(&'a mut Vec<(f64, f64)>, f64)>,
}

impl Batch<'_> {
    fn barrier(&self) -> Result<()> {
        // SAFETY: MPI is initialized.
        check(unsafe { ffi::MPI_Barrier(self.comm) }, "MPI_Barrier")
    }

    /// Sleeps for this rank's `--delay`. A sleep, not a spin: on an oversubscribed machine
    /// a spinning rank takes a core from the ranks that wait for it, which then arrive
    /// late as well (measured: with a 2 ms spin on 4 ranks over 2 cores, a second rank
    /// entered 1–2 ms late). The wake-up may overshoot: the rank is at least this late.
    fn late(&self) {
        if let Some(s) = self.delay_s {
            std::thread::sleep(std::time::Duration::from_secs_f64(s));
        }
    }

    /// Times `iters` calls of `call` (MPI's return code), generic over the closure so
    /// that the call is inlined into the loop.
    pub fn run<F: FnMut() -> c_int>(mut self, mut call: F) -> Result<Vec<f64>> {
        let iters = self.iters;
        let mut times = Vec::new();
        match self.timing {
            Timing::PerCall => {
                // The sample stores are written (pages faulted in) before the first
                // barrier: a page fault in the bookkeeping between calls delays one rank
                // at the next barrier, and the barrier's exit skew then lands in the next
                // call's time. `vec![0.0; n]` would map zero pages lazily, so fill them.
                times.reserve_exact(iters);
                times.resize(iters, 0.0);
                if let Some((st, _)) = self.stamps.as_mut() {
                    st.reserve_exact(iters);
                    st.resize(st.len() + iters, (0.0, 0.0));
                }
            }
            Timing::Loop => times.reserve_exact(iters),
        }
        // Ranks start together, as in OSU and nccl-tests: without it the first timed
        // call absorbs whatever a peer was still doing (fill, check, output).
        self.barrier()?;
        match self.timing {
            Timing::PerCall => {
                let stamp_base = self.stamps.as_ref().map_or(0, |(st, _)| st.len() - iters);
                for (i, sample) in times.iter_mut().enumerate() {
                    match self.one_call(&mut call, stamp_base + i) {
                        Ok(t) => *sample = t,
                        Err(e) => {
                            // No stamps of calls that never ran (nor of the one that
                            // failed).
                            if let Some((st, _)) = self.stamps.as_mut() {
                                st.truncate(stamp_base + i);
                            }
                            return Err(e);
                        }
                    }
                }
            }
            Timing::Loop => {
                // SAFETY: MPI is initialized.
                let t0 = unsafe { ffi::RSMPI_Wtime() };
                for _ in 0..iters {
                    self.late();
                    let rc = call();
                    if rc != 0 {
                        check(rc, self.what)?;
                    }
                    // One relaxed load and store, so -T still bounds each call.
                    crate::watchdog::tick();
                }
                let t1 = unsafe { ffi::RSMPI_Wtime() };
                times.resize(iters, (t1 - t0) / iters.max(1) as f64);
            }
        }
        Ok(times)
    }

    /// One call by OSU's method: a barrier before it, so that its time is its own and not
    /// the wait for a peer's previous call or bookkeeping, then the call timed alone.
    /// Its time in seconds; its entry and exit on the aligned clock go to stamp `stamp`.
    #[inline]
    fn one_call<F: FnMut() -> c_int>(&mut self, call: &mut F, stamp: usize) -> Result<f64> {
        self.barrier()?;
        self.late();
        // SAFETY: MPI is initialized.
        let t0 = unsafe { ffi::RSMPI_Wtime() };
        let rc = call();
        let t1 = unsafe { ffi::RSMPI_Wtime() };
        // Bookkeeping after t1, before the next barrier, into storage touched before the
        // first barrier.
        if let Some((st, off)) = self.stamps.as_mut() {
            st[stamp] = (t0 + *off, t1 + *off);
        }
        crate::watchdog::tick();
        check(rc, self.what)?;
        Ok(t1 - t0)
    }
}
