//! [`StepComm`] on NCCL (see the module docs of [`super`]): communicators split from one
//! world communicator, one CUDA stream per communicator, device buffers, completion by
//! CUDA events. Launched by MPI, which carries the unique ids and the host bookkeeping.

use super::{fatal, Op, StepComm, Xfer};
use crate::backend::nccl::cuda::{self, DevMem, Event, Gpu, Stream};
use crate::error::{BenchError, Result};
use crate::world::{MpiWorld, World};
use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::topology::{Color, Communicator, SimpleCommunicator};
use nccl_sys::{sys as n, Comm, Group, NcclLib, UniqueId, UNIQUE_ID_BYTES};
use std::rc::Rc;

/// One communicator of the step: NCCL's, the stream its calls go on, and the MPI
/// communicator of the same ranks (ids, barriers, step-time maximum).
pub struct NcclGroup {
    // Drop order: the NCCL communicator before its stream.
    comm: Comm,
    stream: Stream,
    mpi: SimpleCommunicator,
}

pub struct NcclStep {
    lib: &'static NcclLib,
    gpu: Rc<Gpu>,
    root: NcclGroup,
    host: String,
}

fn berr(e: impl std::fmt::Display) -> BenchError {
    BenchError::Backend(e.to_string())
}

impl NcclStep {
    /// Loads NCCL and CUDA, opens GPU local rank modulo the visible ones and builds the
    /// world communicator (rank 0's unique id broadcast over MPI). Every rank calls it;
    /// the caller turns any rank's error into every rank's ([`crate::world::agree`]).
    pub fn new(w: &MpiWorld) -> Result<NcclStep> {
        let host = w.hostname().to_string();
        let rank = w.rank();
        let lib = nccl_sys::load().map_err(berr)?;
        if !cuda::driver_present() {
            return Err(BenchError::Backend(format!(
                "train-sim --backend nccl: no CUDA driver on {host}: {}; NCCL {} was found at {}",
                cuda::driver_missing_reason(),
                lib.version(),
                lib.path.display()
            )));
        }
        let count = cuda::init_and_count()
            .map_err(|e| BenchError::Backend(format!("rank {rank} ({host}): {e}")))?;
        if count == 0 {
            return Err(BenchError::Backend(format!(
                "no CUDA device visible on {host}"
            )));
        }
        let gpu = Gpu::open((w.local_rank() % count) as i32)
            .map_err(|e| BenchError::Backend(format!("rank {rank} ({host}): {e}")))?;
        let mpi = w.comm().duplicate();
        let comm = init_by_id(lib, &mpi)?;
        let stream = Stream::new(&gpu).map_err(berr)?;
        Ok(NcclStep {
            lib,
            gpu,
            root: NcclGroup { comm, stream, mpi },
            host,
        })
    }

    /// `ncclCommSplit` (or, before NCCL 2.18, a unique id per group) beside
    /// `MPI_Comm_split` with the same color and key; collective over `parent`.
    fn split_of(
        &self,
        parent: &NcclGroup,
        color: Option<u32>,
        key: u32,
    ) -> Result<Option<NcclGroup>> {
        let mcolor = color.map_or(Color::undefined(), |c| Color::with_value(c as i32));
        let mpi = parent.mpi.split_by_color_with_key(mcolor, key as i32);
        if let Err(e) = self.gpu.make_current() {
            self.fail(parent, e)
        }
        let comm = if self.lib.has_comm_split() {
            match parent.comm.split(color, key) {
                Ok(c) => c,
                Err(e) => self.fail(parent, e),
            }
        } else {
            mpi.as_ref()
                .map(|m| init_by_id(self.lib, m).unwrap_or_else(|e| self.fail(parent, e)))
        };
        match (comm, mpi) {
            (Some(comm), Some(mpi)) => {
                if comm.rank() != mpi.rank() as usize || comm.nranks() != mpi.size() as usize {
                    self.fail(
                        parent,
                        format!(
                            "NCCL placed this rank at {} of {}, MPI's split at {} of {}",
                            comm.rank(),
                            comm.nranks(),
                            mpi.rank(),
                            mpi.size()
                        ),
                    )
                }
                let stream = Stream::new(&self.gpu).unwrap_or_else(|e| self.fail(parent, e));
                Ok(Some(NcclGroup { comm, stream, mpi }))
            }
            (None, None) => Ok(None),
            _ => self.fail(
                parent,
                "ncclCommSplit and MPI_Comm_split disagree on membership",
            ),
        }
    }

    fn fail(&self, g: &NcclGroup, e: impl std::fmt::Display) -> ! {
        fatal(format!(
            "rank {} of {} ({}): {e}",
            g.comm.rank(),
            g.comm.nranks(),
            self.host
        ))
    }

    /// Enqueues `op` on the group's stream.
    fn enqueue(&self, g: &NcclGroup, op: Op<'_, DevMem>) {
        let c = &g.comm;
        let s = g.stream.raw() as n::cudaStream_t;
        let (f32_, u8_) = (n::ncclFloat32, n::ncclUint8);
        let r = unsafe {
            match op {
                Op::AllReduce { send, recv, elems } => {
                    c.all_reduce(send.at(0), recv.at(0), elems, f32_, n::ncclSum, s)
                }
                Op::ReduceScatter {
                    send,
                    recv,
                    recv_elems,
                } => c.reduce_scatter(send.at(0), recv.at(0), recv_elems, f32_, n::ncclSum, s),
                Op::AllGather {
                    send,
                    recv,
                    send_elems,
                } => c.all_gather(send.at(0), recv.at(0), send_elems, f32_, s),
                Op::Alltoall {
                    send,
                    recv,
                    per_peer,
                } if self.lib.has_alltoall() => {
                    c.alltoall(send.at(0), recv.at(0), per_peer, u8_, s)
                }
                // NCCL before 2.28: alltoall as grouped send/recv, as nccl-tests does.
                Op::Alltoall {
                    send,
                    recv,
                    per_peer,
                } => (|| {
                    let grp = Group::start(self.lib)?;
                    for p in 0..c.nranks() {
                        c.send(send.at(p * per_peer), per_peer, u8_, p, s)?;
                        c.recv(recv.at(p * per_peer), per_peer, u8_, p, s)?;
                    }
                    grp.end()
                })(),
            }
        };
        if let Err(e) = r {
            self.fail(g, e)
        }
    }
}

