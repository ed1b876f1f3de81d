//! The NCCL backend: collectives on NVIDIA GPU memory through NCCL, with CUDA streams,
//! events and memory from the driver API (`cudarc`), all loaded at run time.
//!
//! Set-up follows nccl-tests: world rank 0 creates the unique id, the launcher's world
//! broadcasts it, and each process initializes one communicator per GPU it drives
//! (`-g`, grouped `ncclCommInitRank`), so the communicator has world size × `-g` ranks.
//! A process's GPUs are local rank × `-g` + i, modulo the visible devices. That set-up is
//! [`comm`]'s, which `train-sim`'s NCCL transport shares.
//!
//! Timing: a CUDA event is recorded on the (first) stream before the loop and after
//! every call, so each sample is device time between consecutive completions. `-z`
//! synchronizes after each call. `-G` captures the `iters` calls in a CUDA graph and
//! replays it once between two events; every sample is then the graph's mean.
//!
//! alltoall, gather and scatter use NCCL's own calls where the loaded library has them
//! (2.28+), and grouped `ncclSend`/`ncclRecv` otherwise; sendrecv is always grouped
//! send/recv around the ring.
//!
//! With `-g N > 1`, the harness sees this process as one rank (the first of its GPUs):
//! it fills and checks that GPU's buffers. So that the check covers the whole
//! communicator, the other GPUs' inputs are filled here with the values their ranks
//! would have ([`crate::backend::data::value`]) whenever the harness has rewritten the first
//! GPU's input.

pub mod comm;
pub mod cuda;
mod p2p;

pub use comm::probe;

use super::{Backend, BackendInfo, Bufs, Call, DeviceOpts, OpImpl, Timed};
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::types::{DataType, ReduceOp};
use crate::world::agree;
use crate::world::World;
use cuda::{DevMem, Event, Gpu, Graph, Stream};
use nccl_sys::{sys as n, Comm, Group, NcclLib};
use std::ffi::c_void;
use std::rc::Rc;

/// NCCL's code for a type (nccl.h).
pub fn nccl_dtype(t: DataType) -> n::ncclDataType_t {
    match t {
        DataType::Int8 => n::ncclInt8,
        DataType::Uint8 => n::ncclUint8,
        DataType::Int32 => n::ncclInt32,
        DataType::Uint32 => n::ncclUint32,
        DataType::Int64 => n::ncclInt64,
        DataType::Uint64 => n::ncclUint64,
        DataType::Half => n::ncclFloat16,
        DataType::Float => n::ncclFloat32,
        DataType::Double => n::ncclFloat64,
        DataType::Bfloat16 => n::ncclBfloat16,
        DataType::F8e4m3 => n::ncclFloat8e4m3,
        DataType::F8e5m2 => n::ncclFloat8e5m2,
    }
}

/// NCCL's code for an op (nccl.h).
pub fn nccl_op(op: ReduceOp) -> n::ncclRedOp_t {
    match op {
        ReduceOp::Sum => n::ncclSum,
        ReduceOp::Prod => n::ncclProd,
        ReduceOp::Max => n::ncclMax,
        ReduceOp::Min => n::ncclMin,
        ReduceOp::Avg => n::ncclAvg,
    }
}

/// One GPU this process drives: its context, stream and communicator.
struct Local {
    // Drop order: communicator, events, stream, then the context.
    comm: Comm,
    stream: Stream,
    gpu: Rc<Gpu>,
    rank: usize,
}

/// Device memory on each GPU this process drives (one with `-g 1`).
pub struct NcclBuf {
    parts: Vec<DevMem>,
    /// Set when the harness writes the first GPU's part; the other GPUs' inputs are then
    /// refilled before the next call (`-g` > 1 only).
    dirty: bool,
}

pub struct NcclBackend {
    lib: &'static NcclLib,
    events: Vec<Event>,
    locals: Vec<Local>,
    nranks: usize,
    blocking: bool,
    cuda_graph: bool,
    device_desc: String,
    host: String,
}

fn backend_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Backend(e.to_string())
}

