//! Library errors. Each carries one line a user can act on; the binary adds nothing but
//! the exit code (see `main.rs`).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    /// Bad flags or values: every rank sees the same arguments, so every rank finds it.
    #[error("{0}")]
    Usage(String),
    /// The backend cannot do what was asked (type, op, collective).
    #[error("{0}")]
    Unsupported(String),
    /// A library is missing, a device is absent, or a vendor call failed.
    #[error("{0}")]
    Backend(String),
    #[error("{0}")]
    Launch(String),
    #[error("not enough memory: {0}")]
    Memory(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl BenchError {
    /// Exit status: 2 for usage errors (as clap), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            BenchError::Usage(_) | BenchError::Unsupported(_) => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// Writes `line` and a newline to stderr in one `write`: lines from ranks that fail at the
/// same moment share mpirun's pipe, and `eprintln!` writes a formatted line in pieces,
/// which interleave.
pub fn say(line: &str) {
    use std::io::Write;
    let mut s = String::with_capacity(line.len() + 1);
    s.push_str(line);
    s.push('\n');
    let _ = std::io::stderr().write_all(s.as_bytes());
}
