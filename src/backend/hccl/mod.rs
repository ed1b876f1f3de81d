//! The HCCL backend: collectives on Ascend NPU memory through HCCL, with the ACL runtime
//! for devices, streams, events and memory, all loaded at run time (`hccl-sys`).
//!
//! It sets up the communicator as hccl_test does: rank 0 asks HCCL for the 4108-byte
//! root info, the launcher's world broadcasts it, every rank calls
//! `HcclCommInitRootInfo`; the device is local rank modulo NPUs per node (`-p`). That
//! set-up is [`comm`]'s, which `train-sim`'s HCCL transport shares. Calls are timed with
//! an ACL event recorded after each one on the stream (the first before the loop), so
//! each sample is device time between consecutive completions.
//!
//! HCCL numbers its types and ops differently from NCCL (float is 4, not 7); the
//! mapping lives only in [`hccl_dtype`]/[`hccl_op`]. For testing that the mapping
//! matters, `XCCL_HCCL_FAULT=nccl-dtype-codes` deliberately passes NCCL's numbers
//! instead; the conformance tests use it to show a wrong code is caught.
//!
//! Broadcast is in place only in HCCL. Out of place, the root broadcasts from its send
//! buffer, the others into their receive buffer, and after the timed calls the root
//! copies send to receive (untimed), so its output holds what an out-of-place broadcast
//! leaves there.

pub mod comm;
mod p2p;

pub use comm::probe;

use super::{Backend, BackendInfo, Bufs, Call, DeviceOpts, OpImpl, Timed};
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::types::{DataType, ReduceOp};
use crate::world::agree;
use crate::world::World;
use hccl_sys::hccl as h;
use hccl_sys::{Ascend, Comm, DevBuf, Device, Event, Stream};
use std::rc::Rc;

/// Environment variable for fault injection in tests (see the module docs).
pub const FAULT_ENV: &str = "XCCL_HCCL_FAULT";

/// HCCL's code for a type (hccl_types.h), or `None` where HCCL has no such type.
pub fn hccl_dtype(t: DataType) -> h::HcclDataType {
    match t {
        DataType::Int8 => h::HCCL_DATA_TYPE_INT8,
        DataType::Uint8 => h::HCCL_DATA_TYPE_UINT8,
        DataType::Int32 => h::HCCL_DATA_TYPE_INT32,
        DataType::Uint32 => h::HCCL_DATA_TYPE_UINT32,
        DataType::Int64 => h::HCCL_DATA_TYPE_INT64,
        DataType::Uint64 => h::HCCL_DATA_TYPE_UINT64,
        DataType::Half => h::HCCL_DATA_TYPE_FP16,
        DataType::Bfloat16 => h::HCCL_DATA_TYPE_BFP16,
        DataType::Float => h::HCCL_DATA_TYPE_FP32,
        DataType::Double => h::HCCL_DATA_TYPE_FP64,
        DataType::F8e4m3 => h::HCCL_DATA_TYPE_FP8E4M3,
        DataType::F8e5m2 => h::HCCL_DATA_TYPE_FP8E5M2,
    }
}

/// NCCL's code for a type: used only by the fault injection.
fn nccl_dtype_code(t: DataType) -> u32 {
    match t {
        DataType::Int8 => 0,
        DataType::Uint8 => 1,
        DataType::Int32 => 2,
        DataType::Uint32 => 3,
        DataType::Int64 => 4,
        DataType::Uint64 => 5,
        DataType::Half => 6,
        DataType::Float => 7,
        DataType::Double => 8,
        DataType::Bfloat16 => 9,
        DataType::F8e4m3 => 10,
        DataType::F8e5m2 => 11,
    }
}

/// HCCL's code for an op; `None` for avg, which HCCL does not have.
pub fn hccl_op(op: ReduceOp) -> Option<h::HcclReduceOp> {
    match op {
        ReduceOp::Sum => Some(h::HCCL_REDUCE_SUM),
        ReduceOp::Prod => Some(h::HCCL_REDUCE_PROD),
        ReduceOp::Max => Some(h::HCCL_REDUCE_MAX),
        ReduceOp::Min => Some(h::HCCL_REDUCE_MIN),
        ReduceOp::Avg => None,
    }
}

