//! RAII handles over the ACL runtime and HCCL: each releases what it holds on drop, and
//! each device-side object keeps its [`Device`] (and through it the ACL runtime) alive,
//! so dropping in any order is safe.

use crate::ffi::{acl, hccl};
use crate::lib_handle::Ascend;
use crate::result::{AscendError, AscendResult};
use std::os::raw::c_void;
use std::rc::Rc;
use std::sync::Mutex;

/// Size of `HcclRootInfo`, what rank 0 broadcasts to the others.
pub const ROOT_INFO_BYTES: usize = hccl::HCCL_ROOT_INFO_BYTES as usize;
const _: () = assert!(std::mem::size_of::<hccl::HcclRootInfo>() == ROOT_INFO_BYTES);

/// `aclInit` may run once per process; count users so `aclFinalize` runs after the last.
static ACL_USERS: Mutex<usize> = Mutex::new(0);

fn acl_acquire(lib: &'static Ascend) -> AscendResult<()> {
    let mut n = ACL_USERS.lock().unwrap_or_else(|e| e.into_inner());
    if *n == 0 {
        lib.check_acl("aclInit", unsafe { lib.acl.raw.aclInit(std::ptr::null()) })?;
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
        let r = lib.check_acl("aclrtGetDeviceCount", unsafe {
            lib.acl.raw.aclrtGetDeviceCount(&mut n)
        });
        acl_release(lib);
        r.map(|_| n)
    }

    pub fn open(lib: &'static Ascend, id: i32) -> AscendResult<Rc<Device>> {
        acl_acquire(lib)?;
        if let Err(e) = lib.check_acl("aclrtSetDevice", unsafe { lib.acl.raw.aclrtSetDevice(id) }) {
            acl_release(lib);
            return Err(e);
        }
        Ok(Rc::new(Device { lib, id }))
    }

    pub fn id(&self) -> i32 {
        self.id
    }
    pub fn lib(&self) -> &'static Ascend {
        self.lib
    }

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
        self.lib.check_acl("aclrtSynchronizeDevice", unsafe {
            self.lib.acl.raw.aclrtSynchronizeDevice()
        })
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

/// An ACL stream.
pub struct Stream {
    dev: Rc<Device>,
    raw: acl::aclrtStream,
}

impl Stream {
    pub fn new(dev: &Rc<Device>) -> AscendResult<Stream> {
        let lib = dev.lib;
        let mut raw: acl::aclrtStream = std::ptr::null_mut();
        lib.check_acl("aclrtCreateStream", unsafe {
            lib.acl.raw.aclrtCreateStream(&mut raw)
        })?;
        Ok(Stream {
            dev: dev.clone(),
            raw,
        })
    }
    pub fn raw(&self) -> acl::aclrtStream {
        self.raw
    }
    pub fn synchronize(&self) -> AscendResult<()> {
        let lib = self.dev.lib;
        lib.check_acl("aclrtSynchronizeStream", unsafe {
            lib.acl.raw.aclrtSynchronizeStream(self.raw)
        })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        unsafe { self.dev.lib.acl.raw.aclrtDestroyStream(self.raw) };
    }
}

/// An ACL event, for timing work on a stream.
pub struct Event {
    dev: Rc<Device>,
    raw: acl::aclrtEvent,
}

