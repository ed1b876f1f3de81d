//! The one pair-timing primitive of `links` per device, its confirmation and (through
//! the MPI functions of this module's parent) its screen: a [`Probe`] measures, with one
//! peer, a small-message latency, one direction and both directions at once. [`MpiProbe`]
//! moves host memory with MPI point-to-point and times on the host; [`DeviceProbe`]
//! moves device memory with the library that trains (NCCL's `ncclSend`/`ncclRecv` in
//! groups, HCCL's `HcclSend`/`HcclRecv`) and times with device events.

use crate::backend::p2p::{DeviceP2p, Step};
use crate::error::Result;
use crate::world::World;

/// Small-message round trips per latency measurement (after two warm-up round trips).
pub const LATENCY_REPS: usize = 10;

/// Pair measurements with one peer at a time; both ends call the same method together.
pub trait Probe {
    /// "mpi", "nccl" or "hccl".
    fn name(&self) -> &'static str;
    /// Bytes one direction moves in one timed measurement (message size × messages).
    fn bytes(&self) -> f64;
    /// Half the round-trip time of an 8-byte message, µs (`first`: this end sends first).
    fn latency_us(&mut self, peer: usize, first: bool) -> Result<f64>;
    /// The messages from this end to `peer` (`send`) or back; seconds (the sender's).
    fn one_way(&mut self, peer: usize, send: bool) -> Result<f64>;
    /// Both directions at once; this end's seconds.
    fn both_ways(&mut self, peer: usize) -> Result<f64>;
    /// The messages sent to `to` while as many arrive from `from`, all at once (a ring's
    /// step: every rank of the ring calls it together); this end's seconds.
    fn ring(&mut self, to: usize, from: usize) -> Result<f64>;
}

/// Ranks `x` → `y` one way, alone (every other rank waits at the barrier), `repeats`
/// times; each run's seconds (x's), on every rank. Collective: every rank calls it. An
/// error on `x` or `y` is returned on every rank after the repeats.
pub fn alone(
    world: &dyn World,
    probe: &mut dyn Probe,
    x: usize,
    y: usize,
    repeats: usize,
) -> Result<Vec<f64>> {
    let me = world.rank();
    let mut failed = None;
    let mut out = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        world.barrier();
        let mut t = 0.0;
        if failed.is_none() && (me == x || me == y) {
            match probe.one_way(if me == x { y } else { x }, me == x) {
                Ok(s) => t = s,
                Err(e) => failed = Some(e),
            }
        }
        let mut tb = t.to_le_bytes();
        world.broadcast_bytes(x, &mut tb);
        out.push(f64::from_le_bytes(tb));
    }
    crate::world::agree(world, failed.map_or(Ok(()), Err))?;
    Ok(out)
}

/// MPI point-to-point on host memory (the default backend of `links`).
#[cfg(feature = "mpi")]
pub struct MpiProbe<'a> {
    comm: &'a mpi::topology::SimpleCommunicator,
    send: Vec<u8>,
    recv: Vec<u8>,
    iters: usize,
}

#[cfg(feature = "mpi")]
impl<'a> MpiProbe<'a> {
    pub fn new(comm: &'a mpi::topology::SimpleCommunicator, size: usize, iters: usize) -> Self {
        MpiProbe {
            comm,
            send: vec![0x5a; size],
            // Every message of the both-ways phase lands in its own slice.
            recv: vec![0; size * iters],
            iters,
        }
    }
}

#[cfg(feature = "mpi")]
impl Probe for MpiProbe<'_> {
    fn name(&self) -> &'static str {
        "mpi"
    }
    fn bytes(&self) -> f64 {
        (self.send.len() * self.iters) as f64
    }
    fn latency_us(&mut self, peer: usize, first: bool) -> Result<f64> {
        Ok(super::pingpong(self.comm, peer, first))
    }
    fn one_way(&mut self, peer: usize, send: bool) -> Result<f64> {
        let size = self.send.len();
        let m = super::Msgs {
            send: &self.send,
            recv: &mut self.recv[..size],
            iters: self.iters,
        };
        Ok(super::one_way(self.comm, peer, send, m))
    }
    fn both_ways(&mut self, peer: usize) -> Result<f64> {
        let m = super::Msgs {
            send: &self.send,
            recv: &mut self.recv,
            iters: self.iters,
        };
        Ok(super::both_ways(self.comm, peer, m))
    }
    fn ring(&mut self, to: usize, from: usize) -> Result<f64> {
        let m = super::Msgs {
            send: &self.send,
            recv: &mut self.recv,
            iters: self.iters,
        };
        Ok(super::exchange(self.comm, to, from, m))
    }
}

/// Device memory through a vendor library ([`DeviceP2p`]): the messages of one
/// measurement run back to back on the stream between two device events.
pub struct DeviceProbe<B: DeviceP2p> {
    backend: B,
    name: &'static str,
    send: B::Buf,
    recv: B::Buf,
    size: usize,
    iters: usize,
}

impl<B: DeviceP2p> DeviceProbe<B> {
    /// Device buffers of `size` bytes on this rank's device. Collective (an allocation
    /// that fails on one rank fails on all).
    pub fn new(
        world: &dyn World,
        mut backend: B,
        name: &'static str,
        size: usize,
        iters: usize,
    ) -> Result<Self> {
        let bufs = (|| Ok((backend.alloc(size.max(8))?, backend.alloc(size.max(8))?)))();
        let (send, recv) = crate::world::agree(world, bufs)?;
        Ok(DeviceProbe {
            backend,
            name,
            send,
            recv,
            size,
            iters,
        })
    }
}

impl<B: DeviceP2p> Probe for DeviceProbe<B> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn bytes(&self) -> f64 {
        (self.size * self.iters) as f64
    }
    fn latency_us(&mut self, peer: usize, first: bool) -> Result<f64> {
        let steps = if first {
            [Step::Send, Step::Recv]
        } else {
            [Step::Recv, Step::Send]
        };
        let s = self
            .backend
            .p2p_timed(&self.send, &self.recv, peer, 8, &steps, LATENCY_REPS)?;
        Ok(s * 1e6 / (2 * LATENCY_REPS) as f64)
    }
    fn one_way(&mut self, peer: usize, send: bool) -> Result<f64> {
        let step = if send { Step::Send } else { Step::Recv };
        self.backend
            .p2p_timed(&self.send, &self.recv, peer, self.size, &[step], self.iters)
    }
    fn both_ways(&mut self, peer: usize) -> Result<f64> {
        self.backend.p2p_timed(
            &self.send,
            &self.recv,
            peer,
            self.size,
            &[Step::Both],
            self.iters,
        )
    }
    fn ring(&mut self, to: usize, from: usize) -> Result<f64> {
        self.backend.p2p_timed(
            &self.send,
            &self.recv,
            to,
            self.size,
            &[Step::Ring(to, from)],
            self.iters,
        )
    }
}