/// The types hccl.h documents for each collective.
pub fn types_offered(coll: CollKind) -> &'static [DataType] {
    use DataType::*;
    const ALL: &[DataType] = &[
        Int8, Int32, Int64, Uint8, Uint32, Uint64, Half, Float, Double, Bfloat16,
    ];
    match coll {
        // "int8, int16, int32, float16, float32, bfloat16" (reduce adds nothing)
        CollKind::AllReduce | CollKind::Reduce => &[Int8, Int32, Half, Float, Bfloat16],
        // "int8, int32, float16, float32, bfloat16"
        CollKind::ReduceScatter => &[Int8, Int32, Half, Float, Bfloat16],
        // "int8, int32, float16, float32"
        CollKind::Scatter => &[Int8, Int32, Half, Float],
        CollKind::Broadcast | CollKind::AllGather | CollKind::Alltoall | CollKind::Sendrecv => ALL,
        CollKind::Gather => &[],
    }
}

/// What to pass wrongly on purpose (tests only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    NcclDtypeCodes,
}

pub struct HcclBackend {
    lib: &'static Ascend,
    // Field order is drop order: communicator, events and stream before the device.
    comm: Comm,
    events: Vec<Event>,
    stream: Stream,
    dev: Rc<Device>,
    rank: usize,
    nranks: usize,
    blocking: bool,
    fault: Fault,
    device_desc: String,
}

fn backend_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Backend(e.to_string())
}

impl HcclBackend {
    /// Loads HCCL, opens this rank's NPU and builds the communicator over `world`.
    /// Collective over the world: every rank must call it; an error on any rank is
    /// returned on every rank.
    pub fn new(world: &dyn World, opts: &DeviceOpts) -> Result<HcclBackend> {
        if opts.gpus_per_process != 1 {
            return agree(
                world,
                Err(BenchError::Usage(
                    "-g is for NCCL; HCCL runs one process per NPU (launch with mpirun, -p NPUs per node)".into(),
                )),
            );
        }
        if opts.cuda_graph {
            return agree(
                world,
                Err(BenchError::Usage(
                    "-G (CUDA graph) is for NCCL, not HCCL".into(),
                )),
            );
        }
        let rank = world.rank();
        let nranks = world.size();
        let host = world.hostname().to_string();
        let fault = match std::env::var(FAULT_ENV).as_deref() {
            Ok("nccl-dtype-codes") => Fault::NcclDtypeCodes,
            Ok("") | Err(_) => Fault::None,
            Ok(other) => {
                return agree(
                    world,
                    Err(BenchError::Usage(format!(
                        "{FAULT_ENV}={other}: known value: nccl-dtype-codes"
                    ))),
                )
            }
        };
        let opened = (|| {
            let (lib, dev) = comm::open(world, opts.npus_per_node)?;
            let stream = Stream::new(&dev).map_err(|e| backend_err(e.with_rank(rank)))?;
            Ok((lib, dev, stream))
        })();
        let (lib, dev, stream) = agree(world, opened)?;

        // Rank 0's root info and the communicator, agreed on by every rank.
        let comm = agree(world, comm::init(lib, world))?;
        let device_desc = format!(
            "{} (NPU {}) on {host}",
            dev.soc_name().unwrap_or_else(|| "Ascend NPU".into()),
            dev.id()
        );
        Ok(HcclBackend {
            lib,
            comm,
            events: Vec::new(),
            stream,
            dev,
            rank,
            nranks,
            blocking: opts.blocking,
            fault,
            device_desc,
        })
    }

    fn dtype_code(&self, t: DataType) -> h::HcclDataType {
        match self.fault {
            Fault::None => hccl_dtype(t),
            Fault::NcclDtypeCodes => nccl_dtype_code(t),
        }
    }

    fn err(&self, e: hccl_sys::AscendError) -> BenchError {
        BenchError::Backend(e.with_rank(self.rank).to_string())
    }

