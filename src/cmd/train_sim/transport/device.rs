//! The one shape of `train-sim`'s device transports (NCCL, HCCL): each group a library
//! communicator with its own stream and the MPI communicator of the same ranks; device
//! buffers; a started operation is an event recorded after it on the group's stream.
//! What differs is the library's ([`Vendor`]: its calls, its way of making groups) and
//! its device runtime's ([`Runtime`]).

use super::api::{Op, StepComm, Xfer};
use super::host::{self, fatal};
use crate::error::{BenchError, Result};
use crate::world::{MpiWorld, World};
use mpi::collective::CommunicatorCollectives;
use mpi::topology::{Communicator, SimpleCommunicator};

/// The device runtime under a library (the CUDA driver under NCCL, ACL under HCCL):
/// streams, events, memory. Errors are the runtime's text: [`DeviceStep`] ends the job
/// with it, naming the rank.
pub trait Runtime {
    type Stream;
    type Event;
    /// Device memory.
    type Buf;

    fn stream(&self) -> Result<Self::Stream, String>;
    fn synchronize(s: &Self::Stream) -> Result<(), String>;

    fn event(&self) -> Result<Self::Event, String>;
    fn record(e: &Self::Event, s: &Self::Stream) -> Result<(), String>;
    fn query(e: &Self::Event) -> Result<bool, String>;
    fn event_synchronize(e: &Self::Event) -> Result<(), String>;

    /// A buffer of `len` bytes, and `data` written at its start.
    fn alloc(&self, len: usize) -> Result<Self::Buf, String>;
    fn write(b: &mut Self::Buf, data: &[u8]) -> Result<(), String>;
}

/// This rank's part of a split: the color and key it asked for, and the MPI communicator
/// of the ranks that share its color (`None`: it asked for none).
pub struct Part<'a> {
    pub color: Option<u32>,
    pub key: u32,
    pub mpi: Option<&'a SimpleCommunicator>,
}

/// The calls of one device library that [`DeviceStep`] makes, on its [`Runtime`].
/// Errors after set-up are the library's text, as the runtime's.
pub trait Vendor: Runtime + Sized {
    /// A communicator of the library.
    type Comm;

    /// Loads the library and opens this rank's device. Every rank calls it; the caller
    /// turns any rank's error into every rank's ([`crate::world::agree`]).
    fn open(w: &MpiWorld) -> Result<Self>;

    /// A communicator over the ranks of `mpi`, from rank 0's id broadcast over it (the
    /// benchmark's set-up, [`crate::backend::nccl::comm`], [`crate::backend::hccl::comm`]).
    fn init(&self, mpi: &SimpleCommunicator) -> Result<Self::Comm>;

    /// The world communicator's stream (`rank`: this rank in the world, for errors).
    fn first_stream(&self, _rank: usize) -> Result<Self::Stream> {
        self.stream().map_err(BenchError::Backend)
    }

    /// The communicator a new group is made on, and blamed when that fails: the parent
    /// (NCCL splits it) or the root (HCCL makes sub-communicators of the world's).
    fn made_on<'a>(root: &'a Group<Self>, parent: &'a Group<Self>) -> &'a Group<Self>;

