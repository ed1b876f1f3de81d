//! The validated topology: what a cluster's links are, in the units the model uses.
//!
//! A [`Topology`] is only built by [`Topology::load`] / [`Topology::from_toml_str`] (which
//! check the file's internal consistency and point at the offending line) or by
//! [`Topology::detect`] (which builds one from the running job). Checking a file against the
//! running job — rank count, hostnames, devices — is [`Topology::validate`], the function
//! behind `xccl-bench topo check FILE`.
//!
//! Units: bandwidths of the intra-node fabric are GB/s (1e9 bytes/s) one direction per
//! device, as vendors quote NVLink/HCCS; NIC and uplink rates are Gbit/s line rate one
//! direction, as NICs and switch ports are sold. [`Nics::node_gbs`] converts.

use crate::error::{Location, TopoError};
use crate::spec::{RawTopology, SpanIndex, FORMAT_VERSION};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How devices inside one node reach each other (the SDMA link class).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FabricKind {
    /// NVLink point-to-point (no switch), e.g. 4-GPU boards.
    Nvlink,
    /// NVLink through NVSwitch: any-to-any at the per-GPU rate (DGX/HGX).
    Nvswitch,
    /// Huawei HCCS, full mesh between the NPUs of a server.
    Hccs,
    /// PCIe peer-to-peer (through a PCIe switch or the root complex).
    Pcie,
    /// Host shared memory: ranks of the MPI/CPU backend on one node.
    Shm,
}

impl FabricKind {
    pub const ALL: [FabricKind; 5] = [
        FabricKind::Nvlink,
        FabricKind::Nvswitch,
        FabricKind::Hccs,
        FabricKind::Pcie,
        FabricKind::Shm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FabricKind::Nvlink => "nvlink",
            FabricKind::Nvswitch => "nvswitch",
            FabricKind::Hccs => "hccs",
            FabricKind::Pcie => "pcie",
            FabricKind::Shm => "shm",
        }
    }

    /// The fabric a backend moves intra-node data through when nothing better is known:
    /// `mpi`/`cpu` → shm, `nccl` → nvlink, `hccl` → hccs. Unknown names give shm.
    pub fn for_backend(backend: &str) -> FabricKind {
        match backend.to_ascii_lowercase().as_str() {
            "nccl" | "cuda" | "gpu" => FabricKind::Nvlink,
            "hccl" | "npu" | "ascend" => FabricKind::Hccs,
            _ => FabricKind::Shm,
        }
    }

    /// Nominal one-direction GB/s per device used by detection when no file says better
    /// (REFERENCE §8): NVLink3 300, NVSwitch (NVLink4) 450, HCCS 7 × 28 = 196, PCIe Gen4
    /// x16 31.5. Shared memory has no nominal rate; 10 GB/s is a rough memcpy figure and is
    /// flagged as a default wherever it is shown.
    pub fn default_bw_gbs(self) -> f64 {
        match self {
            FabricKind::Nvlink => 300.0,
            FabricKind::Nvswitch => 450.0,
            FabricKind::Hccs => 196.0,
            FabricKind::Pcie => 31.5,
            FabricKind::Shm => 10.0,
        }
    }

    /// Default per-hop latency (µs) used by detection.
    pub fn default_latency_us(self) -> f64 {
        match self {
            FabricKind::Shm => 1.0,
            FabricKind::Pcie => 3.0,
            _ => 2.0,
        }
    }
}

impl fmt::Display for FabricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FabricKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FabricKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown fabric kind `{s}` (expected nvlink, nvswitch, hccs, pcie or shm)")
            })
    }
}

/// How NICs carry inter-node traffic (the RDMA link class; TCP for the CPU backend).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// InfiniBand or RoCE.
    Rdma,
    /// Plain TCP/IP (MPI's tcp btl; the emulated cluster).
    Tcp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Rdma => "rdma",
            Transport::Tcp => "tcp",
        }
    }
}

impl FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "rdma" | "ib" | "roce" | "infiniband" => Ok(Transport::Rdma),
            "tcp" | "ethernet" => Ok(Transport::Tcp),
            _ => Err(format!("unknown transport `{s}` (expected rdma or tcp)")),
        }
    }
}

