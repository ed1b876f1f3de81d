//! The MPI backend: collectives on host memory through the MPI library that launched us.
//!
//! It calls the C API directly (rsmpi's `ffi`) rather than rsmpi's safe wrappers, because
//! a benchmark needs what those wrappers hide: `MPI_IN_PLACE`, one buffer aliased as send
//! and receive, and user-defined reductions over 16-bit floats. fp16 and bf16 travel as
//! `MPI_UINT16_T` with a user op that reduces in the 16-bit type itself, element by
//! element, rounding after each step as a bf16 gradient reduction on a device does.
//! MPI has no average: avg is sum, then each rank scales its result by 1/n (labelled
//! `sum+scale` in results, and timed with the call).

mod batch;
mod ffi_util;
mod host_buf;

pub use host_buf::HostBuf;

use crate::backend::{Backend, BackendInfo, Bufs, Call, Delay, DelayAmount, OpImpl, Timed, Timing};
use crate::clock::Clock;
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::types::{DataType, ReduceOp};
use crate::world::MpiWorld;
use batch::Batch;
use ffi_util::*;
use mpi::ffi;
use std::os::raw::{c_int, c_void};

pub struct MpiBackend {
    comm: ffi::MPI_Comm,
    rank: usize,
    nranks: usize,
    local_size: usize,
    library: String,
    in_place: *mut c_void,
    /// User ops for fp16/bf16, indexed [half, bf16] × [sum, prod, max, min].
    half_ops: [[ffi::MPI_Op; 4]; 2],
    /// Offset to rank 0's clock, estimated once (src/clock.rs).
    clock: Clock,
    /// (entry, exit) of each per-call timed call on the aligned clock, until taken.
    stamps: Vec<(f64, f64)>,
    delay: Option<Delay>,
    /// Whether to record the stamps (off only to measure that recording costs nothing:
    /// XCCL_NO_STAMPS=1, benches/stamps_overhead.sh).
    record: bool,
    /// Mean call time of the previous batch (for a delay in percent).
    prev_mean_s: f64,
}

/// A call's MPI datatype, op and count.
struct Prepared {
    dt: ffi::MPI_Datatype,
    op: ffi::MPI_Op,
    count: c_int,
}

impl MpiBackend {
    /// On the whole job (MPI_COMM_WORLD).
    pub fn new(world: &MpiWorld) -> Result<Self> {
        // SAFETY: the world communicator outlives the backend (both owned by main).
        Self::with_comm(unsafe { ffi::RSMPI_COMM_WORLD }, world)
    }

    /// On communicator `comm`, whose rank, size and node placement `world` describes
    /// (`--split` runs its parts on sub-communicators: [`crate::world::SubWorld`]).
    /// `comm` must outlive the backend. Collective over `comm`.
    pub fn with_comm(comm: ffi::MPI_Comm, world: &dyn crate::world::World) -> Result<Self> {
        // SAFETY: MPI_Op is a plain handle (pointer or int, by implementation); zero is a
        // placeholder overwritten below.
        let mut half_ops: [[ffi::MPI_Op; 4]; 2] = unsafe { std::mem::zeroed() };
        let fns: [[UserFn; 4]; 2] = [
            [f16_sum, f16_prod, f16_max, f16_min],
            [bf16_sum, bf16_prod, bf16_max, bf16_min],
        ];
        for (t, row) in fns.iter().enumerate() {
            for (o, f) in row.iter().enumerate() {
                // SAFETY: as above.
                let mut op: ffi::MPI_Op = unsafe { std::mem::zeroed() };
                // SAFETY: MPI is initialized; the functions have MPI_User_function's ABI.
                check(
                    unsafe { ffi::MPI_Op_create(Some(*f), 1, &mut op) },
                    "MPI_Op_create",
                )?;
                half_ops[t][o] = op;
            }
        }
        Ok(MpiBackend {
            comm,
            rank: world.rank(),
            nranks: world.size(),
            local_size: world.local_size(),
            library: world.mpi_library().unwrap_or_default(),
            // SAFETY: returns a constant.
            in_place: unsafe { xccl_mpi_in_place() },
            half_ops,
            // Collective: every rank of `comm` constructs its backend at the same point.
            clock: crate::clock::align(comm, world.rank(), world.size()),
            stamps: vec![],
            delay: None,
            record: std::env::var_os("XCCL_NO_STAMPS").is_none(),
            prev_mean_s: 0.0,
        })
    }

