//! What the error types of nccl-sys and hccl-sys share (see mod.rs): a library's C string
//! as text, the enumerator name of a return code, and the "CALL failed on rank R (HOST)"
//! that every one of their error messages starts with.

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_char;

/// A string the library returned, trimmed; `None` for a null pointer.
pub(crate) fn cstr(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(
            unsafe { CStr::from_ptr(p) }
                .to_string_lossy()
                .trim()
                .to_string(),
        )
    }
}

/// The start of an error's one line: `CALL failed on rank R (HOST)`, or `CALL failed on
/// HOST` where the rank is not known.
pub(crate) fn write_failed(
    f: &mut fmt::Formatter<'_>,
    call: &str,
    rank: Option<usize>,
    host: &str,
) -> fmt::Result {
    write!(f, "{call} failed")?;
    match rank {
        Some(r) => write!(f, " on rank {r} ({host})"),
        None => write!(f, " on {host}"),
    }
}

/// What an error type of these crates (fields `rank: Option<usize>`, `host`, ...) is
/// besides its text: an [`std::error::Error`], the same error on a known rank, and the
/// `Result` alias named `r`.
macro_rules! failure_type {
    ($t:ident, $r:ident) => {
        pub type $r<T> = Result<T, $t>;

        impl std::error::Error for $t {}

        impl $t {
            pub fn with_rank(mut self, rank: usize) -> Self {
                self.rank = Some(rank);
                self
            }
        }
    };
}

/// `code_name!(code, m; A, B; "unknown")`: the name of the constant `m::A`, `m::B`, …
/// that `code` equals, else the last string.
macro_rules! code_name {
    ($code:expr, $m:ident; $($name:ident),* $(,)?; $unknown:literal) => {
        match $code {
            $($m::$name => stringify!($name),)*
            _ => $unknown,
        }
    };
}