/// The intra-node fabric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fabric {
    pub kind: FabricKind,
    /// GB/s one direction per device (aggregate over the device's links).
    pub bw_gbs: f64,
    /// One-hop latency α_intra in µs.
    pub latency_us: f64,
    /// One point-to-point link of a mesh (GB/s), informational.
    pub link_gbs: Option<f64>,
    /// NVLS-style reduction in the switch (results can beat the ring bound).
    pub in_network_reduction: bool,
}

/// The NICs of one node (all nodes are alike; see docs/TOPOLOGY.md, limits).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Nics {
    /// NICs per node (0: none known, e.g. detection found nothing).
    pub count: usize,
    /// Line rate of one NIC, Gbit/s one direction.
    pub rate_gbps: f64,
    pub transport: Transport,
    /// One inter-node hop latency α_inter in µs (NIC to NIC through one switch).
    pub latency_us: f64,
    /// NIC index used by each device (`device_nic[d]`).
    pub device_nic: Vec<usize>,
    /// SHARP-style reduction in the network.
    pub in_network_reduction: bool,
}

impl Nics {
    /// One NIC in GB/s (1e9 B/s) one direction.
    pub fn nic_gbs(&self) -> f64 {
        self.rate_gbps / 8.0
    }
    /// All NICs of a node in GB/s one direction.
    pub fn node_gbs(&self) -> f64 {
        self.nic_gbs() * self.count as f64
    }
}

/// A switch. Nodes hang on one switch each (usually tier 1, a leaf; a node may also hang
/// directly on a higher-tier switch, e.g. two directly connected switches); switches hang
/// on a parent of a higher tier, forming one tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    pub name: String,
    pub tier: u32,
    /// Index into [`Topology::switches`] of the switch above; `None` for the top.
    pub parent: Option<usize>,
    /// Node indices hanging on this switch.
    pub nodes: Vec<usize>,
    /// Capacity towards the parent, Gbit/s one direction (`None` for the top switch).
    pub uplink_gbps: Option<f64>,
    /// Capacity from below (nodes' NICs or children's uplinks), Gbit/s one direction.
    pub downlink_gbps: f64,
    /// Extra latency of crossing this switch (µs), added per traversal above the leaf.
    pub latency_us: f64,
}

impl Switch {
    /// downlink : uplink (1.0 = non-blocking); `None` for the top switch.
    pub fn oversubscription(&self) -> Option<f64> {
        self.uplink_gbps.map(|u| self.downlink_gbps / u)
    }
}

/// Addresses for the emulated cluster (scripts/emu-cluster.sh).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emulation {
    /// First three octets of the /24 subnet; nodes get .11, .12, ..., mpirun's side .1.
    pub subnet: [u8; 3],
}

/// A validated topology.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    pub version: u32,
    pub name: String,
    pub description: String,
    /// The file it was loaded from (`None` when detected or parsed from a string).
    pub source: Option<PathBuf>,
    /// Hostnames of the nodes, in order (generated `node0`.. when the file has none).
    pub nodes: Vec<String>,
    /// Whether `nodes` are real hostnames that a job's hostnames must match.
    pub named_hosts: bool,
    /// A node-type preset (neither `hosts` nor `nodes` given): any number of such nodes
    /// behind one non-blocking switch. `nodes` then holds one generated name.
    pub open_ended: bool,
    pub devices_per_node: usize,
    pub fabric: Fabric,
    pub nics: Nics,
    pub switches: Vec<Switch>,
    /// Switch each node hangs on (`None` when no switches are declared: one ideal switch).
    pub leaf_of_node: Vec<Option<usize>>,
    pub emulation: Option<Emulation>,
    /// Built by [`Topology::detect`] rather than from a file.
    pub detected: bool,
    /// What detection assumed or could not find (shown by `topo show`).
    pub notes: Vec<String>,
}

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

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if let Some(p) = &self.placement {
            writeln!(
                f,
                "ok: {} ranks on {} nodes",
                p.nranks(),
                p.nodes_used().len()
            )?;
        }
        Ok(())
    }
}

fn host_matches(a: &str, b: &str) -> bool {
    a == b || a.split('.').next() == b.split('.').next()
}

