//! Known answers for the model shapes, memory and the layout search: every preset's
//! parameter count against its published count, Korthikanti et al.'s worked activation
//! numbers, the ZeRO paper's Figure 1, and the search's refusals.

use xccl_schema::CollKind;
use xccl_train::comm::Group;
use xccl_train::flops::{mfu, step_flops, FlopsForm};
use xccl_train::layout::{Dims, Layout, Recompute};
use xccl_train::memory::{layer_activation_bytes, memory, model_states};
use xccl_train::model::{preset_device, preset_model, ModelSpec, Precision, MODEL_PRESETS};
use xccl_train::predict::{ComputeSource, Job};
use xccl_train::search::{search, Space};
use xccl_train::timer::{CommTimer, Timed};

/// (preset, published parameters in billions, where it is published). The count here
/// leaves out norms, biases and learned position embeddings (< 0.3% for all of these),
/// and the published figures are rounded: within 0.5%, except "1T" (one digit: 1%).
const PUBLISHED: &[(&str, f64, &str)] = &[
    (
        "llama2-7b",
        6.74,
        "huggingface.co/meta-llama/Llama-2-7b-hf, model size (safetensors)",
    ),
    (
        "llama2-13b",
        13.0,
        "huggingface.co/meta-llama/Llama-2-13b-hf, model size (safetensors)",
    ),
    (
        "llama2-34b",
        33.7,
        "huggingface.co/codellama/CodeLlama-34b-hf, model size (safetensors)",
    ),
    (
        "llama2-70b",
        68.98,
        "huggingface.co/meta-llama/Llama-2-70b-hf, model size (safetensors; 68,976,648,192)",
    ),
    (
        "qwen1.5-7b",
        7.72,
        "huggingface.co/Qwen/Qwen1.5-7B, model size (safetensors)",
    ),
    (
        "qwen1.5-14b",
        14.2,
        "huggingface.co/Qwen/Qwen1.5-14B, model size (safetensors)",
    ),
    (
        "baichuan2-7b",
        7.506,
        "Yang et al. 2023 (Baichuan 2), Table 2: 7,505,973,248",
    ),
    (
        "baichuan2-13b",
        13.897,
        "Yang et al. 2023 (Baichuan 2), Table 2: 13,896,668,160",
    ),
    ("gpt3-175b", 175.0, "Brown et al. 2020 (GPT-3), Table 2.1"),
    ("megatron-22b", 22.0, "Korthikanti et al. 2022, Table 3"),
    ("megatron-175b", 175.0, "Korthikanti et al. 2022, Table 3"),
    ("megatron-530b", 530.0, "Korthikanti et al. 2022, Table 3"),
    ("megatron-1t", 1000.0, "Korthikanti et al. 2022, Table 3"),
    (
        "mixtral-8x7b",
        46.7,
        "huggingface.co/mistralai/Mixtral-8x7B-v0.1, model size; Jiang et al. 2024: 47B",
    ),
    ("palm-540b", 540.35, "Chowdhery et al. 2022 (PaLM), Table 1"),
];

#[test]
fn every_preset_has_its_published_parameter_count() {
    for name in MODEL_PRESETS {
        let (_, want, src) = PUBLISHED
            .iter()
            .find(|r| r.0 == *name)
            .unwrap_or_else(|| panic!("preset {name} has no published count in this test"));
        let got = preset_model(name).unwrap().params() as f64 / 1e9;
        let tol = if *want == 1000.0 { 0.01 } else { 0.005 };
        assert!(
            (got / want - 1.0).abs() <= tol,
            "{name}: {got:.3} B vs published {want} B ({src})"
        );
    }
    // Mixtral: 12.9 B used per token (Mistral AI, "Mixtral of experts", 2023-12-11).
    let active = preset_model("mixtral-8x7b").unwrap().active_params() as f64 / 1e9;
    assert!((active / 12.9 - 1.0).abs() <= 0.005, "{active}");
}

#[test]
fn palm_540b_published_mfu() {
    // Chowdhery et al. 2022, Table 3: PaLM 540B on 6144 TPU v4 (275 TFLOP/s bf16) at
    // 238.3k tokens/s, batch 2048 × 2048 tokens: MFU 46.2%, counted as 6N + 12·L·H·Q·T
    // FLOPs per token (Appendix B) — the exact form here with its 256-wide multi-query heads.
    let m = preset_model("palm-540b").unwrap();
    let step = 2048.0 * 2048.0 / 238.3e3;
    let f = step_flops(&m, 2048, 2048, Recompute::Full, FlopsForm::Exact);
    let got = 100.0 * mfu(&f, 275e12, 6144, step);
    assert!((got - 46.2).abs() < 0.1, "PaLM MFU {got:.2}%");
}

