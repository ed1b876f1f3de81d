//! The MPI point-to-point probes that `links`, its screen and `topo validate` share: one
//! pair one way alone, both ways at once, an 8-byte ping-pong, a ring exchange. Each is
//! plain MPI on host memory and returns seconds; what the seconds mean (expected rates,
//! findings) is `xccl_diag`'s, which knows nothing of MPI.

pub mod pair;

use crate::error::{BenchError, Result};
use crate::world::World;
use mpi::point_to_point::{Destination, Source};
use mpi::topology::{Communicator, SimpleCommunicator};

/// A probe's messages on this rank: what it sends, where it receives, and how many of
/// each are timed (after one warm-up).
pub struct Msgs<'a> {
    pub send: &'a [u8],
    pub recv: &'a mut [u8],
    pub iters: usize,
}

/// Ranks `x` → `y` one way, alone (every other rank waits at the barrier), `repeats`
/// times; each run's seconds (x's, with y's acknowledgement), on every rank. Collective:
/// every rank calls it.
#[allow(clippy::too_many_arguments)]
pub fn alone(
    world: &dyn World,
    comm: &SimpleCommunicator,
    x: usize,
    y: usize,
    sbuf: &[u8],
    rbuf: &mut [u8],
    iters: usize,
    repeats: usize,
) -> Vec<f64> {
    let me = world.rank();
    let size = sbuf.len();
    (0..repeats)
        .map(|_| {
            world.barrier();
            let mut t = 0.0;
            if me == x {
                let recv = &mut rbuf[..size];
                t = one_way(
                    comm,
                    y,
                    true,
                    Msgs {
                        send: sbuf,
                        recv,
                        iters,
                    },
                );
            } else if me == y {
                let recv = &mut rbuf[..size];
                one_way(
                    comm,
                    x,
                    false,
                    Msgs {
                        send: sbuf,
                        recv,
                        iters,
                    },
                );
            }
            let mut tb = t.to_le_bytes();
            world.broadcast_bytes(x, &mut tb);
            f64::from_le_bytes(tb)
        })
        .collect()
}

/// The topology's fabric indexed like `hosts` (the job's nodes).
pub fn fabric_for(t: &xccl_topo::Topology, hosts: &[String]) -> Result<xccl_diag::links::Fabric> {
    let mut f = xccl_diag::links::Fabric::from_topology(t);
    let idx: Vec<usize> = hosts
        .iter()
        .map(|h| {
            t.nodes.iter().position(|n| n == h).ok_or_else(|| {
                BenchError::Usage(format!(
                    "--topology {}: host `{h}` of this job is not among its hosts ({})",
                    t.name,
                    t.nodes.join(", ")
                ))
            })
        })
        .collect::<Result<_>>()?;
    f.nic_gbs = idx.iter().map(|&i| f.nic_gbs[i]).collect();
    f.leaf = idx.iter().map(|&i| f.leaf[i]).collect();
    Ok(f)
}

pub fn pingpong(comm: &SimpleCommunicator, peer: usize, is_a: bool) -> f64 {
    const REPS: usize = 10;
    let p = comm.process_at_rank(peer as i32);
    let mut b = [0u8; 8];
    let mut round_trips = |n: usize| {
        for _ in 0..n {
            if is_a {
                p.send(&b[..]);
                p.receive_into(&mut b[..]);
            } else {
                p.receive_into(&mut b[..]);
                p.send(&b[..]);
            }
        }
    };
    // The first exchanges open the connection; then average half round trips.
    round_trips(2);
    let t1 = std::time::Instant::now();
    round_trips(REPS);
    t1.elapsed().as_secs_f64() * 1e6 / (2 * REPS) as f64
}

/// a sends `iters` messages to b after one warm-up; b acknowledges the last one. The
/// time is a's (the sender's), acknowledgement included.
pub fn one_way(comm: &SimpleCommunicator, peer: usize, is_a: bool, m: Msgs) -> f64 {
    let p = comm.process_at_rank(peer as i32);
    let mut ack = [0u8; 1];
    let mut t = 0.0;
    for k in 0..2 {
        let n = if k == 0 { 1 } else { m.iters };
        let t0 = std::time::Instant::now();
        if is_a {
            for _ in 0..n {
                p.send(m.send);
            }
            p.receive_into(&mut ack[..]);
        } else {
            for _ in 0..n {
                p.receive_into(&mut *m.recv);
            }
            p.send(&ack[..]);
        }
        t = t0.elapsed().as_secs_f64();
    }
    t
}

/// Both send and receive `iters` messages at once with `peer`; this side's time.
pub fn both_ways(comm: &SimpleCommunicator, peer: usize, m: Msgs) -> f64 {
    exchange(comm, peer, peer, m)
}

/// Sends `iters` messages to `to` and receives as many from `from`, every message posted
/// up front so that the rendezvous handshakes of the next message do not wait for the
/// previous one (waiting per message halved the rate on the emulated links), after one
/// warm-up exchange; this rank's time for the timed ones. `links` runs it with one peer
/// both ways, the screen around a ring.
pub fn exchange(comm: &SimpleCommunicator, to: usize, from: usize, m: Msgs) -> f64 {
    use mpi::request::{scope, WaitGuard};
    let (pt, pf) = (
        comm.process_at_rank(to as i32),
        comm.process_at_rank(from as i32),
    );
    let size = m.send.len();
    let mut t = 0.0;
    for n in [1, m.iters] {
        let t0 = std::time::Instant::now();
        scope(|s| {
            let mut guards = Vec::with_capacity(2 * n);
            for chunk in m.recv[..n * size].chunks_mut(size) {
                guards.push(WaitGuard::from(pf.immediate_receive_into(s, chunk)));
            }
            for _ in 0..n {
                guards.push(WaitGuard::from(pt.immediate_send(s, m.send)));
            }
        });
        t = t0.elapsed().as_secs_f64();
    }
    t
}