impl NcclBackend {
    /// Loads NCCL and CUDA, opens this process's GPU(s) and builds the communicator over
    /// `world`. Collective: every rank must call it; an error on any rank is returned on
    /// every rank.
    pub fn new(world: &dyn World, opts: &DeviceOpts) -> Result<NcclBackend> {
        let g = opts.gpus_per_process;
        let host = world.hostname().to_string();
        if g == 0 {
            return agree(
                world,
                Err(BenchError::Usage("-g must be at least 1".into())),
            );
        }
        if opts.cuda_graph && g > 1 {
            return agree(
                world,
                Err(BenchError::Usage(
                    "-G (CUDA graph) is supported with one GPU per process (-g 1)".into(),
                )),
            );
        }
        if opts.npus_per_node.is_some() {
            return agree(
                world,
                Err(BenchError::Usage(
                    "-p (NPUs per node) is for HCCL; NCCL uses -g".into(),
                )),
            );
        }
        let nranks = world.size() * g;
        let base = world.rank() * g;
        let opened = (|| {
            let loaded = comm::Loaded::load(world, base, "")?;
            let mut gpus = Vec::with_capacity(g);
            for i in 0..g {
                let gpu = loaded.open(world, g, i, base + i)?;
                let stream = Stream::new(&gpu)
                    .map_err(|e| BenchError::Backend(format!("rank {} ({host}): {e}", base + i)))?;
                gpus.push((gpu, stream));
            }
            Ok((loaded.lib, gpus))
        })();
        let (lib, gpus) = agree(world, opened)?;

        let id = comm::unique_id(lib, world)?;
        let devices = gpus.iter().map(|(gpu, _)| gpu);
        let comms = agree(world, comm::init_ranks(lib, &id, nranks, base, devices))?;

        let locals: Vec<Local> = comms
            .into_iter()
            .zip(gpus)
            .enumerate()
            .map(|(i, (comm, (gpu, stream)))| Local {
                comm,
                stream,
                gpu,
                rank: base + i,
            })
            .collect();
        let device_desc = locals
            .iter()
            .map(|l| format!("{} ({})", l.gpu.name(), l.gpu.pci_bus_id()))
            .collect::<Vec<_>>()
            .join("; ");
        Ok(NcclBackend {
            lib,
            events: Vec::new(),
            locals,
            nranks,
            blocking: opts.blocking,
            cuda_graph: opts.cuda_graph,
            device_desc,
            host,
        })
    }

    /// Ranks in the communicator: world size × `-g`.
    pub fn nranks(&self) -> usize {
        self.nranks
    }

    /// Communicator rank of this process's first GPU (the one the harness fills/checks).
    pub fn rank(&self) -> usize {
        self.locals[0].rank
    }

    fn err(&self, rank: usize, e: impl std::fmt::Display) -> BenchError {
        BenchError::Backend(format!("rank {rank} ({}): {e}", self.host))
    }

    /// Enqueues one rank's part of `call` on its stream.
    fn issue_one(
        &self,
        l: &Local,
        call: &Call,
        send: *mut c_void,
        recv: *mut c_void,
    ) -> Result<()> {
        let c = &l.comm;
        let s = l.stream.raw() as n::cudaStream_t;
        let t = nccl_dtype(call.dtype);
        let op = nccl_op(call.op);
        let count = call.counts.count;
        let e = call.dtype.size();
        let nr = self.nranks;
        let at = |p: *mut c_void, block: usize| unsafe {
            p.cast::<u8>().add(block * count * e).cast::<c_void>()
        };
        let lib = self.lib;
        let r = unsafe {
            match call.coll {
                CollKind::AllReduce => c.all_reduce(send, recv, count, t, op, s),
                CollKind::Reduce => c.reduce(send, recv, count, t, op, call.root, s),
                CollKind::Broadcast => c.broadcast(send, recv, count, t, call.root, s),
                CollKind::AllGather => c.all_gather(send, recv, count, t, s),
                CollKind::ReduceScatter => c.reduce_scatter(send, recv, count, t, op, s),
                CollKind::Alltoall if lib.has_alltoall() => c.alltoall(send, recv, count, t, s),
                CollKind::Gather if lib.has_gather() => {
                    c.gather(send, recv, count, t, call.root, s)
                }
                CollKind::Scatter if lib.has_scatter() => {
                    c.scatter(send, recv, count, t, call.root, s)
                }
                CollKind::Alltoall => (|| {
                    let grp = Group::start(lib)?;
                    for p in 0..nr {
                        c.send(at(send, p), count, t, p, s)?;
                        c.recv(at(recv, p), count, t, p, s)?;
                    }
                    grp.end()
                })(),
                CollKind::Gather => (|| {
                    let grp = Group::start(lib)?;
                    c.send(send, count, t, call.root, s)?;
                    if l.rank == call.root {
                        for p in 0..nr {
                            c.recv(at(recv, p), count, t, p, s)?;
                        }
                    }
                    grp.end()
                })(),
                CollKind::Scatter => (|| {
                    let grp = Group::start(lib)?;
                    if l.rank == call.root {
                        for p in 0..nr {
                            c.send(at(send, p), count, t, p, s)?;
                        }
                    }
                    c.recv(recv, count, t, call.root, s)?;
                    grp.end()
                })(),
                CollKind::Sendrecv => (|| {
                    let grp = Group::start(lib)?;
                    c.send(send, count, t, (l.rank + 1) % nr, s)?;
                    c.recv(recv, count, t, (l.rank + nr - 1) % nr, s)?;
                    grp.end()
                })(),
            }
        };
        r.map_err(backend_err)
    }

