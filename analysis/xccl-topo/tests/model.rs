//! Known answers of the bandwidth model, computed by hand in the comments.
//!
//! Notation: n ranks, S bytes (the size column), one-direction rates. For a ring every edge
//! carries the same bytes; the busbw ceiling is bus_factor × S / (time of the most loaded
//! link).

use std::path::PathBuf;
use xccl_topo::model::{expected, expected_rooted};
use xccl_topo::{CollKind, LinkClass, Placement, Topology};

const GIB: u64 = 1 << 30;

fn preset(name: &str) -> Topology {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../topologies")
        .join(name);
    Topology::load(p).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1e-9)
}

fn bw(t: &Topology, p: &Placement, c: CollKind) -> (f64, LinkClass, String) {
    let e = expected(t, p, c, GIB);
    (e.busbw_gbs.unwrap(), e.bottleneck, e.algorithm)
}

/// One DGX H100, 8 GPUs, NVSwitch 450 GB/s per GPU.
#[test]
fn one_node() {
    let t = preset("dgx-h100.toml");
    let p = Placement::block(1, 8);
    // all_reduce ring: each GPU sends 2·7/8·S over NVLink at 450 GB/s;
    // busbw = 2·7/8·S / (2·7/8·S / 450) = 450, SDMA-bound.
    let (b, c, _) = bw(&t, &p, CollKind::AllReduce);
    assert!(close(b, 450.0), "{b}");
    assert_eq!(c, LinkClass::Sdma);
    // all_gather ring: 7/8·S per GPU → 450.
    assert!(close(bw(&t, &p, CollKind::AllGather).0, 450.0));
    // alltoall: each GPU sends S/8 to 7 peers = 7/8·S at 450; busbw = 7/8·S / t = 450.
    assert!(close(bw(&t, &p, CollKind::Alltoall).0, 450.0));
    // Nothing crosses a NIC.
    let e = expected(&t, &p, CollKind::AllReduce, GIB);
    assert_eq!(e.rdma_bytes, 0.0);
    assert!(close(e.sdma_bytes, 1.75 * GIB as f64));
    // α: 2(p−1) = 14 steps × 2 us.
    assert!(close(e.alpha_time_us, 28.0));
    // NVLS declared: all_reduce may beat the ring bound.
    assert!(e.in_network_reduction);
}

/// Two DGX H100 under one switch: 8 × 400 Gbit/s = 400 GB/s per node, 50 GB/s per NIC.
#[test]
fn two_nodes_one_switch() {
    let t = preset("dgx-h100.toml");
    let p = Placement::block(2, 8);
    // all_reduce, n = 16. Ring (grouped by node): each edge carries 2·15/16·S = 1.875 S.
    // Intra edges: 1.875 S / 450. The one edge leaving each node is spread over its 8
    // NICs: 1.875 S / 400 → RDMA-bound, busbw = 1.875 S / (1.875 S / 400) = 400.
    // Hierarchical: 2·(7/8)·S/450 + (2·1/2·S/8)/50 = S(0.003889 + 0.0025) → 1.875/0.006389
    // = 293.5 < 400, so the ring sets the ceiling.
    let (b, c, alg) = bw(&t, &p, CollKind::AllReduce);
    assert!(close(b, 400.0), "{b}");
    assert_eq!((c, alg.as_str()), (LinkClass::Rdma, "ring"));
    // all_gather ring: edges 15/16 S; crossing over 400 GB/s → 400.
    assert!(close(bw(&t, &p, CollKind::AllGather).0, 400.0));
    // alltoall: each GPU sends S/16 to the 8 GPUs of the other node over its own NIC:
    // 8/16·S = S/2 at 50 GB/s → t = S/100; busbw = (15/16)·S / t = 93.75.
    let (b, c, _) = bw(&t, &p, CollKind::Alltoall);
    assert!(close(b, 93.75), "{b}");
    assert_eq!(c, LinkClass::Rdma);
    // The same with the switch declared explicitly (both hosts on one leaf, no uplink
    // crossed) gives the same answers.
    let text = std::fs::read_to_string(t.source.as_ref().unwrap())
        .unwrap()
        .replace("[node]", "hosts = [\"a\", \"b\"]\n\n[node]")
        + "\n[[switch]]\nname = \"leaf\"\ntier = 1\nhosts = [\"a\", \"b\"]\n";
    let t2 = Topology::from_toml_str(&text, "two.toml").unwrap();
    assert!(close(bw(&t2, &p, CollKind::AllReduce).0, 400.0));
    assert!(close(bw(&t2, &p, CollKind::Alltoall).0, 93.75));
}

