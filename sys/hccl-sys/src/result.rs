//! ACL and HCCL return codes as errors that say what failed, in the vendor's words, and
//! where.

use crate::common::failure::{cstr, write_failed};
use crate::common::libsearch;
use crate::ffi::hccl;
use crate::lib_handle::Ascend;
use std::fmt;

/// A failed ACL or HCCL call.
#[derive(Clone, Debug)]
pub struct AscendError {
    /// The function, e.g. "HcclCommInitRootInfo" or "aclrtSetDevice".
    pub call: &'static str,
    pub code: i64,
    /// The enumerator name (HCCL) or "aclError".
    pub name: &'static str,
    /// `HcclGetErrorString` / `aclGetRecentErrMsg` text, when there is one.
    pub message: Option<String>,
    pub rank: Option<usize>,
    pub host: String,
}

/// HCCL's enumerator name for a return code (hccl_types.h).
pub fn hccl_code_name(code: u32) -> &'static str {
    code_name!(code, hccl;
        HCCL_SUCCESS, HCCL_E_PARA, HCCL_E_PTR, HCCL_E_MEMORY, HCCL_E_INTERNAL, HCCL_E_NOT_SUPPORT,
        HCCL_E_NOT_FOUND, HCCL_E_UNAVAIL, HCCL_E_SYSCALL, HCCL_E_TIMEOUT, HCCL_E_OPEN_FILE_FAILURE,
        HCCL_E_TCP_CONNECT, HCCL_E_ROCE_CONNECT, HCCL_E_TCP_TRANSFER, HCCL_E_ROCE_TRANSFER,
        HCCL_E_RUNTIME, HCCL_E_DRV, HCCL_E_PROFILING, HCCL_E_CCE, HCCL_E_NETWORK, HCCL_E_AGAIN,
        HCCL_E_REMOTE, HCCL_E_SUSPENDING, HCCL_E_OPRETRY_FAIL;
        "unknown HcclResult")
}

impl AscendError {
    /// A failure on this host, at a rank not known yet.
    fn new(call: &'static str, code: i64, name: &'static str, message: Option<String>) -> Self {
        AscendError {
            call,
            code,
            name,
            message,
            rank: None,
            host: libsearch::hostname(),
        }
    }
}

impl fmt::Display for AscendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_failed(f, self.call, self.rank, &self.host)?;
        write!(f, ": {} ({})", self.name, self.code)?;
        if let Some(m) = self.message.as_deref().filter(|m| !m.is_empty()) {
            write!(f, ": {}", m.replace('\n', " "))?;
        }
        Ok(())
    }
}

failure_type!(AscendError, AscendResult);

impl Ascend {
    /// The runtime's most recent detailed error message (`aclGetRecentErrMsg`), if any.
    fn recent_message(&self) -> Option<String> {
        let f = self.acl.raw.aclGetRecentErrMsg.as_ref().ok()?;
        cstr(unsafe { f() })
    }

    /// `Ok` for ACL_SUCCESS, else the code with `aclGetRecentErrMsg`'s text.
    pub fn check_acl(&self, call: &'static str, code: i32) -> AscendResult<()> {
        if code == 0 {
            return Ok(());
        }
        let message = self.recent_message();
        Err(AscendError::new(call, code as i64, "aclError", message))
    }

    /// The error for an ACL function this runtime does not export.
    pub fn absent_acl(&self, call: &'static str) -> AscendError {
        let message = format!("{} has no {call}", self.acl.path.display());
        AscendError::new(call, -1, "not exported", Some(message))
    }

    /// The error for an HCCL function neither of HCCL's libraries exports.
    pub fn absent_hccl(&self, call: &'static str) -> AscendError {
        let message = format!("{} has no {call}", self.hccl.path.display());
        let code = hccl::HCCL_E_NOT_SUPPORT;
        AscendError::new(call, code as i64, hccl_code_name(code), Some(message))
    }

    /// `Ok` for HCCL_SUCCESS, else the code with `HcclGetErrorString`'s text.
    pub fn check_hccl(&self, call: &'static str, code: hccl::HcclResult) -> AscendResult<()> {
        if code == hccl::HCCL_SUCCESS {
            return Ok(());
        }
        let h = &self.hccl;
        // HCCL's text for the code, then the runtime's most recent detailed message
        // (CANN routes HCCL's own diagnostics there too).
        let text = hccl_fn!(h, HcclGetErrorString).and_then(|f| cstr(unsafe { f(code) }));
        let recent = self.recent_message();
        let message = match (text, recent) {
            (Some(t), Some(r)) => Some(format!("{t}; {r}")),
            (t, r) => t.or(r),
        };
        Err(AscendError::new(
            call,
            code as i64,
            hccl_code_name(code),
            message,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line() {
        let e = AscendError {
            call: "HcclAllReduce",
            code: 1,
            name: hccl_code_name(1),
            message: Some("parameter error\nsee log".into()),
            rank: Some(2),
            host: "n1".into(),
        };
        assert_eq!(
            e.to_string(),
            "HcclAllReduce failed on rank 2 (n1): HCCL_E_PARA (1): parameter error see log"
        );
    }
}
