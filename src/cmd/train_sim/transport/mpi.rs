//! [`StepComm`] on MPI: exactly the calls `train-sim` made before the trait existed
//! (`MPI_Comm_split`, the blocking collectives, `MPI_Irecv`/`MPI_Isend`/`MPI_Waitall`,
//! and `MPI_Iallreduce`/`MPI_Ireduce_scatter_block` tested with `MPI_Test`), on host
//! buffers. Raw calls rather than rsmpi's safe ones because a started operation must
//! outlive the borrow of its buffers (rsmpi ties it to a scope); the caller keeps the
//! buffers alive ([`StepComm::start`]'s contract).

use super::api::{Coll, Op, StepComm, Xfer};
use super::host::{self, fatal};
use crate::error::Result;
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::{Communicator, SimpleCommunicator};
use std::os::raw::{c_int, c_void};

pub struct MpiStep {
    world: SimpleCommunicator,
}

impl MpiStep {
    /// Over a duplicate of `world` (MPI_Comm_dup), so nothing here can match a message
    /// of the launcher's own communicator.
    pub fn new(world: &SimpleCommunicator) -> MpiStep {
        MpiStep {
            world: world.duplicate(),
        }
    }
}

/// A host buffer: f32 elements, so reductions see aligned floats.
pub struct HostBuf(Vec<f32>);

impl HostBuf {
    fn ptr(&self) -> *mut c_void {
        self.0.as_ptr() as *mut c_void
    }
}

fn check(call: &str, rc: i32) {
    if rc != ffi::MPI_SUCCESS as i32 {
        fatal(format!("{call} returned {rc}"));
    }
}

fn n(x: usize) -> i32 {
    i32::try_from(x).unwrap_or_else(|_| fatal(format!("{x} elements exceed MPI's int count")))
}

/// The gather-shaped calls (`MPI_Allgather`, `MPI_Alltoall`, `MPI_Iallgather`): `count`
/// elements of type `ffi::$dt` sent to and received from each rank; a started one takes its
/// request last.
macro_rules! exchange {
    ($f:ident, $dt:ident, $send:expr, $recv:expr, $count:expr, $c:expr $(, $req:expr)?) => {
        check(
            stringify!($f),
            ffi::$f($send, n($count), ffi::$dt, $recv, n($count), ffi::$dt, $c $(, $req)?),
        )
    };
}

impl StepComm for MpiStep {
    type Group = SimpleCommunicator;
    type Buf = HostBuf;
    type Handle = ffi::MPI_Request;

    fn describe(&self) -> String {
        "MPI backend".into()
    }

    fn world(&mut self) -> Result<SimpleCommunicator> {
        Ok(self.world.duplicate())
    }

    fn split(
        &mut self,
        parent: &SimpleCommunicator,
        color: Option<u32>,
        key: u32,
    ) -> Result<Option<SimpleCommunicator>> {
        Ok(host::split(parent, color, key))
    }

    fn size(&self, g: &SimpleCommunicator) -> usize {
        g.size() as usize
    }
    fn rank(&self, g: &SimpleCommunicator) -> usize {
        g.rank() as usize
    }

    fn alloc(&mut self, bytes: usize) -> Result<HostBuf> {
        Ok(HostBuf(vec![0.0f32; bytes.div_ceil(4).max(1)]))
    }

    fn run(&mut self, g: &SimpleCommunicator, op: Op<'_, HostBuf>) {
        let c = g.as_raw();
        let (send, recv, count) = (op.send.ptr(), op.recv.ptr(), op.count);
        unsafe {
            match op.coll {
                Coll::AllReduce => check(
                    "MPI_Allreduce",
                    ffi::MPI_Allreduce(send, recv, n(count), ffi::RSMPI_FLOAT, ffi::RSMPI_SUM, c),
                ),
                Coll::ReduceScatter => check(
                    "MPI_Reduce_scatter_block",
                    ffi::MPI_Reduce_scatter_block(
                        send,
                        recv,
                        n(count),
                        ffi::RSMPI_FLOAT,
                        ffi::RSMPI_SUM,
                        c,
                    ),
                ),
                Coll::AllGather => exchange!(MPI_Allgather, RSMPI_FLOAT, send, recv, count, c),
                Coll::Alltoall => exchange!(MPI_Alltoall, RSMPI_UINT8_T, send, recv, count, c),
            }
        }
    }