impl Event {
    pub fn new(dev: &Rc<Device>) -> AscendResult<Event> {
        let lib = dev.lib;
        let mut raw: acl::aclrtEvent = std::ptr::null_mut();
        lib.check_acl("aclrtCreateEvent", unsafe {
            lib.acl.raw.aclrtCreateEvent(&mut raw)
        })?;
        Ok(Event {
            dev: dev.clone(),
            raw,
        })
    }
    pub fn record(&self, stream: &Stream) -> AscendResult<()> {
        let lib = self.dev.lib;
        lib.check_acl("aclrtRecordEvent", unsafe {
            lib.acl.raw.aclrtRecordEvent(self.raw, stream.raw)
        })
    }
    /// Whether the work recorded before the event is complete (`aclrtQueryEventStatus`).
    pub fn query(&self) -> AscendResult<bool> {
        let lib = self.dev.lib;
        let f = lib
            .acl
            .raw
            .aclrtQueryEventStatus
            .as_ref()
            .map_err(|_| lib.absent_acl("aclrtQueryEventStatus"))?;
        let mut st: acl::aclrtEventRecordedStatus = acl::ACL_EVENT_RECORDED_STATUS_NOT_READY;
        lib.check_acl("aclrtQueryEventStatus", unsafe { f(self.raw, &mut st) })?;
        Ok(st == acl::ACL_EVENT_RECORDED_STATUS_COMPLETE)
    }
    /// Blocks until the work recorded before the event is complete.
    pub fn synchronize(&self) -> AscendResult<()> {
        let lib = self.dev.lib;
        let f = lib
            .acl
            .raw
            .aclrtSynchronizeEvent
            .as_ref()
            .map_err(|_| lib.absent_acl("aclrtSynchronizeEvent"))?;
        lib.check_acl("aclrtSynchronizeEvent", unsafe { f(self.raw) })
    }
    /// Milliseconds from `self` to `end`; both must have completed.
    pub fn elapsed_ms(&self, end: &Event) -> AscendResult<f32> {
        let lib = self.dev.lib;
        let mut ms = 0f32;
        lib.check_acl("aclrtEventElapsedTime", unsafe {
            lib.acl
                .raw
                .aclrtEventElapsedTime(&mut ms, self.raw, end.raw)
        })?;
        Ok(ms)
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        unsafe { self.dev.lib.acl.raw.aclrtDestroyEvent(self.raw) };
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
        let lib = dev.lib;
        let mut ptr: *mut c_void = std::ptr::null_mut();
        // aclrtMalloc rejects size 0; a 0-byte buffer still needs a valid address.
        lib.check_acl("aclrtMalloc", unsafe {
            lib.acl
                .raw
                .aclrtMalloc(&mut ptr, len.max(1), acl::ACL_MEM_MALLOC_HUGE_FIRST)
        })?;
        Ok(DevBuf {
            dev: dev.clone(),
            ptr,
            len,
        })
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
        let lib = self.dev.lib;
        lib.check_acl("aclrtMemcpy", unsafe {
            lib.acl.raw.aclrtMemcpy(
                self.ptr_at(offset),
                self.len - offset,
                data.as_ptr().cast(),
                data.len(),
                acl::ACL_MEMCPY_HOST_TO_DEVICE,
            )
        })
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
        let lib = self.dev.lib;
        lib.check_acl("aclrtMemcpy", unsafe {
            lib.acl.raw.aclrtMemcpy(
                out.as_mut_ptr().cast(),
                out.len(),
                self.ptr_at(offset),
                out.len(),
                acl::ACL_MEMCPY_DEVICE_TO_HOST,
            )
        })
    }
}

impl Drop for DevBuf {
    fn drop(&mut self) {
        unsafe { self.dev.lib.acl.raw.aclrtFree(self.ptr) };
    }
}

/// The root info rank 0 creates and every rank passes to `HcclCommInitRootInfo`.
pub struct RootInfo(pub Box<hccl::HcclRootInfo>);

