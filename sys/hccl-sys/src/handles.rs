//! RAII handles over the ACL runtime and HCCL: each releases what it holds on drop, and
//! each device-side object keeps its [`Device`] (and through it the ACL runtime) alive,
//! so dropping in any order is safe.

use crate::common::safe::copy_into_chars;
use crate::ffi::{acl, hccl};
use crate::lib_handle::Ascend;
use crate::result::AscendResult;
use std::os::raw::c_void;
use std::rc::Rc;
use std::sync::Mutex;

/// Size of `HcclRootInfo`, what rank 0 broadcasts to the others.
pub const ROOT_INFO_BYTES: usize = hccl::HCCL_ROOT_INFO_BYTES as usize;
const _: () = assert!(std::mem::size_of::<hccl::HcclRootInfo>() == ROOT_INFO_BYTES);

/// Calls the ACL runtime's `name` through `lib` (an `&Ascend`) and checks its result;
/// with `optional`, `name` may be missing from the runtime, which is then an error too.
macro_rules! acl {
    ($lib:expr, $name:ident($($arg:expr),*)) => {{
        let lib: &Ascend = $lib;
        lib.check_acl(stringify!($name), unsafe { lib.acl.raw.$name($($arg),*) })
    }};
    ($lib:expr, $name:ident($($arg:expr),*) optional) => {{
        let lib: &Ascend = $lib;
        match lib.acl.raw.$name.as_ref() {
            Ok(f) => lib.check_acl(stringify!($name), unsafe { f($($arg),*) }),
            Err(_) => Err(lib.absent_acl(stringify!($name))),
        }
    }};
}

/// `aclInit` may run once per process; count users so `aclFinalize` runs after the last.
static ACL_USERS: Mutex<usize> = Mutex::new(0);

fn acl_acquire(lib: &'static Ascend) -> AscendResult<()> {
    let mut n = ACL_USERS.lock().unwrap_or_else(|e| e.into_inner());
    if *n == 0 {
        acl!(lib, aclInit(std::ptr::null()))?;
    }
    *n += 1;
    Ok(())
}

fn acl_release(lib: &'static Ascend) {
    let mut n = ACL_USERS.lock().unwrap_or_else(|e| e.into_inner());
    *n = n.saturating_sub(1);
    if *n == 0 {
        if let Ok(f) = lib.acl.raw.aclFinalize.as_ref() {
            unsafe { f() };
        }
    }
}

/// One NPU made current for this thread (`aclrtSetDevice` .. `aclrtResetDevice`).
pub struct Device {
    lib: &'static Ascend,
    id: i32,
}

impl Device {
    /// Number of NPUs ACL sees (initializes ACL for the duration of the call).
    pub fn count(lib: &'static Ascend) -> AscendResult<u32> {
        acl_acquire(lib)?;
        let mut n = 0u32;
        let r = acl!(lib, aclrtGetDeviceCount(&mut n));
        acl_release(lib);
        r.map(|_| n)
    }

    pub fn open(lib: &'static Ascend, id: i32) -> AscendResult<Rc<Device>> {
        acl_acquire(lib)?;
        if let Err(e) = acl!(lib, aclrtSetDevice(id)) {
            acl_release(lib);
            return Err(e);
        }
        Ok(Rc::new(Device { lib, id }))
    }