    /// Issues one call on the stream.
    fn launch(
        &self,
        call: &Call,
        send: *mut std::ffi::c_void,
        recv: *mut std::ffi::c_void,
    ) -> Result<()> {
        let c = &self.comm;
        let s = self.stream.raw();
        let t = self.dtype_code(call.dtype);
        let count = call.counts.count as u64;
        let op = hccl_op(call.op).unwrap_or(h::HCCL_REDUCE_RESERVED);
        let root = call.root as u32;
        let r = unsafe {
            match call.coll {
                CollKind::AllReduce => c.all_reduce(send, recv, count, t, op, s),
                CollKind::Reduce => c.reduce(send, recv, count, t, op, root, s),
                CollKind::Broadcast => {
                    // In place in HCCL: the root sends from its input, others receive
                    // into their output (the same buffer when in place).
                    let buf = if self.rank == call.root { send } else { recv };
                    c.broadcast(buf, count, t, root, s)
                }
                CollKind::AllGather => c.all_gather(send, recv, count, t, s),
                CollKind::ReduceScatter => c.reduce_scatter(send, recv, count, t, op, s),
                CollKind::Scatter => c.scatter(send, recv, count, t, root, s),
                CollKind::Alltoall => c.alltoall(send, recv, count, t, s),
                CollKind::Sendrecv => {
                    let n = self.nranks;
                    let mut items = [
                        h::HcclSendRecvItem {
                            sendRecvType: h::HCCL_SEND,
                            buf: send,
                            count,
                            dataType: t,
                            remoteRank: ((self.rank + 1) % n) as u32,
                        },
                        h::HcclSendRecvItem {
                            sendRecvType: h::HCCL_RECV,
                            buf: recv,
                            count,
                            dataType: t,
                            remoteRank: ((self.rank + n - 1) % n) as u32,
                        },
                    ];
                    c.batch_send_recv(&mut items, s)
                }
                CollKind::Gather => {
                    return Err(BenchError::Unsupported("HCCL has no gather".into()))
                }
            }
        };
        r.map_err(|e| self.err(e))
    }
}

impl Backend for HcclBackend {
    type Buf = DevBuf;

    fn info(&self) -> BackendInfo {
        let l = &self.lib;
        BackendInfo {
            name: "hccl".into(),
            library: format!("HCCL ({})", l.hccl.path.display()),
            version: l
                .acl
                .version()
                .map(|v| format!("ACL runtime {v}"))
                .unwrap_or_else(|| "unknown".into()),
            device: self.device_desc.clone(),
        }
    }

    fn support(&self, coll: CollKind, dtype: DataType, op: ReduceOp) -> Result<OpImpl> {
        if coll == CollKind::Gather {
            return Err(BenchError::Unsupported(
                "HCCL has no gather (hccl.h offers all_reduce, all_gather, reduce_scatter, broadcast, reduce, alltoall, scatter, send/recv)".into(),
            ));
        }
        let need = match coll {
            CollKind::Reduce => Some("HcclReduce"),
            CollKind::Alltoall => Some("HcclAlltoAll"),
            CollKind::Scatter => Some("HcclScatter"),
            CollKind::Sendrecv => Some("HcclBatchSendRecv"),
            _ => None,
        };
        if let Some(f) = need.filter(|f| !self.comm.has(f)) {
            return Err(BenchError::Unsupported(format!(
                "{coll}: this HCCL ({}) has no {f}",
                self.lib.hccl.path.display()
            )));
        }
        if coll.imp().has_op() && hccl_op(op).is_none() {
            return Err(BenchError::Unsupported(format!(
                "HCCL has no {op} reduction (HcclReduceOp offers sum, prod, max, min)"
            )));
        }
        if !types_offered(coll).contains(&dtype) {
            let names: Vec<&str> = types_offered(coll).iter().map(|t| t.name()).collect();
            return Err(BenchError::Unsupported(format!(
                "HCCL {coll} does not take {dtype} (hccl.h: {})",
                names.join(", ")
            )));
        }
        Ok(OpImpl::Native)
    }

    fn memory_available(&self) -> Option<u64> {
        self.dev.mem_info().map(|(free, _)| free as u64)
    }

    fn alloc(&mut self, bytes: usize) -> Result<DevBuf> {
        DevBuf::alloc(&self.dev, bytes).map_err(|e| self.err(e))
    }