impl Topology {
    /// Reads and validates a topology file. Errors name the file, line and key.
    pub fn load(path: impl AsRef<Path>) -> Result<Topology, TopoError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TopoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut t = Topology::from_toml_str(&text, &path.display().to_string())?;
        t.source = Some(path.to_path_buf());
        Ok(t)
    }

    /// Parses and validates TOML text; `file` is the name used in error messages.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Topology, TopoError> {
        let index = SpanIndex::new(file, text);
        let raw: RawTopology = toml::from_str(text).map_err(|e| {
            let at = match e.span() {
                Some(s) => index.at_offset(s.start),
                None => Location {
                    file: file.to_string(),
                    line: 0,
                    column: 0,
                    key: String::new(),
                },
            };
            TopoError::Parse {
                at,
                message: e
                    .message()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        })?;
        build(raw, &index)
    }

    /// Number of nodes declared (1 for an open-ended node-type preset).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Name of node `n` (generated `node{n}` past the declared ones of an open-ended preset).
    pub fn node_name(&self, n: usize) -> String {
        self.nodes
            .get(n)
            .cloned()
            .unwrap_or_else(|| format!("node{n}"))
    }

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

    /// Whether any declared link is slower than 1 GB/s (an emulated, scaled-down
    /// cluster): the verdict then decides "large message" from the model alone.
    pub fn scaled_down(&self) -> bool {
        let slow_nic = self.nics.count > 0 && self.nics.node_gbs() < 1.0;
        let slow_up = self
            .switches
            .iter()
            .any(|s| s.uplink_gbps.is_some_and(|u| u / 8.0 < 1.0));
        self.emulation.is_some() || slow_nic || slow_up
    }

    /// Latency (µs) of one message between two nodes: NIC hop plus every switch crossed
    /// above the leaves.
    pub fn inter_latency_us(&self, a: usize, b: usize) -> f64 {
        let mut l = self.nics.latency_us;
        for s in self
            .route_switches(a, b)
            .iter()
            .flat_map(|(u, d)| u.iter().chain(d))
        {
            l += self.switches[*s].latency_us;
        }
        l
    }

    /// Switches whose uplink a message from node `a` to node `b` climbs (`up`) and whose
    /// uplink it descends (`down`): the path below the lowest common ancestor.
    pub(crate) fn route_switches(&self, a: usize, b: usize) -> Option<(Vec<usize>, Vec<usize>)> {
        let leaf = |n: usize| self.leaf_of_node.get(n).copied().flatten();
        let (la, lb) = (leaf(a)?, leaf(b)?);
        let chain = |mut s: usize| {
            let mut v = vec![s];
            while let Some(p) = self.switches[s].parent {
                v.push(p);
                s = p;
            }
            v
        };
        let (ca, cb) = (chain(la), chain(lb));
        let lca = ca.iter().find(|s| cb.contains(s)).copied()?;
        let up = ca.iter().take_while(|s| **s != lca).copied().collect();
        let down = cb.iter().take_while(|s| **s != lca).copied().collect();
        Some((up, down))
    }
}

fn invalid(index: &SpanIndex, key: &str, message: String) -> TopoError {
    TopoError::Invalid {
        at: index.at_key(key),
        message,
    }
}

fn positive(index: &SpanIndex, key: &str, v: f64) -> Result<(), TopoError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(invalid(
            index,
            key,
            format!("must be a positive number, got {v}"),
        ))
    }
}

fn non_negative(index: &SpanIndex, key: &str, v: f64) -> Result<(), TopoError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            index,
            key,
            format!("must be zero or positive, got {v}"),
        ))
    }
}

