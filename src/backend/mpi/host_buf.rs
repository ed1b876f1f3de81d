//! The MPI backend's buffers: host memory of their own mapping.

use crate::error::{BenchError, Result};
use std::os::raw::c_void;
use std::ptr::NonNull;

/// Page-aligned, zero-initialized host memory that MPI reads and writes through raw
/// pointers (send and receive may alias for in-place calls).
///
/// Always its own anonymous mapping, never the heap: where glibc puts a large block
/// depends on what the process freed before (its mmap threshold moves), and a heap block
/// measured up to 2× slower in MPI calls of 256 KiB–4 MiB than a fresh mapping
/// (docs/PERFORMANCE.md; transparent huge pages played no part there: they were
/// `madvise`-only). A fresh mapping is what
/// OSU's `posix_memalign` gets in a fresh process, and it does not depend on the harness's
/// own allocations.
pub struct HostBuf {
    pub(super) ptr: NonNull<u8>,
    pub(super) len: usize,
}

impl HostBuf {
    /// `len` bytes of their own mapping.
    pub fn new(len: usize) -> Result<Self> {
        // SAFETY: an anonymous private mapping; checked for MAP_FAILED below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len.max(1),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(BenchError::Memory(format!(
                "could not map {len} bytes of host memory: {}",
                std::io::Error::last_os_error()
            )));
        }
        let ptr = NonNull::new(p as *mut u8).expect("mmap does not return null");
        Ok(HostBuf { ptr, len })
    }
    /// Start of the buffer (for benchmarks that compare against bare MPI calls).
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub(super) fn at(&self, elem_offset: usize, elem: usize) -> *mut c_void {
        debug_assert!(elem_offset * elem <= self.len);
        // SAFETY: offsets are computed from the counts the buffer was sized for.
        unsafe { self.ptr.as_ptr().add(elem_offset * elem) as *mut c_void }
    }
}

impl Drop for HostBuf {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with this length.
        unsafe { libc::munmap(self.ptr.as_ptr() as *mut c_void, self.len.max(1)) };
    }
}
