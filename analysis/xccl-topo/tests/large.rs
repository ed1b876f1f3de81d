//! Large legal topologies load, show and validate without per-device output or scans of
//! all hosts per host (they used to be quadratic). Not timed here: docs/TOPOLOGY.md (size
//! limits) has the figures (100,000 named hosts: 0.6 s in a release build).

use xccl_topo::topology::{MAX_DEVICES_PER_NODE, MAX_NODES};
use xccl_topo::{JobFacts, Topology};

/// The `[node]` tables of both files: `devices` devices on NVSwitch, 8 × 400 Gbit/s RDMA
/// (tests/fixtures/node-8x400.toml, shared with src/slurm/tests.rs).
fn node(devices: usize) -> String {
    include_str!("fixtures/node-8x400.toml")
        .replace("devices = 8\n", &format!("devices = {devices}\n"))
}

#[test]
fn a_file_at_the_limits_loads_and_shows_in_one_screen() {
    let text = format!(
        r#"version = 1
name = "huge"
nodes = {MAX_NODES}

{}"#,
        node(MAX_DEVICES_PER_NODE)
    );
    let t = Topology::from_toml_str(&text, "huge.toml").unwrap();
    assert_eq!(t.node_count(), 1_000_000);
    let shown = t.to_string();
    assert!(
        shown.contains("nodes     1000000 × 1024 devices"),
        "{shown}"
    );
    // The device → NIC map as ranges, not 1024 entries.
    assert!(
        shown.contains("dev→NIC   0-127→0 128-255→1 ") && shown.contains(" 896-1023→7\n"),
        "{shown}"
    );
    assert!(shown.len() < 1000, "{} bytes:\n{shown}", shown.len());
    let r = t.validate(&JobFacts::new(
        ["x", "x", "y", "y"].iter().map(|s| s.to_string()).collect(),
    ));
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.placement.unwrap().node_of_rank, vec![0, 0, 1, 1]);
}

/// 32,000 named hosts × 8 devices on 1,000 leaves of 32 under one spine.
fn named_cluster() -> String {
    let hosts: Vec<String> = (0..32_000).map(|i| format!("\"h{i}\"")).collect();
    let mut text = format!(
        r#"version = 1
name = "big"
hosts = [{}]

{}
[[switch]]
name = "spine"
tier = 2
"#,
        hosts.join(","),
        node(8)
    );
    for (l, chunk) in hosts.chunks(32).enumerate() {
        text.push_str(&format!(
            "\n[[switch]]\nname = \"leaf{l}\"\ntier = 1\nparent = \"spine\"\noversubscription = 2.0\nhosts = [{}]\n",
            chunk.join(",")
        ));
    }
    text
}

#[test]
fn thirty_two_thousand_named_hosts_load_and_validate() {
    let t = Topology::from_toml_str(&named_cluster(), "big.toml").unwrap();
    assert_eq!(t.node_count(), 32_000);
    assert_eq!(t.switches.len(), 1001);
    // Each leaf: 32 × 8 × 400 Gbit/s down, half of it up; the spine sums the uplinks.
    assert_eq!(t.switches[1].uplink_gbps, Some(51_200.0));
    assert_eq!(t.switches[0].downlink_gbps, 1000.0 * 51_200.0);
    assert_eq!(t.leaf_of_node[31_999], Some(1000));
    // A job on the last two hosts (short names match FQDNs).
    let mut job = vec!["h31998.cluster".to_string(); 8];
    job.extend(vec!["h31999".to_string(); 8]);
    let r = t.validate(&JobFacts::new(job));
    assert!(r.is_ok(), "{r}");
    assert_eq!(
        r.placement.as_ref().unwrap().nodes_used(),
        vec![31_998, 31_999]
    );
    // 31,998 unused hosts: named up to ten, then counted, on one line.
    assert_eq!(
        r.warnings,
        vec![
            "topology hosts without ranks: h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 and 31988 more"
                .to_string()
        ]
    );
    let bad = t.validate(&JobFacts::new(vec!["nowhere".to_string()]));
    assert_eq!(bad.errors.len(), 1);
    assert!(
        bad.errors[0].ends_with("(hosts: h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 and 31990 more)"),
        "{:?}",
        bad.errors
    );
}
