//! [`StepComm`] on HCCL (see the module docs of [`super`]): a world communicator from
//! `HcclCommInitRootInfo` (rank 0's root info broadcast over MPI), sub-communicators by
//! `HcclCreateSubCommConfig` on it (or, where the library lacks that, one root info per
//! group), one `aclrtStream` per communicator, device buffers, completion by ACL events.

use super::{fatal, Op, StepComm, Xfer};
use crate::error::{BenchError, Result};
use crate::world::{MpiWorld, World};
use hccl_sys::hccl as h;
use hccl_sys::{Ascend, Comm, DevBuf, Device, Event, RootInfo, Stream, ROOT_INFO_BYTES};
use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::topology::{Color, Communicator, SimpleCommunicator};
use std::rc::Rc;

/// One communicator of the step: HCCL's, its stream, and the MPI communicator of the same
/// ranks (root infos, barriers, step-time maximum).
pub struct HcclGroup {
    // Drop order: the HCCL communicator before its stream.
    comm: Comm,
    stream: Stream,
    mpi: SimpleCommunicator,
}

pub struct HcclStep {
    lib: &'static Ascend,
    // The world communicator: every sub-communicator is created on it.
    root: HcclGroup,
    dev: Rc<Device>,
    host: String,
    /// Sub-communicators this process has created (part of each one's id).
    made: u64,
}

fn berr(e: impl std::fmt::Display) -> BenchError {
    BenchError::Backend(e.to_string())
}

/// `HcclCommInitRootInfo` over the ranks of `mpi`: its rank 0 asks for the root info,
/// MPI broadcasts the 4108 bytes.
fn init_by_root_info(lib: &'static Ascend, mpi: &SimpleCommunicator) -> Result<Comm> {
    let mut bytes = vec![0u8; ROOT_INFO_BYTES];
    let mut ok = [1u8];
    if mpi.rank() == 0 {
        match RootInfo::new(lib) {
            Ok(r) => bytes = r.to_bytes(),
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
            "HcclGetRootInfo failed on rank 0".into(),
        ));
    }
    root.broadcast_into(&mut bytes[..]);
    Comm::init_root_info(
        lib,
        mpi.size() as usize,
        &RootInfo::from_bytes(&bytes),
        mpi.rank() as usize,
    )
    .map_err(berr)
}

impl HcclStep {
    /// Loads ACL and HCCL, opens NPU local rank modulo the visible ones and builds the
    /// world communicator. Every rank calls it; the caller agrees on errors.
    pub fn new(w: &MpiWorld) -> Result<HcclStep> {
        let host = w.hostname().to_string();
        let rank = w.rank();
        let lib = hccl_sys::load().map_err(berr)?;
        let count = Device::count(lib).map_err(|e| berr(e.with_rank(rank)))? as usize;
        if count == 0 {
            return Err(BenchError::Backend(format!(
                "no Ascend NPU visible on {host} (aclrtGetDeviceCount = 0)"
            )));
        }
        let dev = Device::open(lib, (w.local_rank() % count) as i32)
            .map_err(|e| berr(e.with_rank(rank)))?;
        let mpi = w.comm().duplicate();
        let comm = init_by_root_info(lib, &mpi)?;
        let stream = Stream::new(&dev).map_err(|e| berr(e.with_rank(rank)))?;
        Ok(HcclStep {
            lib,
            root: HcclGroup { comm, stream, mpi },
            dev,
            host,
            made: 0,
        })
    }

    fn fail(&self, g: &HcclGroup, e: impl std::fmt::Display) -> ! {
        fatal(format!(
            "rank {} of {} ({}): {e}",
            g.comm.rank(),
            g.comm.nranks(),
            self.host
        ))
    }

    fn has_sub_comm(&self) -> bool {
        self.root.comm.has("HcclCreateSubCommConfig")
    }

    /// A group over the ranks of `mpi` (already split), on the world communicator.
    fn make(&mut self, mpi: SimpleCommunicator) -> Result<HcclGroup> {
        let comm = if self.has_sub_comm() {
            // Members' world ranks in the new rank order, and an id its rank 0 picks:
            // (that process's count of groups made, its world rank), unique in the world.
            let me = self.root.comm.rank() as u32;
            let mut ids = vec![0u32; mpi.size() as usize];
            mpi.all_gather_into(&me, &mut ids[..]);
            self.made += 1;
            let mut id = (self.made << 32) | u64::from(me);
            mpi.process_at_rank(0).broadcast_into(&mut id);
            self.root
                .comm
                .create_sub_comm(&ids, id, mpi.rank() as usize)
                .unwrap_or_else(|e| self.fail(&self.root, e))
        } else {
            init_by_root_info(self.lib, &mpi).unwrap_or_else(|e| self.fail(&self.root, e))
        };
        let stream = Stream::new(&self.dev).unwrap_or_else(|e| self.fail(&self.root, e));
        Ok(HcclGroup { comm, stream, mpi })
    }

