//! `calibrate`'s in-step microbenchmark (issue 17 item 4): the TP all-reduce of the
//! layer's activation on TP groups of consecutive ranks (train-sim's), timed back to back
//! as a sweep times it, then each call right after the products of an attention half-layer
//! as a step issues it. A sweep never sees what the second adds: peers that reach the
//! call at different times, and launch and progress on a loaded host.
//!
//! What the call adds to the step's path is the half-layer's wall time, from its products'
//! start to the call's end, less what the prediction already counts for those products
//! (their sustained time, measured first by `calibrate`). Not the call's own duration on
//! a rank: a rank that reaches the call early waits there for its slowest peer, and where
//! ranks share cores that peer is late because the early rank had the core; counting the
//! wait on top of the products' shared-core time counts the same seconds twice.

use crate::compute::Engine;
use crate::error::{BenchError, Result};
use crate::world::{MpiWorld, World};
use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::topology::{Color, Communicator};
use std::time::Instant;
use xccl_schema::CollKind;
use xccl_train::calib::InStepCall;
use xccl_train::gemm::Gemm;

/// Calls timed each way.
const CALLS: usize = 16;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The TP all-reduce of `bytes` on groups of `tp` consecutive ranks of `world`: back to
/// back, and in the step: after `half` (the attention half-layer's products on `engine`,
/// `half_s` seconds sustained), the half-layer's wall time less `half_s`, at least the
/// back-to-back time; each the slowest rank's median.
pub fn tp_all_reduce(
    world: &dyn World,
    engine: &mut dyn Engine,
    half: &[Gemm],
    half_s: f64,
    tp: u64,
    bytes: u64,
) -> Result<InStepCall> {
    let w = MpiWorld::of(world, "calibrate's in-step TP calls")?;
    let c = w.comm();
    let g = c
        .split_by_color_with_key(Color::with_value(c.rank() / tp as i32), c.rank())
        .ok_or_else(|| BenchError::Backend("calibrate: TP split gave no group".into()))?;
    // f32 elements, as train-sim's transport sums them.
    let elems = (bytes as usize / 4).max(1);
    let send = vec![1.0f32; elems];
    let mut recv = vec![0.0f32; elems];
    let mut call = || {
        let t = Instant::now();
        g.all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
        t.elapsed().as_secs_f64()
    };
    g.barrier();
    call();
    g.barrier();
    let back: Vec<f64> = (0..CALLS).map(|_| call()).collect();
    let mut inside = Vec::with_capacity(CALLS);
    c.barrier();
    for _ in 0..CALLS {
        // Each iteration starts as the previous call ends, all of the group together.
        let t = Instant::now();
        for p in half {
            engine.run(p, &mut || {}).map_err(BenchError::Backend)?;
        }
        call();
        inside.push(t.elapsed().as_secs_f64() - half_s);
    }
    let back_to_back_s = world.allreduce_max(median(back));
    Ok(InStepCall {
        collective: CollKind::AllReduce,
        bytes,
        nranks: tp,
        back_to_back_s,
        in_step_s: world.allreduce_max(median(inside)).max(back_to_back_s),
    })
}
