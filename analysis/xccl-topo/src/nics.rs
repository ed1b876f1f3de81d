//! The NICs of this host, one by one, from sysfs, and how close each sits to a GPU/NPU on
//! the PCIe tree.
//!
//! [`inventory`] lists every RDMA port (`ROOT/class/infiniband/DEV/ports/P/{rate,state,
//! link_layer}`, with its netdev from `DEV/device/net/*`) and every physical netdev that is
//! not already one of those (`ROOT/class/net/IF/{speed,operstate}`), each with its PCI
//! address: the target of its `device` link, resolved under `ROOT/devices/pciDDDD:BB/…`.
//! Unlike [`crate::detect::read_nics`], which keeps only the fastest active ports for the
//! model, it leaves nothing out.
//!
//! [`Affinity`] classes the PCIe path between two devices as `nvidia-smi topo -m` does
//! (its legend: X, PIX, PXB, PHB, NODE, SYS; docs/SOURCES.md [nvidia-smi-topo]; the same
//! classes as NCCL's `PATH_PIX` … `PATH_SYS`): from the bridges the two sysfs paths share.
//! Every read goes through `root` (normally `/sys`) so that tests can use a fake tree.

use crate::detect::{read_trim, sorted_dir};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// A device's place on the PCIe tree: `ROOT/devices/pci0000:00/0000:00:01.0/…/BDF`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciPath {
    /// The host bridge (`pci0000:00`).
    pub host_bridge: String,
    /// PCI addresses from the root port down to the device itself (its address last).
    pub chain: Vec<String>,
    /// `numa_node` of the device, when sysfs gives one (≥ 0).
    pub numa_node: Option<i64>,
}

impl PciPath {
    /// The device's own PCI address (`0000:03:00.0`).
    pub fn bdf(&self) -> &str {
        self.chain.last().map(String::as_str).unwrap_or("")
    }

    /// The path of the PCI device `bdf` (`ROOT/bus/pci/devices/BDF`).
    pub fn of_bdf(root: &Path, bdf: &str) -> Option<PciPath> {
        PciPath::of_link(root, &root.join("bus/pci/devices").join(bdf))
    }

    /// The path of the device a sysfs `device` link (or any path into `ROOT/devices`)
    /// points at; `None` when it is no PCI device.
    pub fn of_link(root: &Path, link: &Path) -> Option<PciPath> {
        let real = fs::canonicalize(link).ok()?;
        let devices = fs::canonicalize(root.join("devices")).ok()?;
        let rel = real.strip_prefix(&devices).ok()?;
        let mut parts = rel.iter().map(|c| c.to_string_lossy().into_owned());
        let host_bridge = parts.next().filter(|h| h.starts_with("pci"))?;
        let chain: Vec<String> = parts.take_while(|p| is_bdf(p)).collect();
        if chain.is_empty() {
            return None;
        }
        let mut dir = devices.join(&host_bridge);
        for c in &chain {
            dir.push(c);
        }
        let numa_node = read_trim(&dir.join("numa_node"))
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| *n >= 0);
        Some(PciPath {
            host_bridge,
            chain,
            numa_node,
        })
    }
}

/// `0000:03:00.0`: domain:bus:device.function.
fn is_bdf(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10].contains(&i) || c.is_ascii_hexdigit())
}

/// How two PCIe devices reach each other, best first (the legend of `nvidia-smi topo -m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Affinity {
    /// At most one PCIe switch between them.
    Pix,
    /// Several PCIe switches, without the host bridge.
    Pxb,
    /// Through a PCIe host bridge (the CPU).
    Phb,
    /// Between host bridges within one NUMA node.
    Node,
    /// Across the interconnect between NUMA nodes (or NUMA unknown).
    Sys,
}

impl fmt::Display for Affinity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Affinity::Pix => "PIX",
            Affinity::Pxb => "PXB",
            Affinity::Phb => "PHB",
            Affinity::Node => "NODE",
            Affinity::Sys => "SYS",
        })
    }
}

