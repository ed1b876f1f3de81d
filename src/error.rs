//! The runtime's one error type. Each carries one line a user can act on; `main` prints
//! it once and exits with its [`ExitCode`]. Every line a rank prints about itself goes
//! through [`say`], so that lines from ranks failing together do not interleave.

use crate::rules::ExitCode;
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
    /// A value that would not serialize (not expected of the typed results).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// A topology file that does not load is bad input: its one line (file, line, column,
/// key) is the error.
impl From<xccl_topo::TopoError> for BenchError {
    fn from(e: xccl_topo::TopoError) -> Self {
        BenchError::Usage(e.to_string())
    }
}

/// A topology.conf that does not parse, or a topology it cannot carry: one line, exit 2.
impl From<xccl_topo::slurm::SlurmError> for BenchError {
    fn from(e: xccl_topo::slurm::SlurmError) -> Self {
        BenchError::Usage(e.to_string())
    }
}

impl BenchError {
    /// Exit status: 2 for usage errors (as clap), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            BenchError::Usage(_) | BenchError::Unsupported(_) => ExitCode::Usage,
            _ => ExitCode::Failed,
        }
        .code()
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

/// Writes `text`, which ends with its own newline(s), to stderr in one `write` (a block of
/// lines that must stay together, e.g. the health check's list of rows).
pub fn say_block(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(text.as_bytes());
}
