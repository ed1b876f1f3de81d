//! Every file in topologies/ loads, validates against a job that fits it, and prints.

use std::path::PathBuf;
use xccl_topo::{emu, JobFacts, Topology};

fn topo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../topologies")
}

fn presets() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(topo_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_preset_loads_and_validates() {
    let files = presets();
    assert!(files.len() >= 6, "presets missing: {files:?}");
    for f in files {
        let t = Topology::load(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // A job filling every node (two nodes for a node-type preset).
        let hosts: Vec<String> = if t.named_hosts {
            t.nodes.clone()
        } else {
            vec!["h1".into(), "h2".into()]
        };
        let job: Vec<String> = hosts
            .iter()
            .flat_map(|h| std::iter::repeat_n(h.clone(), t.devices_per_node))
            .collect();
        let facts = JobFacts {
            hostnames: job.clone(),
            devices_per_node: Some(t.devices_per_node),
            fabric: Some(t.fabric.kind),
        };
        let r = t.validate(&facts);
        assert!(r.is_ok(), "{}: {r}", f.display());
        assert!(r.warnings.is_empty(), "{}: {r}", f.display());
        let p = r.placement.unwrap();
        assert_eq!(p.nranks(), job.len());
        let shown = t.to_string();
        assert!(shown.contains(&t.name), "{shown}");
        // Every preset gives an expectation for a large all_reduce.
        let e = xccl_topo::model::expected(&t, &p, xccl_topo::CollKind::AllReduce, 1 << 30);
        assert!(e.busbw_gbs.unwrap() > 0.0, "{}", f.display());
    }
}

#[test]
fn preset_sources_are_documented() {
    for f in presets() {
        let text = std::fs::read_to_string(&f).unwrap();
        let comments = text
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count();
        assert!(
            comments >= 5,
            "{}: say where the numbers come from",
            f.display()
        );
    }
}

#[test]
fn emulated_preset_has_a_plan() {
    let t = Topology::load(topo_dir().join("emu-3node.toml")).unwrap();
    assert!(t.nodes.len() >= 3);
    assert!(t.switches.len() >= 2);
    assert!(t.scaled_down());
    let plan = emu::plan(&t, &[]).unwrap();
    assert!(
        plan.contains("node 0 emu-n1 10.231.7.11 0 200000 1"),
        "{plan}"
    );
    assert!(plan.contains("switch 0 emu-sw1 1 200000"), "{plan}");
    let slow = emu::plan(&t, &[("emu-n3".into(), 0.5)]).unwrap();
    assert!(
        slow.contains("node 2 emu-n3 10.231.7.13 1 100000 1"),
        "{slow}"
    );
    assert!(emu::plan(&t, &[("nope".into(), 0.5)]).is_err());
    assert!(emu::plan(&t, &[("emu-n1".into(), 1.5)]).is_err());
    // Presets without [emulation] cannot be emulated.
    let h = Topology::load(topo_dir().join("dgx-h100.toml")).unwrap();
    assert!(emu::plan(&h, &[]).is_err());
}

/// The emulated rail cluster (tests/rails-emu.toml): one veth per NIC, NIC k in its own
/// /24, each rank's NIC, and the per-NIC faults; per-NIC faults refused on a file that
/// hangs whole nodes on switches.
#[test]
fn rail_emulation_has_a_nic_per_line() {
    let root = topo_dir().parent().unwrap().to_path_buf();
    let t = Topology::load(root.join("tests/rails-emu.toml")).unwrap();
    let plan = emu::plan(&t, &[]).unwrap();
    assert!(plan.contains("switch 1 rail-leaf0 0 50000"), "{plan}");
    assert!(
        plan.contains("node 1 rail-n2 10.231.20.12 - 200000 2"),
        "{plan}"
    );
    assert!(
        plan.contains("nic 1 rail-n2 0 eth0 10.231.20.12 1 100000"),
        "{plan}"
    );
    assert!(
        plan.contains("nic 1 rail-n2 1 eth1 10.231.21.12 2 100000"),
        "{plan}"
    );
    assert!(plan.contains("rank_nics eth0 eth1"), "{plan}");
    let f = emu::Faults {
        slow_node: vec![("rail-n3".into(), 0.25)],
        slow_nic: vec![("rail-n2".into(), "eth1".into(), 0.25)],
        miswire: vec![("rail-n4".into(), "1".into(), "rail-leaf0".into())],
        subnet: Some([10, 1, 2]),
        ..emu::Faults::default()
    };
    let p = emu::plan_faults(&t, &f).unwrap();
    for l in [
        "nic 1 rail-n2 1 eth1 10.1.3.12 2 25000",
        "nic 1 rail-n2 0 eth0 10.1.2.12 1 100000",
        "nic 2 rail-n3 0 eth0 10.1.2.13 1 25000",
        "nic 2 rail-n3 1 eth1 10.1.3.13 2 25000",
        "nic 3 rail-n4 1 eth1 10.1.3.14 1 100000",
    ] {
        assert!(p.contains(l), "{l}:\n{p}");
    }
    let bad = |f: emu::Faults| emu::plan_faults(&t, &f).unwrap_err().to_string();
    let e = bad(emu::Faults {
        miswire: vec![("rail-n4".into(), "eth1".into(), "rail-leaf1".into())],
        ..emu::Faults::default()
    });
    assert!(e.contains("already declares it there"), "{e}");
    let e = bad(emu::Faults {
        slow_nic: vec![("rail-n4".into(), "eth7".into(), 0.5)],
        ..emu::Faults::default()
    });
    assert!(e.contains("no NIC `eth7`"), "{e}");
    let v1 = Topology::load(topo_dir().join("emu-4node-2sw.toml")).unwrap();
    let e = emu::plan_faults(
        &v1,
        &emu::Faults {
            slow_nic: vec![("emu-n1".into(), "0".into(), 0.5)],
            ..emu::Faults::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("per-NIC faults need rails"), "{e}");
}