fn build(raw: RawTopology, ix: &SpanIndex) -> Result<Topology, TopoError> {
    if raw.version != FORMAT_VERSION {
        return Err(invalid(
            ix,
            "version",
            format!(
                "unsupported format version {} (this build reads {FORMAT_VERSION})",
                raw.version
            ),
        ));
    }
    if raw.name.trim().is_empty() {
        return Err(invalid(ix, "name", "must not be empty".into()));
    }
    // Nodes.
    let open_ended = raw.hosts.is_none() && raw.nodes.is_none();
    let (nodes, named_hosts) = match &raw.hosts {
        Some(h) => {
            if h.is_empty() {
                return Err(invalid(ix, "hosts", "must list at least one host".into()));
            }
            let mut seen = HashSet::new();
            for (i, n) in h.iter().enumerate() {
                if n.trim().is_empty() || n.contains(char::is_whitespace) {
                    return Err(invalid(
                        ix,
                        &format!("hosts[{i}]"),
                        format!("`{n}` is not a hostname"),
                    ));
                }
                if !seen.insert(n.as_str()) {
                    return Err(invalid(
                        ix,
                        &format!("hosts[{i}]"),
                        format!("host `{n}` is listed twice"),
                    ));
                }
            }
            if let Some(c) = raw.nodes {
                if c != h.len() {
                    return Err(invalid(
                        ix,
                        "nodes",
                        format!("nodes = {c} but hosts lists {}", h.len()),
                    ));
                }
            }
            (h.clone(), true)
        }
        None => {
            let c = raw.nodes.unwrap_or(1);
            if c == 0 {
                return Err(invalid(ix, "nodes", "must be at least 1".into()));
            }
            (
                (0..c).map(|i| format!("node{i}")).collect::<Vec<_>>(),
                false,
            )
        }
    };
    // Devices and fabric.
    let devices = raw.node.devices;
    if devices == 0 {
        return Err(invalid(ix, "node.devices", "must be at least 1".into()));
    }
    let rf = &raw.node.fabric;
    let kind = FabricKind::from_str(&rf.kind).map_err(|m| invalid(ix, "node.fabric.kind", m))?;
    positive(ix, "node.fabric.bw_gbs", rf.bw_gbs)?;
    non_negative(ix, "node.fabric.latency_us", rf.latency_us)?;
    if let Some(l) = rf.link_gbs {
        positive(ix, "node.fabric.link_gbs", l)?;
    }
    let fabric = Fabric {
        kind,
        bw_gbs: rf.bw_gbs,
        latency_us: rf.latency_us,
        link_gbs: rf.link_gbs,
        in_network_reduction: rf.in_network_reduction,
    };
    // NICs.
    let nics = match &raw.node.nic {
        None => {
            if nodes.len() > 1 {
                return Err(invalid(
                    ix,
                    "node",
                    "a topology with more than one node needs [node.nic]".into(),
                ));
            }
            Nics {
                count: 0,
                rate_gbps: 0.0,
                transport: Transport::Rdma,
                latency_us: 0.0,
                device_nic: vec![0; devices],
                in_network_reduction: false,
            }
        }
        Some(n) => {
            if n.count == 0 {
                return Err(invalid(ix, "node.nic.count", "must be at least 1".into()));
            }
            positive(ix, "node.nic.rate_gbps", n.rate_gbps)?;
            non_negative(ix, "node.nic.latency_us", n.latency_us)?;
            let transport = Transport::from_str(&n.transport)
                .map_err(|m| invalid(ix, "node.nic.transport", m))?;
            let device_nic = match &n.device_nic {
                Some(m) => {
                    if m.len() != devices {
                        return Err(invalid(
                            ix,
                            "node.nic.device_nic",
                            format!("lists {} devices, node.devices = {devices}", m.len()),
                        ));
                    }
                    if let Some(i) = m.iter().position(|x| *x >= n.count) {
                        return Err(invalid(
                            ix,
                            &format!("node.nic.device_nic[{i}]"),
                            format!("NIC {} does not exist (count = {})", m[i], n.count),
                        ));
                    }
                    m.clone()
                }
                None => (0..devices).map(|d| d * n.count / devices).collect(),
            };
            Nics {
                count: n.count,
                rate_gbps: n.rate_gbps,
                transport,
                latency_us: n.latency_us,
                device_nic,
                in_network_reduction: n.in_network_reduction,
            }
        }
    };
    // Switches.
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, s) in raw.switches.iter().enumerate() {
        if s.name.trim().is_empty() {
            return Err(invalid(
                ix,
                &format!("switch[{i}].name"),
                "must not be empty".into(),
            ));
        }
        if names.insert(s.name.as_str(), i).is_some() {
            return Err(invalid(
                ix,
                &format!("switch[{i}].name"),
                format!("switch `{}` is declared twice", s.name),
            ));
        }
        if s.tier == 0 {
            return Err(invalid(
                ix,
                &format!("switch[{i}].tier"),
                "tiers start at 1 (leaf)".into(),
            ));
        }
        non_negative(ix, &format!("switch[{i}].latency_us"), s.latency_us)?;
    }
    let mut leaf_of_node: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut switches: Vec<Switch> = Vec::new();
    for (i, s) in raw.switches.iter().enumerate() {
        let parent = match &s.parent {
            None => None,
            Some(p) => {
                let pi = *names.get(p.as_str()).ok_or_else(|| {
                    invalid(
                        ix,
                        &format!("switch[{i}].parent"),
                        format!("no switch named `{p}`"),
                    )
                })?;
                if raw.switches[pi].tier <= s.tier {
                    return Err(invalid(
                        ix,
                        &format!("switch[{i}].parent"),
                        format!(
                            "parent `{p}` is tier {}, it must be above tier {}",
                            raw.switches[pi].tier, s.tier
                        ),
                    ));
                }
                Some(pi)
            }
        };
        let mut my_nodes = Vec::new();
        for (j, h) in s.hosts.iter().enumerate() {
            let key = format!("switch[{i}].hosts[{j}]");
            let n = if named_hosts {
                nodes.iter().position(|n| n == h)
            } else {
                None
            }
            .ok_or_else(|| {
                invalid(
                    ix,
                    &key,
                    if named_hosts {
                        format!("host `{h}` is not in `hosts`")
                    } else {
                        "switches can name hosts only when the top-level `hosts` lists them".into()
                    },
                )
            })?;
            if let Some(prev) = leaf_of_node[n] {
                return Err(invalid(
                    ix,
                    &key,
                    format!(
                        "host `{h}` already hangs on switch `{}`",
                        raw.switches[prev].name
                    ),
                ));
            }
            leaf_of_node[n] = Some(i);
            my_nodes.push(n);
        }
        switches.push(Switch {
            name: s.name.clone(),
            tier: s.tier,
            parent,
            nodes: my_nodes,
            uplink_gbps: None,
            downlink_gbps: 0.0,
            latency_us: s.latency_us,
        });
    }
    if !switches.is_empty() {
        if let Some(n) = leaf_of_node.iter().position(Option::is_none) {
            return Err(invalid(
                ix,
                "switch",
                format!("host `{}` hangs on no switch", nodes[n]),
            ));
        }
        let roots: Vec<&str> = switches
            .iter()
            .filter(|s| s.parent.is_none())
            .map(|s| s.name.as_str())
            .collect();
        if roots.len() > 1 {
            return Err(invalid(
                ix,
                "switch",
                format!(
                    "switches {} have no parent: the fabric must be one tree (add a spine)",
                    roots.join(", ")
                ),
            ));
        }
    }
    // Downlink and uplink capacities, bottom-up (parents are on higher tiers).
    let mut order: Vec<usize> = (0..switches.len()).collect();
    order.sort_by_key(|i| switches[*i].tier);
    for &i in &order {
        let from_hosts = switches[i].nodes.len() as f64 * nics.rate_gbps * nics.count as f64;
        let from_children: f64 = switches
            .iter()
            .filter(|c| c.parent == Some(i))
            .filter_map(|c| c.uplink_gbps)
            .sum();
        let down = from_hosts + from_children;
        switches[i].downlink_gbps = down;
        let rs = &raw.switches[i];
        let key = |k: &str| format!("switch[{i}].{k}");
        let up = match (rs.uplink_gbps, rs.oversubscription) {
            (Some(u), None) => {
                positive(ix, &key("uplink_gbps"), u)?;
                Some(u)
            }
            (None, Some(o)) => {
                positive(ix, &key("oversubscription"), o)?;
                if down <= 0.0 {
                    return Err(invalid(
                        ix,
                        &key("oversubscription"),
                        "no downlink capacity to divide; give uplink_gbps".into(),
                    ));
                }
                Some(down / o)
            }
            (Some(u), Some(o)) => {
                positive(ix, &key("uplink_gbps"), u)?;
                positive(ix, &key("oversubscription"), o)?;
                let implied = down / u;
                if (implied - o).abs() > 0.01 * o {
                    return Err(invalid(
                        ix,
                        &key("oversubscription"),
                        format!(
                            "{o}:1 disagrees with uplink_gbps = {u} over {down} Gbit/s of downlinks \
                             ({implied:.3}:1); give one of them"
                        ),
                    ));
                }
                Some(u)
            }
            (None, None) => None,
        };
        match (switches[i].parent, up) {
            (Some(_), None) => {
                return Err(invalid(
                    ix,
                    &format!("switch[{i}]"),
                    format!(
                        "switch `{}` has a parent but neither uplink_gbps nor oversubscription",
                        switches[i].name
                    ),
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    ix,
                    &key(if rs.uplink_gbps.is_some() {
                        "uplink_gbps"
                    } else {
                        "oversubscription"
                    }),
                    format!(
                        "switch `{}` is the top of the tree: it has no uplink",
                        switches[i].name
                    ),
                ))
            }
            _ => {}
        }
        switches[i].uplink_gbps = up;
    }
    // Emulation.
    let emulation = match &raw.emulation {
        None => None,
        Some(e) => Some(Emulation {
            subnet: parse_subnet(&e.subnet).map_err(|m| invalid(ix, "emulation.subnet", m))?,
        }),
    };
    if emulation.is_some() && nodes.len() > 200 {
        return Err(invalid(
            ix,
            "emulation",
            "at most 200 emulated nodes".into(),
        ));
    }
    Ok(Topology {
        version: raw.version,
        name: raw.name,
        description: raw.description,
        source: None,
        nodes,
        named_hosts,
        open_ended,
        devices_per_node: devices,
        fabric,
        nics,
        switches,
        leaf_of_node,
        emulation,
        detected: false,
        notes: Vec::new(),
    })
}