#[test]
fn model_files_of_the_first_form_still_read_and_new_fields_count() {
    let v1 = "name = \"v1\"\nlayers = 2\nhidden = 8\nheads = 4\nffn = 16\nffn_kind = \"gelu\"\nvocab = 10\n";
    let m = ModelSpec::from_toml(v1, "v1.toml").unwrap();
    assert_eq!((m.head_dim(), m.q_dim(), m.kv_dim()), (2, 8, 8));
    // Tied as the first form counted: 2·(4·64 + 2·8·16) + 80 = 848.
    assert_eq!(m.params(), 2 * (4 * 64 + 2 * 8 * 16) + 80);
    // head_dim 4 on 4 heads (q width 16 ≠ hidden 8), one KV head, untied, SwiGLU:
    // Q 8·16, O 16·8, K,V 2·8·4, MLP 3·8·16 → 128+128+64+384 = 704 per layer; 2·80 embedding.
    let v2 = format!(
        "{}head_dim = 4\nkv_heads = 1\ntied_embeddings = false\nparallel_block = true\n",
        v1.replace("gelu", "swiglu")
    );
    let m = ModelSpec::from_toml(&v2, "v2.toml").unwrap();
    assert_eq!(m.layer_params(), 704);
    assert_eq!(m.params(), 2 * 704 + 160);
    let missing = ModelSpec::from_toml(&v1.replace("ffn = 16\n", ""), "m.toml").unwrap_err();
    assert!(
        missing.to_string().contains("missing field `ffn`"),
        "{missing}"
    );
}

#[test]
fn korthikanti_worked_activation_numbers() {
    // Korthikanti et al. 2022 section 4.2: for GPT-3 (a = 96, s = 2048, h = 12288)
    // 5as/h = 80, and selective recompute saves 70% of the activation memory; 65% for
    // MT-NLG (530B). Abstract: sequence parallelism with selective recompute reduces
    // activation memory 5× against tensor parallelism alone (t = 8 in Table 3).
    for (name, saved) in [("megatron-175b", 0.70), ("megatron-530b", 0.65)] {
        let m = preset_model(name).unwrap();
        let none = layer_activation_bytes(&m, 2048, 1, 8, true, Recompute::None);
        let sel = layer_activation_bytes(&m, 2048, 1, 8, true, Recompute::Selective);
        let got = 1.0 - sel / none;
        assert!((got - saved).abs() < 0.005, "{name}: saved {got:.3}");
    }
    for name in ["megatron-530b", "megatron-1t"] {
        let m = preset_model(name).unwrap();
        let base = layer_activation_bytes(&m, 2048, 1, 8, false, Recompute::None);
        let new = layer_activation_bytes(&m, 2048, 1, 8, true, Recompute::Selective);
        let x = base / new;
        assert!((x - 5.0).abs() < 0.25, "{name}: {x:.2}×");
    }
}

#[test]
fn zero_paper_figure_1() {
    // Rajbhandari et al. 2020, Figure 1: Ψ = 7.5 B, K = 12, Nd = 64: 120 GB baseline,
    // 31.4 GB (P_os), 16.6 GB (P_os+g), 1.9 GB (P_os+g+p).
    let psi = 7.5e9;
    for (stage, want) in [(0u8, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)] {
        let (w, g, o) = model_states((psi, 0.0), 2.0, stage, (64.0, 1.0));
        let got = (w + g + o) / 1e9;
        assert!(
            (got - want).abs() < 0.05,
            "ZeRO-{stage}: {got:.2} GB vs {want}"
        );
    }
}

fn layout(dims: &str, gb: u64, seq: u64, rc: Recompute, sp: bool, zero: u8) -> Layout {
    Layout {
        sequence_parallel: sp,
        zero,
        recompute: rc,
        ..Layout::new(Dims::parse(dims).unwrap(), gb, seq)
    }
}