    fn enqueue(&self, g: &HcclGroup, op: Op<'_, DevBuf>) {
        let c = &g.comm;
        let s = g.stream.raw();
        let (f32_, u8_) = (h::HCCL_DATA_TYPE_FP32, h::HCCL_DATA_TYPE_UINT8);
        let sum = h::HCCL_REDUCE_SUM;
        let r = unsafe {
            match op {
                Op::AllReduce { send, recv, elems } => {
                    c.all_reduce(send.ptr_at(0), recv.ptr_at(0), elems as u64, f32_, sum, s)
                }
                Op::ReduceScatter {
                    send,
                    recv,
                    recv_elems,
                } => c.reduce_scatter(
                    send.ptr_at(0),
                    recv.ptr_at(0),
                    recv_elems as u64,
                    f32_,
                    sum,
                    s,
                ),
                Op::AllGather {
                    send,
                    recv,
                    send_elems,
                } => c.all_gather(send.ptr_at(0), recv.ptr_at(0), send_elems as u64, f32_, s),
                Op::Alltoall {
                    send,
                    recv,
                    per_peer,
                } => c.alltoall(send.ptr_at(0), recv.ptr_at(0), per_peer as u64, u8_, s),
            }
        };
        if let Err(e) = r {
            self.fail(g, e)
        }
    }
}

impl StepComm for HcclStep {
    type Group = HcclGroup;
    type Buf = DevBuf;
    type Handle = (Event, *const HcclGroup);

    fn describe(&self) -> String {
        format!(
            "HCCL ({}), ACL runtime {} on NPU {}; sub-communicators by {}",
            self.lib.hccl.path.display(),
            self.lib
                .acl
                .version()
                .unwrap_or_else(|| "of unknown version".into()),
            self.dev.id(),
            if self.has_sub_comm() {
                "HcclCreateSubCommConfig"
            } else {
                "one root info per group"
            }
        )
    }

    fn world(&mut self) -> Result<HcclGroup> {
        let mpi = self.root.mpi.duplicate();
        self.make(mpi)
    }

    fn split(
        &mut self,
        parent: &HcclGroup,
        color: Option<u32>,
        key: u32,
    ) -> Result<Option<HcclGroup>> {
        let mcolor = color.map_or(Color::undefined(), |c| Color::with_value(c as i32));
        match parent.mpi.split_by_color_with_key(mcolor, key as i32) {
            Some(mpi) => self.make(mpi).map(Some),
            None => Ok(None),
        }
    }

    fn size(&self, g: &HcclGroup) -> usize {
        g.comm.nranks()
    }
    fn rank(&self, g: &HcclGroup) -> usize {
        g.comm.rank()
    }

    fn alloc(&mut self, bytes: usize) -> Result<DevBuf> {
        let len = bytes.max(4);
        let mut b = DevBuf::alloc(&self.dev, len).map_err(berr)?;
        b.write(0, &vec![0u8; len]).map_err(berr)?;
        Ok(b)
    }

    fn run(&mut self, g: &HcclGroup, op: Op<'_, DevBuf>) {
        self.enqueue(g, op);
        if let Err(e) = g.stream.synchronize() {
            self.fail(g, e)
        }
    }

    fn batch(&mut self, g: &HcclGroup, items: &mut [Xfer<'_, DevBuf>]) {
        // One HcclBatchSendRecv: HCCL posts the items together, in this order per peer.
        let mut list: Vec<h::HcclSendRecvItem> = items
            .iter_mut()
            .map(|x| {
                let (kind, buf, bytes, peer) = match x {
                    Xfer::Send { buf, bytes, peer } => (h::HCCL_SEND, buf.ptr_at(0), *bytes, *peer),
                    Xfer::Recv { buf, bytes, peer } => (h::HCCL_RECV, buf.ptr_at(0), *bytes, *peer),
                };
                h::HcclSendRecvItem {
                    sendRecvType: kind,
                    buf,
                    count: bytes as u64,
                    dataType: h::HCCL_DATA_TYPE_UINT8,
                    remoteRank: peer as u32,
                }
            })
            .collect();
        if list.is_empty() {
            return;
        }
        if let Err(e) = unsafe { g.comm.batch_send_recv(&mut list, g.stream.raw()) } {
            self.fail(g, e)
        }
        if let Err(e) = g.stream.synchronize() {
            self.fail(g, e)
        }
    }

    unsafe fn start(&mut self, g: &HcclGroup, op: Op<'_, DevBuf>) -> Self::Handle {
        self.enqueue(g, op);
        let ev = Event::new(&self.dev).unwrap_or_else(|e| self.fail(g, e));
        if let Err(e) = ev.record(&g.stream) {
            self.fail(g, e)
        }
        (ev, g as *const HcclGroup)
    }

    fn test(&mut self, hd: &mut Self::Handle) -> bool {
        // The group outlives its handles (the schedule waits before dropping either).
        let g = unsafe { &*hd.1 };
        hd.0.query().unwrap_or_else(|e| self.fail(g, e))
    }

    fn wait(&mut self, hd: Self::Handle) {
        let g = unsafe { &*hd.1 };
        if let Err(e) = hd.0.synchronize() {
            self.fail(g, e)
        }
    }

    fn barrier(&mut self, g: &HcclGroup) {
        g.mpi.barrier();
    }

    fn max(&mut self, g: &HcclGroup, v: f64) -> f64 {
        let mut out = 0.0f64;
        g.mpi.all_reduce_into(&v, &mut out, SystemOperation::max());
        out
    }

    fn ordered_issue(&self) -> bool {
        true
    }
}