    /// Makes `d.rank` arrive late at every timed call (`--delay`).
    pub fn set_delay(&mut self, d: Option<Delay>) {
        self.delay = d;
    }

    /// This rank's aligned clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// How late this rank arrives at each timed call (`--delay`), if it is the delayed
    /// rank.
    fn delay_s(&self) -> Option<f64> {
        let d = self.delay.filter(|d| d.rank == self.rank)?;
        let s = match d.amount {
            DelayAmount::Micros(us) => us * 1e-6,
            DelayAmount::Percent(p) => p / 100.0 * self.prev_mean_s,
        };
        (s > 0.0).then_some(s)
    }

    fn datatype(&self, t: DataType) -> ffi::MPI_Datatype {
        // SAFETY: reading MPI's predefined handles after init.
        unsafe {
            match t {
                DataType::Int8 => ffi::RSMPI_INT8_T,
                // fp8 moves as bytes; reductions over it are refused in `support`.
                DataType::Uint8 | DataType::F8e4m3 | DataType::F8e5m2 => ffi::RSMPI_UINT8_T,
                DataType::Int32 => ffi::RSMPI_INT32_T,
                DataType::Uint32 => ffi::RSMPI_UINT32_T,
                DataType::Int64 => ffi::RSMPI_INT64_T,
                DataType::Uint64 => ffi::RSMPI_UINT64_T,
                DataType::Half | DataType::Bfloat16 => ffi::RSMPI_UINT16_T,
                DataType::Float => ffi::RSMPI_FLOAT,
                DataType::Double => ffi::RSMPI_DOUBLE,
            }
        }
    }

    fn op(&self, t: DataType, op: ReduceOp) -> ffi::MPI_Op {
        let i = match op {
            ReduceOp::Sum | ReduceOp::Avg => 0,
            ReduceOp::Prod => 1,
            ReduceOp::Max => 2,
            ReduceOp::Min => 3,
        };
        match t {
            DataType::Half => self.half_ops[0][i],
            DataType::Bfloat16 => self.half_ops[1][i],
            // SAFETY: predefined handles.
            _ => unsafe {
                [
                    ffi::RSMPI_SUM,
                    ffi::RSMPI_PROD,
                    ffi::RSMPI_MAX,
                    ffi::RSMPI_MIN,
                ][i]
            },
        }
    }

    /// The MPI arguments of `c`, looked up once before the timed calls.
    fn prepare(&self, c: &Call) -> Result<Prepared> {
        Ok(Prepared {
            dt: self.datatype(c.dtype),
            op: self.op(c.dtype, c.op),
            count: mpi_count(c.counts.count, c.coll.name())?,
        })
    }

