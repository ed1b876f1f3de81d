//! The types of a validated topology: fabric, NICs, switches, the topology itself, and
//! the queries on it that the model uses.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::str::FromStr;

/// Most nodes a file may declare (`nodes` or `hosts`). Today's largest training clusters
/// hold ~10^5 accelerators, ~10^4 nodes of 8; 10^6 leaves ample room while loading stays
/// well under a second and per-node data (names, leaf switches) in tens of MB. An absurd
/// count (10^8) would otherwise take GBs and tens of seconds before any check ran.
pub const MAX_NODES: usize = 1_000_000;

/// Most devices per node: the largest scale-up domains sold are NVL72 (72 GPUs) and
/// CloudMatrix 384 (384 NPUs on one fabric); 1024 is above both and keeps the per-device
/// NIC map (`device_nic`) small.
pub const MAX_DEVICES_PER_NODE: usize = 1024;

/// Most NICs per node: usually at most one per device, so the same bound.
pub const MAX_NICS_PER_NODE: usize = 1024;

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
    /// Whether NCCL relays cross-rail traffic over this fabric (PXN needs NVLink between
    /// the GPUs; see [`Fabric::pxn`]).
    pub fn nccl_relays_across_rails(self) -> bool {
        matches!(self, FabricKind::Nvlink | FabricKind::Nvswitch)
    }

    pub fn for_backend(backend: &str) -> FabricKind {
        match backend.to_ascii_lowercase().as_str() {
            "nccl" | "cuda" | "gpu" => FabricKind::Nvlink,
            "hccl" | "npu" | "ascend" => FabricKind::Hccs,
            _ => FabricKind::Shm,
        }
    }

    /// Nominal one-direction GB/s per device used by detection when no file says better
    /// (docs/SOURCES.md [nvidia-datasheets], [msprof], [pcie4]): NVLink3 300, NVSwitch
    /// (NVLink4) 450, HCCS 7 × 28 = 196, PCIe Gen4 x16 31.5. Shared memory has no nominal
    /// rate; 10 GB/s is a rough memcpy figure and is flagged as a default wherever it is
    /// shown.
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
    /// NCCL's PXN: a GPU sending to a GPU on another rail first moves the data over the
    /// fabric to the GPU of its node whose NIC is on the destination's rail, so that the
    /// data stays on one rail leaf (NCCL ≥ 2.12, on by default: `NCCL_PXN_DISABLE`,
    /// `NCCL_P2P_PXN_LEVEL`, docs/SOURCES.md [nccl-env]). Default: on for NVLink and
    /// NVSwitch fabrics, off for the others (HCCL and MPI have no such relay);
    /// `[node.fabric] pxn = false` models `NCCL_PXN_DISABLE=1`.
    #[serde(default)]
    pub pxn: bool,
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
    /// Name of each NIC (`mlx5_0`, `eth2`; `nic0`.. when the file gives none).
    #[serde(default)]
    pub names: Vec<String>,
}

impl Nics {
    /// Name of NIC `i` (`nic{i}` when none is known).
    pub fn name(&self, i: usize) -> String {
        self.names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("nic{i}"))
    }

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
    /// Node indices hanging on this switch (all their NICs).
    pub nodes: Vec<usize>,
    /// Single NICs hanging on this switch, `(node, nic)`: rail leaves and `[[nic]]`
    /// attachments (format version 2).
    #[serde(default)]
    pub nics: Vec<(usize, usize)>,
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

/// A rail group: NIC i of every node in `nodes` on `leaves[i]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RailGroup {
    /// Node indices, in the file's order.
    pub nodes: Vec<usize>,
    /// Rail leaf of NIC i (indices into [`Topology::switches`]).
    pub leaves: Vec<usize>,
}

/// A device's NIC: its index and name (`node.nic.names`) and the leaf it hangs on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceNic {
    pub node: usize,
    pub device: usize,
    /// NIC index on the node (`device_nic[device]`).
    pub nic: usize,
    pub name: String,
    /// Index into [`Topology::switches`]; `None` when no switches are declared.
    pub leaf: Option<usize>,
}

/// What a device-to-device route crosses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// Both devices on one node: the intra-node fabric only.
    SameNode,
    /// Both NICs on one leaf (same rail of a rail group, or one leaf for both nodes); also
    /// when no switches are declared (one ideal switch).
    SameLeaf,
    /// The NICs hang on different leaves: the route climbs to their lowest common switch
    /// (the spine for two rails).
    ViaSpine,
}

/// One link a route crosses, in order, one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteLink {
    /// The intra-node fabric of `node` (sender egress to receiver ingress).
    Fabric { node: usize },
    /// NIC `nic` of `node`, sending.
    NicOut { node: usize, nic: usize },
    /// The uplink of switch `switch`, upwards.
    Up { switch: usize },
    /// The uplink of switch `switch`, downwards.
    Down { switch: usize },
    /// NIC `nic` of `node`, receiving.
    NicIn { node: usize, nic: usize },
}

