//! Topology from the running job when no file is given.
//!
//! What a job can know about itself: hostnames per rank (MPI), devices per node (the
//! backend), the kind of intra-node fabric (implied by the backend) and the NIC rates the
//! kernel reports in sysfs. What it cannot know: switch tiers, uplinks and oversubscription,
//! and real NVLink/HCCS rates. The detected topology therefore assumes one non-blocking
//! switch and the nominal fabric rate, and says so in its notes — a verdict against it is a
//! hint, a verdict against a file is a check.
//!
//! Every sysfs read goes through a root path so tests can point it at a fake tree.

use crate::topology::{Fabric, FabricKind, JobFacts, Nics, Topology, Transport};
use std::fs;
use std::path::Path;

/// NICs found in sysfs.
#[derive(Clone, Debug, PartialEq)]
pub struct DetectedNics {
    /// NICs running at the highest rate found (slower management ports are left out).
    pub count: usize,
    /// Their rate, Gbit/s.
    pub rate_gbps: f64,
    pub transport: Transport,
    /// Device names (`mlx5_0/1`, `eth0`).
    pub names: Vec<String>,
    /// Only virtual interfaces (veth, bridges) were found.
    pub virtual_only: bool,
}

/// The sysfs root detection reads: `XCCL_SYSFS_ROOT` when set (a fake tree, for tests),
/// else `/sys`.
pub fn sysfs_root() -> std::path::PathBuf {
    std::env::var_os("XCCL_SYSFS_ROOT").map_or_else(|| "/sys".into(), Into::into)
}

pub(crate) fn read_trim(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

pub(crate) fn sorted_dir(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Keeps the fastest entries: (name, Gbit/s) → count at the top rate.
fn fastest(found: Vec<(String, f64)>) -> Option<(usize, f64, Vec<String>)> {
    let top = found.iter().map(|(_, r)| *r).fold(0.0_f64, f64::max);
    if top <= 0.0 {
        return None;
    }
    let names: Vec<String> = found
        .into_iter()
        .filter(|(_, r)| (*r - top).abs() < 1e-9)
        .map(|(n, _)| n)
        .collect();
    Some((names.len(), top, names))
}

/// Reads `ROOT/class/infiniband/*/ports/*/rate` ("400 Gb/sec (4X NDR)"; active ports only)
/// and, when there is no RDMA device, `ROOT/class/net/*/speed` (Mbit/s; up, physical
/// interfaces first). `root` is normally `/sys`.
pub fn read_nics(root: &Path) -> Option<DetectedNics> {
    let ib = root.join("class/infiniband");
    let mut found = Vec::new();
    for dev in sorted_dir(&ib) {
        let ports = ib.join(&dev).join("ports");
        for port in sorted_dir(&ports) {
            let pd = ports.join(&port);
            if let Some(state) = read_trim(&pd.join("state")) {
                if !state.to_ascii_uppercase().contains("ACTIVE") {
                    continue;
                }
            }
            let rate = read_trim(&pd.join("rate")).and_then(|r| {
                r.split_whitespace()
                    .next()
                    .and_then(|x| x.parse::<f64>().ok())
            });
            if let Some(r) = rate {
                found.push((format!("{dev}/{port}"), r));
            }
        }
    }
    if let Some((count, rate_gbps, names)) = fastest(found) {
        return Some(DetectedNics {
            count,
            rate_gbps,
            transport: Transport::Rdma,
            names,
            virtual_only: false,
        });
    }
    let net = root.join("class/net");
    let mut physical = Vec::new();
    let mut virt = Vec::new();
    for ifc in sorted_dir(&net) {
        if ifc == "lo" {
            continue;
        }
        let d = net.join(&ifc);
        if let Some(op) = read_trim(&d.join("operstate")) {
            if op != "up" && op != "unknown" {
                continue;
            }
        }
        let Some(mbit) = read_trim(&d.join("speed")).and_then(|s| s.parse::<f64>().ok()) else {
            continue;
        };
        if mbit <= 0.0 {
            continue;
        }
        let entry = (ifc.clone(), mbit / 1000.0);
        if d.join("device").exists() {
            physical.push(entry);
        } else {
            virt.push(entry);
        }
    }
    let virtual_only = physical.is_empty();
    let (count, rate_gbps, names) = fastest(if virtual_only { virt } else { physical })?;
    Some(DetectedNics {
        count,
        rate_gbps,
        transport: Transport::Tcp,
        names,
        virtual_only,
    })
}

impl Topology {
    /// Builds a topology from the job's facts and the NICs found under `sysfs_root`
    /// (normally `/sys`; read on the calling host and assumed for every node).
    pub fn detect(facts: &JobFacts, sysfs_root: &Path) -> Topology {
        let hosts = facts.hosts();
        let max_per_host = hosts.iter().map(|(_, c)| *c).max().unwrap_or(1);
        let devices = facts
            .devices_per_node
            .unwrap_or(max_per_host)
            .max(max_per_host)
            .max(1);
        let kind = facts.fabric.unwrap_or(FabricKind::Shm);
        let mut notes = vec![format!(
            "SDMA rate is the nominal default for {kind} ({} GB/s): give --topology FILE for a verdict against real link rates",
            kind.default_bw_gbs()
        )];
        let nics = match read_nics(sysfs_root) {
            Some(d) => {
                notes.push(format!(
                    "NICs read from {} on this host and assumed on every node: {}",
                    sysfs_root.display(),
                    d.names.join(", ")
                ));
                if d.virtual_only {
                    notes.push(
                        "only virtual interfaces found: their reported speed need not be the real limit"
                            .into(),
                    );
                }
                Nics {
                    count: d.count,
                    rate_gbps: d.rate_gbps,
                    transport: d.transport,
                    latency_us: match d.transport {
                        Transport::Rdma => 5.0,
                        Transport::Tcp => 30.0,
                    },
                    device_nic: (0..devices).map(|x| x * d.count / devices).collect(),
                    in_network_reduction: false,
                    names: Vec::new(),
                }
            }
            None => {
                if hosts.len() > 1 {
                    notes.push(format!(
                        "no NIC rate under {}/class/{{infiniband,net}}: no inter-node expectation",
                        sysfs_root.display()
                    ));
                }
                Nics {
                    count: 0,
                    rate_gbps: 0.0,
                    transport: Transport::Tcp,
                    latency_us: 30.0,
                    device_nic: vec![0; devices],
                    in_network_reduction: false,
                    names: Vec::new(),
                }
            }
        };
        if hosts.len() > 1 {
            notes.push("switches unknown: one non-blocking switch assumed".into());
        }
        Topology {
            version: crate::spec::OLDEST_FORMAT_VERSION,
            name: "detected".into(),
            description: String::new(),
            source: None,
            nodes: if hosts.is_empty() {
                vec!["localhost".into()]
            } else {
                hosts.into_iter().map(|(h, _)| h).collect()
            },
            named_hosts: true,
            open_ended: false,
            devices_per_node: devices,
            fabric: Fabric {
                kind,
                bw_gbs: kind.default_bw_gbs(),
                latency_us: kind.default_latency_us(),
                link_gbs: None,
                in_network_reduction: false,
                pxn: kind.nccl_relays_across_rails(),
            },
            leaf_of_node: Vec::new(),
            nic_leaf: Vec::new(),
            rail_groups: Vec::new(),
            nics,
            switches: Vec::new(),
            emulation: None,
            detected: true,
            notes,
        }
        .with_leaves()
    }

    fn with_leaves(mut self) -> Topology {
        self.leaf_of_node = vec![None; self.nodes.len()];
        self
    }
}
