//! The CUDA objects the NCCL backend needs, as RAII handles over `cudarc`'s thin driver
//! API (`cudarc::driver::result`), loaded at run time.
//!
//! The driver API, not cudarc's higher-level types: those record events on every buffer
//! access for cross-stream safety, which would land inside the timed loop. Contexts are
//! the devices' primary contexts, the ones the CUDA runtime inside NCCL uses, so a stream
//! made here is a valid `cudaStream_t` for NCCL. Every handle keeps its [`Gpu`] alive and
//! makes its context current before releasing, so drop order does not matter.

use cudarc::driver::{result as cu, sys, DriverError};
use std::rc::Rc;

/// A CUDA call that failed, with the driver's name and text for the code.
pub fn describe(call: &str, e: DriverError) -> String {
    let name = e
        .error_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{:?}", e.0));
    let text = e
        .error_string()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{call}: {name}: {text}")
}

/// Whether the driver library (libcuda) can be opened; cudarc would panic on first use
/// otherwise, so this is asked first.
pub fn driver_present() -> bool {
    unsafe { sys::is_culib_present() }
}

/// Why the driver library cannot be opened, in the loader's words (for error messages;
/// cudarc tries many names, `libcuda.so.1` is the one a driver install provides).
pub fn driver_missing_reason() -> String {
    let name = c"libcuda.so.1";
    let h = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL) };
    let why = if h.is_null() {
        let e = unsafe { libc::dlerror() };
        if e.is_null() {
            "libcuda.so.1: not found".to_string()
        } else {
            unsafe { std::ffi::CStr::from_ptr(e) }
                .to_string_lossy()
                .into_owned()
        }
    } else {
        unsafe { libc::dlclose(h) };
        "libcuda.so.1 loads, but lacks the driver API cudarc needs".to_string()
    };
    format!(
        "{why} (dynamic loader path, LD_LIBRARY_PATH={}); is the NVIDIA driver installed?",
        std::env::var("LD_LIBRARY_PATH").unwrap_or_default()
    )
}

/// `cuInit` and the number of devices.
pub fn init_and_count() -> Result<usize, String> {
    cu::init().map_err(|e| describe("cuInit", e))?;
    cu::device::get_count()
        .map(|n| n as usize)
        .map_err(|e| describe("cuDeviceGetCount", e))
}

/// One GPU's primary context, retained while this lives.
pub struct Gpu {
    pub ordinal: i32,
    dev: sys::CUdevice,
    ctx: sys::CUcontext,
}

impl Gpu {
    pub fn open(ordinal: i32) -> Result<Rc<Gpu>, String> {
        let dev = cu::device::get(ordinal).map_err(|e| describe("cuDeviceGet", e))?;
        let ctx = unsafe { cu::primary_ctx::retain(dev) }
            .map_err(|e| describe("cuDevicePrimaryCtxRetain", e))?;
        let g = Gpu { ordinal, dev, ctx };
        g.make_current()?;
        Ok(Rc::new(g))
    }

    pub fn make_current(&self) -> Result<(), String> {
        unsafe { cu::ctx::set_current(self.ctx) }.map_err(|e| describe("cuCtxSetCurrent", e))
    }

    pub fn name(&self) -> String {
        cu::device::get_name(self.dev).unwrap_or_else(|_| "unknown GPU".into())
    }

