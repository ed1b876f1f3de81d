//! NIC inventory and PCIe affinity on a fake sysfs tree: 8 GPUs and 8 NICs under 4 PCIe
//! switches, two switches on each of two host bridges (NUMA nodes 0 and 1).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use xccl_topo::host_nics::host_nics;
use xccl_topo::nics::{closest, inventory, Affinity, PciPath};

struct TmpDir(PathBuf);
impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// `link` (relative to root) → `target` (relative to root), as a relative symlink.
fn link(root: &Path, rel: &str, target: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    let up = "../".repeat(rel.matches('/').count());
    symlink(format!("{up}{target}"), p).unwrap();
}

/// The tree; returns it and the PCI address of each GPU.
fn fake_sysfs(tag: &str) -> (TmpDir, Vec<String>) {
    let root = std::env::temp_dir().join(format!("xccl-topo-nics-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let mut gpus = Vec::new();
    for s in 0..4u32 {
        let hb_bus = if s < 2 { 0x00 } else { 0x80 };
        let hb = format!("pci0000:{hb_bus:02x}");
        let rp = format!("0000:{hb_bus:02x}:{:02x}.0", 1 + (s % 2) * 2);
        let usp_bus = hb_bus + 0x10 * (s % 2) + 1;
        let usp = format!("0000:{usp_bus:02x}:00.0");
        for k in 0..4u32 {
            let dsp = format!("0000:{:02x}:{k:02x}.0", usp_bus + 1);
            let ep = format!("0000:{:02x}:00.0", usp_bus + 2 + k);
            let dir = format!("devices/{hb}/{rp}/{usp}/{dsp}/{ep}");
            write(&root, &format!("{dir}/numa_node"), &format!("{}\n", s / 2));
            link(&root, &format!("bus/pci/devices/{ep}"), &dir);
            if k < 2 {
                write(&root, &format!("{dir}/class"), "0x030200\n");
                write(&root, &format!("{dir}/vendor"), "0x10de\n");
                gpus.push(ep);
                continue;
            }
            let i = 2 * s + k - 2;
            let dev = format!("class/infiniband/mlx5_{i}");
            link(&root, &format!("{dev}/device"), &dir);
            let (rate, state, layer, netdev) = match i {
                6 => ("200 Gb/sec (4X HDR)", "4: ACTIVE", "Ethernet", "eth6"),
                7 => ("200 Gb/sec (4X HDR)", "1: DOWN", "Ethernet", "eth7"),
                _ => ("400 Gb/sec (4X NDR)", "4: ACTIVE", "InfiniBand", ""),
            };
            let netdev = if netdev.is_empty() {
                format!("ib{i}")
            } else {
                netdev.to_string()
            };
            write(&root, &format!("{dev}/ports/1/rate"), &format!("{rate}\n"));
            write(
                &root,
                &format!("{dev}/ports/1/state"),
                &format!("{state}\n"),
            );
            write(
                &root,
                &format!("{dev}/ports/1/link_layer"),
                &format!("{layer}\n"),
            );
            fs::create_dir_all(root.join(&dir).join("net").join(&netdev)).unwrap();
            write(&root, &format!("class/net/{netdev}/speed"), "200000\n");
            link(&root, &format!("class/net/{netdev}/device"), &dir);
        }
    }
    // A management port on the chipset, and virtual interfaces without a device.
    let eno = "devices/pci0000:00/0000:00:1c.0/0000:30:00.0";
    write(&root, &format!("{eno}/numa_node"), "0\n");
    write(&root, "class/net/eno1/speed", "25000\n");
    write(&root, "class/net/eno1/operstate", "up\n");
    link(&root, "class/net/eno1/device", eno);
    write(&root, "class/net/lo/operstate", "unknown\n");
    write(&root, "class/net/veth0/speed", "10000\n");
    // A VGA controller of another vendor (a BMC's): not a GPU for us.
    let vga = "devices/pci0000:00/0000:00:1d.0/0000:31:00.0";
    write(&root, &format!("{vga}/class"), "0x030000\n");
    write(&root, &format!("{vga}/vendor"), "0x1a03\n");
    link(&root, "bus/pci/devices/0000:31:00.0", vga);
    (TmpDir(root), gpus)
}

#[test]
fn inventory_lists_every_port_with_rate_state_layer_and_pci_address() {
    let (d, _) = fake_sysfs("inv");
    let nics = inventory(&d.0);
    let names: Vec<&str> = nics.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "mlx5_0/1", "mlx5_1/1", "mlx5_2/1", "mlx5_3/1", "mlx5_4/1", "mlx5_5/1", "mlx5_6/1",
            "mlx5_7/1", "eno1"
        ]
    );
    let n0 = &nics[0];
    assert_eq!(
        (n0.device.as_str(), n0.netdev.as_deref(), n0.rate_gbps),
        ("mlx5_0", Some("ib0"), Some(400.0))
    );
    assert_eq!(
        (n0.state.as_str(), n0.link_layer.as_str()),
        ("ACTIVE", "InfiniBand")
    );
    assert_eq!(n0.pci.as_ref().unwrap().bdf(), "0000:05:00.0");
    assert_eq!(n0.pci.as_ref().unwrap().host_bridge, "pci0000:00");
    assert_eq!(
        n0.pci.as_ref().unwrap().chain,
        [
            "0000:00:01.0",
            "0000:01:00.0",
            "0000:02:02.0",
            "0000:05:00.0"
        ]
    );
    let n6 = &nics[6];
    assert_eq!(
        (n6.netdev.as_deref(), n6.rate_gbps, n6.link_layer.as_str()),
        (Some("eth6"), Some(200.0), "Ethernet")
    );
    assert_eq!(nics[7].state, "DOWN");
    assert_eq!(nics[4].pci.as_ref().unwrap().numa_node, Some(1));
    let eno = &nics[8];
    assert_eq!(
        (eno.rate_gbps, eno.state.as_str(), eno.link_layer.as_str()),
        (Some(25.0), "up", "Ethernet")
    );
    assert_eq!(eno.pci.as_ref().unwrap().bdf(), "0000:30:00.0");
}

