//! Format version 2: named NICs, rails, per-NIC attachment, device routes, and the model
//! on a rail-optimised fabric.

use std::path::PathBuf;
use std::time::Instant;
use xccl_topo::{model, CollKind, Placement, RouteKind, RouteLink, Topology};

fn preset(name: &str) -> Topology {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../topologies")
        .join(name);
    Topology::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

const NODE: &str = concat!(
    "\n",
    include_str!("fixtures/node-2x100.toml"),
    "names = [\"mlx5_0\", \"mlx5_1\"]\n"
);

/// Two hosts on two rails under one spine, in the rail form.
fn rails_form() -> String {
    format!(
        r#"version = 2
name = "t"
hosts = ["a", "b"]
{NODE}
[[rails]]
hosts = ["a", "b"]
rails = 2
leaf = "rail{{rail}}"
parent = "spine"
uplink_gbps = 200.0

[[switch]]
name = "spine"
tier = 2
"#
    )
}

/// The same fabric with every NIC attached explicitly.
fn explicit_form() -> String {
    let mut s = format!(
        r#"version = 2
name = "t"
hosts = ["a", "b"]
{NODE}
[[switch]]
name = "spine"
tier = 2

[[switch]]
name = "rail0"
tier = 1
parent = "spine"
uplink_gbps = 200.0

[[switch]]
name = "rail1"
tier = 1
parent = "spine"
uplink_gbps = 200.0
"#
    );
    for h in ["a", "b"] {
        for (n, l) in [("mlx5_0", "rail0"), ("mlx5_1", "rail1")] {
            s.push_str(&format!(
                "\n[[nic]]\nhost = \"{h}\"\nnic = \"{n}\"\nleaf = \"{l}\"\n"
            ));
        }
    }
    s
}

fn err(text: &str) -> (String, usize, String) {
    match Topology::from_toml_str(text, "bad.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => {
            let at = e.location().expect("located").clone();
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "one line: {msg}");
            assert!(msg.starts_with(&format!("bad.toml:{}:", at.line)), "{msg}");
            (at.key, at.line, msg)
        }
    }
}

#[test]
fn every_v1_preset_loads_the_same_as_version_2() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../topologies");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        if !text.contains("\nversion = 1\n") {
            continue;
        }
        let v1 = Topology::from_toml_str(&text, "f.toml").unwrap();
        let mut v2 = Topology::from_toml_str(
            &text.replace("\nversion = 1\n", "\nversion = 2\n"),
            "f.toml",
        )
        .unwrap();
        assert_eq!(v2.version, 2);
        v2.version = 1;
        assert_eq!(v1, v2, "{}", p.display());
        assert!(v1.nic_leaf.is_empty() && v1.rail_groups.is_empty());
        assert_eq!(v1.nics.name(0), "nic0");
        n += 1;
    }
    assert!(n >= 6, "{n} v1 presets");
}

#[test]
fn rails_form_and_explicit_form_attach_the_same() {
    let r = Topology::from_toml_str(&rails_form(), "r.toml").unwrap();
    let x = Topology::from_toml_str(&explicit_form(), "x.toml").unwrap();
    assert_eq!(r.nic_leaf.len(), 4);
    let name =
        |t: &Topology, n: usize, i: usize| t.nic_leaf(n, i).map(|l| t.switches[l].name.clone());
    for n in 0..2 {
        for i in 0..2 {
            assert_eq!(name(&r, n, i), name(&x, n, i));
            assert_eq!(name(&r, n, i), Some(format!("rail{i}")));
        }
    }
    // Same capacities: each rail leaf carries two 100G NICs.
    for t in [&r, &x] {
        let l = t.nic_leaf(0, 1).unwrap();
        assert_eq!(t.switches[l].downlink_gbps, 200.0);
        assert_eq!(t.switches[l].nics, vec![(0, 1), (1, 1)]);
    }
    assert_eq!(r.rail_groups.len(), 1);
    assert!(r.to_string().contains("rails     2 rails × 2 nodes"), "{r}");
}

#[test]
fn a_rail_host_not_in_hosts_is_an_error() {
    let (key, line, msg) = err(&rails_form().replace(
        "hosts = [\"a\", \"b\"]\nrails",
        "hosts = [\"a\", \"c\"]\nrails",
    ));
    assert_eq!(key, "rails[0].hosts[1]");
    assert_eq!(line, 19);
    assert!(msg.contains("host `c` is not in `hosts`"), "{msg}");
}

#[test]
fn a_host_on_no_rail_is_an_error() {
    let (key, _, msg) =
        err(&rails_form().replace("hosts = [\"a\", \"b\"]\nrails", "hosts = [\"a\"]\nrails"));
    assert_eq!(key, "rails");
    assert!(msg.contains("host `b` hangs on no switch"), "{msg}");
}

