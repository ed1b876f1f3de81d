//! A job on a topology: the facts the harness knows, where each rank runs, and
//! [`Topology::validate`] (`xccl-bench topo check FILE`).

use super::types::{DeviceNic, FabricKind, Route, Topology};
use crate::error::TopoError;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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
        let mut index: HashMap<&str, usize> = HashMap::new();
        for h in &self.hostnames {
            let i = *index.entry(h.as_str()).or_insert_with(|| {
                out.push((h.clone(), 0));
                out.len() - 1
            });
            out[i].1 += 1;
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
        self.per_node().into_iter().map(|(n, _, _)| n).collect()
    }

    /// (node, its first rank, its rank count) for the nodes that hold ranks, in order of
    /// first appearance; one pass, for checks over every node of a large job.
    fn per_node(&self) -> Vec<(usize, usize, usize)> {
        let mut out: Vec<(usize, usize, usize)> = Vec::new();
        let mut index: HashMap<usize, usize> = HashMap::new();
        for (r, n) in self.node_of_rank.iter().enumerate() {
            let i = *index.entry(*n).or_insert_with(|| {
                out.push((*n, r, 0));
                out.len() - 1
            });
            out[i].2 += 1;
        }
        out
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

/// A hostname's short name: `n1.cluster.local` → `n1`. Hosts match when these are equal
/// (so a short name matches its FQDN).
fn short_name(h: &str) -> &str {
    h.split('.').next().unwrap_or(h)
}

/// At most the first ten names, then how many more: a message must stay one readable line
/// for a file of 10^5 hosts.
pub(super) fn some_names<S: AsRef<str>>(names: impl Iterator<Item = S>) -> String {
    const SHOWN: usize = 10;
    let mut shown: Vec<S> = Vec::new();
    let mut more = 0usize;
    for n in names {
        if shown.len() < SHOWN {
            shown.push(n);
        } else {
            more += 1;
        }
    }
    let mut s = shown
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<&str>>()
        .join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

impl Topology {
    /// The NIC (index, name, leaf) rank `rank` of a placed job uses: its device's own.
    pub fn rank_nic(&self, p: &Placement, rank: usize) -> DeviceNic {
        self.device_nic(p.node_of_rank[rank], p.device_of_rank[rank])
    }

    /// The route between two ranks of a placed job ([`Topology::device_route`]).
    pub fn rank_route(&self, p: &Placement, a: usize, b: usize) -> Route {
        self.device_route(
            (p.node_of_rank[a], p.device_of_rank[a]),
            (p.node_of_rank[b], p.device_of_rank[b]),
        )
    }

    /// Maps each rank's hostname to a node. With named hosts the names must match (a short
    /// name matches its FQDN); without, hosts are numbered in order of first appearance.
    pub fn place<S: AsRef<str>>(&self, hostnames: &[S]) -> Result<Placement, TopoError> {
        let job_err = |message: String| TopoError::Job {
            topology: self.name.clone(),
            message,
        };
        // Short name → first node with it: one map, not a scan of the hosts per rank.
        let mut named: HashMap<&str, usize> = HashMap::new();
        if self.named_hosts {
            for (i, n) in self.nodes.iter().enumerate() {
                named.entry(short_name(n)).or_insert(i);
            }
        }
        let mut order: HashMap<&str, usize> = HashMap::new();
        let mut node_of_rank = Vec::with_capacity(hostnames.len());
        for h in hostnames {
            let h = h.as_ref();
            let idx = if self.named_hosts {
                *named.get(short_name(h)).ok_or_else(|| {
                    job_err(format!(
                        "host `{h}` is not in the topology (hosts: {})",
                        some_names(self.nodes.iter().map(String::as_str))
                    ))
                })?
            } else {
                let next = order.len();
                *order.entry(h).or_insert(next)
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
        for (_, first, k) in p.per_node() {
            if k > self.devices_per_node {
                return Err(job_err(format!(
                    "{k} ranks on host `{}` but the topology has {} devices per node",
                    hostnames[first].as_ref(),
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
        let total = self.devices_per_node.saturating_mul(self.nodes.len());
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
                    let mut used = vec![false; self.nodes.len()];
                    for n in &p.node_of_rank {
                        used[*n] = true;
                    }
                    let mut unused = self
                        .nodes
                        .iter()
                        .zip(&used)
                        .filter(|(_, u)| !**u)
                        .map(|(n, _)| n.as_str())
                        .peekable();
                    if unused.peek().is_some() {
                        r.warnings.push(format!(
                            "topology hosts without ranks: {}",
                            some_names(unused)
                        ));
                    }
                }
                let counts: HashSet<usize> = p.per_node().iter().map(|(_, _, k)| *k).collect();
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