    /// PCI bus id, e.g. "0000:1B:00.0".
    pub fn pci_bus_id(&self) -> String {
        let mut buf = [0 as std::os::raw::c_char; 32];
        let rc = unsafe { sys::cuDeviceGetPCIBusId(buf.as_mut_ptr(), buf.len() as i32, self.dev) };
        if rc != sys::CUresult::CUDA_SUCCESS {
            return "unknown bus id".into();
        }
        unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    /// Free bytes of device memory.
    pub fn free_memory(&self) -> Option<u64> {
        self.make_current().ok()?;
        cu::mem_get_info().ok().map(|(free, _)| free as u64)
    }
}

impl Drop for Gpu {
    fn drop(&mut self) {
        unsafe {
            let _ = cu::primary_ctx::release(self.dev);
        }
    }
}

/// A non-blocking stream on one GPU.
pub struct Stream {
    gpu: Rc<Gpu>,
    raw: sys::CUstream,
}

impl Stream {
    pub fn new(gpu: &Rc<Gpu>) -> Result<Stream, String> {
        gpu.make_current()?;
        let raw = cu::stream::create(cu::stream::StreamKind::NonBlocking)
            .map_err(|e| describe("cuStreamCreate", e))?;
        Ok(Stream {
            gpu: gpu.clone(),
            raw,
        })
    }
    pub fn raw(&self) -> sys::CUstream {
        self.raw
    }
    pub fn synchronize(&self) -> Result<(), String> {
        unsafe { cu::stream::synchronize(self.raw) }.map_err(|e| describe("cuStreamSynchronize", e))
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.gpu.make_current();
        unsafe {
            let _ = cu::stream::destroy(self.raw);
        }
    }
}

/// A timing event.
pub struct Event {
    gpu: Rc<Gpu>,
    raw: sys::CUevent,
}

impl Event {
    pub fn new(gpu: &Rc<Gpu>) -> Result<Event, String> {
        gpu.make_current()?;
        let raw = cu::event::create(sys::CUevent_flags::CU_EVENT_DEFAULT)
            .map_err(|e| describe("cuEventCreate", e))?;
        Ok(Event {
            gpu: gpu.clone(),
            raw,
        })
    }
    pub fn record(&self, s: &Stream) -> Result<(), String> {
        unsafe { cu::event::record(self.raw, s.raw) }.map_err(|e| describe("cuEventRecord", e))
    }
    /// Whether the work before the event's record is complete (`cuEventQuery`).
    pub fn query(&self) -> Result<bool, String> {
        match unsafe { cu::event::query(self.raw) } {
            Ok(()) => Ok(true),
            Err(e) if e.0 == sys::CUresult::CUDA_ERROR_NOT_READY => Ok(false),
            Err(e) => Err(describe("cuEventQuery", e)),
        }
    }
    /// Blocks until the work before the event's record is complete.
    pub fn synchronize(&self) -> Result<(), String> {
        unsafe { cu::event::synchronize(self.raw) }.map_err(|e| describe("cuEventSynchronize", e))
    }
    /// Milliseconds from `self` to `end`, both complete.
    pub fn elapsed_ms(&self, end: &Event) -> Result<f32, String> {
        unsafe { cu::event::elapsed(self.raw, end.raw) }
            .map_err(|e| describe("cuEventElapsedTime", e))
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        let _ = self.gpu.make_current();
        unsafe {
            let _ = cu::event::destroy(self.raw);
        }
    }
}

/// Device memory (`cuMemAlloc`).
pub struct DevMem {
    gpu: Rc<Gpu>,
    ptr: sys::CUdeviceptr,
    len: usize,
}

impl DevMem {
    pub fn alloc(gpu: &Rc<Gpu>, len: usize) -> Result<DevMem, String> {
        gpu.make_current()?;
        // cuMemAlloc rejects 0 bytes; an empty buffer still needs an address.
        let ptr = unsafe { cu::malloc_sync(len.max(1)) }.map_err(|e| describe("cuMemAlloc", e))?;
        Ok(DevMem {
            gpu: gpu.clone(),
            ptr,
            len,
        })
    }
    pub fn gpu(&self) -> &Rc<Gpu> {
        &self.gpu
    }
    /// Device address of byte `offset`.
    pub fn at(&self, offset: usize) -> *mut std::ffi::c_void {
        assert!(
            offset <= self.len,
            "offset {offset} past a {}-byte device buffer",
            self.len
        );
        (self.ptr + offset as u64) as *mut std::ffi::c_void
    }
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), String> {
        assert!(
            offset + data.len() <= self.len,
            "write past the end of a device buffer"
        );
        if data.is_empty() {
            return Ok(());
        }
        self.gpu.make_current()?;
        unsafe { cu::memcpy_htod_sync(self.ptr + offset as u64, data) }
            .map_err(|e| describe("cuMemcpyHtoD", e))?;
        // From pageable memory cuMemcpyHtoD may return before the DMA lands, and the
        // collectives run on a non-blocking stream that does not wait for it: without
        // this, a kernel could read the old contents (seen on an H200: in-place avg).
        cu::ctx::synchronize().map_err(|e| describe("cuCtxSynchronize", e))
    }
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), String> {
        assert!(
            offset + out.len() <= self.len,
            "read past the end of a device buffer"
        );
        if out.is_empty() {
            return Ok(());
        }
        self.gpu.make_current()?;
        unsafe { cu::memcpy_dtoh_sync(out, self.ptr + offset as u64) }
            .map_err(|e| describe("cuMemcpyDtoH", e))
    }
}

impl Drop for DevMem {
    fn drop(&mut self) {
        let _ = self.gpu.make_current();
        unsafe {
            let _ = cu::free_sync(self.ptr);
        }
    }
}

/// A captured and instantiated CUDA graph (`-G`), destroyed on drop.
pub struct Graph {
    graph: sys::CUgraph,
    exec: sys::CUgraphExec,
}

impl Graph {
    /// Captures what `issue` enqueues on `s` (thread-local capture mode, as NCCL asks).
    pub fn capture(
        s: &Stream,
        issue: impl FnOnce() -> Result<(), String>,
    ) -> Result<Graph, String> {
        unsafe {
            cu::stream::begin_capture(
                s.raw,
                sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL,
            )
        }
        .map_err(|e| describe("cuStreamBeginCapture", e))?;
        let issued = issue();
        let graph = unsafe { cu::stream::end_capture(s.raw) }
            .map_err(|e| describe("cuStreamEndCapture", e));
        issued?;
        let graph = graph?;
        let exec = unsafe { cu::graph::instantiate(graph, sys::CUgraphInstantiate_flags(0)) }
            .map_err(|e| {
                unsafe {
                    let _ = cu::graph::destroy(graph);
                }
                describe("cuGraphInstantiate", e)
            })?;
        Ok(Graph { graph, exec })
    }
    pub fn launch(&self, s: &Stream) -> Result<(), String> {
        unsafe { cu::graph::launch(self.exec, s.raw) }.map_err(|e| describe("cuGraphLaunch", e))
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        unsafe {
            let _ = cu::graph::exec_destroy(self.exec);
            let _ = cu::graph::destroy(self.graph);
        }
    }
}