/// The route of a flow between two devices, through each device's own NIC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub kind: RouteKind,
    pub src: DeviceNic,
    pub dst: DeviceNic,
    /// The lowest switch common to both NICs (the leaf for `SameLeaf`, the spine for
    /// `ViaSpine`); `None` on one node or without declared switches.
    pub top: Option<usize>,
    pub links: Vec<RouteLink>,
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
    /// Switch each node hangs on (`None` when no switches are declared: one ideal switch,
    /// or when the node's NICs hang on leaves one by one: see `nic_leaf`).
    pub leaf_of_node: Vec<Option<usize>>,
    /// Leaf of each NIC, `node * nics.count + nic`, when the file attaches NICs one by one
    /// (rails, `[[nic]]`); empty otherwise (every NIC on its node's leaf). Use
    /// [`Topology::nic_leaf`].
    #[serde(default)]
    pub nic_leaf: Vec<Option<usize>>,
    /// The rail groups of the file (format version 2), for `topo show`.
    #[serde(default)]
    pub rail_groups: Vec<RailGroup>,
    pub emulation: Option<Emulation>,
    /// Built by [`Topology::detect`] rather than from a file.
    pub detected: bool,
    /// What detection assumed or could not find (shown by `topo show`).
    pub notes: Vec<String>,
}

impl Topology {
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
        let same = self.nic_latency_us((a, 0), (b, 0));
        if self.nic_leaf.is_empty() {
            return same;
        }
        // Rails: the worse of a same-rail and a cross-rail pair.
        let last = self.nics.count.saturating_sub(1);
        same.max(self.nic_latency_us((a, 0), (b, last)))
    }

    /// Latency (µs) of one message from NIC `a` = `(node, nic)` to NIC `b`: NIC hop plus
    /// every switch crossed above the leaves.
    pub fn nic_latency_us(&self, a: (usize, usize), b: (usize, usize)) -> f64 {
        let mut l = self.nics.latency_us;
        for s in self
            .nic_route_switches(a, b)
            .iter()
            .flat_map(|(u, d, _)| u.iter().chain(d))
        {
            l += self.switches[*s].latency_us;
        }
        l
    }

    /// Switches whose uplink a message from node `a` to node `b` climbs (`up`) and whose
    /// uplink it descends (`down`): the path below the lowest common ancestor. For nodes
    /// whose NICs hang on leaves one by one (rails) this is the route between their first
    /// NICs; [`Topology::nic_route_switches`] routes one NIC pair.
    pub fn route_switches(&self, a: usize, b: usize) -> Option<(Vec<usize>, Vec<usize>)> {
        self.nic_route_switches((a, 0), (b, 0))
            .map(|(up, down, _)| (up, down))
    }

    /// Leaf switch of NIC `nic` of node `node`: its own attachment (rails, `[[nic]]`) or
    /// the node's leaf; `None` without declared switches.
    pub fn nic_leaf(&self, node: usize, nic: usize) -> Option<usize> {
        if self.nic_leaf.is_empty() {
            return self.leaf_of_node.get(node).copied().flatten();
        }
        let count = self.nics.count.max(1);
        self.leaf_of_node
            .get(node)
            .copied()
            .flatten()
            .or_else(|| self.nic_leaf.get(node * count + nic).copied().flatten())
    }

    /// NIC index of local device `device` (`device_nic`; 0 past the map).
    pub fn nic_of_device(&self, device: usize) -> usize {
        self.nics.device_nic.get(device).copied().unwrap_or(0)
    }

    /// The NIC local device `device` of node `node` uses, with its name and leaf.
    pub fn device_nic(&self, node: usize, device: usize) -> DeviceNic {
        let nic = self.nic_of_device(device);
        DeviceNic {
            node,
            device,
            nic,
            name: self.nics.name(nic),
            leaf: self.nic_leaf(node, nic),
        }
    }

    /// Route from device `a` to device `b`, each `(node, local device)`, through each
    /// device's own NIC: the fabric on one node; otherwise NIC out, the uplinks up to the
    /// lowest common switch and down, NIC in. Same-rail pairs of a rail group stay on the
    /// rail leaf; cross-rail pairs climb to the spine. This is the route of the devices' own
    /// NICs; the model's NCCL PXN relay (`Fabric::pxn`) instead moves cross-rail data over
    /// NVLink to the GPU on the destination's rail first (docs/TOPOLOGY.md).
    pub fn device_route(&self, a: (usize, usize), b: (usize, usize)) -> Route {
        let (src, dst) = (self.device_nic(a.0, a.1), self.device_nic(b.0, b.1));
        if a.0 == b.0 {
            return Route {
                kind: RouteKind::SameNode,
                src,
                dst,
                top: None,
                links: vec![RouteLink::Fabric { node: a.0 }],
            };
        }
        let mut links = vec![RouteLink::NicOut {
            node: a.0,
            nic: src.nic,
        }];
        let (kind, top) = match self.nic_route_switches((a.0, src.nic), (b.0, dst.nic)) {
            Some((up, down, top)) => {
                let kind = if up.is_empty() && down.is_empty() {
                    RouteKind::SameLeaf
                } else {
                    RouteKind::ViaSpine
                };
                links.extend(up.into_iter().map(|switch| RouteLink::Up { switch }));
                links.extend(
                    down.into_iter()
                        .rev()
                        .map(|switch| RouteLink::Down { switch }),
                );
                (kind, Some(top))
            }
            None => (RouteKind::SameLeaf, None),
        };
        links.push(RouteLink::NicIn {
            node: b.0,
            nic: dst.nic,
        });
        Route {
            kind,
            src,
            dst,
            top,
            links,
        }
    }

    /// Switches whose uplink a message from NIC `a` = `(node, nic)` to NIC `b` climbs and
    /// descends (each listed bottom-up), and the lowest common switch.
    pub fn nic_route_switches(
        &self,
        a: (usize, usize),
        b: (usize, usize),
    ) -> Option<(Vec<usize>, Vec<usize>, usize)> {
        let (la, lb) = (self.nic_leaf(a.0, a.1)?, self.nic_leaf(b.0, b.1)?);
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
        Some((up, down, lca))
    }
}