    fn write(&mut self, buf: &mut DevBuf, offset: usize, data: &[u8]) -> Result<()> {
        buf.write(offset, data).map_err(|e| self.err(e))
    }

    fn read(&mut self, buf: &DevBuf, offset: usize, out: &mut [u8]) -> Result<()> {
        buf.read(offset, out).map_err(|e| self.err(e))
    }

    fn run_timed(&mut self, run: Timed<'_>, bufs: Bufs<'_, DevBuf>) -> Result<Vec<f64>> {
        let Timed { call, iters, .. } = run;
        let e = call.dtype.size();
        let (send, recv, root_copy) = match bufs {
            Bufs::Separate { send, recv } => {
                let copy = (call.coll == CollKind::Broadcast && self.rank == call.root)
                    .then_some((send.ptr_at(0), recv.ptr_at(0), call.counts.count * e));
                (send.ptr_at(0), recv.ptr_at(0), copy)
            }
            Bufs::InPlace(b) => {
                let (so, ro) = self.in_place_offsets(call, self.rank);
                (b.ptr_at(so * e), b.ptr_at(ro * e), None)
            }
        };
        while self.events.len() < iters + 1 {
            self.events
                .push(Event::new(&self.dev).map_err(|e| self.err(e))?);
        }
        if iters > 0 {
            self.events[0]
                .record(&self.stream)
                .map_err(|e| self.err(e))?;
        }
        for i in 0..iters {
            self.launch(call, send, recv)?;
            self.events[i + 1]
                .record(&self.stream)
                .map_err(|e| self.err(e))?;
            if self.blocking {
                self.stream.synchronize().map_err(|e| self.err(e))?;
            }
        }
        self.stream.synchronize().map_err(|e| self.err(e))?;
        let mut times = Vec::with_capacity(iters);
        for i in 0..iters {
            let ms = self.events[i]
                .elapsed_ms(&self.events[i + 1])
                .map_err(|e| self.err(e))?;
            times.push(f64::from(ms) / 1e3);
        }
        if let Some((src, dst, n)) = root_copy {
            let l = &self.lib.acl.raw;
            let rc = unsafe {
                l.aclrtMemcpy(dst, n, src, n, hccl_sys::acl::ACL_MEMCPY_DEVICE_TO_DEVICE)
            };
            self.lib
                .check_acl("aclrtMemcpy", rc)
                .map_err(|e| self.err(e))?;
        }
        Ok(times)
    }

    fn synchronize(&mut self) -> Result<()> {
        self.stream.synchronize().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_is_hccls_not_nccls() {
        // hccl_types.h's HcclDataType (docs/SOURCES.md [hccl-h]): INT8 0, INT32 2, FP16 3,
        // FP32 4, INT64 5, UINT64 6, UINT8 7, UINT32 9, FP64 10, BFP16 11.
        let want = [
            (DataType::Int8, 0),
            (DataType::Int32, 2),
            (DataType::Half, 3),
            (DataType::Float, 4),
            (DataType::Int64, 5),
            (DataType::Uint64, 6),
            (DataType::Uint8, 7),
            (DataType::Uint32, 9),
            (DataType::Double, 10),
            (DataType::Bfloat16, 11),
        ];
        for (t, code) in want {
            assert_eq!(hccl_dtype(t), code, "{t}");
        }
        assert_eq!(hccl_op(ReduceOp::Sum), Some(0));
        assert_eq!(hccl_op(ReduceOp::Prod), Some(1));
        assert_eq!(hccl_op(ReduceOp::Max), Some(2));
        assert_eq!(hccl_op(ReduceOp::Min), Some(3));
        assert_eq!(hccl_op(ReduceOp::Avg), None);
        // The fault really differs where it should be caught.
        assert_ne!(
            nccl_dtype_code(DataType::Float),
            hccl_dtype(DataType::Float)
        );
    }

    #[test]
    fn every_collective_but_gather_offers_float() {
        for c in CollKind::ALL {
            assert_eq!(
                types_offered(c).contains(&DataType::Float),
                c != CollKind::Gather,
                "{c}"
            );
        }
    }
}