fn parse_subnet(s: &str) -> Result<[u8; 3], String> {
    let err = || format!("`{s}` is not an IPv4 /24 subnet like \"10.231.7.0/24\"");
    let (addr, len) = s.split_once('/').ok_or_else(err)?;
    if len != "24" {
        return Err(err());
    }
    let o: Vec<u8> = addr
        .split('.')
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| err())?;
    if o.len() != 4 || o[3] != 0 {
        return Err(err());
    }
    Ok([o[0], o[1], o[2]])
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match (&self.source, self.detected) {
            (Some(p), _) => format!("file {}", p.display()),
            (None, true) => "detected from the running job".into(),
            (None, false) => "inline".into(),
        };
        writeln!(
            f,
            "topology `{}` ({origin}, format v{})",
            self.name, self.version
        )?;
        if !self.description.is_empty() {
            writeln!(f, "  {}", self.description)?;
        }
        let hosts = if self.named_hosts {
            self.nodes.join(", ")
        } else {
            "any hostnames".into()
        };
        let count = if self.open_ended {
            "any number".to_string()
        } else {
            self.nodes.len().to_string()
        };
        writeln!(
            f,
            "  nodes     {count} × {} devices ({hosts})",
            self.devices_per_node
        )?;
        let fb = &self.fabric;
        write!(
            f,
            "  SDMA      {}: {} GB/s per device one direction, α {} us",
            fb.kind,
            fmt_num(fb.bw_gbs),
            fmt_num(fb.latency_us)
        )?;
        if let Some(l) = fb.link_gbs {
            write!(f, ", {} GB/s per link", fmt_num(l))?;
        }
        if fb.in_network_reduction {
            write!(f, ", in-switch reduction (NVLS)")?;
        }
        writeln!(f)?;
        let n = &self.nics;
        if n.count == 0 {
            writeln!(f, "  RDMA      no NICs")?;
        } else {
            write!(
                f,
                "  RDMA      {} × {} Gbit/s {} per node = {} GB/s one direction, α {} us",
                n.count,
                fmt_num(n.rate_gbps),
                n.transport.name(),
                fmt_num(n.node_gbs()),
                fmt_num(n.latency_us)
            )?;
            if n.in_network_reduction {
                write!(f, ", in-network reduction (SHARP)")?;
            }
            writeln!(f)?;
            let map: Vec<String> = n
                .device_nic
                .iter()
                .enumerate()
                .map(|(d, x)| format!("{d}→{x}"))
                .collect();
            writeln!(f, "  dev→NIC   {}", map.join(" "))?;
        }
        if self.switches.is_empty() && (self.nodes.len() > 1 || self.open_ended) {
            writeln!(f, "  switches  one non-blocking switch (none declared)")?;
        }
        for s in &self.switches {
            write!(f, "  switch    {} (tier {})", s.name, s.tier)?;
            if !s.nodes.is_empty() {
                let h: Vec<&str> = s.nodes.iter().map(|n| self.nodes[*n].as_str()).collect();
                write!(f, ": {}", h.join(", "))?;
            }
            if let (Some(p), Some(u)) = (s.parent, s.uplink_gbps) {
                write!(
                    f,
                    "; uplink to {} {} Gbit/s ({}:1 oversubscribed)",
                    self.switches[p].name,
                    fmt_num(u),
                    fmt_num(s.oversubscription().unwrap_or(1.0))
                )?;
            }
            writeln!(f)?;
        }
        if let Some(e) = &self.emulation {
            writeln!(
                f,
                "  emulation subnet {}.{}.{}.0/24",
                e.subnet[0], e.subnet[1], e.subnet[2]
            )?;
        }
        for note in &self.notes {
            writeln!(f, "  note      {note}")?;
        }
        Ok(())
    }
}
