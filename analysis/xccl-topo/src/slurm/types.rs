//! What a topology.conf holds: its switches, as read or to be written, and the errors of
//! reading it (shared by the reader in `conf` and the conversions in `slurm`).

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SlurmError {
    /// A line of topology.conf that does not parse: file, line, problem.
    #[error("{file}:{line}: {msg}")]
    Line {
        file: String,
        line: usize,
        msg: String,
    },
    /// A topology that topology.conf (or our format) cannot express.
    #[error("{0}")]
    Topology(String),
}

/// One `SwitchName=` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmSwitch {
    pub name: String,
    /// `Nodes=`, expanded.
    pub nodes: Vec<String>,
    /// `Switches=`, expanded.
    pub switches: Vec<String>,
    pub link_speed: Option<u32>,
    /// Physical line of `SwitchName=` (0 when not read from a file).
    pub line: usize,
}

impl SlurmSwitch {
    /// A switch with `nodes` under it, not from a file.
    pub fn leaf(name: &str, nodes: &[&str]) -> SlurmSwitch {
        SlurmSwitch {
            name: name.into(),
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            switches: Vec::new(),
            link_speed: None,
            line: 0,
        }
    }
}

/// The switches of a topology.conf, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmTopology {
    pub switches: Vec<SlurmSwitch>,
}
