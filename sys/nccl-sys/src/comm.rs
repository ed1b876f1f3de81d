//! Communicators and the unique id that creates them, released on drop.

use crate::common::libsearch;
use crate::common::safe::copy_into_chars;
use crate::ffi::sys;
use crate::lib_handle::NcclLib;
use crate::result::{NcclError, NcclResult};
use std::cell::Cell;
use std::os::raw::c_void;

/// Size of `ncclUniqueId`, what rank 0 broadcasts to the others.
pub const UNIQUE_ID_BYTES: usize = 128;
const _: () = assert!(std::mem::size_of::<sys::ncclUniqueId>() == UNIQUE_ID_BYTES);

const BLANK_ID: sys::ncclUniqueId = sys::ncclUniqueId {
    internal: [0; UNIQUE_ID_BYTES],
};

/// The opaque id rank 0 creates and every rank passes to `ncclCommInitRank`.
#[derive(Clone, Copy)]
pub struct UniqueId(pub sys::ncclUniqueId);

impl UniqueId {
    /// `ncclGetUniqueId` (works without a GPU: it only opens a bootstrap socket).
    pub fn new(lib: &NcclLib) -> NcclResult<Self> {
        let mut id = BLANK_ID;
        lib.check(
            "ncclGetUniqueId",
            unsafe { lib.raw.ncclGetUniqueId(&mut id) },
            std::ptr::null_mut(),
        )?;
        Ok(UniqueId(id))
    }

    pub fn to_bytes(&self) -> [u8; UNIQUE_ID_BYTES] {
        self.0.internal.map(|c| c as u8)
    }

    /// From the bytes another rank sent; `b` must be [`UNIQUE_ID_BYTES`] long.
    pub fn from_bytes(b: &[u8]) -> Self {
        let mut id = BLANK_ID;
        copy_into_chars(&mut id.internal, b);
        UniqueId(id)
    }
}

/// One rank's communicator. Dropping it destroys it, or aborts it if a call on it failed
/// (a communicator in error may hang in `ncclCommDestroy`).
pub struct Comm {
    lib: &'static NcclLib,
    raw: sys::ncclComm_t,
    rank: usize,
    nranks: usize,
    failed: Cell<bool>,
}

/// `ncclGroupStart` .. `ncclGroupEnd`; ended on drop if [`Group::end`] was not called.
pub struct Group {
    lib: &'static NcclLib,
    open: bool,
}

impl Group {
    pub fn start(lib: &'static NcclLib) -> NcclResult<Group> {
        lib.check(
            "ncclGroupStart",
            unsafe { lib.raw.ncclGroupStart() },
            std::ptr::null_mut(),
        )?;
        Ok(Group { lib, open: true })
    }

    pub fn end(mut self) -> NcclResult<()> {
        self.open = false;
        self.lib.check(
            "ncclGroupEnd",
            unsafe { self.lib.raw.ncclGroupEnd() },
            std::ptr::null_mut(),
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.open {
            unsafe { self.lib.raw.ncclGroupEnd() };
        }
    }
}

/// Calls NCCL's `sym` on communicator `s` and checks its result; with `since`, `sym` is
/// optional (added in that NCCL version) and its absence an error.
macro_rules! nccl {
    ($s:ident, $sym:ident($($arg:expr),*)) => {
        $s.check(stringify!($sym), $s.lib.raw.$sym($($arg),*))
    };
    ($s:ident, $sym:ident($($arg:expr),*) since $v:literal) => {
        match $s.lib.raw.$sym {
            Ok(f) => $s.check(stringify!($sym), f($($arg),*)),
            Err(_) => Err($s.absent(stringify!($sym), $v)),
        }
    };
}

impl Comm {
    fn new(lib: &'static NcclLib, raw: sys::ncclComm_t, rank: usize, nranks: usize) -> Comm {
        Comm {
            lib,
            raw,
            rank,
            nranks,
            failed: Cell::new(false),
        }
    }

    /// `ncclCommInitRank`. The caller must have made the rank's CUDA device current.
    pub fn init_rank(
        lib: &'static NcclLib,
        nranks: usize,
        id: &UniqueId,
        rank: usize,
    ) -> NcclResult<Comm> {
        let mut raw: sys::ncclComm_t = std::ptr::null_mut();
        let rc = unsafe {
            lib.raw
                .ncclCommInitRank(&mut raw, nranks as i32, id.0, rank as i32)
        };
        lib.check("ncclCommInitRank", rc, raw)
            .map_err(|e| e.with_rank(rank))?;
        Ok(Comm::new(lib, raw, rank, nranks))
    }

