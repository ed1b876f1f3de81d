//! Waiting without spinning: the emulated cluster's ranks share a few cores, and a rank
//! left out of a scale must not take them from the ranks that are measured.
#![cfg(feature = "mpi")]

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::time::Duration;

/// A barrier that sleeps while it waits.
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