#[test]
fn first_stage_holds_pp_microbatches_of_its_layers() {
    // 1F1B: the first stage holds min(pp, m) micro-batches of L/pp layers, so its
    // layer activations equal one micro-batch of all L layers once m ≥ pp
    // (Korthikanti et al. section 4.2.3).
    let m = preset_model("megatron-175b").unwrap();
    let dev = preset_device("a100").unwrap();
    let per_layer = layer_activation_bytes(&m, 2048, 1, 8, true, Recompute::Selective);
    let sbh_t = 2048.0 * 12288.0 / 8.0;
    for (dims, gb, in_flight) in [("dp=1,tp=8,pp=8", 64, 8.0), ("dp=1,tp=8,pp=8", 4, 4.0)] {
        let lay = layout(dims, gb, 2048, Recompute::Selective, true, 0);
        let mem = memory(&m, &lay, &dev);
        assert_eq!(mem.stage, "first");
        assert_eq!(mem.in_flight, in_flight);
        let want = 12.0 * per_layer * in_flight + sbh_t * in_flight;
        assert!((mem.activations_bytes / want - 1.0).abs() < 1e-12);
    }
    // Interleaved: (1 + (p − 1)/(p·v)) times as much.
    let lay = layout(
        "dp=1,tp=8,pp=8,vp=2",
        64,
        2048,
        Recompute::Selective,
        true,
        0,
    );
    assert!((memory(&m, &lay, &dev).in_flight - 8.0 * (1.0 + 7.0 / 16.0)).abs() < 1e-12);
}

#[test]
fn zero_stages_and_recompute_order_the_memory() {
    let m = preset_model("llama2-7b").unwrap();
    let dev = preset_device("h100").unwrap();
    let total = |rc, zero| memory(&m, &layout("dp=8", 8, 4096, rc, false, zero), &dev).total_bytes;
    for rc in [Recompute::None, Recompute::Selective, Recompute::Full] {
        assert!(total(rc, 0) > total(rc, 1) && total(rc, 1) > total(rc, 2));
        assert!(total(rc, 2) > total(rc, 3));
    }
    assert!(total(Recompute::None, 1) > total(Recompute::Selective, 1));
    assert!(total(Recompute::Selective, 1) > total(Recompute::Full, 1));
    // 16 bytes per parameter unsharded: 6.74 B × 16 = 108 GB > 80 GiB.
    assert!(
        !memory(
            &m,
            &layout("dp=8", 8, 4096, Recompute::Full, false, 0),
            &dev
        )
        .fits
    );
}

/// Every collective takes 1 ms whatever its size.
struct Ms;
impl CommTimer for Ms {
    fn time(&self, _: CollKind, _: u64, _: &Group) -> Timed {
        Timed {
            seconds: 1e-3,
            source: "1 ms".into(),
            extrapolated: None,
        }
    }
    fn describe(&self) -> String {
        "1 ms each".into()
    }
}

fn job(model: &str, device: &str, gb: u64, seq: u64) -> Job {
    Job {
        model: preset_model(model).unwrap(),
        device: preset_device(device).unwrap(),
        precision: Precision::Bf16,
        layout: layout("dp=1", gb, seq, Recompute::None, false, 0),
        form: FlopsForm::Exact,
        compute: ComputeSource::Peak { efficiency: 0.5 },
    }
}

#[test]
fn search_ranks_what_fits_and_refuses_when_nothing_does() {
    let j = job("llama2-70b", "h100", 64, 4096);
    let r = search(&j, &Space::new(64), &Ms).unwrap();
    assert!(r.fit > 0 && r.fit < r.tried, "{} of {}", r.fit, r.tried);
    assert!(r.ranked.iter().all(|c| c.memory.fits));
    assert!(r
        .ranked
        .windows(2)
        .all(|w| w[0].tokens_per_s >= w[1].tokens_per_s));
    // Every layout uses all 64 devices and keeps TP inside the 8-device node.
    for c in &r.ranked {
        let d = Dims::parse(&c.layout).unwrap();
        assert_eq!(d.devices(), 64, "{}", c.layout);
        assert!(d.tp <= 8);
    }
    // 70 B parameters on 8 devices need ZeRO-3's 16 bytes/8 = 140 GB each at least.
    let e = search(&j, &Space::new(8), &Ms).unwrap_err().to_string();
    assert!(e.contains("none of") && e.contains("fits in 80 GiB"), "{e}");
    // 3 devices: tp must divide the 8 per node, pp the 80 layers, so dp = 3, which does
    // not divide the global batch of 64.
    let e = search(&j, &Space::new(3), &Ms).unwrap_err().to_string();
    assert!(e.contains("no layout of llama2-70b on 3 devices"), "{e}");
}
