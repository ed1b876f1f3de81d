//! Detection from a fake sysfs tree, placement and validation against a job.

use std::fs;
use std::path::{Path, PathBuf};
use xccl_topo::detect::read_nics;
use xccl_topo::{FabricKind, JobFacts, Topology, Transport};

struct TmpDir(PathBuf);
impl TmpDir {
    fn new(tag: &str) -> TmpDir {
        let p = std::env::temp_dir().join(format!("xccl-topo-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TmpDir(p)
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
}
impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn hosts(spec: &[(&str, usize)]) -> Vec<String> {
    spec.iter()
        .flat_map(|(h, n)| std::iter::repeat_n(h.to_string(), *n))
        .collect()
}

#[test]
fn infiniband_ports() {
    let d = TmpDir::new("ib");
    for (dev, rate, state) in [
        ("mlx5_0", "400 Gb/sec (4X NDR)", "4: ACTIVE"),
        ("mlx5_1", "400 Gb/sec (4X NDR)", "4: ACTIVE"),
        ("mlx5_2", "400 Gb/sec (4X NDR)", "1: DOWN"),
        ("mlx5_3", "100 Gb/sec (4X EDR)", "4: ACTIVE"), // slower management port
    ] {
        d.write(&format!("class/infiniband/{dev}/ports/1/rate"), rate);
        d.write(&format!("class/infiniband/{dev}/ports/1/state"), state);
    }
    d.write("class/net/eth0/speed", "25000");
    let n = read_nics(&d.0).unwrap();
    assert_eq!(
        (n.count, n.rate_gbps, n.transport),
        (2, 400.0, Transport::Rdma)
    );
    assert_eq!(n.names, vec!["mlx5_0/1", "mlx5_1/1"]);

    let facts = JobFacts {
        hostnames: hosts(&[("g1", 4), ("g2", 4)]),
        devices_per_node: Some(4),
        fabric: Some(FabricKind::Nvswitch),
    };
    let t = Topology::detect(&facts, &d.0);
    assert!(t.detected);
    assert_eq!(t.nodes, vec!["g1", "g2"]);
    assert_eq!(t.devices_per_node, 4);
    assert_eq!(t.nics.count, 2);
    assert_eq!(t.nics.device_nic, vec![0, 0, 1, 1]);
    assert_eq!(t.fabric.bw_gbs, 450.0);
    let shown = t.to_string();
    assert!(shown.contains("detected from the running job"), "{shown}");
    assert!(shown.contains("nominal default"), "{shown}");
    assert!(t.validate(&facts).is_ok());
}

#[test]
fn ethernet_and_virtual_interfaces() {
    let d = TmpDir::new("eth");
    d.write("class/net/lo/speed", "0");
    d.write("class/net/eno1/speed", "25000");
    d.write("class/net/eno1/operstate", "up");
    d.write("class/net/eno1/device/vendor", "0x15b3");
    d.write("class/net/eno2/speed", "25000");
    d.write("class/net/eno2/operstate", "down");
    d.write("class/net/eno2/device/vendor", "0x15b3");
    d.write("class/net/veth0/speed", "10000");
    d.write("class/net/veth0/operstate", "up");
    let n = read_nics(&d.0).unwrap();
    assert_eq!(
        (n.count, n.rate_gbps, n.transport),
        (1, 25.0, Transport::Tcp)
    );
    assert!(!n.virtual_only);

    let v = TmpDir::new("veth");
    v.write("class/net/veth0/speed", "10000");
    v.write("class/net/br0/speed", "-1");
    let n = read_nics(&v.0).unwrap();
    assert!(n.virtual_only);
    assert_eq!(n.rate_gbps, 10.0);
    let facts = JobFacts::new(hosts(&[("a", 1), ("b", 1)]));
    let t = Topology::detect(&facts, &v.0);
    assert_eq!(t.fabric.kind, FabricKind::Shm);
    assert!(t.notes.iter().any(|n| n.contains("virtual")));

    assert!(read_nics(Path::new("/nonexistent")).is_none());
}

#[test]
fn placement_and_validation() {
    let t = Topology::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../topologies/atlas-3x8-2switch.toml"
    ))
    .unwrap();
    // FQDNs match short names; ranks round-robin are placed by host.
    let job: Vec<String> = (0..16)
        .map(|r| {
            if r % 2 == 0 {
                "atlas-a1.example.com"
            } else {
                "atlas-b1"
            }
            .to_string()
        })
        .collect();
    let p = t.place(&job).unwrap();
    assert_eq!(&p.node_of_rank[..4], &[0, 2, 0, 2]);
    assert_eq!(&p.device_of_rank[..4], &[0, 0, 1, 1]);
    let r = t.validate(&JobFacts {
        hostnames: job,
        devices_per_node: Some(8),
        fabric: Some(FabricKind::Hccs),
    });
    assert!(r.is_ok(), "{r}");
    assert!(r.warnings.iter().any(|w| w.contains("atlas-a2")), "{r}");

    // Unknown host, too many ranks on a host, wrong backend fabric.
    let r = t.validate(&JobFacts::new(hosts(&[("atlas-c9", 1)])));
    assert!(!r.is_ok());
    assert!(r.errors[0].contains("atlas-c9"), "{r}");
    let r = t.validate(&JobFacts::new(hosts(&[("atlas-a1", 9)])));
    assert!(r.errors.iter().any(|e| e.contains("9 ranks")), "{r}");
    let r = t.validate(&JobFacts {
        hostnames: hosts(&[("atlas-a1", 2)]),
        devices_per_node: Some(2),
        fabric: Some(FabricKind::Shm),
    });
    assert!(r.is_ok());
    assert_eq!(r.warnings.len(), 3, "{r}"); // devices, fabric, unused hosts

    // A node-type preset takes any hostnames and any number of nodes.
    let h = Topology::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../topologies/dgx-h100.toml"
    ))
    .unwrap();
    let job = hosts(&[("x", 8), ("y", 8), ("z", 8)]);
    let p = h.place(&job).unwrap();
    assert_eq!(p.nodes_used(), vec![0, 1, 2]);
    assert!(h.validate(&JobFacts::new(job)).is_ok());
    assert!(h.place(&hosts(&[("x", 9)])).is_err());
}