/// `ncclCommInitRank` over the ranks of `mpi`: its rank 0 creates the unique id, MPI
/// broadcasts the 128 bytes. Used for the world, and per group on NCCL before 2.18.
fn init_by_id(lib: &'static NcclLib, mpi: &SimpleCommunicator) -> Result<Comm> {
    let mut bytes = vec![0u8; UNIQUE_ID_BYTES];
    let mut ok = [1u8];
    if mpi.rank() == 0 {
        match UniqueId::new(lib) {
            Ok(id) => bytes = id.to_bytes().to_vec(),
            Err(e) => {
                ok[0] = 0;
                eprintln!("xccl-bench: error: {e}");
            }
        }
    }
    let root = mpi.process_at_rank(0);
    root.broadcast_into(&mut ok[..]);
    if ok[0] == 0 {
        return Err(BenchError::Backend(
            "ncclGetUniqueId failed on rank 0".into(),
        ));
    }
    root.broadcast_into(&mut bytes[..]);
    Comm::init_rank(
        lib,
        mpi.size() as usize,
        &UniqueId::from_bytes(&bytes),
        mpi.rank() as usize,
    )
    .map_err(berr)
}

/// A zeroed device buffer.
fn zeroed(gpu: &Rc<Gpu>, bytes: usize) -> std::result::Result<DevMem, String> {
    let len = bytes.max(4);
    let mut m = DevMem::alloc(gpu, len)?;
    m.write(0, &vec![0u8; len])?;
    Ok(m)
}

impl StepComm for NcclStep {
    type Group = NcclGroup;
    type Buf = DevMem;
    type Handle = (Event, *const NcclGroup);

    fn describe(&self) -> String {
        format!(
            "NCCL {} ({}) on {}; ncclCommSplit: {}",
            self.lib.version(),
            self.lib.path.display(),
            self.gpu.name(),
            if self.lib.has_comm_split() {
                "yes"
            } else {
                "no, one unique id per group"
            }
        )
    }

    fn world(&mut self) -> Result<NcclGroup> {
        let r = self.root.comm.rank() as u32;
        let g = self.split_of(&self.root, Some(0), r)?;
        g.ok_or_else(|| BenchError::Backend("world split gave no communicator".into()))
    }

    fn split(
        &mut self,
        parent: &NcclGroup,
        color: Option<u32>,
        key: u32,
    ) -> Result<Option<NcclGroup>> {
        self.split_of(parent, color, key)
    }

    fn size(&self, g: &NcclGroup) -> usize {
        g.comm.nranks()
    }
    fn rank(&self, g: &NcclGroup) -> usize {
        g.comm.rank()
    }

    fn alloc(&mut self, bytes: usize) -> Result<DevMem> {
        zeroed(&self.gpu, bytes).map_err(berr)
    }

    fn run(&mut self, g: &NcclGroup, op: Op<'_, DevMem>) {
        self.enqueue(g, op);
        if let Err(e) = g.stream.synchronize() {
            self.fail(g, e)
        }
        if let Err(e) = g.comm.async_error() {
            self.fail(g, e)
        }
    }

    fn batch(&mut self, g: &NcclGroup, items: &mut [Xfer<'_, DevMem>]) {
        let c = &g.comm;
        let s = g.stream.raw() as n::cudaStream_t;
        let u8_ = n::ncclUint8;
        // One group: NCCL posts its sends and receives together (none waits for another).
        let r = (|| {
            let grp = Group::start(self.lib)?;
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
        if let Err(e) = r {
            self.fail(g, e)
        }
        if let Err(e) = g.stream.synchronize() {
            self.fail(g, e)
        }
        if let Err(e) = g.comm.async_error() {
            self.fail(g, e)
        }
    }

    unsafe fn start(&mut self, g: &NcclGroup, op: Op<'_, DevMem>) -> Self::Handle {
        self.enqueue(g, op);
        let ev = Event::new(&self.gpu).unwrap_or_else(|e| self.fail(g, e));
        if let Err(e) = ev.record(&g.stream) {
            self.fail(g, e)
        }
        (ev, g as *const NcclGroup)
    }

    fn test(&mut self, h: &mut Self::Handle) -> bool {
        // The group outlives its handles (the schedule waits before dropping either).
        let g = unsafe { &*h.1 };
        h.0.query().unwrap_or_else(|e| self.fail(g, e))
    }

    fn wait(&mut self, h: Self::Handle) {
        let g = unsafe { &*h.1 };
        if let Err(e) = h.0.synchronize() {
            self.fail(g, e)
        }
        if let Err(e) = g.comm.async_error() {
            self.fail(g, e)
        }
    }

    fn barrier(&mut self, g: &NcclGroup) {
        g.mpi.barrier();
    }

    fn max(&mut self, g: &NcclGroup, v: f64) -> f64 {
        let mut out = 0.0f64;
        g.mpi.all_reduce_into(&v, &mut out, SystemOperation::max());
        out
    }

    fn ordered_issue(&self) -> bool {
        true
    }
}
