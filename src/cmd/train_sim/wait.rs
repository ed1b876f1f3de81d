//! The calibrated compute of `train-sim`'s step: host-side waits of the predicted length.
//!
//! The waits sleep (the emulated cluster's ranks share a few cores: spinning would steal
//! them from the ranks moving data); a sleep that wakes late (measured 10-30 ms over the
//! 64 phases of the emulated DP+TP step on the loaded 2-core CI VM) is paid back from the
//! next phase, so a step's compute adds up to the predicted length. While operations are
//! in flight they sleep in slices of at most 1 ms, testing them between slices so MPI
//! progresses them, as a GPU's copy engine would ([`compute_polling`]).

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::time::{Duration, Instant};

/// A calibrated compute phase: sleep until the deadline.
pub fn compute(seconds: f64) {
    if seconds > 0.0 {
        let t = Instant::now();
        std::thread::sleep(phase_target(seconds));
        phase_done(t, seconds);
    }
}

/// A compute phase with operations in flight: `poll` runs at its start and after every
/// slice of sleep, tests them and says whether any is still in flight; while one is, the
/// slices are at most 1 ms, else the phase sleeps to its deadline.
pub fn compute_polling(seconds: f64, mut poll: impl FnMut() -> bool) {
    let start = Instant::now();
    let end = start + phase_target(seconds);
    loop {
        let busy = poll();
        let now = Instant::now();
        if now >= end {
            return phase_done(start, seconds);
        }
        let left = end - now;
        std::thread::sleep(if busy {
            left.min(Duration::from_millis(1))
        } else {
            left
        });
    }
}

/// A new step starts with no overrun.
pub fn reset() {
    OVERRUN.with(|o| o.set(0.0));
}

/// A barrier that sleeps while it waits: ranks left out of a scale must not spin on the
/// cores the measured ranks need.
pub fn sleepy_barrier(c: &SimpleCommunicator) {
    let mut req = c.immediate_barrier();
    loop {
        match req.test() {
            Ok(_) => return,
            Err(r) => req = r,
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

thread_local! {
    /// Seconds the compute phases so far ran past their length (the OS wakes a sleeper
    /// late), paid back from the next phase so a step's phases sum to the predicted
    /// compute.
    static OVERRUN: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// How long a compute phase of `seconds` should still sleep: its length less the overrun.
fn phase_target(seconds: f64) -> Duration {
    Duration::from_secs_f64((seconds - OVERRUN.with(|o| o.get())).max(0.0))
}

/// A phase of `seconds` begun at `start` has ended: carries its overrun (or what was
/// left of the previous one) to the next.
fn phase_done(start: Instant, seconds: f64) {
    OVERRUN.with(|o| o.set(o.get() + start.elapsed().as_secs_f64() - seconds));
}
