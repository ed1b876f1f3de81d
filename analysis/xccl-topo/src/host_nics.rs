//! What `topo show` and `--topology detect` print about this host's NICs: every port of
//! [`crate::nics::inventory`] with its rate, state and link layer, and for each GPU/NPU on
//! the PCIe tree the NICs closest to it with their class ([`crate::nics::closest`], the
//! legend of `nvidia-smi topo -m`). Read through `root` (normally `/sys`) like the rest.
//!
//! Devices are found by PCI class (docs/SOURCES.md [pci-class]; sysfs
//! `ROOT/bus/pci/devices/BDF/class`): 0x0302xx 3D controller (NVIDIA's data-centre GPUs),
//! 0x0300xx VGA from NVIDIA (vendor 0x10de) or AMD (0x1002), and 0x1200xx processing
//! accelerator (Huawei's Ascend NPUs, vendor 0x19e5). They are numbered in PCI bus order,
//! the order `CUDA_DEVICE_ORDER=PCI_BUS_ID` gives; a job's own device numbering may differ.

use crate::detect::{read_trim, sorted_dir};
use crate::nics::{closest, inventory, Affinity, Nic, PciPath};
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// One NIC port, as printed and written to JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NicRecord {
    pub name: String,
    pub netdev: Option<String>,
    pub rate_gbps: Option<f64>,
    pub state: String,
    pub link_layer: String,
    /// PCI address, when the port sits on PCI.
    pub pci: Option<String>,
    pub numa_node: Option<i64>,
}

/// A GPU/NPU and the NICs closest to it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceNics {
    /// Index in PCI bus order.
    pub index: usize,
    pub pci: String,
    /// PCI vendor id (`0x10de`).
    pub vendor: String,
    /// Class of the closest NICs (`PIX`, …); `None` when no NIC's place is known.
    pub affinity: Option<Affinity>,
    /// The NICs at that class, by name.
    pub nics: Vec<String>,
}

/// This host's NICs and each device's nearest ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostNics {
    /// The sysfs root read.
    pub root: String,
    pub nics: Vec<NicRecord>,
    pub devices: Vec<DeviceNics>,
}

/// Whether PCI class `class` / vendor `vendor` (sysfs spelling, `0x030200`) is a GPU/NPU.
fn is_accelerator(class: &str, vendor: &str) -> bool {
    let c = class.trim_start_matches("0x");
    c.starts_with("0302")
        || c.starts_with("1200")
        || (c.starts_with("0300") && matches!(vendor, "0x10de" | "0x1002"))
}

/// GPUs/NPUs under `root`, in PCI bus order: (PCI path, vendor id).
pub fn accelerators(root: &Path) -> Vec<(PciPath, String)> {
    let dir = root.join("bus/pci/devices");
    sorted_dir(&dir)
        .into_iter()
        .filter_map(|bdf| {
            let class = read_trim(&dir.join(&bdf).join("class"))?;
            let vendor = read_trim(&dir.join(&bdf).join("vendor")).unwrap_or_default();
            if !is_accelerator(&class, &vendor) {
                return None;
            }
            Some((PciPath::of_bdf(root, &bdf)?, vendor))
        })
        .collect()
}

fn record(n: &Nic) -> NicRecord {
    NicRecord {
        name: n.name.clone(),
        netdev: n.netdev.clone(),
        rate_gbps: n.rate_gbps,
        state: n.state.clone(),
        link_layer: n.link_layer.clone(),
        pci: n.pci.as_ref().map(|p| p.bdf().to_string()),
        numa_node: n.pci.as_ref().and_then(|p| p.numa_node),
    }
}

/// The NICs and devices under `root` (normally `/sys`).
pub fn host_nics(root: &Path) -> HostNics {
    let nics = inventory(root);
    let devices = accelerators(root)
        .into_iter()
        .enumerate()
        .map(|(index, (pci, vendor))| {
            let near = closest(&pci, &nics);
            DeviceNics {
                index,
                pci: pci.bdf().to_string(),
                vendor,
                affinity: near.as_ref().map(|(a, _)| *a),
                nics: near
                    .map(|(_, v)| v.iter().map(|n| n.name.clone()).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    HostNics {
        root: root.display().to_string(),
        nics: nics.iter().map(record).collect(),
        devices,
    }
}

impl fmt::Display for HostNics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
        writeln!(f, "NICs of this host ({}):", self.root)?;
        if self.nics.is_empty() {
            writeln!(
                f,
                "  none (no {}/class/infiniband or physical class/net entry)",
                self.root
            )?;
        } else {
            writeln!(
                f,
                "  {:<12} {:<10} {:>10}  {:<8} {:<11} {:<13} numa",
                "nic", "netdev", "rate", "state", "link layer", "pci"
            )?;
        }
        for n in &self.nics {
            let rate = n.rate_gbps.map(|r| format!("{r} Gb/s"));
            let empty = |s: &str| {
                if s.is_empty() {
                    "-".to_string()
                } else {
                    s.to_string()
                }
            };
            writeln!(
                f,
                "  {:<12} {:<10} {:>10}  {:<8} {:<11} {:<13} {}",
                n.name,
                dash(n.netdev.clone()),
                dash(rate),
                empty(&n.state),
                empty(&n.link_layer),
                dash(n.pci.clone()),
                dash(n.numa_node.map(|x| x.to_string()))
            )?;
        }
        if self.devices.is_empty() {
            return writeln!(
                f,
                "  no GPU/NPU on PCI under {}: no device↔NIC affinity",
                self.root
            );
        }
        writeln!(
            f,
            "Closest NICs of each GPU/NPU (PCIe, as nvidia-smi topo -m; devices in PCI bus order):"
        )?;
        for d in &self.devices {
            let near = match d.affinity {
                Some(a) => format!("{} ({a})", d.nics.join(", ")),
                None => "no NIC with a known PCI place".into(),
            };
            writeln!(
                f,
                "  device {:<3} {} ({})  {near}",
                d.index, d.pci, d.vendor
            )?;
        }
        Ok(())
    }
}
