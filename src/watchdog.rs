//! `-T SECONDS`: turns a hung collective into an error instead of a job that never ends.
//!
//! The harness arms the watchdog with what it is about to run; every completed iteration
//! ticks it. If no tick arrives for the timeout, a background thread prints one line
//! naming the collective and size and aborts every rank (MPI_Abort), so nothing is left
//! running. Results measured before are already on disk (exporters write per row).

use crate::rules::ExitCode;
use crate::world::Aborter;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static TICKS: AtomicU64 = AtomicU64::new(0);
static ARMED: Mutex<Option<String>> = Mutex::new(None);

/// Records progress; cheap enough to call once per iteration. A plain load and store,
/// not `fetch_add`: a locked add is a full fence on x86, which waits for the collective's
/// last stores to shared memory to leave the core before the next call may start (tens
/// of ns per call at 8 B). Progress is all the watchdog reads: an increment lost to a
/// racing writer still changes the value.
pub fn tick() {
    TICKS.store(
        TICKS.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Names the operation in flight (None: idle, e.g. between rows or while checking).
pub fn arm(what: Option<String>) {
    tick();
    *ARMED.lock().unwrap() = what;
}

/// Starts the watchdog thread for `timeout` (no thread when zero).
pub fn start(timeout: Duration, rank: usize, aborter: Aborter) {
    if timeout.is_zero() {
        return;
    }
    std::thread::spawn(move || {
        let mut last = TICKS.load(Ordering::Relaxed);
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(50).min(timeout / 4));
            let now = TICKS.load(Ordering::Relaxed);
            if now != last {
                last = now;
                since = Instant::now();
                continue;
            }
            if since.elapsed() >= timeout {
                if let Some(what) = ARMED.lock().unwrap().clone() {
                    crate::error::say(&format!(
                        "xccl-bench: error: rank {rank}: {what} did not complete within {:.1} s (-T); aborting all ranks",
                        timeout.as_secs_f64()
                    ));
                    aborter.abort(ExitCode::Hang.code());
                }
                since = Instant::now();
            }
        }
    });
}
