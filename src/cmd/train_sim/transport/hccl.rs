//! [`StepComm`](super::api::StepComm) on HCCL: a world communicator from
//! `HcclCommInitRootInfo` (rank 0's root info broadcast over MPI), sub-communicators by
//! `HcclCreateSubCommConfig` on it (or, where the library lacks that, one root info per
//! group), one `aclrtStream` per communicator, device buffers, completion by ACL events.
//! The set-up is the benchmark's ([`crate::backend::hccl::comm`]).

use super::api::{Coll, Op, Xfer};
use super::device::{DeviceStep, Group, Part, Runtime, Vendor};
use crate::backend::hccl::comm;
use crate::error::{BenchError, Result};
use crate::world::MpiWorld;
use hccl_sys::hccl as h;
use hccl_sys::{Ascend, Comm, DevBuf, Device, Event, Stream};
use mpi::collective::{CommunicatorCollectives, Root};
use mpi::topology::{Communicator, SimpleCommunicator};
use std::rc::Rc;

/// `train-sim --backend hccl`.
pub type HcclStep = DeviceStep<Hccl>;

/// ACL and HCCL and the NPU this rank drives.
pub struct Hccl {
    lib: &'static Ascend,
    dev: Rc<Device>,
    /// Sub-communicators this process has created (part of each one's id).
    made: u64,
}

/// The call that makes a group on the world's communicator, where the library has it.
const SUB_COMM: &str = "HcclCreateSubCommConfig";

impl Runtime for Hccl {
    type Stream = Stream;
    type Event = Event;
    type Buf = DevBuf;

    fn stream(&self) -> Result<Stream, String> {
        Stream::new(&self.dev).map_err(|e| e.to_string())
    }
    fn synchronize(s: &Stream) -> Result<(), String> {
        s.synchronize().map_err(|e| e.to_string())
    }

    fn event(&self) -> Result<Event, String> {
        Event::new(&self.dev).map_err(|e| e.to_string())
    }
    fn record(e: &Event, s: &Stream) -> Result<(), String> {
        e.record(s).map_err(|e| e.to_string())
    }
    fn query(e: &Event) -> Result<bool, String> {
        e.query().map_err(|e| e.to_string())
    }
    fn event_synchronize(e: &Event) -> Result<(), String> {
        e.synchronize().map_err(|e| e.to_string())
    }

    fn alloc(&self, len: usize) -> Result<DevBuf, String> {
        DevBuf::alloc(&self.dev, len).map_err(|e| e.to_string())
    }
    fn write(b: &mut DevBuf, data: &[u8]) -> Result<(), String> {
        b.write(0, data).map_err(|e| e.to_string())
    }
}

impl Vendor for Hccl {
    type Comm = Comm;

    /// Loads ACL and HCCL and opens NPU local rank modulo the visible ones.
    fn open(w: &MpiWorld) -> Result<Hccl> {
        let (lib, dev) = comm::open(w, None)?;
        Ok(Hccl { lib, dev, made: 0 })
    }

    fn init(&self, mpi: &SimpleCommunicator) -> Result<Comm> {
        comm::init(self.lib, mpi)
    }

    fn first_stream(&self, rank: usize) -> Result<Stream> {
        Stream::new(&self.dev).map_err(|e| BenchError::Backend(e.with_rank(rank).to_string()))
    }

    fn made_on<'a>(root: &'a Group<Hccl>, _parent: &'a Group<Hccl>) -> &'a Group<Hccl> {
        root
    }

    /// A sub-communicator of the world's over the ranks of `mpi` (or, without
    /// `HcclCreateSubCommConfig`, one from their own root info).
    fn split(&mut self, root: &Comm, part: Part<'_>) -> Result<Option<Comm>, String> {
        let Some(mpi) = part.mpi else {
            return Ok(None);
        };
        if !root.has(SUB_COMM) {
            return self.init(mpi).map(Some).map_err(|e| e.to_string());
        }
        // Members' world ranks in the new rank order, and an id its rank 0 picks:
        // (that process's count of groups made, its world rank), unique in the world.
        let me = root.rank() as u32;
        let mut ids = vec![0u32; mpi.size() as usize];
        mpi.all_gather_into(&me, &mut ids[..]);
        self.made += 1;
        let mut id = (self.made << 32) | u64::from(me);
        mpi.process_at_rank(0).broadcast_into(&mut id);
        root.create_sub_comm(&ids, id, mpi.rank() as usize)
            .map(Some)
            .map_err(|e| e.to_string())
    }

    fn enqueue(&self, c: &Comm, s: &Stream, op: Op<'_, DevBuf>) -> Result<(), String> {
        let s = s.raw();
        let (f32_, u8_) = (h::HCCL_DATA_TYPE_FP32, h::HCCL_DATA_TYPE_UINT8);
        let sum = h::HCCL_REDUCE_SUM;
        let (send, recv, count) = (op.send.ptr_at(0), op.recv.ptr_at(0), op.count as u64);
        let r = unsafe {
            match op.coll {
                Coll::AllReduce => c.all_reduce(send, recv, count, f32_, sum, s),
                Coll::ReduceScatter => c.reduce_scatter(send, recv, count, f32_, sum, s),
                Coll::AllGather => c.all_gather(send, recv, count, f32_, s),
                Coll::Alltoall => c.alltoall(send, recv, count, u8_, s),
            }
        };
        r.map_err(|e| e.to_string())
    }

    /// One `HcclBatchSendRecv`: HCCL posts the items together, in this order per peer.
    fn batch(&self, c: &Comm, s: &Stream, items: &mut [Xfer<'_, DevBuf>]) -> Result<(), String> {
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
        unsafe { c.batch_send_recv(&mut list, s.raw()) }.map_err(|e| e.to_string())
    }

    fn describe(&self) -> String {
        let acl = self.lib.acl.version();
        format!(
            "HCCL ({}), ACL runtime {} on NPU {}",
            self.lib.hccl.path.display(),
            acl.unwrap_or_else(|| "of unknown version".into()),
            self.dev.id()
        )
    }

    fn groups(&self, root: &Comm) -> &'static str {
        if root.has(SUB_COMM) {
            "sub-communicators by HcclCreateSubCommConfig"
        } else {
            "sub-communicators by one root info per group"
        }
    }
}
