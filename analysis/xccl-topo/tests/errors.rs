//! Malformed topology files: every error names file, line and key.

use xccl_topo::{TopoError, Topology};

/// Three lines, a blank one, then the `[node]` tables of fixtures/node-2x100.toml (shared
/// with tests/rails.rs) from line 5: 2 devices on NVSwitch, 2 x 100 Gbit/s RDMA NICs.
const BASE: &str = concat!(
    "version = 1\nname = \"t\"\nhosts = [\"a\", \"b\"]\n\n",
    include_str!("fixtures/node-2x100.toml")
);

fn err(text: &str) -> (String, usize, String, String) {
    match Topology::from_toml_str(text, "bad.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => {
            let at = e.location().expect("located").clone();
            assert_eq!(at.file, "bad.toml");
            (at.key.clone(), at.line, e.to_string(), format!("{e:?}"))
        }
    }
}

#[test]
fn base_is_valid() {
    let t = Topology::from_toml_str(BASE, "ok.toml").unwrap();
    assert_eq!(t.nodes, vec!["a", "b"]);
    assert_eq!(t.nics.device_nic, vec![0, 1]);
}

#[test]
fn syntax_error() {
    let (key, line, msg, _) = err(&BASE.replace("bw_gbs = 100.0", "bw_gbs = "));
    assert_eq!(line, 10);
    assert_eq!(key, "node.fabric.bw_gbs");
    assert!(msg.starts_with("bad.toml:10:"), "{msg}");
}

#[test]
fn wrong_type() {
    let (key, line, msg, _) = err(&BASE.replace("devices = 2", "devices = \"two\""));
    assert_eq!((key.as_str(), line), ("node.devices", 6));
    assert!(msg.contains("invalid type"), "{msg}");
}

#[test]
fn unknown_key_is_an_error() {
    let (key, line, msg, _) = err(&BASE.replace("rate_gbps = 100.0", "rate_gbs = 100.0"));
    assert_eq!((key.as_str(), line), ("node.nic.rate_gbs", 14));
    assert!(msg.contains("unknown field `rate_gbs`"), "{msg}");
}

#[test]
fn missing_key_points_at_its_table() {
    let (key, line, msg, _) = err(&BASE.replace("bw_gbs = 100.0\n", ""));
    assert_eq!((key.as_str(), line), ("node.fabric", 8));
    assert!(msg.contains("missing field `bw_gbs`"), "{msg}");
}

#[test]
fn bad_enum_value() {
    let (key, line, msg, _) = err(&BASE.replace("\"nvswitch\"", "\"nvlinkk\""));
    assert_eq!((key.as_str(), line), ("node.fabric.kind", 9));
    assert!(msg.contains("unknown fabric kind"), "{msg}");
    let (key, line, _, _) = err(&BASE.replace("\"rdma\"", "\"carrier-pigeon\""));
    assert_eq!((key.as_str(), line), ("node.nic.transport", 15));
}

#[test]
fn unsupported_version() {
    let (key, line, msg, _) = err(&BASE.replace("version = 1", "version = 3"));
    assert_eq!((key.as_str(), line), ("version", 1));
    assert!(msg.contains("version 3"), "{msg}");
}

#[test]
fn negative_rate() {
    let (key, line, _, _) = err(&BASE.replace("rate_gbps = 100.0", "rate_gbps = -1.0"));
    assert_eq!((key.as_str(), line), ("node.nic.rate_gbps", 14));
}

#[test]
fn device_nic_out_of_range() {
    let t = BASE.replace(
        "transport = \"rdma\"",
        "transport = \"rdma\"\ndevice_nic = [0, 2]",
    );
    let (key, line, msg, _) = err(&t);
    assert_eq!((key.as_str(), line), ("node.nic.device_nic[1]", 16));
    assert!(msg.contains("NIC 2 does not exist"), "{msg}");
    let t = BASE.replace(
        "transport = \"rdma\"",
        "transport = \"rdma\"\ndevice_nic = [0]",
    );
    assert_eq!(err(&t).0, "node.nic.device_nic");
}

#[test]
fn duplicate_host() {
    let (key, line, _, _) = err(&BASE.replace("[\"a\", \"b\"]", "[\"a\", \"a\"]"));
    assert_eq!((key.as_str(), line), ("hosts[1]", 3));
}

#[test]
fn multi_node_needs_nics() {
    let t = &BASE[..BASE.find("[node.nic]").unwrap()];
    let (key, line, _, _) = err(t);
    assert_eq!((key.as_str(), line), ("node", 5));
}

const SW: &str = r#"
[[switch]]
name = "leaf"
tier = 1
hosts = ["a", "b"]
parent = "spine"
uplink_gbps = 100.0

[[switch]]
name = "spine"
tier = 2
"#;

#[test]
fn switches_valid() {
    let t = Topology::from_toml_str(&format!("{BASE}{SW}"), "ok.toml").unwrap();
    // downlinks: 2 nodes × 2 NICs × 100 Gbit/s = 400 over 100: 4:1.
    assert_eq!(t.switches[0].oversubscription(), Some(4.0));
    assert_eq!(t.leaf_of_node, vec![Some(0), Some(0)]);
}