    /// The library's communicator for this rank's `part` of a split of the parent, made
    /// on `on` ([`Vendor::made_on`]); collective over the parent. `Some` exactly where
    /// `part.mpi` is.
    fn split(&mut self, on: &Self::Comm, part: Part<'_>) -> Result<Option<Self::Comm>, String>;

    /// Errors the library reports after the fact (NCCL: `ncclCommGetAsyncError`).
    fn async_error(_c: &Self::Comm) -> Result<(), String> {
        Ok(())
    }

    /// Enqueues `op` on `s`.
    fn enqueue(
        &self,
        c: &Self::Comm,
        s: &Self::Stream,
        op: Op<'_, Self::Buf>,
    ) -> Result<(), String>;

    /// Enqueues every send and receive of `items` on `s` as one posting (none waits for
    /// another).
    fn batch(
        &self,
        c: &Self::Comm,
        s: &Self::Stream,
        items: &mut [Xfer<'_, Self::Buf>],
    ) -> Result<(), String>;

    /// The library, its version and device, for the report's header.
    fn describe(&self) -> String;

    /// How groups are made (on this library, with world communicator `root`), for the
    /// report's header.
    fn groups(&self, root: &Self::Comm) -> &'static str;
}

/// One communicator of the step: the library's, the stream its calls go on, and the MPI
/// communicator of the same ranks (ids, barriers, step-time maximum).
pub struct Group<V: Vendor> {
    // Drop order: the library's communicator before its stream.
    comm: V::Comm,
    stream: V::Stream,
    mpi: SimpleCommunicator,
    /// This rank and the group's size: the same in both communicators (the library's is
    /// made over the ranks of the MPI one, in its order, or checked against it).
    rank: usize,
    size: usize,
}

impl<V: Vendor> Group<V> {
    fn new(comm: V::Comm, stream: V::Stream, mpi: SimpleCommunicator) -> Self {
        let (rank, size) = (mpi.rank() as usize, mpi.size() as usize);
        Group {
            comm,
            stream,
            mpi,
            rank,
            size,
        }
    }
}

/// [`StepComm`] on a device library.
pub struct DeviceStep<V: Vendor> {
    // The world communicator, from the launch's world; every group is made from it.
    root: Group<V>,
    v: V,
    host: String,
}

/// Ends the job for a failure on `g` (see [`host::fatal`]).
fn fail<V: Vendor>(host: &str, g: &Group<V>, e: impl std::fmt::Display) -> ! {
    fatal(format!("rank {} of {} ({host}): {e}", g.rank, g.size))
}

impl<V: Vendor> DeviceStep<V> {
    /// Sets up the library on this rank ([`Vendor::open`]) and its world communicator
    /// beside a duplicate of `w`'s. Every rank calls it; the caller agrees on errors.
    pub fn new(w: &MpiWorld) -> Result<Self> {
        let host = w.hostname().to_string();
        let v = V::open(w)?;
        let mpi = w.comm().duplicate();
        let comm = v.init(&mpi)?;
        let stream = v.first_stream(w.rank())?;
        let root = Group::new(comm, stream, mpi);
        Ok(DeviceStep { root, v, host })
    }

    fn fail(&self, g: &Group<V>, e: impl std::fmt::Display) -> ! {
        fail(&self.host, g, e)
    }

    /// A group beside `MPI_Comm_split` of `parent` with the same color and key,
    /// collective over `parent` (`None`: this rank is not in one).
    fn make(
        v: &mut V,
        root: &Group<V>,
        host: &str,
        parent: &Group<V>,
        color: Option<u32>,
        key: u32,
    ) -> Option<Group<V>> {
        let on = V::made_on(root, parent);
        let mpi = host::split(&parent.mpi, color, key);
        let part = Part {
            color,
            key,
            mpi: mpi.as_ref(),
        };
        let comm = v
            .split(&on.comm, part)
            .unwrap_or_else(|e| fail(host, on, e));
        let (comm, mpi) = comm.zip(mpi)?;
        let stream = v.stream().unwrap_or_else(|e| fail(host, on, e));
        Some(Group::new(comm, stream, mpi))
    }

    /// Ends the job if the group's stream or communicator failed.
    fn settle(&self, g: &Group<V>) {
        if let Err(e) = V::synchronize(&g.stream) {
            self.fail(g, e)
        }
        if let Err(e) = V::async_error(&g.comm) {
            self.fail(g, e)
        }
    }
}

impl<V: Vendor> StepComm for DeviceStep<V> {
    type Group = Group<V>;
    type Buf = V::Buf;
    type Handle = (V::Event, *const Group<V>);

    fn describe(&self) -> String {
        let (lib, groups) = (self.v.describe(), self.v.groups(&self.root.comm));
        format!("{lib}; {groups}")
    }

    fn world(&mut self) -> Result<Group<V>> {
        let r = self.root.rank as u32;
        Self::make(&mut self.v, &self.root, &self.host, &self.root, Some(0), r)
            .ok_or_else(|| BenchError::Backend("world split gave no communicator".into()))
    }

    fn split(
        &mut self,
        parent: &Group<V>,
        color: Option<u32>,
        key: u32,
    ) -> Result<Option<Group<V>>> {
        Ok(Self::make(
            &mut self.v,
            &self.root,
            &self.host,
            parent,
            color,
            key,
        ))
    }

    fn size(&self, g: &Group<V>) -> usize {
        g.size
    }
    fn rank(&self, g: &Group<V>) -> usize {
        g.rank
    }

    fn alloc(&mut self, bytes: usize) -> Result<V::Buf> {
        let len = bytes.max(4);
        let mut b = self.v.alloc(len).map_err(BenchError::Backend)?;
        V::write(&mut b, &vec![0u8; len]).map_err(BenchError::Backend)?;
        Ok(b)
    }

    fn run(&mut self, g: &Group<V>, op: Op<'_, V::Buf>) {
        if let Err(e) = self.v.enqueue(&g.comm, &g.stream, op) {
            self.fail(g, e)
        }
        self.settle(g);
    }

    fn batch(&mut self, g: &Group<V>, items: &mut [Xfer<'_, V::Buf>]) {
        if items.is_empty() {
            return;
        }
        if let Err(e) = self.v.batch(&g.comm, &g.stream, items) {
            self.fail(g, e)
        }
        self.settle(g);
    }

    unsafe fn start(&mut self, g: &Group<V>, op: Op<'_, V::Buf>) -> Self::Handle {
        if let Err(e) = self.v.enqueue(&g.comm, &g.stream, op) {
            self.fail(g, e)
        }
        let ev = self.v.event().unwrap_or_else(|e| self.fail(g, e));
        if let Err(e) = V::record(&ev, &g.stream) {
            self.fail(g, e)
        }
        (ev, g as *const Group<V>)
    }

    fn test(&mut self, h: &mut Self::Handle) -> bool {
        // The group outlives its handles (the schedule waits before dropping either).
        let g = unsafe { &*h.1 };
        V::query(&h.0).unwrap_or_else(|e| self.fail(g, e))
    }

    fn wait(&mut self, h: Self::Handle) {
        let g = unsafe { &*h.1 };
        if let Err(e) = V::event_synchronize(&h.0) {
            self.fail(g, e)
        }
        if let Err(e) = V::async_error(&g.comm) {
            self.fail(g, e)
        }
    }

    fn barrier(&mut self, g: &Group<V>) {
        g.mpi.barrier();
    }

    fn max(&mut self, g: &Group<V>, v: f64) -> f64 {
        host::max(&g.mpi, v)
    }

    fn ordered_issue(&self) -> bool {
        true
    }
}
