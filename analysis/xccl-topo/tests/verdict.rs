//! Verdicts, table cells, JSON shape and the health check.

use xccl_topo::health::{shortfalls, summary};
use xccl_topo::model::expected;
use xccl_topo::verdict::{judge, LargeRule};
use xccl_topo::{Class, CollKind, JudgeOptions, LinkClass, Placement, Topology};

fn emu() -> Topology {
    Topology::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../topologies/emu-3node.toml"
    ))
    .unwrap()
}

#[test]
fn classes() {
    let t = emu();
    let p = Placement::block(3, 1);
    let o = JudgeOptions::default();
    let e = expected(&t, &p, CollKind::AllReduce, 8 << 20);
    assert!(o.is_large(&e));
    // Healthy: 0.0228 of 0.025 = 0.91.
    let v = judge(&e, 0.02275, 490_000.0, &o);
    assert_eq!(v.class, Class::BandwidthBound);
    assert_eq!(v.bottleneck, LinkClass::Rdma);
    assert!((v.efficiency - 0.91).abs() < 1e-9);
    assert_eq!(v.cell(), "BW 0.91 RDMA");
    // Half-rate NIC somewhere: 0.47.
    let v = judge(&e, 0.01175, 950_000.0, &o);
    assert_eq!(v.class, Class::LowEfficiency);
    assert_eq!(v.cell(), "LOW 0.47 RDMA");
    assert!(v.note.contains("RDMA below 0.80"), "{}", v.note);
    // Above the model.
    let v = judge(&e, 0.03, 400_000.0, &o);
    assert_eq!(v.class, Class::AboveModel);
    assert_eq!(v.cell(), "ABOVE 1.20");
    // A small message: α (20 ms) is most of the time → latency-bound, judged on time.
    let small = expected(&t, &p, CollKind::AllReduce, 64 << 10);
    assert!(!o.is_large(&small));
    let v = judge(&small, 0.001, 2.0 * small.best_time_us, &o);
    assert_eq!(v.class, Class::LatencyBound);
    assert_eq!(v.time_ratio, Some(2.0));
    assert_eq!(v.cell(), "LAT 2.0x");
    assert!(!v.large);
    // Threshold is configurable.
    let v = judge(&e, 0.02275, 490_000.0, &JudgeOptions::with_threshold(0.95));
    assert_eq!(v.class, Class::LowEfficiency);
}

#[test]
fn large_message_rules() {
    let t = emu();
    let p = Placement::block(3, 1);
    let o = JudgeOptions::default();
    // Scaled-down links: α share ≤ 10 %. all_reduce: α = 20 ms, β = 4/3·S/25e6:
    // 2 MiB → β 111.8 ms, share 15 % (latency-bound); 4 MiB → 8.2 % (large).
    assert!(!o.is_large(&expected(&t, &p, CollKind::AllReduce, 2 << 20)));
    assert!(o.is_large(&expected(&t, &p, CollKind::AllReduce, 4 << 20)));
    // sendrecv: α = 5 ms; 1 MiB → β 41.9 ms, 10.7 %; 2 MiB → 5.6 %.
    assert!(!o.is_large(&expected(&t, &p, CollKind::Sendrecv, 1 << 20)));
    assert!(o.is_large(&expected(&t, &p, CollKind::Sendrecv, 2 << 20)));
    // Real links: msprof's sizes by bottleneck class.
    let h = Topology::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../topologies/dgx-h100.toml"
    ))
    .unwrap();
    let one = Placement::block(1, 8);
    let two = Placement::block(2, 8);
    assert!(!o.is_large(&expected(&h, &one, CollKind::AllReduce, 16 << 20))); // SDMA < 32 MiB
    assert!(o.is_large(&expected(&h, &one, CollKind::AllReduce, 32 << 20)));
    assert!(!o.is_large(&expected(&h, &two, CollKind::AllReduce, 256 << 10))); // RDMA < 0.5 MiB
    assert!(o.is_large(&expected(&h, &two, CollKind::AllReduce, 512 << 10)));
    // Explicit rules.
    let m = JudgeOptions {
        large: LargeRule::Model {
            max_alpha_share: 0.5,
        },
        ..o
    };
    assert!(m.is_large(&expected(&t, &p, CollKind::AllReduce, 1 << 20)));
}

#[test]
fn in_network_reduction_note() {
    let h = Topology::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../topologies/dgx-h100.toml"
    ))
    .unwrap();
    let e = expected(&h, &Placement::block(1, 8), CollKind::AllReduce, 1 << 30);
    let v = judge(&e, 480.0, 4000.0, &JudgeOptions::default());
    assert_eq!(v.class, Class::AboveModel);
    assert!(v.note.contains("NVLS/SHARP"), "{}", v.note);
}

#[test]
fn json_shape() {
    let t = emu();
    let e = expected(&t, &Placement::block(3, 1), CollKind::Sendrecv, 8 << 20);
    let v = judge(&e, 0.012, 700_000.0, &JudgeOptions::default());
    let j: serde_json::Value = serde_json::to_value(&v).unwrap();
    assert_eq!(j["class"], "low efficiency");
    assert_eq!(j["bottleneck"], "RDMA");
    assert_eq!(j["large"], true);
    for k in [
        "expected_busbw_gbs",
        "efficiency",
        "note",
        "model_time_us",
        "time_ratio",
    ] {
        assert!(j.get(k).is_some(), "{k} missing: {j}");
    }
    let back: xccl_topo::Verdict = serde_json::from_value(j).unwrap();
    assert_eq!(back, v);
    // The expectation serializes too (per-rank bytes left out).
    let je = serde_json::to_value(&e).unwrap();
    assert_eq!(je["collective"], "sendrecv");
    assert!(je.get("per_rank").is_none());
}

#[test]
fn not_applicable() {
    let t = emu();
    let e = expected(&t, &Placement::block(1, 1), CollKind::AllReduce, 1 << 20);
    let v = judge(&e, 0.0, 10.0, &JudgeOptions::default());
    assert_eq!(v.class, Class::NotApplicable);
    assert_eq!(v.cell(), "n/a");
}

#[test]
fn health_check() {
    let t = emu();
    let p = Placement::block(3, 1);
    let o = JudgeOptions::default();
    let rows: Vec<(String, xccl_topo::Verdict)> = [
        (1u64 << 20, 0.010), // small: latency-bound, never a shortfall
        (4 << 20, 0.0225),   // 0.90: fine
        (8 << 20, 0.0120),   // 0.48: shortfall
        (8 << 20, 0.0300),   // above model: not a shortfall
    ]
    .iter()
    .map(|(b, bw)| {
        let e = expected(&t, &p, CollKind::AllReduce, *b);
        (format!("all_reduce {b} B"), judge(&e, *bw, 1.0, &o))
    })
    .collect();
    let s = shortfalls(rows.iter().map(|(l, v)| (l, v)), 0.8);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].label, "all_reduce 8388608 B");
    assert!((s[0].efficiency - 0.48).abs() < 1e-9);
    assert_eq!(s[0].bottleneck, LinkClass::Rdma);
    let text = summary(&s, 0.8);
    assert!(text.contains("1 large-message row(s) below 0.80"), "{text}");
    assert!(summary(&[], 0.8).is_empty());
    // A stricter minimum catches the 0.90 row too.
    assert_eq!(shortfalls(rows.iter().map(|(l, v)| (l, v)), 0.95).len(), 2);
}
