//! What the wiring readers produce: one cable from a host's NIC to a switch port, and the
//! one-line error of a file that does not parse.

use std::fmt;

/// A NIC port cabled to a switch, as the fabric reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cable {
    pub host: String,
    /// The HCA (`mlx5_0`) or the interface (`eth2`).
    pub nic: String,
    /// The NIC's port (an HCA's port number; 1 for an interface).
    pub nic_port: u32,
    /// The switch's name: its node description (`MF0;NAME:MODEL` → `NAME`) or LLDP
    /// system name.
    pub switch: String,
    /// The switch's port (`17`, `Ethernet12`, `swp3`).
    pub port: String,
    /// The switch's node GUID (InfiniBand) or chassis id (LLDP), when given.
    pub switch_id: Option<String>,
}

/// A wiring file that does not parse: one line, `FILE:LINE: what was expected`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WiringError {
    pub file: String,
    /// 1-based; 0 when the error is about the file as a whole.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for WiringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for WiringError {}

impl WiringError {
    pub fn at(file: &str, line: usize, message: impl Into<String>) -> WiringError {
        WiringError {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}