    /// Runs `timed` on the call with every argument resolved: one closure per collective,
    /// so a timed iteration is the MPI call alone, with nothing left to decide. (A `match`
    /// on the collective inside the timed loop cost 20–25 ns per call at 8 B on the
    /// reference VM, 2–3 % of the time reported; docs/PERFORMANCE.md.) `send`/`recv` are
    /// element pointers; `in_place` selects MPI_IN_PLACE where MPI defines it.
    fn bound(
        &self,
        c: &Call,
        p: &Prepared,
        send: *mut c_void,
        recv: *mut c_void,
        timed: Batch<'_>,
    ) -> Result<Vec<f64>> {
        let (dt, op, count) = (p.dt, p.op, p.count);
        let root = c.root as c_int;
        let is_root = self.rank == c.root;
        let comm = self.comm;
        let ip = self.in_place;
        // MPI_IN_PLACE as the send buffer where the call's placement asks for it.
        let send_or_ip = |in_place: bool| if in_place { ip } else { send };
        let n = self.nranks;
        let (dtype, recv_count) = (c.dtype, c.counts.recv);
        let avg = c.op == ReduceOp::Avg
            && c.coll.imp().has_op()
            && (c.coll != CollKind::Reduce || is_root);
        // SAFETY (each closure's body): recv holds `recv_count` elements of dtype.
        let then_scale = move |rc: c_int| {
            if avg && rc == 0 {
                unsafe { scale(dtype, recv, recv_count, n) };
            }
            rc
        };
        // SAFETY (every closure's body): buffers were sized by the harness from the same
        // counts; MPI is initialized.
        unsafe {
            match c.coll {
                CollKind::AllReduce => {
                    let s = send_or_ip(c.in_place);
                    timed.run(move || then_scale(ffi::MPI_Allreduce(s, recv, count, dt, op, comm)))
                }
                CollKind::AllGather => {
                    let s = send_or_ip(c.in_place);
                    timed.run(move || ffi::MPI_Allgather(s, count, dt, recv, count, dt, comm))
                }
                CollKind::ReduceScatter => {
                    let s = send_or_ip(c.in_place);
                    timed.run(move || {
                        then_scale(ffi::MPI_Reduce_scatter_block(s, recv, count, dt, op, comm))
                    })
                }
                CollKind::Broadcast => {
                    // NCCL's out-of-place broadcast: the root's result lands in recv too.
                    let copy = (is_root && !c.in_place).then_some(c.counts.count * dtype.size());
                    timed.run(move || {
                        if let Some(bytes) = copy {
                            std::ptr::copy_nonoverlapping(
                                send as *const u8,
                                recv as *mut u8,
                                bytes,
                            );
                        }
                        ffi::MPI_Bcast(recv, count, dt, root, comm)
                    })
                }
                CollKind::Reduce => {
                    let s = send_or_ip(c.in_place && is_root);
                    timed.run(move || {
                        then_scale(ffi::MPI_Reduce(s, recv, count, dt, op, root, comm))
                    })
                }
                CollKind::Alltoall => {
                    timed.run(move || ffi::MPI_Alltoall(send, count, dt, recv, count, dt, comm))
                }
                CollKind::Sendrecv => {
                    let to = ((self.rank + 1) % n) as c_int;
                    let from = ((self.rank + n - 1) % n) as c_int;
                    timed.run(move || {
                        ffi::MPI_Sendrecv(
                            send,
                            count,
                            dt,
                            to,
                            0,
                            recv,
                            count,
                            dt,
                            from,
                            0,
                            comm,
                            ffi::RSMPI_STATUS_IGNORE,
                        )
                    })
                }
                CollKind::Gather => {
                    let s = send_or_ip(c.in_place && is_root);
                    timed.run(move || ffi::MPI_Gather(s, count, dt, recv, count, dt, root, comm))
                }
                CollKind::Scatter => {
                    let r = if c.in_place && is_root { ip } else { recv };
                    timed.run(move || ffi::MPI_Scatter(send, count, dt, r, count, dt, root, comm))
                }
            }
        }
    }
}