    /// Enqueues `call` on every GPU this process drives (grouped when more than one).
    fn issue(&self, call: &Call, ptrs: &[(*mut c_void, *mut c_void)]) -> Result<()> {
        if self.locals.len() == 1 {
            return self.issue_one(&self.locals[0], call, ptrs[0].0, ptrs[0].1);
        }
        let grp = Group::start(self.lib).map_err(backend_err)?;
        for (l, &(s, r)) in self.locals.iter().zip(ptrs) {
            self.issue_one(l, call, s, r)?;
        }
        grp.end().map_err(backend_err)
    }

    fn sync_all(&self) -> Result<()> {
        for l in &self.locals {
            l.stream.synchronize().map_err(|e| self.err(l.rank, e))?;
        }
        Ok(())
    }

    /// With `-g` > 1: gives GPUs 2..g the inputs their ranks would have.
    fn fill_peers(&self, call: &Call, buf: &mut NcclBuf) -> Result<()> {
        let e = call.dtype.size();
        let op = call.coll.imp().has_op().then_some(call.op);
        for (l, part) in self.locals.iter().zip(buf.parts.iter_mut()).skip(1) {
            let mut data = vec![0u8; call.counts.send * e];
            for (i, chunk) in data.chunks_exact_mut(e).enumerate() {
                call.dtype.encode(
                    crate::backend::data::value(call.dtype, op, self.nranks, l.rank, i),
                    chunk,
                );
            }
            let off = if call.in_place {
                self.in_place_offsets(call, l.rank).0 * e
            } else {
                0
            };
            part.write(off, &data).map_err(|x| self.err(l.rank, x))?;
        }
        buf.dirty = false;
        Ok(())
    }
}

