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
    /// One NIC of a node is slow while the node's other NICs and its peers are fine.
    SlowNic,
    /// One pair of devices within a node is slow while both are fine with the others.
    SlowDeviceLink,
    /// A NIC behaves as if cabled to another rail's leaf than the topology declares.
    MiswiredNic,
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
            FindingKind::SlowNic => "slow_nic",
            FindingKind::SlowDeviceLink => "slow_device_link",
            FindingKind::MiswiredNic => "miswired_nic",
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
    /// One NIC of a host: its name, the rail it is declared on, the devices behind it, and
    /// (for `miswired_nic`) the rail whose leaf it behaves as if cabled to.
    Nic {
        host: String,
        nic: String,
        rail: usize,
        devices: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        behaves_as_rail: Option<usize>,
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
            Subject::Nic {
                host,
                nic,
                rail,
                devices,
                behaves_as_rail,
            } => {
                write!(f, "NIC {nic} of {host} (rail {rail}")?;
                if !devices.is_empty() {
                    write!(f, ", devices {}", devices.join(" "))?;
                }
                match behaves_as_rail {
                    Some(r) => write!(f, "; behaves as on rail {r})"),
                    None => write!(f, ")"),
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_kinds_and_nic_subject_serialise_snake_case() {
        for k in [
            FindingKind::SlowNic,
            FindingKind::SlowDeviceLink,
            FindingKind::MiswiredNic,
        ] {
            let j = serde_json::to_string(&k).unwrap();
            assert_eq!(j, format!("\"{}\"", k.name()));
            assert_eq!(serde_json::from_str::<FindingKind>(&j).unwrap(), k);
        }
        let s = Subject::Nic {
            host: "n4".into(),
            nic: "mlx5_3".into(),
            rail: 3,
            devices: vec!["dev3".into()],
            behaves_as_rail: None,
        };
        assert_eq!(s.to_string(), "NIC mlx5_3 of n4 (rail 3, devices dev3)");
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(
            j,
            r#"{"type":"nic","host":"n4","nic":"mlx5_3","rail":3,"devices":["dev3"]}"#
        );
        assert_eq!(serde_json::from_str::<Subject>(&j).unwrap(), s);
        let mut m = s;
        if let Subject::Nic {
            behaves_as_rail, ..
        } = &mut m
        {
            *behaves_as_rail = Some(5);
        }
        assert_eq!(
            m.to_string(),
            "NIC mlx5_3 of n4 (rail 3, devices dev3; behaves as on rail 5)"
        );
    }
}
