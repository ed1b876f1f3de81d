//! Errors of this crate. Every error that comes from a topology file names the file, the
//! line and the key (as a dotted path such as `switch[1].uplink_gbps`), because the person
//! reading it has the file open in an editor, not the schema.

use std::path::PathBuf;
use thiserror::Error;

/// Where in a topology file something is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file as given (or `<string>` for text not read from a file).
    pub file: String,
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// Dotted key path, e.g. `node.nic.rate_gbps` or `switch[2].hosts[0]`; empty when the
    /// error is about the document as a whole.
    pub key: String,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        Ok(())
    }
}

#[derive(Debug, Error)]
pub enum TopoError {
    #[error("cannot read topology file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax or a field of the wrong type, missing or unknown.
    #[error("{at}: {message}")]
    Parse { at: Location, message: String },
    /// The file parses but describes something inconsistent (unknown host on a switch,
    /// device→NIC map out of range, a switch cycle, ...).
    #[error("{at}: {message}")]
    Invalid { at: Location, message: String },
    /// The running job does not fit the topology (used by placement).
    #[error("job does not match topology `{topology}`: {message}")]
    Job { topology: String, message: String },
    /// Emulation plan requested from a topology that cannot be emulated.
    #[error("cannot emulate topology `{topology}`: {message}")]
    Emulation { topology: String, message: String },
}

impl TopoError {
    /// The location in the file, for errors that have one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            TopoError::Parse { at, .. } | TopoError::Invalid { at, .. } => Some(at),
            _ => None,
        }
    }
}
