//! The opened NCCL library, shared by the loader that fills it and the layers that call
//! through it: its function table, the file it came from, its version and what that
//! version has.

use crate::ffi::sys;
use std::path::PathBuf;

/// The opened library: its function table, the file it came from and its version.
pub struct NcclLib {
    pub raw: sys::Nccl,
    pub path: PathBuf,
    /// `NCCL_VERSION_CODE` of the loaded library (e.g. 23203 for 2.32.3).
    pub version_code: i32,
}

impl NcclLib {
    /// "2.32.3".
    pub fn version(&self) -> String {
        version_string(self.version_code)
    }

    /// Whether the library has `ncclAlltoAll`/`ncclGather`/`ncclScatter` (NCCL 2.28+).
    pub fn has_alltoall(&self) -> bool {
        self.raw.ncclAlltoAll.is_ok()
    }
    pub fn has_gather(&self) -> bool {
        self.raw.ncclGather.is_ok()
    }
    pub fn has_scatter(&self) -> bool {
        self.raw.ncclScatter.is_ok()
    }
    /// `ncclCommSplit` exists from 2.18 on.
    pub fn has_comm_split(&self) -> bool {
        self.raw.ncclCommSplit.is_ok()
    }
    /// `ncclGetLastError` exists from 2.13 on.
    pub fn has_last_error(&self) -> bool {
        self.raw.ncclGetLastError.is_ok()
    }
    /// NCCL's data types fp8 e4m3/e5m2 exist from 2.24 on (and need sm_90 hardware).
    pub fn has_fp8(&self) -> bool {
        self.version_code >= 22400
    }
    /// bfloat16 exists from 2.10 on.
    pub fn has_bf16(&self) -> bool {
        self.version_code >= 21000
    }
    /// ncclAvg exists from 2.10 on.
    pub fn has_avg(&self) -> bool {
        self.version_code >= 21000
    }
}

/// Turns `NCCL_VERSION_CODE` into "major.minor.patch" (codes below 2.9 used X*1000+Y*100+Z).
pub fn version_string(code: i32) -> String {
    if code >= 10000 {
        format!("{}.{}.{}", code / 10000, (code % 10000) / 100, code % 100)
    } else {
        format!("{}.{}.{}", code / 1000, (code % 1000) / 100, code % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_codes_decode() {
        for (code, version) in [(23203, "2.32.3"), (2708, "2.7.8"), (21805, "2.18.5")] {
            assert_eq!(version_string(code), version, "code {code}");
        }
    }
}