impl Backend for NcclBackend {
    type Buf = NcclBuf;

    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "nccl".into(),
            library: format!("NCCL ({})", self.lib.path.display()),
            version: self.lib.version(),
            device: self.device_desc.clone(),
        }
    }

    fn support(&self, coll: CollKind, dtype: DataType, op: ReduceOp) -> Result<OpImpl> {
        let lib = self.lib;
        if dtype == DataType::Bfloat16 && !lib.has_bf16() {
            return Err(BenchError::Unsupported(format!(
                "bfloat16 needs NCCL 2.10+; loaded {}",
                lib.version()
            )));
        }
        if matches!(dtype, DataType::F8e4m3 | DataType::F8e5m2) && !lib.has_fp8() {
            return Err(BenchError::Unsupported(format!(
                "{dtype} needs NCCL 2.24+; loaded {}",
                lib.version()
            )));
        }
        if coll.imp().has_op() && op == ReduceOp::Avg && !lib.has_avg() {
            return Err(BenchError::Unsupported(format!(
                "avg needs NCCL 2.10+; loaded {}",
                lib.version()
            )));
        }
        Ok(OpImpl::Native)
    }

    fn memory_available(&self) -> Option<u64> {
        self.locals.iter().filter_map(|l| l.gpu.free_memory()).min()
    }

    fn alloc(&mut self, bytes: usize) -> Result<NcclBuf> {
        let mut parts = Vec::with_capacity(self.locals.len());
        for l in &self.locals {
            parts.push(DevMem::alloc(&l.gpu, bytes).map_err(|e| self.err(l.rank, e))?);
        }
        Ok(NcclBuf {
            parts,
            dirty: false,
        })
    }

    fn write(&mut self, buf: &mut NcclBuf, offset: usize, data: &[u8]) -> Result<()> {
        buf.dirty = true;
        let r = self.locals[0].rank;
        buf.parts[0].write(offset, data).map_err(|e| self.err(r, e))
    }

    fn read(&mut self, buf: &NcclBuf, offset: usize, out: &mut [u8]) -> Result<()> {
        let r = self.locals[0].rank;
        buf.parts[0].read(offset, out).map_err(|e| self.err(r, e))
    }

    fn run_timed(&mut self, run: Timed<'_>, bufs: Bufs<'_, NcclBuf>) -> Result<Vec<f64>> {
        let Timed { call, iters, .. } = run;
        let e = call.dtype.size();
        let ptrs: Vec<(*mut c_void, *mut c_void)> = match bufs {
            Bufs::Separate { send, recv } => {
                if self.locals.len() > 1 && send.dirty {
                    self.fill_peers(call, send)?;
                }
                send.parts
                    .iter()
                    .zip(&recv.parts)
                    .map(|(s, r)| (s.at(0), r.at(0)))
                    .collect()
            }
            Bufs::InPlace(b) => {
                if self.locals.len() > 1 && b.dirty {
                    self.fill_peers(call, b)?;
                }
                self.locals
                    .iter()
                    .zip(&b.parts)
                    .map(|(l, p)| {
                        let (so, ro) = self.in_place_offsets(call, l.rank);
                        (p.at(so * e), p.at(ro * e))
                    })
                    .collect()
            }
        };
        if iters == 0 {
            return Ok(Vec::new());
        }
        let first = &self.locals[0];
        let r0 = first.rank;
        let need = if self.cuda_graph { 2 } else { iters + 1 };
        while self.events.len() < need {
            let ev = Event::new(&first.gpu).map_err(|x| self.err(r0, x))?;
            self.events.push(ev);
        }
        let first = &self.locals[0];
        if self.cuda_graph {
            let graph = Graph::capture(&first.stream, || {
                for _ in 0..iters {
                    self.issue(call, &ptrs).map_err(|x| x.to_string())?;
                }
                Ok(())
            })
            .map_err(|x| self.err(r0, x))?;
            self.events[0]
                .record(&first.stream)
                .map_err(|x| self.err(r0, x))?;
            graph.launch(&first.stream).map_err(|x| self.err(r0, x))?;
            self.events[1]
                .record(&first.stream)
                .map_err(|x| self.err(r0, x))?;
            self.sync_all()?;
            let ms = self.events[0]
                .elapsed_ms(&self.events[1])
                .map_err(|x| self.err(r0, x))?;
            let each = f64::from(ms) / 1e3 / iters as f64;
            return Ok(vec![each; iters]);
        }
        first.gpu.make_current().map_err(|x| self.err(r0, x))?;
        self.events[0]
            .record(&first.stream)
            .map_err(|x| self.err(r0, x))?;
        for i in 0..iters {
            self.issue(call, &ptrs)?;
            self.events[i + 1]
                .record(&self.locals[0].stream)
                .map_err(|x| self.err(r0, x))?;
            if self.blocking {
                self.sync_all()?;
            }
        }
        self.sync_all()?;
        for l in &self.locals {
            l.comm.async_error().map_err(backend_err)?;
        }
        let mut times = Vec::with_capacity(iters);
        for i in 0..iters {
            let ms = self.events[i]
                .elapsed_ms(&self.events[i + 1])
                .map_err(|x| self.err(r0, x))?;
            times.push(f64::from(ms) / 1e3);
        }
        Ok(times)
    }

    fn synchronize(&mut self) -> Result<()> {
        self.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_is_nccls() {
        // nccl.h's ncclDataType_t (docs/SOURCES.md [nccl-h]).
        let want = [
            (DataType::Int8, 0),
            (DataType::Uint8, 1),
            (DataType::Int32, 2),
            (DataType::Uint32, 3),
            (DataType::Int64, 4),
            (DataType::Uint64, 5),
            (DataType::Half, 6),
            (DataType::Float, 7),
            (DataType::Double, 8),
            (DataType::Bfloat16, 9),
        ];
        for (t, code) in want {
            assert_eq!(nccl_dtype(t), code, "{t}");
        }
        let ops = [
            (ReduceOp::Sum, 0),
            (ReduceOp::Prod, 1),
            (ReduceOp::Max, 2),
            (ReduceOp::Min, 3),
            (ReduceOp::Avg, 4),
        ];
        for (o, code) in ops {
            assert_eq!(nccl_op(o), code, "{o}");
        }
    }
}
