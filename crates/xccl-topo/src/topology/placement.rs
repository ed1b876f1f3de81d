//! A job on a topology: the facts the harness knows, where each rank runs, and
//! [`Topology::validate`] (`xccl-bench topo check FILE`).

use super::{FabricKind, Topology};
use crate::error::TopoError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Facts about the running job that the harness knows (from MPI and the backend).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobFacts {
    /// Hostname of each rank, in rank order (MPI_Get_processor_name or gethostname).
    pub hostnames: Vec<String>,
    /// Devices the backend sees on a node (GPUs/NPUs; for MPI/CPU leave `None`).
    pub devices_per_node: Option<usize>,
    /// The fabric the backend moves intra-node data through ([`FabricKind::for_backend`]).
    pub fabric: Option<FabricKind>,
}

impl JobFacts {
    pub fn new(hostnames: Vec<String>) -> JobFacts {
        JobFacts {
            hostnames,
            devices_per_node: None,
            fabric: None,
        }
    }
    /// Distinct hosts in order of first appearance, with their rank counts.
    pub fn hosts(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for h in &self.hostnames {
            match out.iter_mut().find(|(n, _)| n == h) {
                Some((_, c)) => *c += 1,
                None => out.push((h.clone(), 1)),
            }
        }
        out
    }
}

/// Where each rank runs: node index (into [`Topology::nodes`]) and device index on that
/// node, in rank order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub node_of_rank: Vec<usize>,
    pub device_of_rank: Vec<usize>,
}

impl Placement {
    /// From node indices; devices are numbered per node in rank order (as hccl_test's
    /// `rank % NPUs-per-node` does for block placement).
    pub fn new(node_of_rank: Vec<usize>) -> Placement {
        let mut next: HashMap<usize, usize> = HashMap::new();
        let device_of_rank = node_of_rank
            .iter()
            .map(|n| {
                let d = next.entry(*n).or_insert(0);
                *d += 1;
                *d - 1
            })
            .collect();
        Placement {
            node_of_rank,
            device_of_rank,
        }
    }

    /// `nodes` nodes with `per_node` ranks each, block placement (ranks 0..k on node 0, ...).
    pub fn block(nodes: usize, per_node: usize) -> Placement {
        Placement::new((0..nodes * per_node).map(|r| r / per_node).collect())
    }

    pub fn nranks(&self) -> usize {
        self.node_of_rank.len()
    }

    /// Nodes that hold ranks, in order of first appearance.
    pub fn nodes_used(&self) -> Vec<usize> {
        let mut seen = Vec::new();
        for n in &self.node_of_rank {
            if !seen.contains(n) {
                seen.push(*n);
            }
        }
        seen
    }

    /// Ranks on node `n`, in rank order.
    pub fn ranks_on(&self, n: usize) -> Vec<usize> {
        (0..self.nranks())
            .filter(|r| self.node_of_rank[*r] == n)
            .collect()
    }
}

/// Result of [`Topology::validate`]: errors make the topology unusable for this job;
/// warnings are shown but the verdict still runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub placement: Option<Placement>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

fn host_matches(a: &str, b: &str) -> bool {
    a == b || a.split('.').next() == b.split('.').next()
}

impl Topology {
    /// Maps each rank's hostname to a node. With named hosts the names must match (a short
    /// name matches its FQDN); without, hosts are numbered in order of first appearance.
    pub fn place<S: AsRef<str>>(&self, hostnames: &[S]) -> Result<Placement, TopoError> {
        let job_err = |message: String| TopoError::Job {
            topology: self.name.clone(),
            message,
        };
        let mut order: Vec<&str> = Vec::new();
        let mut node_of_rank = Vec::with_capacity(hostnames.len());
        for h in hostnames {
            let h = h.as_ref();
            let idx = if self.named_hosts {
                self.nodes
                    .iter()
                    .position(|n| host_matches(n, h))
                    .ok_or_else(|| {
                        job_err(format!(
                            "host `{h}` is not in the topology (hosts: {})",
                            self.nodes.join(", ")
                        ))
                    })?
            } else {
                match order.iter().position(|o| *o == h) {
                    Some(i) => i,
                    None => {
                        order.push(h);
                        order.len() - 1
                    }
                }
            };
            if idx >= self.nodes.len() && !self.open_ended {
                return Err(job_err(format!(
                    "the job uses more than {} hosts",
                    self.nodes.len()
                )));
            }
            node_of_rank.push(idx);
        }
        let p = Placement::new(node_of_rank);
        for n in p.nodes_used() {
            let k = p.ranks_on(n).len();
            if k > self.devices_per_node {
                return Err(job_err(format!(
                    "{k} ranks on host `{}` but the topology has {} devices per node",
                    hostnames[p.ranks_on(n)[0]].as_ref(),
                    self.devices_per_node
                )));
            }
        }
        Ok(p)
    }

    /// Checks this topology against the running job (`topo check FILE`): rank count,
    /// hostnames, ranks per host against devices per node, the backend's device count and
    /// fabric. Returns the placement when usable.
    pub fn validate(&self, facts: &JobFacts) -> CheckReport {
        let mut r = CheckReport::default();
        if facts.hostnames.is_empty() {
            r.errors.push("the job has no ranks".into());
            return r;
        }
        let hosts = facts.hosts();
        let total = self.devices_per_node * self.nodes.len();
        if facts.hostnames.len() > total && !self.open_ended {
            r.errors.push(format!(
                "{} ranks but the topology has {} nodes × {} devices = {total}",
                facts.hostnames.len(),
                self.nodes.len(),
                self.devices_per_node
            ));
        }
        if hosts.len() > self.nodes.len() && !self.open_ended {
            r.errors.push(format!(
                "the job runs on {} hosts but the topology has {} nodes",
                hosts.len(),
                self.nodes.len()
            ));
        }
        if let Some(d) = facts.devices_per_node {
            if d != self.devices_per_node {
                r.warnings.push(format!(
                    "the backend sees {d} devices per node, the topology declares {}",
                    self.devices_per_node
                ));
            }
        }
        if let Some(fk) = facts.fabric {
            if fk != self.fabric.kind {
                r.warnings.push(format!(
                    "the backend moves intra-node data over {fk}, the topology declares {}: \
                     SDMA expectations describe the declared fabric",
                    self.fabric.kind
                ));
            }
        }
        match self.place(&facts.hostnames) {
            Ok(p) => {
                if self.named_hosts {
                    let unused: Vec<&str> = (0..self.nodes.len())
                        .filter(|n| !p.node_of_rank.contains(n))
                        .map(|n| self.nodes[n].as_str())
                        .collect();
                    if !unused.is_empty() {
                        r.warnings.push(format!(
                            "topology hosts without ranks: {}",
                            unused.join(", ")
                        ));
                    }
                }
                let uneven: BTreeMap<usize, usize> = p
                    .nodes_used()
                    .into_iter()
                    .map(|n| (n, p.ranks_on(n).len()))
                    .collect();
                let counts: HashSet<usize> = uneven.values().copied().collect();
                if counts.len() > 1 {
                    r.warnings.push(
                        "hosts run different numbers of ranks; the hierarchical model is skipped"
                            .into(),
                    );
                }
                if r.errors.is_empty() {
                    r.placement = Some(p);
                }
            }
            Err(e) => r.errors.push(match e {
                TopoError::Job { message, .. } => message,
                other => other.to_string(),
            }),
        }
        r
    }
}
