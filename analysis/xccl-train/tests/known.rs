//! Known answers: the Korthikanti et al. table (docs/SOURCES.md [korthikanti2022]) from its
//! inputs and step times, and small cases computed by hand (GQA, SwiGLU, MoE, volumes,
//! bubble, DP overlap).

use xccl_schema::CollKind;
use xccl_train::comm::{step_ops, Dim, Group};
use xccl_train::flops::{hfu, mfu, step_flops, FlopsForm};
use xccl_train::layout::{Dims, Layout, Recompute};
use xccl_train::model::{
    preset_device, preset_model, FfnKind, ModelSpec, Precision, MODEL_PRESETS,
};
use xccl_train::predict::{predict, ComputeSource, Job};
use xccl_train::timer::{CommTimer, Fit, Timed};

// (name, GPUs, batch, T selective, T full, MFU sel published, HFU sel published, HFU full)
type TableRow = (&'static str, u64, u64, f64, f64, f64, f64, f64);
const TABLE: [TableRow; 4] = [
    ("megatron-22b", 8, 4, 1.10, 1.42, 41.5, 43.7, 42.9),
    ("megatron-175b", 64, 64, 13.75, 18.13, 51.4, 52.8, 51.9),
    ("megatron-530b", 280, 280, 37.83, 49.05, 56.0, 57.0, 57.6),
    ("megatron-1t", 512, 512, 71.49, 94.42, 56.3, 57.0, 56.8),
];
const F_A100: f64 = 312e12;

#[test]
fn korthikanti_table_paper_form() {
    for (name, n, b, t_sel, t_full, mfu_pub, hfu_pub, hfu_full) in TABLE {
        let m = preset_model(name).unwrap();
        let s = 2048;
        let sel = step_flops(&m, b, s, Recompute::Selective, FlopsForm::Megatron);
        let got_mfu = 100.0 * mfu(&sel, F_A100, n, t_sel);
        let got_hfu = 100.0 * hfu(&sel, F_A100, n, t_sel);
        assert!(
            (got_mfu - mfu_pub).abs() <= 0.15,
            "{name}: MFU {got_mfu:.2} vs {mfu_pub}"
        );
        assert!(
            (got_hfu - hfu_pub).abs() <= 0.15,
            "{name}: HFU {got_hfu:.2} vs {hfu_pub}"
        );
        let full = step_flops(&m, b, s, Recompute::Full, FlopsForm::Megatron);
        let got_full = 100.0 * hfu(&full, F_A100, n, t_full);
        assert!(
            (got_full - hfu_full).abs() <= 0.15,
            "{name}: full HFU {got_full:.2} vs {hfu_full}"
        );
        // The exact form's full-recompute HFU is the same 96-form.
        let full_exact = step_flops(&m, b, s, Recompute::Full, FlopsForm::Exact);
        assert!((hfu(&full_exact, F_A100, n, t_full) * 100.0 - hfu_full).abs() <= 0.15);
    }
}

#[test]
fn korthikanti_table_exact_form() {
    // The closed form with the exact logits term, computed independently of the
    // matrix-by-matrix sum: 72·b·l·s·h²(1 + s/(6h) + V/(12lh)).
    for (name, n, b, t_sel, ..) in TABLE {
        let m = preset_model(name).unwrap();
        let (l, h, s, v) = (m.layers as f64, m.hidden as f64, 2048.0, m.vocab as f64);
        let closed = 72.0 * b as f64 * l * s * h * h * (1.0 + s / (6.0 * h) + v / (12.0 * l * h));
        let want = 100.0 * closed / (F_A100 * n as f64 * t_sel);
        let f = step_flops(&m, b, 2048, Recompute::Selective, FlopsForm::Exact);
        assert!(
            (f.model / closed - 1.0).abs() < 1e-12,
            "{name}: {} vs {closed}",
            f.model
        );
        let got = 100.0 * mfu(&f, F_A100, n, t_sel);
        assert!((got - want).abs() < 1e-9);
        // Selective recompute repeats the attention core once: + 4·b·l·s²·h.
        let hw = closed + 4.0 * b as f64 * l * s * s * h;
        assert!((f.hardware / hw - 1.0).abs() < 1e-12);
        if name == "megatron-22b" {
            // 41.65% with the exact logits term (6·b·s·h·V) instead of the published 41.5%.
            assert!((got - 41.65).abs() < 0.01, "22B exact MFU {got}");
        }
    }
}

fn tiny(kv: u64, f: u64, kind: FfnKind, experts: u64, top_k: u64) -> ModelSpec {
    ModelSpec {
        name: "tiny".into(),
        layers: 1,
        hidden: 8,
        heads: 4,
        kv_heads: Some(kv),
        head_dim: None,
        parallel_block: false,
        tied_embeddings: None,
        ffn: f,
        ffn_kind: kind,
        vocab: 10,
        seq: None,
        experts,
        top_k,
        source: String::new(),
    }
}

#[test]
fn gqa_swiglu_by_hand() {
    // h=8, a=4 (d=2), kv=2 → K,V width 4; f=16 SwiGLU; V=10; s=4; b=1 (4 tokens).
    // per token: qkv 2·8·(8+2·4)=256, attention 4·4·8=128, out 2·8·8=128,
    // mlp 3 matrices 2·3·8·16=768 → 1280. Layers fwd 4·1280=5120; logits fwd 4·2·8·10=640.
    // model = 3·(5120+640) = 17280; selective +4·128 = 17792; full 4·5120 + 3·640 = 22400.
    let m = tiny(2, 16, FfnKind::Swiglu, 1, 1);
    let f = step_flops(&m, 1, 4, Recompute::None, FlopsForm::Exact);
    assert_eq!(f.per_token_layer.total(), 1280.0);
    assert_eq!(f.model, 17280.0);
    assert_eq!(
        step_flops(&m, 1, 4, Recompute::Selective, FlopsForm::Exact).hardware,
        17792.0
    );
    assert_eq!(
        step_flops(&m, 1, 4, Recompute::Full, FlopsForm::Exact).hardware,
        22400.0
    );
    // Megatron form: logits 4.5·4·8·10 = 1440 instead of 1920 → 16800.
    assert_eq!(
        step_flops(&m, 1, 4, Recompute::None, FlopsForm::Megatron).model,
        16800.0
    );
    // Parameters: Q 64 + K,V 2·8·4 + out 64 = 192, MLP 3·8·16 = 384 → 576; embedding 80.
    assert_eq!(m.layer_params(), 576);
    assert_eq!(m.params(), 656);
}

#[test]
fn moe_by_hand() {
    // h=8, a=kv=4, GELU f=16, 4 experts, top-2: qkv 2·8·24=384, attention 128, out 128,
    // mlp 2·2·8·16·2=1024, router 2·8·4=64 → 1728 per token; 4 tokens → 6912;
    // logits 640 → model 3·(6912+640) = 22656.
    let m = tiny(4, 16, FfnKind::Gelu, 4, 2);
    let f = step_flops(&m, 1, 4, Recompute::None, FlopsForm::Exact);
    assert_eq!(f.per_token_layer.total(), 1728.0);
    assert_eq!(f.model, 22656.0);
}

fn layout(dims: &str, gb: u64, seq: u64) -> Layout {
    Layout {
        dims: Dims::parse(dims).unwrap(),
        global_batch: gb,
        seq,
        sequence_parallel: false,
        zero: 0,
        recompute: Recompute::None,
        grad_bytes: 4,
        act_bytes: 2,
        overlap_dp: true,
        bucket_bytes: 1000,
        devices_per_node: 4,
        nics_per_node: 4,
    }
}

fn gelu4() -> ModelSpec {
    ModelSpec {
        layers: 4,
        ffn: 32,
        ..tiny(4, 32, FfnKind::Gelu, 1, 1)
    }
}

#[test]
fn volumes_by_hand() {
    // dp=2, tp=2, pp=2, mb=2, gb=8 → m = 8/(2·2) = 2 micro-batches; 2 layers per stage.
    // b·s·h·2 bytes = 2·4·8·2 = 128 B.
    let m = gelu4();
    let lay = layout("dp=2,tp=2,pp=2,mb=2", 8, 4);
    lay.check(&m).unwrap();
    let ops = step_ops(&m, &lay);
    let tp = ops.iter().find(|o| o.dim == Dim::Tp).unwrap();
    assert_eq!(
        (tp.collective, tp.bytes, tp.count),
        (CollKind::AllReduce, 128, 16)
    ); // 4·2·2
    assert_eq!(
        tp.group,
        Group {
            nranks: 2,
            nodes: 1,
            ranks_per_node: 2,
            share: 1
        }
    );
    let pp = ops.iter().find(|o| o.dim == Dim::Pp).unwrap();
    assert_eq!(
        (pp.collective, pp.bytes, pp.count),
        (CollKind::Sendrecv, 128, 4)
    ); // 2·m
       // PP peers are tp·dp = 4 ranks apart: with 4 devices per node, different nodes.
    assert_eq!(pp.group.nodes, 2);
    // 4 PP pairs (tp·dp), 4 devices per node: with 1 NIC per node, the 4 pairs of a node
    // share it; with 4 NICs, each has its own.
    assert_eq!(pp.group.share, 1);
    let mut one_nic = lay.clone();
    one_nic.nics_per_node = 1;
    let pp1 = step_ops(&m, &one_nic)
        .into_iter()
        .find(|o| o.dim == Dim::Pp)
        .unwrap();
    assert_eq!(pp1.group.share, 4);
    // DP: per layer 4·64 + 2·8·32 = 768; (2·768 + embedding 80)/tp 2 = 808 params · 4 B
    // = 3232 B in 1000-B buckets: 3 full + 232. Ranks 0 and 2 (stride tp): one node.
    let dp: Vec<_> = ops.iter().filter(|o| o.dim == Dim::Dp).collect();
    assert_eq!((dp[0].bytes, dp[0].count), (1000, 3));
    assert_eq!((dp[1].bytes, dp[1].count), (232, 1));
    assert_eq!(
        dp[0].group,
        Group {
            nranks: 2,
            nodes: 1,
            ranks_per_node: 2,
            share: 1
        }
    );
    // Full recompute: 6 TP all-reduces per layer per micro-batch → 24.
    let mut full = lay.clone();
    full.recompute = Recompute::Full;
    assert_eq!(
        step_ops(&m, &full)
            .iter()
            .find(|o| o.dim == Dim::Tp)
            .unwrap()
            .count,
        24
    );
    // Sequence parallel: 16 all-gathers + 16 reduce-scatters of the same 128 B.
    let mut sp = lay.clone();
    sp.sequence_parallel = true;
    let sp_ops = step_ops(&m, &sp);
    let ag = sp_ops
        .iter()
        .find(|o| o.collective == CollKind::AllGather)
        .unwrap();
    let rs = sp_ops
        .iter()
        .find(|o| o.collective == CollKind::ReduceScatter && o.dim == Dim::Tp)
        .unwrap();
    assert_eq!((ag.bytes, ag.count, rs.bytes, rs.count), (128, 16, 128, 16));
}

#[test]
fn moe_alltoall_by_hand() {
    // 4 experts top-2, ep=2 inside dp=2: alltoall of b·s·h·top_k·2 B = 2·4·8·2·2 = 256 B,
    // 4 per layer per micro-batch: 4 layers · 2 micro-batches · 4 = 32.
    let m = ModelSpec {
        layers: 4,
        ..tiny(4, 16, FfnKind::Gelu, 4, 2)
    };
    let lay = layout("dp=2,ep=2,mb=2", 8, 4);
    lay.check(&m).unwrap();
    let ops = step_ops(&m, &lay);
    let ep = ops.iter().find(|o| o.dim == Dim::Ep).unwrap();
    assert_eq!(
        (ep.collective, ep.bytes, ep.count),
        (CollKind::Alltoall, 256, 32)
    );
}

/// Every collective takes a fixed time, whatever its size.
struct Const(f64);
impl CommTimer for Const {
    fn time(&self, _: CollKind, _: u64, _: &Group) -> Timed {
        Timed {
            seconds: self.0,
            source: "const".into(),
            extrapolated: None,
        }
    }
    fn describe(&self) -> String {
        "const".into()
    }
}

fn job(lay: Layout, dev_step: f64) -> Job {
    Job {
        model: gelu4(),
        device: preset_device("a100").unwrap(),
        precision: Precision::Bf16,
        layout: lay,
        form: FlopsForm::Exact,
        compute: ComputeSource::DeviceStep { seconds: dev_step },
    }
}

#[test]
fn bubble_by_hand() {
    // pp=4, m=8 micro-batches, one micro-batch takes 0.4 s on one device → 0.1 s per
    // stage (0.1/3 forward, 0.2/3 backward); zero-time communication. Step =
    // (m+p−1)·0.1 = 1.1 s, bubble (p−1)/(m+p−1) = 3/11 of it.
    let p = predict(&job(layout("pp=4", 8, 4), 0.4), &Const(0.0)).unwrap();
    assert!((p.step_time_s - 1.1).abs() < 1e-12, "{}", p.step_time_s);
    assert!((p.breakdown.bubble_fraction - 3.0 / 11.0).abs() < 1e-12);
    assert!((p.t_forward_s - 0.1 / 3.0).abs() < 1e-12);
    // Interleaved, v=2: bubble (p−1)·0.1/2 = 0.15 s = (p−1)/(v·m) = 3/16 of the ideal 0.8 s.
    let mut j = job(layout("pp=4,vp=2", 8, 4), 0.4);
    j.model.layers = 8;
    let p = predict(&j, &Const(0.0)).unwrap();
    assert!((p.breakdown.bubble_s - 0.15).abs() < 1e-12);
    assert!((p.breakdown.bubble_s / p.breakdown.compute_s - 3.0 / 16.0).abs() < 1e-12);
    // PP transfers of 0.01 s each, 2 per micro-batch: t_stage 0.12, step 11·0.12 = 1.32.
    let p = predict(&job(layout("pp=4", 8, 4), 0.4), &Const(0.01)).unwrap();
    assert!((p.step_time_s - 1.32).abs() < 1e-12, "{}", p.step_time_s);
}

#[test]
fn dp_overlap_by_hand() {
    // dp=2, m = 4/2 = 2 micro-batches of 0.3 s (0.1 forward, 0.2 backward). Gradients
    // 4 layers·768 + 80 = 3152 params · 4 B = 12608 B → 12 buckets of 1000 + 1 of 608,
    // 0.05 s each. Buckets ready every 0.2/13 s in the last backward; they queue: the
    // first starts at 0.2/13, the 13 take 0.65 s → finish 0.2/13 + 0.65, exposed
    // 0.2/13 + 0.45. Step 2·0.3 + exposed.
    let lay = layout("dp=2", 4, 4);
    let p = predict(&job(lay.clone(), 0.3), &Const(0.05)).unwrap();
    let exposed = 0.2 / 13.0 + 0.45;
    assert!(
        (p.breakdown.dp_exposed_s - exposed).abs() < 1e-9,
        "{}",
        p.breakdown.dp_exposed_s
    );
    assert!((p.step_time_s - (0.6 + exposed)).abs() < 1e-9);
    // Without overlap the whole 0.65 s is exposed.
    let mut no = lay;
    no.overlap_dp = false;
    let p = predict(&job(no, 0.3), &Const(0.05)).unwrap();
    assert!((p.step_time_s - 1.25).abs() < 1e-9);
}

#[test]
fn alpha_beta_fit() {
    // t = 1e-3 + 2e-8·n exactly: the fit returns it.
    let pts: Vec<(f64, f64)> = [1e3, 1e4, 1e5, 1e6]
        .iter()
        .map(|n| (*n, 1e-3 + 2e-8 * n))
        .collect();
    let f = Fit::least_squares(&pts);
    assert!((f.a - 1e-3).abs() < 1e-12 && (f.b - 2e-8).abs() < 1e-18);
}

#[test]
fn presets_load_and_are_consistent() {
    for name in MODEL_PRESETS {
        let m = preset_model(name).unwrap();
        assert_eq!(m.hidden % m.heads, 0, "{name}");
    }
    // Published parameter counts of every preset: tests/memory.rs.
}

#[test]
fn measured_interpolation_extrapolation_and_rescaling() {
    use xccl_train::timer::Measured;
    // The schema's fixture (2 ranks on one host), its rows set to t = 1 ms + 20 ns/B at
    // 1e3..1e6 B (p50, µs).
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../xccl-schema/tests/fixtures/v1-all_reduce.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = xccl_schema::read::parse_report(&text, std::path::Path::new(path)).unwrap();
    let row = r.rows[0].clone();
    r.rows = [1e3, 1e4, 1e5, 1e6]
        .iter()
        .map(|n| {
            let mut x = row.clone();
            x.size_bytes = *n as u64;
            x.time_us.p50 = (1e-3 + 2e-8 * n) * 1e6;
            x
        })
        .collect();
    let mut m = Measured::default();
    m.add(&r, "fixture").unwrap();
    let g2 = Group {
        nranks: 2,
        nodes: 1,
        ranks_per_node: 2,
        share: 1,
    };
    let t = m.time(CollKind::AllReduce, 10_000, &g2);
    assert!((t.seconds - 1.2e-3).abs() < 1e-12 && t.extrapolated.is_none());
    // Between 1e4 (1.2 ms) and 1e5 (3 ms), at their geometric mean: sqrt(1.2·3) ms.
    let t = m.time(CollKind::AllReduce, 31_623, &g2);
    assert!(
        (t.seconds - (1.2e-3f64 * 3e-3).sqrt()).abs() < 1e-6,
        "{}",
        t.seconds
    );
    // Above: last point 21 ms + 20 ns/B × 9e6 B = 201 ms, flagged.
    let t = m.time(CollKind::AllReduce, 10_000_000, &g2);
    assert!(
        (t.seconds - 0.201).abs() < 1e-9 && t.extrapolated.is_some(),
        "{t:?}"
    );
    // 4 ranks from 2: α = 1 ms / 2 steps, β = 20 ns/B; ring at 4: 6α + 1.5·β·n =
    // 3.3 ms at 1e4 B, flagged as rescaled.
    let g4 = Group {
        nranks: 4,
        nodes: 1,
        ranks_per_node: 4,
        share: 1,
    };
    let t = m.time(CollKind::AllReduce, 10_000, &g4);
    assert!((t.seconds - 3.3e-3).abs() < 1e-9, "{t:?}");
    assert!(t.extrapolated.unwrap().contains("from 2 ranks"));
}
