//! What the MPI backend needs below MPI's C API: error strings, int counts, the
//! user-defined 16-bit reductions, and avg's scale by 1/n.

use crate::error::{BenchError, Result};
use crate::types::DataType;
use half::{bf16, f16};
use mpi::ffi;
use std::os::raw::{c_int, c_void};

extern "C" {
    /// `MPI_IN_PLACE` (a macro in mpi.h; src/backend/mpi_shim.c returns it).
    pub fn xccl_mpi_in_place() -> *mut c_void;
}

macro_rules! half_op {
    ($name:ident, $t:ty, $f:expr) => {
        pub unsafe extern "C" fn $name(
            inv: *mut c_void,
            inout: *mut c_void,
            len: *mut c_int,
            _dt: *mut ffi::MPI_Datatype,
        ) {
            let n = *len as usize;
            let a = std::slice::from_raw_parts(inv as *const $t, n);
            let b = std::slice::from_raw_parts_mut(inout as *mut $t, n);
            let f: fn($t, $t) -> $t = $f;
            for (x, y) in a.iter().zip(b.iter_mut()) {
                *y = f(*x, *y);
            }
        }
    };
}
half_op!(f16_sum, f16, |a, b| a + b);
half_op!(f16_prod, f16, |a, b| a * b);
half_op!(f16_max, f16, |a, b| if a > b { a } else { b });
half_op!(f16_min, f16, |a, b| if a < b { a } else { b });
half_op!(bf16_sum, bf16, |a, b| a + b);
half_op!(bf16_prod, bf16, |a, b| a * b);
half_op!(bf16_max, bf16, |a, b| if a > b { a } else { b });
half_op!(bf16_min, bf16, |a, b| if a < b { a } else { b });

pub type UserFn =
    unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_int, *mut ffi::MPI_Datatype);

pub fn check(rc: c_int, what: &str) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        let mut buf = vec![0u8; 512];
        let mut len: c_int = 0;
        // SAFETY: buffer is MPI_MAX_ERROR_STRING-sized or larger.
        unsafe { ffi::MPI_Error_string(rc, buf.as_mut_ptr() as *mut _, &mut len) };
        buf.truncate(len.max(0) as usize);
        Err(BenchError::Backend(format!(
            "{what} failed: {} (MPI error {rc})",
            String::from_utf8_lossy(&buf)
        )))
    }
}

/// Scales `count` elements at `p` by 1/n: the second half of avg.
///
/// # Safety
/// `p` points at `count` elements of type `t` inside a live buffer.
pub unsafe fn scale(t: DataType, p: *mut c_void, count: usize, n: usize) {
    // SAFETY: p points at `count` elements of type t inside a live buffer.
    unsafe {
        match t {
            DataType::Int8 => sc(p as *mut i8, count, |v| v / n as i8),
            DataType::Uint8 => sc(p as *mut u8, count, |v| v / n as u8),
            DataType::Int32 => sc(p as *mut i32, count, |v| v / n as i32),
            DataType::Uint32 => sc(p as *mut u32, count, |v| v / n as u32),
            DataType::Int64 => sc(p as *mut i64, count, |v| v / n as i64),
            DataType::Uint64 => sc(p as *mut u64, count, |v| v / n as u64),
            DataType::Half => sc(p as *mut f16, count, |v| {
                f16::from_f64(v.to_f64() / n as f64)
            }),
            DataType::Bfloat16 => sc(p as *mut bf16, count, |v| {
                bf16::from_f64(v.to_f64() / n as f64)
            }),
            DataType::Float => sc(p as *mut f32, count, |v| (v as f64 / n as f64) as f32),
            DataType::Double => sc(p as *mut f64, count, |v| v / n as f64),
            DataType::F8e4m3 | DataType::F8e5m2 => {
                unreachable!("fp8 reductions are refused in support()")
            }
        }
    }
    unsafe fn sc<T: Copy>(p: *mut T, count: usize, f: impl Fn(T) -> T) {
        for x in std::slice::from_raw_parts_mut(p, count) {
            *x = f(*x);
        }
    }
}

pub fn mpi_count(n: usize, what: &str) -> Result<c_int> {
    c_int::try_from(n).map_err(|_| {
        BenchError::Usage(format!(
            "{what}: {n} elements exceed MPI's int count limit ({}); use a smaller -e or a larger type",
            c_int::MAX
        ))
    })
}
