//! NCCL return codes as errors that say what failed, in NCCL's own words, and where.

use crate::common::failure::{cstr, write_failed};
use crate::common::libsearch;
use crate::ffi::sys;
use crate::lib_handle::NcclLib;
use std::fmt;

/// A failed NCCL call.
#[derive(Clone, Debug)]
pub struct NcclError {
    /// The NCCL function, e.g. "ncclCommInitRank".
    pub call: &'static str,
    pub code: u32,
    /// `ncclGetErrorString` text for the code.
    pub message: String,
    /// `ncclGetLastError` text (2.13+), the specific reason when NCCL kept one.
    pub detail: Option<String>,
    /// Communicator rank of the caller, where known.
    pub rank: Option<usize>,
    pub host: String,
}

/// The enumerator name of a return code.
pub fn code_name(code: u32) -> &'static str {
    code_name!(code, sys;
        ncclSuccess, ncclUnhandledCudaError, ncclSystemError, ncclInternalError,
        ncclInvalidArgument, ncclInvalidUsage, ncclRemoteError, ncclInProgress, ncclTimeout;
        "unknown ncclResult_t")
}

impl fmt::Display for NcclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_failed(f, self.call, self.rank, &self.host)?;
        write!(
            f,
            ": {} ({}): {}",
            code_name(self.code),
            self.code,
            self.message
        )?;
        if let Some(d) = self.detail.as_deref().filter(|d| !d.is_empty()) {
            write!(f, "; last error: {d}")?;
        }
        Ok(())
    }
}

failure_type!(NcclError, NcclResult);

impl NcclLib {
    /// `Ok` for ncclSuccess, otherwise an [`NcclError`] carrying NCCL's strings.
    /// `comm` may be null (calls without a communicator).
    pub fn check(
        &self,
        call: &'static str,
        code: sys::ncclResult_t,
        comm: sys::ncclComm_t,
    ) -> NcclResult<()> {
        if code == sys::ncclSuccess {
            return Ok(());
        }
        let message = self
            .raw
            .ncclGetErrorString
            .as_ref()
            .ok()
            .and_then(|f| cstr(unsafe { f(code) }))
            .unwrap_or_else(|| "no description".into());
        let detail = self
            .raw
            .ncclGetLastError
            .as_ref()
            .ok()
            .and_then(|f| cstr(unsafe { f(comm) }));
        Err(NcclError {
            call,
            code,
            message,
            detail,
            rank: None,
            host: libsearch::hostname(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_rank_and_host() {
        let e = NcclError {
            call: "ncclCommInitRank",
            code: 1,
            message: "unhandled cuda error".into(),
            detail: Some("Cuda failure 'no CUDA-capable device is detected'".into()),
            rank: Some(3),
            host: "node7".into(),
        };
        let s = e.to_string();
        assert_eq!(
            s,
            "ncclCommInitRank failed on rank 3 (node7): ncclUnhandledCudaError (1): unhandled cuda error; \
             last error: Cuda failure 'no CUDA-capable device is detected'"
        );
        assert!(!s.contains('\n'));
    }
}