    /// `ncclCommInitAll`: one process, one communicator per device in `devices`.
    pub fn init_all(lib: &'static NcclLib, devices: &[i32]) -> NcclResult<Vec<Comm>> {
        let mut raws: Vec<sys::ncclComm_t> = vec![std::ptr::null_mut(); devices.len()];
        let rc = unsafe {
            lib.raw
                .ncclCommInitAll(raws.as_mut_ptr(), devices.len() as i32, devices.as_ptr())
        };
        lib.check("ncclCommInitAll", rc, std::ptr::null_mut())?;
        let n = devices.len();
        Ok(raws
            .into_iter()
            .enumerate()
            .map(|(rank, raw)| Comm::new(lib, raw, rank, n))
            .collect())
    }

    /// `ncclCommSplit` (NCCL 2.18+), collective over this communicator: ranks giving the
    /// same `color` form one new communicator, ordered by `key` (ties by rank here);
    /// `None` passes `NCCL_SPLIT_NOCOLOR` and gets no communicator. The new one inherits
    /// this one's configuration (config NULL, as nccl.h allows) and lives on the same
    /// device, which the caller must have made current. Its rank and size are read back
    /// with `ncclCommUserRank`/`ncclCommCount`.
    pub fn split(&self, color: Option<u32>, key: u32) -> NcclResult<Option<Comm>> {
        let f = match self.lib.raw.ncclCommSplit {
            Ok(f) => f,
            Err(_) => return Err(self.absent("ncclCommSplit", "2.18")),
        };
        let c = match color {
            Some(c) => i32::try_from(c).map_err(|_| NcclError {
                call: "ncclCommSplit",
                code: sys::ncclInvalidArgument,
                message: format!("color {c} does not fit a non-negative int"),
                detail: None,
                rank: Some(self.rank),
                host: libsearch::hostname(),
            })?,
            None => sys::NCCL_SPLIT_NOCOLOR,
        };
        let mut raw: sys::ncclComm_t = std::ptr::null_mut();
        self.check("ncclCommSplit", unsafe {
            f(self.raw, c, key as i32, &mut raw, std::ptr::null_mut())
        })?;
        if raw.is_null() {
            return Ok(None);
        }
        let mut comm = Comm::new(self.lib, raw, 0, 0);
        let (mut r, mut n) = (0i32, 0i32);
        let (Ok(user_rank), Ok(count)) =
            (&self.lib.raw.ncclCommUserRank, &self.lib.raw.ncclCommCount)
        else {
            comm.failed.set(true);
            return Err(self.absent("ncclCommUserRank/ncclCommCount", "any NCCL 2"));
        };
        comm.check("ncclCommUserRank", unsafe { user_rank(raw, &mut r) })?;
        comm.check("ncclCommCount", unsafe { count(raw, &mut n) })?;
        comm.rank = r as usize;
        comm.nranks = n as usize;
        Ok(Some(comm))
    }