/// Hierarchical all_reduce beats the ring when the NIC is much slower than the fabric.
#[test]
fn hierarchical_wins_with_one_slow_nic() {
    let text = r#"version = 1
name = "pcie-box"
nodes = 2
[node]
devices = 8
[node.fabric]
kind = "pcie"
bw_gbs = 100.0
[node.nic]
count = 1
rate_gbps = 100.0
transport = "rdma"
"#;
    let t = Topology::from_toml_str(text, "pcie.toml").unwrap();
    let p = Placement::block(2, 8);
    // Ring: the crossing edge (1.875 S) goes through the one 12.5 GB/s NIC → 12.5.
    // Hierarchical: intra reduce-scatter + all-gather 2·(7/8)·S/100 = 0.0175 S; inter:
    // 8 rails × 2·(1/2)·S/8 = S through the one NIC at 12.5 → 0.08 S; total 0.0975 S;
    // busbw = 1.875 / 0.0975 = 19.2308.
    let (b, c, alg) = bw(&t, &p, CollKind::AllReduce);
    assert!(close(b, 1.875 / 0.0975), "{b}");
    assert_eq!((c, alg.as_str()), (LinkClass::Rdma, "hierarchical"));
    let e = expected(&t, &p, CollKind::AllReduce, GIB);
    // α: 2(k−1) = 14 intra steps × 0 + 2(N−1) = 2 inter steps × 0 (no latency declared).
    assert_eq!(e.alpha_time_us, 0.0);
}

/// Three 8-NPU servers, two on switch-a, one on switch-b, 800 Gbit/s (100 GB/s) between.
#[test]
fn oversubscribed_uplink() {
    let t = preset("atlas-3x8-2switch.toml");
    let p = Placement::block(3, 8);
    assert_eq!(t.switches[0].oversubscription(), Some(4.0));
    // all_reduce ring over 24 NPUs, nodes a1, a2, b1: edges carry 2·23/24·S = 1.9167 S.
    // The ring crosses the switch-a↔switch-b bundle once each way (a2→b1 up, b1→a1 down):
    // 1.9167 S / 100 vs the NICs' 1.9167 S / 200 and HCCS 1.9167 S / 196 → busbw 100.
    // Hierarchical: 2·(7/8)·S/196 + 8 rails × (2·2/3·S/8 = S/6) = 1.333 S over the bundle
    // at 100 → 0.008929 S + 0.013333 S → 1.9167/0.022262 = 86.1 < 100.
    let e = expected(&t, &p, CollKind::AllReduce, GIB);
    assert!(close(e.busbw_gbs.unwrap(), 100.0), "{e:?}");
    assert_eq!(e.bottleneck, LinkClass::Rdma);
    assert!(
        e.bottleneck_link.contains("switch-a"),
        "{}",
        e.bottleneck_link
    );
    // all_gather: edges 23/24 S, same crossing → 100.
    assert!(close(bw(&t, &p, CollKind::AllGather).0, 100.0));
    // alltoall: each NPU sends S/24 to each of 23 others. switch-a's uplink carries the 16
    // NPUs of a1, a2 → the 8 of b1: 128 × S/24 = 5.333 S at 100 → t = 0.05333 S;
    // busbw = (23/24)·S / t = 17.96875 (the NICs alone would allow 16 × S/24 per NIC at
    // 25 → 0.02667 S).
    let (b, c, _) = bw(&t, &p, CollKind::Alltoall);
    assert!(close(b, 17.96875), "{b}");
    assert_eq!(c, LinkClass::Rdma);
    // Two nodes on the same switch never cross the bundle: alltoall on a1, a2 only gives
    // the NIC bound of two nodes, 25 × 15/8 = 46.875.
    let p2 = Placement::block(2, 8);
    assert!(close(bw(&t, &p2, CollKind::Alltoall).0, 46.875));
    // α of the ring: 2·23 = 46 steps × (8 us NIC + 1 us for switch-a's uplink).
    assert!(close(e.alpha_time_us, 46.0 * 9.0), "{}", e.alpha_time_us);
}