    fn batch(&mut self, g: &SimpleCommunicator, items: &mut [Xfer<'_, HostBuf>]) {
        let c = g.as_raw();
        let mut reqs: Vec<ffi::MPI_Request> = Vec::with_capacity(items.len());
        // Receives first, then sends, each in the caller's order: one tag, so messages
        // between two ranks match in posting order (as NCCL's do).
        for pass in [false, true] {
            for x in items.iter_mut() {
                let mut req: ffi::MPI_Request = unsafe { std::mem::zeroed() };
                match x {
                    Xfer::Recv { buf, bytes, peer } if !pass => check("MPI_Irecv", unsafe {
                        ffi::MPI_Irecv(
                            buf.ptr(),
                            n(*bytes),
                            ffi::RSMPI_UINT8_T,
                            *peer as i32,
                            0,
                            c,
                            &mut req,
                        )
                    }),
                    Xfer::Send { buf, bytes, peer } if pass => check("MPI_Isend", unsafe {
                        ffi::MPI_Isend(
                            buf.ptr(),
                            n(*bytes),
                            ffi::RSMPI_UINT8_T,
                            *peer as i32,
                            0,
                            c,
                            &mut req,
                        )
                    }),
                    _ => continue,
                }
                reqs.push(req);
            }
        }
        check("MPI_Waitall", unsafe {
            ffi::MPI_Waitall(
                reqs.len() as i32,
                reqs.as_mut_ptr(),
                ffi::RSMPI_STATUSES_IGNORE,
            )
        });
    }

    unsafe fn start(&mut self, g: &SimpleCommunicator, op: Op<'_, HostBuf>) -> ffi::MPI_Request {
        let c = g.as_raw();
        let mut req: ffi::MPI_Request = std::mem::zeroed();
        let (send, recv, count) = (op.send.ptr(), op.recv.ptr(), op.count);
        // The two reductions take the same arguments: a float sum of `count` elements.
        type Reduction = unsafe extern "C" fn(
            *const c_void,
            *mut c_void,
            c_int,
            ffi::MPI_Datatype,
            ffi::MPI_Op,
            ffi::MPI_Comm,
            *mut ffi::MPI_Request,
        ) -> c_int;
        let mut sum = |what, f: Reduction| {
            let (dt, op) = (ffi::RSMPI_FLOAT, ffi::RSMPI_SUM);
            check(what, f(send, recv, n(count), dt, op, c, &mut req))
        };
        match op.coll {
            Coll::AllReduce => sum("MPI_Iallreduce", ffi::MPI_Iallreduce),
            Coll::ReduceScatter => sum("MPI_Ireduce_scatter_block", ffi::MPI_Ireduce_scatter_block),
            Coll::AllGather => {
                exchange!(MPI_Iallgather, RSMPI_FLOAT, send, recv, count, c, &mut req)
            }
            Coll::Alltoall => fatal("the MPI transport starts only DP collectives, not alltoall"),
        }
        req
    }

    fn test(&mut self, h: &mut ffi::MPI_Request) -> bool {
        let mut flag = 0;
        check("MPI_Test", unsafe {
            ffi::MPI_Test(h, &mut flag, ffi::RSMPI_STATUS_IGNORE)
        });
        flag != 0
    }

    fn wait(&mut self, mut h: ffi::MPI_Request) {
        check("MPI_Wait", unsafe {
            ffi::MPI_Wait(&mut h, ffi::RSMPI_STATUS_IGNORE)
        });
    }

    fn barrier(&mut self, g: &SimpleCommunicator) {
        use mpi::collective::CommunicatorCollectives;
        g.barrier();
    }

    fn max(&mut self, g: &SimpleCommunicator, v: f64) -> f64 {
        host::max(g, v)
    }

    fn ordered_issue(&self) -> bool {
        false
    }
}