    getters!(raw: sys::ncclComm_t, rank: usize, nranks: usize, lib: &'static NcclLib);

    /// Checks a code returned by a call on this communicator; a failure marks the
    /// communicator for abort on drop.
    pub fn check(&self, call: &'static str, code: sys::ncclResult_t) -> NcclResult<()> {
        self.lib.check(call, code, self.raw).map_err(|e| {
            self.failed.set(true);
            e.with_rank(self.rank)
        })
    }

    /// `ncclCommGetAsyncError`: an error raised by the network or a peer after the
    /// call that caused it returned.
    pub fn async_error(&self) -> NcclResult<()> {
        let mut e: sys::ncclResult_t = sys::ncclSuccess;
        self.check("ncclCommGetAsyncError", unsafe {
            self.lib.raw.ncclCommGetAsyncError(self.raw, &mut e)
        })?;
        if e == sys::ncclInProgress {
            return Ok(());
        }
        self.check("asynchronous operation", e)
    }

    fn absent(&self, call: &'static str, since: &str) -> NcclError {
        NcclError {
            call,
            code: sys::ncclInvalidUsage,
            message: format!(
                "not in NCCL {} at {} (needs {since})",
                self.lib.version(),
                self.lib.path.display()
            ),
            detail: None,
            rank: Some(self.rank),
            host: libsearch::hostname(),
        }
    }

    // In the order nccl.h declares them.
    calls! { via nccl -> NcclResult<()>;
        /// # Safety
        /// As [`Comm::all_reduce`].
        fn reduce(&self, send: *const c_void, recv: *mut c_void, count: usize,
            dtype: sys::ncclDataType_t, op: sys::ncclRedOp_t, root: usize,
            stream: sys::cudaStream_t)
            => ncclReduce(send, recv, count, dtype, op, root as i32, self.raw, stream);

        /// # Safety
        /// As [`Comm::all_reduce`].
        fn broadcast(&self, send: *const c_void, recv: *mut c_void, count: usize,
            dtype: sys::ncclDataType_t, root: usize, stream: sys::cudaStream_t)
            => ncclBroadcast(send, recv, count, dtype, root as i32, self.raw, stream);

        /// # Safety
        /// `send`/`recv` must be device memory of `count` elements on this rank's device,
        /// `stream` a live stream of that device.
        fn all_reduce(&self, send: *const c_void, recv: *mut c_void, count: usize,
            dtype: sys::ncclDataType_t, op: sys::ncclRedOp_t, stream: sys::cudaStream_t)
            => ncclAllReduce(send, recv, count, dtype, op, self.raw, stream);

        /// # Safety
        /// `send` holds `count × nranks`, `recv` `count` elements.
        fn reduce_scatter(&self, send: *const c_void, recv: *mut c_void, count: usize,
            dtype: sys::ncclDataType_t, op: sys::ncclRedOp_t, stream: sys::cudaStream_t)
            => ncclReduceScatter(send, recv, count, dtype, op, self.raw, stream);

        /// # Safety
        /// `send` holds `count`, `recv` `count × nranks` elements.
        fn all_gather(&self, send: *const c_void, recv: *mut c_void, count: usize,
            dtype: sys::ncclDataType_t, stream: sys::cudaStream_t)
            => ncclAllGather(send, recv, count, dtype, self.raw, stream);

        /// `ncclAlltoAll` (2.28+): `count` elements to and from every rank.
        ///
        /// # Safety
        /// `send` and `recv` hold `count × nranks` elements.
        fn alltoall(&self, send: *const c_void, recv: *mut c_void, count: usize,
            dtype: sys::ncclDataType_t, stream: sys::cudaStream_t)
            => ncclAlltoAll(send, recv, count, dtype, self.raw, stream) since "2.28";

        /// `ncclGather` (2.28+).
        ///
        /// # Safety
        /// `send` holds `count`, `recv` (on root) `count × nranks` elements.
        fn gather(&self, send: *const c_void, recv: *mut c_void, count: usize,
            dtype: sys::ncclDataType_t, root: usize, stream: sys::cudaStream_t)
            => ncclGather(send, recv, count, dtype, root as i32, self.raw, stream) since "2.28";

        /// `ncclScatter` (2.28+).
        ///
        /// # Safety
        /// `send` (on root) holds `count × nranks`, `recv` `count` elements.
        fn scatter(&self, send: *const c_void, recv: *mut c_void, count: usize,
            dtype: sys::ncclDataType_t, root: usize, stream: sys::cudaStream_t)
            => ncclScatter(send, recv, count, dtype, root as i32, self.raw, stream) since "2.28";

        /// # Safety
        /// `buf` holds `count` elements on this rank's device.
        fn send(&self, buf: *const c_void, count: usize, dtype: sys::ncclDataType_t,
            peer: usize, stream: sys::cudaStream_t)
            => ncclSend(buf, count, dtype, peer as i32, self.raw, stream);

        /// # Safety
        /// As [`Comm::send`].
        fn recv(&self, buf: *mut c_void, count: usize, dtype: sys::ncclDataType_t,
            peer: usize, stream: sys::cudaStream_t)
            => ncclRecv(buf, count, dtype, peer as i32, self.raw, stream);
    }
}

impl Drop for Comm {
    fn drop(&mut self) {
        if self.raw.is_null() {
            return;
        }
        unsafe {
            if self.failed.get() {
                self.lib.raw.ncclCommAbort(self.raw);
            } else {
                self.lib.raw.ncclCommDestroy(self.raw);
            }
        }
    }
}