#[test]
fn rails_must_match_the_nic_count() {
    let (key, _, msg) = err(&rails_form().replace("rails = 2", "rails = 3"));
    assert_eq!(key, "rails[0].rails");
    assert!(msg.contains("rails = 3 but node.nic.count = 2"), "{msg}");
}

#[test]
fn a_nic_named_twice_is_an_error() {
    let (key, line, msg) = err(&rails_form().replace("\"mlx5_1\"]", "\"mlx5_0\"]"));
    assert_eq!((key.as_str(), line), ("node.nic.names[1]", 16));
    assert!(msg.contains("NIC `mlx5_0` is named twice"), "{msg}");
}

#[test]
fn a_nic_attached_twice_is_an_error() {
    let text = format!(
        "{}\n[[nic]]\nhost = \"a\"\nnic = \"mlx5_0\"\nleaf = \"rail1\"\n",
        explicit_form()
    );
    let (key, _, msg) = err(&text);
    assert_eq!(key, "nic[4]");
    assert!(
        msg.contains("NIC `mlx5_0` of host `a` is attached twice"),
        "{msg}"
    );
}

#[test]
fn a_nic_on_an_unknown_leaf_is_an_error() {
    let text = explicit_form().replacen("leaf = \"rail1\"", "leaf = \"rail9\"", 1);
    let (key, _, msg) = err(&text);
    assert_eq!(key, "nic[1].leaf");
    assert!(msg.contains("no switch named `rail9`"), "{msg}");
}

#[test]
fn version_2_keys_in_a_version_1_file_are_an_error() {
    let (key, line, msg) = err(&rails_form().replace("version = 2", "version = 1"));
    assert_eq!((key.as_str(), line), ("rails", 18));
    assert!(msg.contains("set `version = 2`"), "{msg}");
}

#[test]
fn routes_on_the_superpod_su() {
    let t = preset("dgx-h100-superpod-su.toml");
    assert_eq!(t.node_count(), 32);
    let d = t.device_nic(5, 3);
    assert_eq!((d.nic, d.name.as_str()), (3, "mlx5_3"));
    assert_eq!(t.switches[d.leaf.unwrap()].name, "su1-rail3");

    let same_node = t.device_route((0, 1), (0, 6));
    assert_eq!(same_node.kind, RouteKind::SameNode);
    assert_eq!(same_node.links, vec![RouteLink::Fabric { node: 0 }]);

    let same_rail = t.device_route((0, 2), (31, 2));
    assert_eq!(same_rail.kind, RouteKind::SameLeaf);
    assert_eq!(t.switches[same_rail.top.unwrap()].name, "su1-rail2");
    assert_eq!(
        same_rail.links,
        vec![
            RouteLink::NicOut { node: 0, nic: 2 },
            RouteLink::NicIn { node: 31, nic: 2 }
        ]
    );

    let cross = t.device_route((0, 2), (31, 5));
    assert_eq!(cross.kind, RouteKind::ViaSpine);
    assert_eq!(t.switches[cross.top.unwrap()].name, "spine");
    let names: Vec<String> = cross
        .links
        .iter()
        .map(|l| match l {
            RouteLink::Up { switch } => format!("up {}", t.switches[*switch].name),
            RouteLink::Down { switch } => format!("down {}", t.switches[*switch].name),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "NicOut { node: 0, nic: 2 }",
            "up su1-rail2",
            "down su1-rail5",
            "NicIn { node: 31, nic: 5 }"
        ]
    );
    // The same questions of a placed job, by rank.
    let p = Placement::block(2, 8);
    assert_eq!(t.rank_nic(&p, 10).name, "mlx5_2");
    assert_eq!(t.rank_route(&p, 2, 10).kind, RouteKind::SameLeaf);
    assert_eq!(t.rank_route(&p, 2, 13).kind, RouteKind::ViaSpine);
}

#[test]
fn the_model_keeps_same_rail_traffic_on_the_rail_leaf() {
    let t = preset("dgx-h100-superpod-su.toml");
    // sendrecv on 2 nodes × 1 GPU: rank 0 (GPU 0, rail 0) → rank 1 on node 1.
    let same = Placement {
        node_of_rank: vec![0, 1],
        device_of_rank: vec![0, 0],
    };
    let e = model::expected(&t, &same, CollKind::Sendrecv, 1 << 30);
    assert!((e.busbw_gbs.unwrap() - 50.0).abs() < 1e-6, "{e:?}");
    assert!(
        e.bottleneck_link.starts_with("NIC 0"),
        "{}",
        e.bottleneck_link
    );
    // Ring all_reduce on 32 full nodes: one channel per rail, NIC-bound (400 GB/s).
    let full = Placement::block(32, 8);
    let e = model::expected(&t, &full, CollKind::AllReduce, 1 << 30);
    assert!((e.busbw_gbs.unwrap() - 400.0).abs() < 1e-6, "{e:?}");
    assert!(
        !e.bottleneck_link.contains("uplink"),
        "{}",
        e.bottleneck_link
    );
}