    getters!(id: i32, lib: &'static Ascend);

    /// (free, total) bytes of device memory (HBM), when the runtime says.
    pub fn mem_info(&self) -> Option<(usize, usize)> {
        let f = self.lib.acl.raw.aclrtGetMemInfo.as_ref().ok()?;
        let (mut free, mut total) = (0usize, 0usize);
        (unsafe { f(acl::ACL_HBM_MEM, &mut free, &mut total) } == 0).then_some((free, total))
    }

    /// SoC name, e.g. "Ascend910B1".
    pub fn soc_name(&self) -> Option<String> {
        let f = self.lib.acl.raw.aclrtGetSocName.as_ref().ok()?;
        let p = unsafe { f() };
        (!p.is_null()).then(|| {
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned()
        })
    }

    pub fn synchronize(&self) -> AscendResult<()> {
        acl!(self.lib, aclrtSynchronizeDevice())
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if let Ok(f) = self.lib.acl.raw.aclrtResetDevice.as_ref() {
            unsafe { f(self.id) };
        }
        acl_release(self.lib);
    }
}

/// `device_object!(DOCS Name(raw type) = create, destroy)`: a handle to an ACL object of
/// a device, made by `Name::new` (ACL's `create`) and released by `destroy` on drop.
macro_rules! device_object {
    ($(#[$m:meta])* $name:ident($raw:ty) = $create:ident, $destroy:ident) => {
        $(#[$m])*
        pub struct $name {
            dev: Rc<Device>,
            raw: $raw,
        }

        impl $name {
            pub fn new(dev: &Rc<Device>) -> AscendResult<$name> {
                let mut raw = std::ptr::null_mut();
                acl!(dev.lib, $create(&mut raw))?;
                Ok($name { dev: dev.clone(), raw })
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                unsafe { self.dev.lib.acl.raw.$destroy(self.raw) };
            }
        }
    };
}

device_object! {
    /// An ACL stream.
    Stream(acl::aclrtStream) = aclrtCreateStream, aclrtDestroyStream
}

device_object! {
    /// An ACL event, for timing work on a stream.
    Event(acl::aclrtEvent) = aclrtCreateEvent, aclrtDestroyEvent
}

impl Stream {
    getters!(raw: acl::aclrtStream);
    pub fn synchronize(&self) -> AscendResult<()> {
        acl!(self.dev.lib, aclrtSynchronizeStream(self.raw))
    }
}

impl Event {
    pub fn record(&self, stream: &Stream) -> AscendResult<()> {
        acl!(self.dev.lib, aclrtRecordEvent(self.raw, stream.raw))
    }
    /// Whether the work recorded before the event is complete (`aclrtQueryEventStatus`).
    pub fn query(&self) -> AscendResult<bool> {
        let mut st: acl::aclrtEventRecordedStatus = acl::ACL_EVENT_RECORDED_STATUS_NOT_READY;
        acl!(self.dev.lib, aclrtQueryEventStatus(self.raw, &mut st) optional)?;
        Ok(st == acl::ACL_EVENT_RECORDED_STATUS_COMPLETE)
    }
    /// Blocks until the work recorded before the event is complete.
    pub fn synchronize(&self) -> AscendResult<()> {
        acl!(self.dev.lib, aclrtSynchronizeEvent(self.raw) optional)
    }
    /// Milliseconds from `self` to `end`; both must have completed.
    pub fn elapsed_ms(&self, end: &Event) -> AscendResult<f32> {
        let mut ms = 0f32;
        acl!(
            self.dev.lib,
            aclrtEventElapsedTime(&mut ms, self.raw, end.raw)
        )?;
        Ok(ms)
    }
}

/// Device memory from `aclrtMalloc` (policy HUGE_FIRST, as hccl_test).
pub struct DevBuf {
    dev: Rc<Device>,
    ptr: *mut c_void,
    len: usize,
}

impl DevBuf {
    pub fn alloc(dev: &Rc<Device>, len: usize) -> AscendResult<DevBuf> {
        let mut ptr: *mut c_void = std::ptr::null_mut();
        // aclrtMalloc rejects size 0; a 0-byte buffer still needs a valid address.
        let policy = acl::ACL_MEM_MALLOC_HUGE_FIRST;
        acl!(dev.lib, aclrtMalloc(&mut ptr, len.max(1), policy))?;
        Ok(DevBuf {
            dev: dev.clone(),
            ptr,
            len,
        })
    }
    /// Device address of byte `offset` (≤ len).
    pub fn ptr_at(&self, offset: usize) -> *mut c_void {
        assert!(
            offset <= self.len,
            "offset {offset} past a {}-byte buffer",
            self.len
        );
        unsafe { self.ptr.cast::<u8>().add(offset).cast() }
    }
    /// Copies `data` to byte `offset` (host to device, synchronous).
    pub fn write(&mut self, offset: usize, data: &[u8]) -> AscendResult<()> {
        assert!(
            offset + data.len() <= self.len,
            "write past the end of a device buffer"
        );
        if data.is_empty() {
            return Ok(());
        }
        let (dst, max) = (self.ptr_at(offset), self.len - offset);
        let kind = acl::ACL_MEMCPY_HOST_TO_DEVICE;
        acl!(
            self.dev.lib,
            aclrtMemcpy(dst, max, data.as_ptr().cast(), data.len(), kind)
        )
    }
    /// Copies from byte `offset` into `out` (device to host, synchronous).
    pub fn read(&self, offset: usize, out: &mut [u8]) -> AscendResult<()> {
        assert!(
            offset + out.len() <= self.len,
            "read past the end of a device buffer"
        );
        if out.is_empty() {
            return Ok(());
        }
        let (src, n) = (self.ptr_at(offset), out.len());
        let kind = acl::ACL_MEMCPY_DEVICE_TO_HOST;
        acl!(
            self.dev.lib,
            aclrtMemcpy(out.as_mut_ptr().cast(), n, src, n, kind)
        )
    }
}

impl Drop for DevBuf {
    fn drop(&mut self) {
        unsafe { self.dev.lib.acl.raw.aclrtFree(self.ptr) };
    }
}

/// The root info rank 0 creates and every rank passes to `HcclCommInitRootInfo`.
pub struct RootInfo(pub Box<hccl::HcclRootInfo>);

const BLANK_ROOT_INFO: hccl::HcclRootInfo = hccl::HcclRootInfo {
    internal: [0; ROOT_INFO_BYTES],
};

impl RootInfo {
    pub fn new(lib: &'static Ascend) -> AscendResult<RootInfo> {
        let mut ri = Box::new(BLANK_ROOT_INFO);
        let h = &lib.hccl;
        let f = hccl_fn!(h, HcclGetRootInfo).expect("checked at load");
        lib.check_hccl("HcclGetRootInfo", unsafe { f(&mut *ri) })?;
        Ok(RootInfo(ri))
    }
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.internal.iter().map(|&c| c as u8).collect()
    }
    pub fn from_bytes(b: &[u8]) -> RootInfo {
        let mut ri = Box::new(BLANK_ROOT_INFO);
        copy_into_chars(&mut ri.internal, b);
        RootInfo(ri)
    }
}

/// One rank's HCCL communicator; destroyed on drop.
pub struct Comm {
    lib: &'static Ascend,
    raw: hccl::HcclComm,
    rank: usize,
    nranks: usize,
}

/// Calls HCCL's `name`, from libhccl.so or libhcomm.so, on communicator `s` (or through
/// `lib` at `rank`) and checks its result; a library that has neither is an error too.
macro_rules! hccl {
    ($s:ident, $name:ident($($arg:expr),*)) => {
        hccl!($s.lib, $s.rank; $name($($arg),*))
    };
    ($lib:expr, $rank:expr; $name:ident($($arg:expr),*)) => {{
        let lib: &Ascend = $lib;
        match hccl_fn!(&lib.hccl, $name) {
            Some(f) => lib.check_hccl(stringify!($name), f($($arg),*)),
            None => Err(lib.absent_hccl(stringify!($name))),
        }
        .map_err(|e| e.with_rank($rank))
    }};
}

impl Comm {
    /// `HcclCommInitRootInfo`; the caller must have opened the rank's device.
    pub fn init_root_info(
        lib: &'static Ascend,
        nranks: usize,
        root: &RootInfo,
        rank: usize,
    ) -> AscendResult<Comm> {
        let mut raw = std::ptr::null_mut();
        let (n, r) = (nranks as u32, rank as u32);
        // SAFETY: the root info and the handle are live locals of the types hccl.h declares.
        unsafe { hccl!(lib, rank; HcclCommInitRootInfo(n, &*root.0, r, &mut raw)) }?;
        Ok(Comm {
            lib,
            raw,
            rank,
            nranks,
        })
    }

    /// `HcclCreateSubCommConfig`: a communicator over `rank_ids` (ranks of `self`, the
    /// global communicator, in the new one's rank order), collective over those ranks
    /// only. `sub_id` must be the same on all of them and unique within `self`;
    /// `sub_rank` is this rank's place in `rank_ids`. The config is initialized as
    /// hccl.h's inline `HcclCommConfigInit` does (size, magic word, version, "not set").
    pub fn create_sub_comm(
        &self,
        rank_ids: &[u32],
        sub_id: u64,
        sub_rank: usize,
    ) -> AscendResult<Comm> {
        let mut config = config_init();
        let mut ids = rank_ids.to_vec();
        let mut parent = self.raw;
        let mut raw: hccl::HcclComm = std::ptr::null_mut();
        // SAFETY: every pointer is to a live local of the type the header declares.
        unsafe {
            hccl!(
                self,
                HcclCreateSubCommConfig(
                    &mut parent,
                    ids.len() as u32,
                    ids.as_mut_ptr(),
                    sub_id,
                    sub_rank as u32,
                    &mut config,
                    &mut raw
                )
            )
        }?;
        Ok(Comm {
            lib: self.lib,
            raw,
            rank: sub_rank,
            nranks: rank_ids.len(),
        })
    }

    getters!(rank: usize, nranks: usize, raw: hccl::HcclComm);

    /// Whether the loaded HCCL has the function (e.g. "HcclReduce", "HcclAlltoAll").
    pub fn has(&self, name: &str) -> bool {
        let h = &self.lib.hccl;
        symbols!(hccl_fn(h);
            HcclReduce, HcclAlltoAll, HcclScatter, HcclBatchSendRecv, HcclCreateSubCommConfig,
            HcclSend)
        .contains(&(name, true))
    }

    // In the order hccl.h declares them.
    calls! { via hccl -> AscendResult<()>;
        /// # Safety
        /// Buffers are device memory of the sizes HCCL documents for the call; `stream`
        /// belongs to this rank's device.
        fn all_reduce(&self, send: *mut c_void, recv: *mut c_void, count: u64,
            dtype: hccl::HcclDataType, op: hccl::HcclReduceOp, stream: acl::aclrtStream)
            => HcclAllReduce(send, recv, count, dtype, op, self.raw, stream);

        /// In place only, as HCCL defines it.
        ///
        /// # Safety
        /// As [`Comm::all_reduce`].
        fn broadcast(&self, buf: *mut c_void, count: u64, dtype: hccl::HcclDataType, root: u32,
            stream: acl::aclrtStream)
            => HcclBroadcast(buf, count, dtype, root, self.raw, stream);

        /// # Safety
        /// As [`Comm::all_reduce`].
        fn reduce_scatter(&self, send: *mut c_void, recv: *mut c_void, recv_count: u64,
            dtype: hccl::HcclDataType, op: hccl::HcclReduceOp, stream: acl::aclrtStream)
            => HcclReduceScatter(send, recv, recv_count, dtype, op, self.raw, stream);

        /// # Safety
        /// As [`Comm::all_reduce`].
        fn scatter(&self, send: *mut c_void, recv: *mut c_void, recv_count: u64,
            dtype: hccl::HcclDataType, root: u32, stream: acl::aclrtStream)
            => HcclScatter(send, recv, recv_count, dtype, root, self.raw, stream);

        /// # Safety
        /// As [`Comm::all_reduce`].
        fn all_gather(&self, send: *mut c_void, recv: *mut c_void, send_count: u64,
            dtype: hccl::HcclDataType, stream: acl::aclrtStream)
            => HcclAllGather(send, recv, send_count, dtype, self.raw, stream);

        /// `HcclSend`: `count` elements to `dest`.
        ///
        /// # Safety
        /// `buf` is device memory of `count` elements.
        fn send(&self, buf: *mut c_void, count: u64, dtype: hccl::HcclDataType, dest: u32,
            stream: acl::aclrtStream)
            => HcclSend(buf, count, dtype, dest, self.raw, stream);

        /// `HcclRecv`: `count` elements from `src`.
        ///
        /// # Safety
        /// As [`Comm::send`].
        fn recv(&self, buf: *mut c_void, count: u64, dtype: hccl::HcclDataType, src: u32,
            stream: acl::aclrtStream)
            => HcclRecv(buf, count, dtype, src, self.raw, stream);

        /// # Safety
        /// As [`Comm::all_reduce`].
        fn alltoall(&self, send: *const c_void, recv: *const c_void, count: u64,
            dtype: hccl::HcclDataType, stream: acl::aclrtStream)
            => HcclAlltoAll(send, count, dtype, recv, count, dtype, self.raw, stream);

        /// # Safety
        /// As [`Comm::all_reduce`].
        fn reduce(&self, send: *mut c_void, recv: *mut c_void, count: u64,
            dtype: hccl::HcclDataType, op: hccl::HcclReduceOp, root: u32, stream: acl::aclrtStream)
            => HcclReduce(send, recv, count, dtype, op, root, self.raw, stream);

        /// Sends to and receives from peers in one call (`HcclBatchSendRecv`).
        ///
        /// # Safety
        /// Each item's buffer is device memory of its count.
        fn batch_send_recv(&self, items: &mut [hccl::HcclSendRecvItem], stream: acl::aclrtStream)
            => HcclBatchSendRecv(items.as_mut_ptr(), items.len() as u32, self.raw, stream);
    }
}

impl Drop for Comm {
    fn drop(&mut self) {
        let h = &self.lib.hccl;
        if let Some(f) = hccl_fn!(h, HcclCommDestroy) {
            unsafe { f(self.raw) };
        }
    }
}

/// hccl.h's inline `HcclCommConfigInit`: the first 24 bytes are `{size_t size; uint32_t
/// magicWord; uint32_t version; uint64_t reserved}`, then every option "not set".
pub fn config_init() -> hccl::HcclCommConfig {
    // SAFETY: a plain C struct of integers and char arrays; all-zero is a valid value.
    let mut c: hccl::HcclCommConfig = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<hccl::HcclCommConfig>() as u64;
    c.reserved[0..8]
        .iter_mut()
        .zip(size.to_ne_bytes())
        .for_each(|(d, s)| *d = s as std::os::raw::c_char);
    c.reserved[8..12]
        .iter_mut()
        .zip(hccl::HCCL_COMM_CONFIG_MAGIC_WORD.to_ne_bytes())
        .for_each(|(d, s)| *d = s as std::os::raw::c_char);
    c.reserved[12..16]
        .iter_mut()
        .zip(hccl::HCCL_COMM_CONFIG_VERSION.to_ne_bytes())
        .for_each(|(d, s)| *d = s as std::os::raw::c_char);
    c.hcclBufferSize = hccl::HCCL_COMM_BUFFSIZE_CONFIG_NOT_SET;
    c.hcclDeterministic = hccl::HCCL_COMM_DETERMINISTIC_CONFIG_NOT_SET;
    c.hcclOpExpansionMode = hccl::HCCL_COMM_DEFAULT_OP_EXPANSION_MODE;
    c.hcclRdmaTrafficClass = hccl::HCCL_COMM_TRAFFIC_CLASS_CONFIG_NOT_SET;
    c.hcclRdmaServiceLevel = hccl::HCCL_COMM_SERVICE_LEVEL_CONFIG_NOT_SET;
    c
}