#[test]
fn affinity_follows_the_pcie_switches() {
    let (d, gpus) = fake_sysfs("aff");
    let nics = inventory(&d.0);
    let gpu0 = PciPath::of_bdf(&d.0, &gpus[0]).unwrap();
    let class = |nic: usize| nics[nic].affinity_to(&gpu0).unwrap();
    assert_eq!(class(0), Affinity::Pix); // same switch
    assert_eq!(class(2), Affinity::Phb); // other switch, same host bridge
    assert_eq!(class(4), Affinity::Sys); // other NUMA node
    assert_eq!(class(8), Affinity::Phb); // chipset port
    for (g, bdf) in gpus.iter().enumerate() {
        let dev = PciPath::of_bdf(&d.0, bdf).unwrap();
        let (a, near) = closest(&dev, &nics).unwrap();
        let near: Vec<&str> = near.iter().map(|n| n.device.as_str()).collect();
        let s = g / 2;
        let want = [format!("mlx5_{}", 2 * s), format!("mlx5_{}", 2 * s + 1)];
        assert_eq!(
            (a, near),
            (Affinity::Pix, vec![&*want[0], &*want[1]]),
            "GPU{g}"
        );
    }
    assert_eq!(Affinity::Pix.to_string(), "PIX");
    assert!(PciPath::of_bdf(&d.0, "0000:ff:00.0").is_none());
}

fn path(hb: &str, chain: &[&str], numa: Option<i64>) -> PciPath {
    PciPath {
        host_bridge: hb.into(),
        chain: chain.iter().map(|s| s.to_string()).collect(),
        numa_node: numa,
    }
}

#[test]
fn two_switches_deep_is_pxb_and_two_host_bridges_on_one_node_is_node() {
    let a = path("pci0000:00", &["r", "u1", "d1", "u2", "d2", "gpu"], Some(0));
    let b = path("pci0000:00", &["r", "u1", "d3", "nic"], Some(0));
    assert_eq!(Affinity::between(&a, &b), Affinity::Pxb);
    let c = path("pci0000:40", &["r2", "nic"], Some(0));
    assert_eq!(Affinity::between(&a, &c), Affinity::Node);
    let e = path("pci0000:80", &["r3", "nic"], None);
    assert_eq!(Affinity::between(&a, &e), Affinity::Sys);
}

/// `topo show`'s NIC section: every port, and each GPU's closest NICs with their class.
#[test]
fn host_report_lists_ports_and_each_gpus_closest_nics() {
    let (d, gpus) = fake_sysfs("report");
    let r = host_nics(&d.0);
    assert_eq!(r.nics.len(), 9);
    assert_eq!(r.devices.len(), 8, "the BMC's VGA is no GPU");
    for (g, dev) in r.devices.iter().enumerate() {
        let s = g / 2;
        assert_eq!(dev.pci, gpus[g]);
        assert_eq!(dev.affinity, Some(Affinity::Pix), "GPU{g}");
        assert_eq!(
            dev.nics,
            [format!("mlx5_{}/1", 2 * s), format!("mlx5_{}/1", 2 * s + 1)]
        );
    }
    let text = r.to_string();
    let line = |start: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("{start}: {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("mlx5_0/1"),
        [
            "mlx5_0/1",
            "ib0",
            "400",
            "Gb/s",
            "ACTIVE",
            "InfiniBand",
            "0000:05:00.0",
            "0"
        ]
    );
    assert_eq!(line("mlx5_7/1")[4], "DOWN");
    assert_eq!(
        line("eno1")[..6],
        ["eno1", "eno1", "25", "Gb/s", "up", "Ethernet"]
    );
    assert_eq!(
        line("device 7"),
        [
            "device",
            "7",
            &gpus[7],
            "(0x10de)",
            "mlx5_6/1,",
            "mlx5_7/1",
            "(PIX)"
        ]
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["devices"][0]["affinity"], "PIX");
    assert_eq!(json["nics"][7]["state"], "DOWN");
    assert_eq!(json["nics"][0]["link_layer"], "InfiniBand");
}