#[test]
fn cross_rail_traffic_climbs_to_the_spine() {
    // The Atlas preset with 1:8 uplinks: cross-rail flows are bound by the rail uplink.
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../topologies/atlas-910b-rails.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let t = Topology::from_toml_str(
        &text.replace("uplink_gbps = 3200.0", "uplink_gbps = 25.0"),
        "x.toml",
    )
    .unwrap();
    let cross = Placement {
        node_of_rank: vec![0, 1],
        device_of_rank: vec![0, 1],
    };
    let e = model::expected(&t, &cross, CollKind::Sendrecv, 1 << 30);
    assert!(
        e.bottleneck_link.starts_with("uplink of rail"),
        "{}",
        e.bottleneck_link
    );
    let same = Placement {
        node_of_rank: vec![0, 1],
        device_of_rank: vec![1, 1],
    };
    let e = model::expected(&t, &same, CollKind::Sendrecv, 1 << 30);
    assert!(
        e.bottleneck_link.starts_with("NIC 1"),
        "{}",
        e.bottleneck_link
    );
}

#[test]
fn a_1024_node_rail_file_loads_fast() {
    let hosts: Vec<String> = (0..1024).map(|i| format!("\"n{i:04}\"")).collect();
    let mut text = format!(
        "version = 2\nname = \"big\"\nhosts = [{}]\n[node]\ndevices = 8\n[node.fabric]\nkind = \"nvswitch\"\nbw_gbs = 450.0\n[node.nic]\ncount = 8\nrate_gbps = 400.0\ntransport = \"rdma\"\n\n[[switch]]\nname = \"spine\"\ntier = 2\n",
        hosts.join(", ")
    );
    for su in 0..32 {
        let h = &hosts[su * 32..(su + 1) * 32];
        text.push_str(&format!(
            "\n[[rails]]\nhosts = [{}]\nrails = 8\nleaf = \"su{su}-rail{{rail}}\"\nparent = \"spine\"\nuplink_gbps = 12800.0\n",
            h.join(", ")
        ));
    }
    let start = Instant::now();
    let t = Topology::from_toml_str(&text, "big.toml").unwrap();
    let shown = t.to_string();
    let took = start.elapsed();
    assert_eq!(t.switches.len(), 1 + 32 * 8);
    assert_eq!(t.switches[t.nic_leaf(1023, 7).unwrap()].name, "su31-rail7");
    assert_eq!(t.device_route((0, 0), (40, 0)).kind, RouteKind::ViaSpine);
    assert!(shown.len() < 100_000, "{} bytes", shown.len());
    // Debug builds on a shared core: generous, but a quadratic scan would blow it.
    assert!(took.as_secs_f64() < 5.0, "{took:?}");
}

#[test]
fn nccl_pxn_keeps_cross_rail_traffic_on_the_destination_rail() {
    // Two hosts on two rails, 12.5 GB/s NICs, 100 GB/s NVSwitch, rail uplinks cut to
    // 1.25 GB/s. GPU 0 of a (rail 0) <-> GPU 1 of b (rail 1).
    let cross = Placement {
        node_of_rank: vec![0, 1],
        device_of_rank: vec![0, 1],
    };
    let thin = rails_form().replace("uplink_gbps = 200.0", "uplink_gbps = 10.0");
    // NVSwitch: PXN relays over NVLink to GPU 1 of a, whose NIC is on rail 1: NIC-bound.
    let t = Topology::from_toml_str(&thin, "t.toml").unwrap();
    assert!(t.fabric.pxn);
    let e = model::expected(&t, &cross, CollKind::Sendrecv, 1 << 30);
    assert!((e.busbw_gbs.unwrap() - 12.5).abs() < 1e-6, "{e:?}");
    assert!(
        !e.bottleneck_link.contains("uplink"),
        "{}",
        e.bottleneck_link
    );
    // NCCL_PXN_DISABLE=1 (or a fabric without the relay): up to the spine, uplink-bound.
    let off = thin.replace("bw_gbs = 100.0", "bw_gbs = 100.0\npxn = false");
    let t = Topology::from_toml_str(&off, "t.toml").unwrap();
    assert!(!t.fabric.pxn);
    let e = model::expected(&t, &cross, CollKind::Sendrecv, 1 << 30);
    assert!((e.busbw_gbs.unwrap() - 1.25).abs() < 1e-6, "{e:?}");
    assert!(
        e.bottleneck_link.contains("uplink"),
        "{}",
        e.bottleneck_link
    );
    let hccs = thin.replace("kind = \"nvswitch\"", "kind = \"hccs\"");
    assert!(!Topology::from_toml_str(&hccs, "t.toml").unwrap().fabric.pxn);
}
