//! The declared NIC → leaf attachments against the wired truth, exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A NIC of a host hanging on a switch (declared or wired).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Attachment {
    pub host: String,
    pub nic: String,
    pub switch: String,
}

impl Attachment {
    pub fn new(host: &str, nic: &str, switch: &str) -> Attachment {
        Attachment {
            host: host.into(),
            nic: nic.into(),
            switch: switch.into(),
        }
    }
}

/// One way the wiring differs from the declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// Cabled to another declared switch than the one declared (another rail's leaf).
    Miswired {
        host: String,
        nic: String,
        declared: String,
        wired: String,
    },
    /// Declared, but the wiring shows no cable from this NIC.
    NotWired {
        host: String,
        nic: String,
        declared: String,
    },
    /// Cabled to a switch that no declaration names.
    UnknownSwitch {
        host: String,
        nic: String,
        declared: Option<String>,
        wired: String,
    },
    /// Cabled to a declared switch, but the NIC is not declared.
    Undeclared {
        host: String,
        nic: String,
        wired: String,
    },
}

impl Difference {
    /// A stable name for reports and JSON (`miswired_nic`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Difference::Miswired { .. } => "miswired_nic",
            Difference::NotWired { .. } => "nic_not_wired",
            Difference::UnknownSwitch { .. } => "unknown_switch",
            Difference::Undeclared { .. } => "undeclared_nic",
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Miswired {
                host,
                nic,
                declared,
                wired,
            } => write!(f, "{host} {nic}: cabled to {wired}, declared on {declared}"),
            Difference::NotWired {
                host,
                nic,
                declared,
            } => write!(f, "{host} {nic}: declared on {declared}, no cable found"),
            Difference::UnknownSwitch {
                host, nic, wired, ..
            } => write!(
                f,
                "{host} {nic}: cabled to {wired}, a switch the declaration does not name"
            ),
            Difference::Undeclared { host, nic, wired } => {
                write!(f, "{host} {nic}: cabled to {wired}, not declared")
            }
        }
    }
}

/// Every difference between `declared` and `wired`, by host and NIC; empty when they
/// agree. Names are compared exactly (no case folding, no domain stripping).
pub fn compare(declared: &[Attachment], wired: &[Attachment]) -> Vec<Difference> {
    let key = |a: &Attachment| (a.host.clone(), a.nic.clone());
    let decl: BTreeMap<_, _> = declared
        .iter()
        .map(|a| (key(a), a.switch.clone()))
        .collect();
    let wire: BTreeMap<_, _> = wired.iter().map(|a| (key(a), a.switch.clone())).collect();
    let known: BTreeSet<&String> = decl.values().collect();
    let keys: BTreeSet<_> = decl.keys().chain(wire.keys()).cloned().collect();
    let mut out = Vec::new();
    for (host, nic) in keys {
        let d = decl.get(&(host.clone(), nic.clone()));
        let w = wire.get(&(host.clone(), nic.clone()));
        out.extend(match (d, w) {
            (Some(d), Some(w)) if d == w => None,
            (d, Some(w)) if !known.contains(w) => Some(Difference::UnknownSwitch {
                host,
                nic,
                declared: d.cloned(),
                wired: w.clone(),
            }),
            (Some(d), Some(w)) => Some(Difference::Miswired {
                host,
                nic,
                declared: d.clone(),
                wired: w.clone(),
            }),
            (Some(d), None) => Some(Difference::NotWired {
                host,
                nic,
                declared: d.clone(),
            }),
            (None, Some(w)) => Some(Difference::Undeclared {
                host,
                nic,
                wired: w.clone(),
            }),
            (None, None) => None,
        });
    }
    out
}

/// What `t` declares: each node's NICs (by name) on their leaf switches; NICs of a node
/// without a declared switch are left out (nothing to compare them with).
pub fn declared(t: &crate::topology::Topology) -> Vec<Attachment> {
    let mut out = vec![];
    for (n, host) in t.nodes.iter().enumerate() {
        for i in 0..t.nics.count {
            if let Some(leaf) = t.nic_leaf(n, i) {
                out.push(Attachment::new(
                    host,
                    &t.nics.name(i),
                    &t.switches[leaf].name,
                ));
            }
        }
    }
    out
}
