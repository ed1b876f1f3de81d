//! What diagnosis concluded, in the words an engineer acts on: which rank, node, link,
//! uplink or switch placement is at fault, and the evidence. A healthy run has none.

use crate::coll::CollKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// One rank arrives late at collectives: the others wait for it.
    SlowRank,
    /// Every link of one node is slow (its NIC, its PCIe, its host).
    SlowNode,
    /// One pair of nodes (or devices) is slow while both ends are fine elsewhere.
    SlowLink,
    /// Links crossing between two switches are slow and nothing else is.
    SlowUplink,
    /// A node sits under another switch than the topology file declares.
    MisplacedNode,
    /// The collective falls short while its links do not: the library's algorithm.
    Algorithm,
    /// Messages too small to reach link bandwidth: judged on latency, not a link fault.
    SmallMessages,
}

impl FindingKind {
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::SlowRank => "slow_rank",
            FindingKind::SlowNode => "slow_node",
            FindingKind::SlowLink => "slow_link",
            FindingKind::SlowUplink => "slow_uplink",
            FindingKind::MisplacedNode => "misplaced_node",
            FindingKind::Algorithm => "algorithm",
            FindingKind::SmallMessages => "small_messages",
        }
    }
}

display_as_name!(FindingKind);

/// What a finding is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Subject {
    Rank {
        rank: usize,
        host: String,
        device: String,
    },
    Host {
        host: String,
    },
    /// A link between two hosts (or two devices of one host: `a`, `b` name them).
    Link {
        a: String,
        b: String,
    },
    /// The uplink(s) between switches, named by the switches they join.
    Switches {
        switches: Vec<String>,
    },
    /// A host and where it was found versus declared.
    Placement {
        host: String,
        declared: String,
        measured: String,
    },
    /// A collective at some sizes.
    Operation {
        collective: CollKind,
        size_bytes: Vec<u64>,
    },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Rank { rank, host, device } => write!(f, "rank {rank} ({host}, {device})"),
            Subject::Host { host } => write!(f, "host {host}"),
            Subject::Link { a, b } => write!(f, "link {a} <-> {b}"),
            Subject::Switches { switches } => write!(f, "uplink {}", switches.join(" <-> ")),
            Subject::Placement {
                host,
                declared,
                measured,
            } => write!(
                f,
                "host {host}: declared under {declared}, measured with {measured}"
            ),
            Subject::Operation {
                collective,
                size_bytes,
            } => match (size_bytes.first(), size_bytes.last()) {
                (Some(a), Some(b)) if a != b => write!(f, "{collective} {a}..{b} B"),
                (Some(a), _) => write!(f, "{collective} {a} B"),
                _ => write!(f, "{collective}"),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub subject: Subject,
    /// One or two sentences: what was measured against what, and the rule applied.
    pub evidence: String,
    /// The numbers behind the evidence (e.g. `wait_ratio`, `efficiency`), for tools.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.kind, self.subject, self.evidence)
    }
}