impl Affinity {
    /// The class of the path between `a` and `b`. Under one host bridge, the bridges below
    /// the deepest shared one count: a PCIe switch is an upstream port and its downstream
    /// ports, so two devices on two downstream ports of one switch pass two bridges (PIX);
    /// more is several switches (PXB); nothing shared below the host bridge is PHB.
    pub fn between(a: &PciPath, b: &PciPath) -> Affinity {
        if a.host_bridge != b.host_bridge {
            return match (a.numa_node, b.numa_node) {
                (Some(x), Some(y)) if x == y => Affinity::Node,
                _ => Affinity::Sys,
            };
        }
        let shared = a
            .chain
            .iter()
            .zip(&b.chain)
            .take_while(|(x, y)| x == y)
            .count();
        if shared == 0 {
            return Affinity::Phb;
        }
        // Bridges strictly between the shared one and each device.
        let below = |c: &[String]| c.len().saturating_sub(shared + 1);
        if below(&a.chain) + below(&b.chain) <= 2 {
            Affinity::Pix
        } else {
            Affinity::Pxb
        }
    }
}

/// One NIC port as sysfs shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Nic {
    /// `mlx5_0/1` for an RDMA port, the interface name for a plain netdev.
    pub name: String,
    /// The RDMA device (`mlx5_0`) or the interface (`eth0`).
    pub device: String,
    /// The netdev of an RDMA port (RoCE, IPoIB), or the interface itself.
    pub netdev: Option<String>,
    /// Line rate, Gbit/s (`rate` "400 Gb/sec (4X NDR)", or `speed` in Mbit/s / 1000).
    pub rate_gbps: Option<f64>,
    /// `ACTIVE`, `DOWN`, … for RDMA ports (`state` "4: ACTIVE"); `operstate` for netdevs.
    pub state: String,
    /// `InfiniBand` or `Ethernet`.
    pub link_layer: String,
    pub pci: Option<PciPath>,
}

impl Nic {
    /// How this NIC reaches the device at `dev` (`None` when its PCI place is unknown).
    pub fn affinity_to(&self, dev: &PciPath) -> Option<Affinity> {
        self.pci.as_ref().map(|p| Affinity::between(p, dev))
    }
}

/// The NICs closest to `dev` and their class: what NCCL would pick for that GPU.
pub fn closest<'a>(dev: &PciPath, nics: &'a [Nic]) -> Option<(Affinity, Vec<&'a Nic>)> {
    let best = nics.iter().filter_map(|n| n.affinity_to(dev)).min()?;
    let near = nics
        .iter()
        .filter(|n| n.affinity_to(dev) == Some(best))
        .collect();
    Some((best, near))
}

/// "400 Gb/sec (4X NDR)" → 400.
fn rate_of(s: &str) -> Option<f64> {
    s.split_whitespace().next()?.parse().ok()
}

/// "4: ACTIVE" → "ACTIVE".
fn state_of(s: &str) -> String {
    s.rsplit(':').next().unwrap_or(s).trim().to_string()
}

/// Every RDMA port and physical netdev under `root` (normally `/sys`), RDMA ports first,
/// each list sorted by name. A netdev that belongs to an RDMA device is listed with it,
/// not again on its own.
pub fn inventory(root: &Path) -> Vec<Nic> {
    let mut nics = Vec::new();
    let mut taken = Vec::new();
    let ib = root.join("class/infiniband");
    for dev in sorted_dir(&ib) {
        let dir = ib.join(&dev);
        let netdev = sorted_dir(&dir.join("device/net")).into_iter().next();
        taken.extend(netdev.clone());
        let pci = PciPath::of_link(root, &dir.join("device"));
        for port in sorted_dir(&dir.join("ports")) {
            let pd: PathBuf = dir.join("ports").join(&port);
            nics.push(Nic {
                name: format!("{dev}/{port}"),
                device: dev.clone(),
                netdev: netdev.clone(),
                rate_gbps: read_trim(&pd.join("rate")).as_deref().and_then(rate_of),
                state: read_trim(&pd.join("state"))
                    .map(|s| state_of(&s))
                    .unwrap_or_default(),
                link_layer: read_trim(&pd.join("link_layer")).unwrap_or_default(),
                pci: pci.clone(),
            });
        }
    }
    let net = root.join("class/net");
    for ifc in sorted_dir(&net) {
        let d = net.join(&ifc);
        if taken.contains(&ifc) || !d.join("device").exists() {
            continue; // an RDMA device's netdev, or virtual (lo, veth, bridges)
        }
        nics.push(Nic {
            name: ifc.clone(),
            device: ifc.clone(),
            netdev: Some(ifc.clone()),
            rate_gbps: read_trim(&d.join("speed"))
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|m| *m > 0.0)
                .map(|m| m / 1000.0),
            state: read_trim(&d.join("operstate")).unwrap_or_default(),
            link_layer: "Ethernet".into(),
            pci: PciPath::of_link(root, &d.join("device")),
        });
    }
    nics
}