#[test]
fn unknown_host_on_switch() {
    let text = format!("{BASE}{}", SW.replace("[\"a\", \"b\"]", "[\"a\", \"c\"]"));
    let (key, line, msg, _) = err(&text);
    assert_eq!((key.as_str(), line), ("switch[0].hosts[1]", 20));
    assert!(msg.contains("host `c` is not in `hosts`"), "{msg}");
}

#[test]
fn host_on_no_switch() {
    let text = format!("{BASE}{}", SW.replace("[\"a\", \"b\"]", "[\"a\"]"));
    let (key, _, msg, _) = err(&text);
    assert_eq!(key, "switch");
    assert!(msg.contains("host `b` hangs on no switch"), "{msg}");
}

#[test]
fn unknown_parent_and_tier_order() {
    let text = format!(
        "{BASE}{}",
        SW.replace("parent = \"spine\"", "parent = \"spin\"")
    );
    assert_eq!(err(&text).0, "switch[0].parent");
    let text = format!("{BASE}{}", SW.replace("tier = 2", "tier = 1"));
    let (key, line, msg, _) = err(&text);
    assert_eq!((key.as_str(), line), ("switch[0].parent", 21));
    assert!(msg.contains("must be above tier 1"), "{msg}");
}

#[test]
fn uplink_and_oversubscription_must_agree() {
    let ok = format!(
        "{BASE}{}",
        SW.replace("uplink_gbps = 100.0", "oversubscription = 2.0")
    );
    let t = Topology::from_toml_str(&ok, "ok.toml").unwrap();
    assert_eq!(t.switches[0].uplink_gbps, Some(200.0));
    let bad = format!(
        "{BASE}{}",
        SW.replace(
            "uplink_gbps = 100.0",
            "uplink_gbps = 100.0\noversubscription = 2.0"
        )
    );
    let (key, line, msg, _) = err(&bad);
    assert_eq!((key.as_str(), line), ("switch[0].oversubscription", 23));
    assert!(msg.contains("disagrees"), "{msg}");
    let none = format!("{BASE}{}", SW.replace("uplink_gbps = 100.0\n", ""));
    assert_eq!(err(&none).0, "switch[0]");
    let top = format!("{BASE}{}uplink_gbps = 5.0\n", SW);
    assert_eq!(err(&top).0, "switch[1].uplink_gbps");
}

#[test]
fn two_roots_are_rejected() {
    let text = format!(
        "{BASE}{}",
        SW.replace("parent = \"spine\"\nuplink_gbps = 100.0\n", "")
    );
    let (_, _, msg, _) = err(&text);
    assert!(msg.contains("one tree"), "{msg}");
}

#[test]
fn io_error_names_the_file() {
    let e = Topology::load("/nonexistent/topo.toml").unwrap_err();
    assert!(matches!(e, TopoError::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/topo.toml"));
}

#[test]
fn load_reports_the_path() {
    let dir = std::env::temp_dir().join(format!("xccl-topo-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("x.toml");
    std::fs::write(&p, BASE.replace("devices = 2", "devices = 0")).unwrap();
    let e = Topology::load(&p).unwrap_err();
    let at = e.location().unwrap();
    assert_eq!(at.file, p.display().to_string());
    assert_eq!((at.line, at.key.as_str()), (6, "node.devices"));
    std::fs::remove_dir_all(&dir).unwrap();
}

// Absurd sizes are refused before anything is built per node or per device (a file with
// 10^8 nodes and 10^8 devices used to take GBs and tens of seconds in `topo show`).
#[test]
fn absurd_node_and_device_counts_are_refused() {
    let text = BASE
        .replace("hosts = [\"a\", \"b\"]", "nodes = 100000000")
        .replace("devices = 2", "devices = 100000000");
    let (key, line, msg, _) = err(&text);
    assert_eq!((key.as_str(), line), ("nodes", 3));
    assert!(
        msg.contains("100000000 nodes is over the limit of 1000000"),
        "{msg}"
    );
    assert_eq!(msg.lines().count(), 1, "{msg}");
}

#[test]
fn node_limit_is_one_million() {
    let (key, line, msg, _) = err(&BASE.replace("hosts = [\"a\", \"b\"]", "nodes = 1000001"));
    assert_eq!((key.as_str(), line), ("nodes", 3));
    assert!(msg.contains("over the limit of 1000000"), "{msg}");
}

#[test]
fn device_limit_is_1024() {
    let (key, line, msg, _) = err(&BASE.replace("devices = 2", "devices = 1025"));
    assert_eq!((key.as_str(), line), ("node.devices", 6));
    assert!(
        msg.contains("1025 devices per node is over the limit of 1024"),
        "{msg}"
    );
    let (key, line, msg, _) = err(&BASE
        .replace("devices = 2", "devices = 100000000")
        .replace("count = 2", "count = 1"));
    assert_eq!((key.as_str(), line), ("node.devices", 6));
    assert!(msg.contains("over the limit of 1024"), "{msg}");
}

#[test]
fn nic_limit_is_1024() {
    let (key, line, msg, _) = err(&BASE.replace("count = 2", "count = 1025"));
    assert_eq!((key.as_str(), line), ("node.nic.count", 13));
    assert!(
        msg.contains("1025 NICs per node is over the limit of 1024"),
        "{msg}"
    );
}
