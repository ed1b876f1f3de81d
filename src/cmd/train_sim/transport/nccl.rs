//! [`StepComm`](super::api::StepComm) on NCCL: communicators split from one world
//! communicator (`ncclCommSplit`, or before NCCL 2.18 one unique id per group), one CUDA
//! stream per communicator, device buffers, completion by CUDA events. The set-up is the
//! benchmark's ([`crate::backend::nccl::comm`]); MPI carries the unique ids and the host
//! bookkeeping.

use super::api::{Coll, Op, Xfer};
use super::device::{DeviceStep, Group, Part, Runtime, Vendor};
use crate::backend::nccl::comm::{self, Loaded};
use crate::backend::nccl::cuda::{DevMem, Event, Gpu, Stream};
use crate::error::Result;
use crate::world::{MpiWorld, World};
use mpi::topology::{Communicator, SimpleCommunicator};
use nccl_sys::{sys as n, Comm, Group as NcclGroupCall, NcclLib};
use std::rc::Rc;

/// `train-sim --backend nccl`.
pub type NcclStep = DeviceStep<Nccl>;

/// NCCL and the GPU this rank drives.
pub struct Nccl {
    lib: &'static NcclLib,
    gpu: Rc<Gpu>,
}

impl Runtime for Nccl {
    type Stream = Stream;
    type Event = Event;
    type Buf = DevMem;

    fn stream(&self) -> Result<Stream, String> {
        Stream::new(&self.gpu)
    }
    fn synchronize(s: &Stream) -> Result<(), String> {
        s.synchronize()
    }

    fn event(&self) -> Result<Event, String> {
        Event::new(&self.gpu)
    }
    fn record(e: &Event, s: &Stream) -> Result<(), String> {
        e.record(s)
    }
    fn query(e: &Event) -> Result<bool, String> {
        e.query()
    }
    fn event_synchronize(e: &Event) -> Result<(), String> {
        e.synchronize()
    }

    fn alloc(&self, len: usize) -> Result<DevMem, String> {
        DevMem::alloc(&self.gpu, len)
    }
    fn write(b: &mut DevMem, data: &[u8]) -> Result<(), String> {
        b.write(0, data)
    }
}

impl Vendor for Nccl {
    type Comm = Comm;

    /// Loads NCCL and CUDA and opens GPU local rank modulo the visible ones.
    fn open(w: &MpiWorld) -> Result<Nccl> {
        let rank = w.rank();
        let loaded = Loaded::load(w, rank, "train-sim --backend nccl: ")?;
        let gpu = loaded.open(w, 1, 0, rank)?;
        Ok(Nccl {
            lib: loaded.lib,
            gpu,
        })
    }

    fn init(&self, mpi: &SimpleCommunicator) -> Result<Comm> {
        comm::init(self.lib, mpi)
    }

    fn made_on<'a>(_root: &'a Group<Nccl>, parent: &'a Group<Nccl>) -> &'a Group<Nccl> {
        parent
    }

    /// `ncclCommSplit` of `parent` (or, before NCCL 2.18, a unique id per group over its
    /// MPI communicator), checked against MPI's split.
    fn split(&mut self, parent: &Comm, part: Part<'_>) -> Result<Option<Comm>, String> {
        let Part { color, key, mpi } = part;
        self.gpu.make_current()?;
        let comm = if self.lib.has_comm_split() {
            parent.split(color, key).map_err(|e| e.to_string())?
        } else {
            mpi.map(|m| self.init(m))
                .transpose()
                .map_err(|e| e.to_string())?
        };
        match (comm, mpi) {
            (Some(comm), Some(mpi)) => {
                if comm.rank() != mpi.rank() as usize || comm.nranks() != mpi.size() as usize {
                    return Err(format!(
                        "NCCL placed this rank at {} of {}, MPI's split at {} of {}",
                        comm.rank(),
                        comm.nranks(),
                        mpi.rank(),
                        mpi.size()
                    ));
                }
                Ok(Some(comm))
            }
            (None, None) => Ok(None),
            _ => Err("ncclCommSplit and MPI_Comm_split disagree on membership".into()),
        }
    }

    fn async_error(c: &Comm) -> Result<(), String> {
        c.async_error().map_err(|e| e.to_string())
    }

    fn enqueue(&self, c: &Comm, s: &Stream, op: Op<'_, DevMem>) -> Result<(), String> {
        let s = s.raw() as n::cudaStream_t;
        let (f32_, u8_) = (n::ncclFloat32, n::ncclUint8);
        let (send, recv, count) = (op.send.at(0), op.recv.at(0), op.count);
        let r = unsafe {
            match op.coll {
                Coll::AllReduce => c.all_reduce(send, recv, count, f32_, n::ncclSum, s),
                Coll::ReduceScatter => c.reduce_scatter(send, recv, count, f32_, n::ncclSum, s),
                Coll::AllGather => c.all_gather(send, recv, count, f32_, s),
                Coll::Alltoall if self.lib.has_alltoall() => c.alltoall(send, recv, count, u8_, s),
                // NCCL before 2.28: alltoall as grouped send/recv, as nccl-tests does.
                Coll::Alltoall => (|| {
                    let grp = NcclGroupCall::start(self.lib)?;
                    for p in 0..c.nranks() {
                        c.send(op.send.at(p * count), count, u8_, p, s)?;
                        c.recv(op.recv.at(p * count), count, u8_, p, s)?;
                    }
                    grp.end()
                })(),
            }
        };
        r.map_err(|e| e.to_string())
    }

    /// One group: NCCL posts its sends and receives together.
    fn batch(&self, c: &Comm, s: &Stream, items: &mut [Xfer<'_, DevMem>]) -> Result<(), String> {
        let s = s.raw() as n::cudaStream_t;
        let u8_ = n::ncclUint8;
        let r = (|| {
            let grp = NcclGroupCall::start(self.lib)?;
            for x in items.iter_mut() {
                unsafe {
                    match x {
                        Xfer::Send { buf, bytes, peer } => {
                            c.send(buf.at(0), *bytes, u8_, *peer, s)?
                        }
                        Xfer::Recv { buf, bytes, peer } => {
                            c.recv(buf.at(0), *bytes, u8_, *peer, s)?
                        }
                    }
                }
            }
            grp.end()
        })();
        r.map_err(|e| e.to_string())
    }

    fn describe(&self) -> String {
        let lib = self.lib;
        let (version, path) = (lib.version(), lib.path.display());
        format!("NCCL {version} ({path}) on {}", self.gpu.name())
    }

    fn groups(&self, _root: &Comm) -> &'static str {
        if self.lib.has_comm_split() {
            "ncclCommSplit: yes"
        } else {
            "ncclCommSplit: no, one unique id per group"
        }
    }
}