impl Backend for MpiBackend {
    type Buf = HostBuf;

    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "mpi".into(),
            library: self
                .library
                .rsplit_once(' ')
                .map_or("MPI", |(l, _)| l)
                .to_string(),
            version: self
                .library
                .rsplit_once(' ')
                .map_or("", |(_, v)| v)
                .to_string(),
            device: "host".into(),
        }
    }

    fn support(&self, coll: CollKind, dtype: DataType, op: ReduceOp) -> Result<OpImpl> {
        if coll.imp().has_op() && matches!(dtype, DataType::F8e4m3 | DataType::F8e5m2) {
            return Err(BenchError::Unsupported(format!(
                "{coll} with {dtype}: the MPI backend has no fp8 arithmetic (fp8 data movement works); use --backend nccl (2.24+) or hccl"
            )));
        }
        if coll.imp().has_op() && op == ReduceOp::Avg {
            Ok(OpImpl::SumThenScale)
        } else {
            Ok(OpImpl::Native)
        }
    }

    fn memory_available(&self) -> Option<u64> {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kb: u64 = info
            .lines()
            .find(|l| l.starts_with("MemAvailable:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb * 1024 / self.local_size.max(1) as u64)
    }

    fn alloc(&mut self, bytes: usize) -> Result<HostBuf> {
        HostBuf::new(bytes)
    }

    fn write(&mut self, buf: &mut HostBuf, offset: usize, data: &[u8]) -> Result<()> {
        assert!(offset + data.len() <= buf.len, "write past buffer end");
        // SAFETY: bounds checked above.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), buf.ptr.as_ptr().add(offset), data.len())
        };
        Ok(())
    }

    fn read(&mut self, buf: &HostBuf, offset: usize, out: &mut [u8]) -> Result<()> {
        assert!(offset + out.len() <= buf.len, "read past buffer end");
        // SAFETY: bounds checked above.
        unsafe {
            std::ptr::copy_nonoverlapping(buf.ptr.as_ptr().add(offset), out.as_mut_ptr(), out.len())
        };
        Ok(())
    }

    /// MPI_IN_PLACE for reduce_scatter takes the input from, and leaves the result at the
    /// start of, the receive buffer; the rest follows NCCL's layout.
    fn in_place_offsets(&self, call: &Call, rank: usize) -> (usize, usize) {
        let c = call.counts.count;
        match call.coll {
            CollKind::AllGather | CollKind::Gather => (rank * c, 0),
            CollKind::Scatter => (0, rank * c),
            _ => (0, 0),
        }
    }

    fn run_timed(&mut self, run: Timed<'_>, bufs: Bufs<'_, HostBuf>) -> Result<Vec<f64>> {
        let Timed {
            call,
            iters,
            timing,
        } = run;
        let e = call.dtype.size();
        let (send, recv) = match bufs {
            Bufs::Separate { send, recv } => (send.at(0, e), recv.at(0, e)),
            Bufs::InPlace(b) => {
                let (s, r) = self.in_place_offsets(call, self.rank);
                (b.at(s, e), b.at(r, e))
            }
        };
        let p = self.prepare(call)?;
        // The batch records into a vector of its own: `bound` reads the backend.
        let mut stamps = std::mem::take(&mut self.stamps);
        let batch = Batch {
            comm: self.comm,
            iters,
            timing,
            what: call.coll.name(),
            delay_s: self.delay_s(),
            stamps: (self.record && timing == Timing::PerCall)
                .then_some((&mut stamps, self.clock.offset_s)),
        };
        let times = self.bound(call, &p, send, recv, batch);
        self.stamps = stamps;
        let times = times?;
        if !times.is_empty() {
            self.prev_mean_s = times.iter().sum::<f64>() / times.len() as f64;
        }
        Ok(times)
    }

    fn take_stamps(&mut self) -> Option<(Vec<(f64, f64)>, f64)> {
        (!self.stamps.is_empty()).then(|| (std::mem::take(&mut self.stamps), self.clock.residual_s))
    }

    fn synchronize(&mut self) -> Result<()> {
        Ok(())
    }
}

impl Drop for MpiBackend {
    fn drop(&mut self) {
        for row in self.half_ops.iter_mut() {
            for op in row.iter_mut() {
                // SAFETY: created by MPI_Op_create; MPI not yet finalized (world outlives us).
                unsafe { ffi::MPI_Op_free(op) };
            }
        }
    }
}