/// The emulated cluster: 200 Mbit/s NICs, 200 Mbit/s between the bridges.
#[test]
fn emulated_cluster() {
    let t = preset("emu-3node.toml");
    let p = Placement::block(3, 1);
    // all_reduce ring of 3: every link (NICs, the uplink each way) carries 4/3·S at
    // 0.025 GB/s → busbw 0.025. sendrecv: each rank's S through its NIC → 0.025.
    for c in [
        CollKind::AllReduce,
        CollKind::Sendrecv,
        CollKind::AllGather,
        CollKind::Broadcast,
    ] {
        let (b, cl, _) = bw(&t, &p, c);
        assert!(close(b, 0.025), "{c}: {b}");
        assert_eq!(cl, LinkClass::Rdma);
    }
    let e = expected(&t, &p, CollKind::AllReduce, 8 << 20);
    assert!(e.scaled_down);
    // β = 4/3 · 8 MiB / 25e6 B/s = 447.4 ms; α = 4 steps × 5 ms.
    assert!(close(
        e.beta_time_us,
        4.0 / 3.0 * (8 << 20) as f64 / 25e6 * 1e6
    ));
    assert!(close(e.alpha_time_us, 20_000.0));
}

#[test]
fn rooted_and_degenerate_cases() {
    let t = preset("dgx-h100.toml");
    // Broadcast on two nodes: chain, every edge S; the crossing edge over 400 → 400.
    let p = Placement::block(2, 8);
    let e = expected_rooted(&t, &p, CollKind::Broadcast, GIB, 3);
    assert!(close(e.busbw_gbs.unwrap(), 400.0));
    // Gather to rank 0: the 8 remote ranks send S/16 each into rank 0's one NIC (50):
    // t = S/2 / 50 = S/100; busbw = (15/16)·S / t = 93.75.
    let e = expected(&t, &p, CollKind::Gather, GIB);
    assert!(close(e.busbw_gbs.unwrap(), 93.75), "{e:?}");
    // Sendrecv across two nodes: only rank 7 → 8 and 15 → 0 cross, each through one NIC
    // (50 GB/s) → 50.
    assert!(close(bw(&t, &p, CollKind::Sendrecv).0, 50.0));
    // One rank: no expectation.
    let e = expected(&t, &Placement::block(1, 1), CollKind::AllReduce, GIB);
    assert!(e.busbw_gbs.is_none());
    assert_eq!(e.bottleneck, LinkClass::None);
    // Ranks spread round-robin: the model still orders the ring by node.
    let rr = Placement::new((0..16).map(|r| r % 2).collect());
    assert!(close(bw(&t, &rr, CollKind::AllReduce).0, 400.0));
}

#[test]
fn unknown_nic_rate_gives_no_expectation() {
    let facts = xccl_topo::JobFacts::new(vec!["a".into(), "b".into()]);
    let t = Topology::detect(&facts, std::path::Path::new("/nonexistent"));
    let p = t.place(&facts.hostnames).unwrap();
    let e = expected(&t, &p, CollKind::AllReduce, GIB);
    assert!(e.busbw_gbs.is_none());
    assert!(e.unknown.unwrap().contains("NIC"));
}