impl RootInfo {
    pub fn new(lib: &'static Ascend) -> AscendResult<RootInfo> {
        let mut ri = Box::new(hccl::HcclRootInfo {
            internal: [0; ROOT_INFO_BYTES],
        });
        let h = &lib.hccl;
        let f = hccl_fn!(h, HcclGetRootInfo).expect("checked at load");
        lib.check_hccl("HcclGetRootInfo", unsafe { f(&mut *ri) })?;
        Ok(RootInfo(ri))
    }
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.internal.iter().map(|&c| c as u8).collect()
    }
    pub fn from_bytes(b: &[u8]) -> RootInfo {
        let mut ri = Box::new(hccl::HcclRootInfo {
            internal: [0; ROOT_INFO_BYTES],
        });
        for (d, s) in ri.internal.iter_mut().zip(b) {
            *d = *s as std::os::raw::c_char;
        }
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

macro_rules! call {
    ($self:ident, $name:ident ( $($arg:expr),* )) => {{
        let h = &$self.lib.hccl;
        match hccl_fn!(h, $name) {
            Some(f) => $self
                .lib
                .check_hccl(stringify!($name), f($($arg),*))
                .map_err(|e| e.with_rank($self.rank)),
            None => Err(AscendError {
                call: stringify!($name),
                code: hccl::HCCL_E_NOT_SUPPORT as i64,
                name: "HCCL_E_NOT_SUPPORT",
                message: Some(format!("{} has no {}", h.path.display(), stringify!($name))),
                rank: Some($self.rank),
                host: crate::common::libsearch::hostname(),
            }),
        }
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
        let mut raw: hccl::HcclComm = std::ptr::null_mut();
        let h = &lib.hccl;
        let f = hccl_fn!(h, HcclCommInitRootInfo).expect("checked at load");
        lib.check_hccl("HcclCommInitRootInfo", unsafe {
            f(nranks as u32, &*root.0, rank as u32, &mut raw)
        })
        .map_err(|e| e.with_rank(rank))?;
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
            call!(
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

    pub fn rank(&self) -> usize {
        self.rank
    }
    pub fn nranks(&self) -> usize {
        self.nranks
    }
    pub fn raw(&self) -> hccl::HcclComm {
        self.raw
    }
    /// Whether the loaded HCCL has the function (e.g. "HcclReduce", "HcclAlltoAll").
    pub fn has(&self, name: &str) -> bool {
        let h = &self.lib.hccl;
        match name {
            "HcclReduce" => hccl_fn!(h, HcclReduce).is_some(),
            "HcclAlltoAll" => hccl_fn!(h, HcclAlltoAll).is_some(),
            "HcclScatter" => hccl_fn!(h, HcclScatter).is_some(),
            "HcclBatchSendRecv" => hccl_fn!(h, HcclBatchSendRecv).is_some(),
            "HcclCreateSubCommConfig" => hccl_fn!(h, HcclCreateSubCommConfig).is_some(),
            "HcclSend" => hccl_fn!(h, HcclSend).is_some(),
            _ => false,
        }
    }

    /// # Safety
    /// Buffers are device memory of the sizes HCCL documents for the call; `stream`
    /// belongs to this rank's device.
    pub unsafe fn all_reduce(
        &self,
        send: *mut c_void,
        recv: *mut c_void,
        count: u64,
        dtype: hccl::HcclDataType,
        op: hccl::HcclReduceOp,
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(
            self,
            HcclAllReduce(send, recv, count, dtype, op, self.raw, stream)
        )
    }

    /// In place only, as HCCL defines it.
    ///
    /// # Safety
    /// As [`Comm::all_reduce`].
    pub unsafe fn broadcast(
        &self,
        buf: *mut c_void,
        count: u64,
        dtype: hccl::HcclDataType,
        root: u32,
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(
            self,
            HcclBroadcast(buf, count, dtype, root, self.raw, stream)
        )
    }

    /// # Safety
    /// As [`Comm::all_reduce`].
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn reduce(
        &self,
        send: *mut c_void,
        recv: *mut c_void,
        count: u64,
        dtype: hccl::HcclDataType,
        op: hccl::HcclReduceOp,
        root: u32,
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(
            self,
            HcclReduce(send, recv, count, dtype, op, root, self.raw, stream)
        )
    }

    /// # Safety
    /// As [`Comm::all_reduce`].
    pub unsafe fn all_gather(
        &self,
        send: *mut c_void,
        recv: *mut c_void,
        send_count: u64,
        dtype: hccl::HcclDataType,
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(
            self,
            HcclAllGather(send, recv, send_count, dtype, self.raw, stream)
        )
    }

    /// # Safety
    /// As [`Comm::all_reduce`].
    pub unsafe fn reduce_scatter(
        &self,
        send: *mut c_void,
        recv: *mut c_void,
        recv_count: u64,
        dtype: hccl::HcclDataType,
        op: hccl::HcclReduceOp,
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(
            self,
            HcclReduceScatter(send, recv, recv_count, dtype, op, self.raw, stream)
        )
    }

    /// # Safety
    /// As [`Comm::all_reduce`].
    pub unsafe fn scatter(
        &self,
        send: *mut c_void,
        recv: *mut c_void,
        recv_count: u64,
        dtype: hccl::HcclDataType,
        root: u32,
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(
            self,
            HcclScatter(send, recv, recv_count, dtype, root, self.raw, stream)
        )
    }

    /// # Safety
    /// As [`Comm::all_reduce`].
    pub unsafe fn alltoall(
        &self,
        send: *const c_void,
        recv: *const c_void,
        count: u64,
        dtype: hccl::HcclDataType,
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(
            self,
            HcclAlltoAll(send, count, dtype, recv, count, dtype, self.raw, stream)
        )
    }

    /// `HcclSend`: `count` elements to `dest`.
    ///
    /// # Safety
    /// `buf` is device memory of `count` elements.
    pub unsafe fn send(
        &self,
        buf: *mut c_void,
        count: u64,
        dtype: hccl::HcclDataType,
        dest: u32,
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(self, HcclSend(buf, count, dtype, dest, self.raw, stream))
    }

    /// `HcclRecv`: `count` elements from `src`.
    ///
    /// # Safety
    /// As [`Comm::send`].
    pub unsafe fn recv(
        &self,
        buf: *mut c_void,
        count: u64,
        dtype: hccl::HcclDataType,
        src: u32,
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(self, HcclRecv(buf, count, dtype, src, self.raw, stream))
    }

    /// Sends to and receives from peers in one call (`HcclBatchSendRecv`).
    ///
    /// # Safety
    /// Each item's buffer is device memory of its count.
    pub unsafe fn batch_send_recv(
        &self,
        items: &mut [hccl::HcclSendRecvItem],
        stream: acl::aclrtStream,
    ) -> AscendResult<()> {
        call!(
            self,
            HcclBatchSendRecv(items.as_mut_ptr(), items.len() as u32, self.raw, stream)
        )
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
