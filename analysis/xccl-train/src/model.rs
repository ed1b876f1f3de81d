//! Model and device descriptions: presets for the usual shapes (sources beside each) and
//! TOML files for anything else.
//!
//! Why here and not in the topology file: a prediction combines three independent
//! things (what the model computes, what a device can do, how the job is laid out), and
//! each is reused across the others. The formulas only need the shape of the GEMMs, so a
//! model is the numbers that fix them (docs/SOURCES.md [korthikanti2022]).

use crate::error::{bad, Result, TrainError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The MLP of a transformer layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FfnKind {
    /// Two matrices h×f and f×h with GELU between (GPT, Megatron; f = 4h usually).
    Gelu,
    /// Three matrices (gate, up: h×f; down: f×h) with SiLU·gate (LLaMA, Qwen, Baichuan).
    Swiglu,
}

/// The shape of a decoder-only transformer: what fixes its GEMMs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    pub layers: u64,
    pub hidden: u64,
    pub heads: u64,
    /// Key/value heads (GQA/MQA); equal to `heads` for full multi-head attention.
    #[serde(default)]
    pub kv_heads: Option<u64>,
    /// Width of one attention head; default `hidden / heads`. PaLM's is 256 with
    /// 48 heads on 18432 (so the query width `heads × head_dim` need not be `hidden`).
    #[serde(default)]
    pub head_dim: Option<u64>,
    /// Attention and MLP read the same normalised input and their outputs are added
    /// (GPT-J, PaLM): one norm per layer instead of two.
    #[serde(default)]
    pub parallel_block: bool,
    /// Input embedding and output projection share one matrix. Default true (how files
    /// written before the field were counted); Llama, Qwen, Baichuan, Mixtral: false.
    #[serde(default)]
    pub tied_embeddings: Option<bool>,
    /// Intermediate size of the MLP (of one expert for MoE).
    pub ffn: u64,
    pub ffn_kind: FfnKind,
    pub vocab: u64,
    /// The sequence length the model was trained with (information; `--seq` decides).
    #[serde(default)]
    pub seq: Option<u64>,
    /// Experts per MoE layer (1 = dense).
    #[serde(default = "one")]
    pub experts: u64,
    /// Experts each token goes to.
    #[serde(default = "one")]
    pub top_k: u64,
    /// Where the numbers come from.
    #[serde(default)]
    pub source: String,
}

fn one() -> u64 {
    1
}

impl ModelSpec {
    pub fn kv_heads(&self) -> u64 {
        self.kv_heads.unwrap_or(self.heads)
    }
    pub fn head_dim(&self) -> u64 {
        self.head_dim.unwrap_or(self.hidden / self.heads)
    }
    /// Width of the queries (and of the attention output): heads × head_dim.
    pub fn q_dim(&self) -> u64 {
        self.heads * self.head_dim()
    }
    /// Width of the keys (and of the values): kv_heads × head_dim.
    pub fn kv_dim(&self) -> u64 {
        self.kv_heads() * self.head_dim()
    }
    pub fn tied(&self) -> bool {
        self.tied_embeddings.unwrap_or(true)
    }
    /// Embedding matrices (vocab × hidden): 1 tied, 2 untied.
    pub fn embedding_params(&self) -> u64 {
        self.vocab * self.hidden * if self.tied() { 1 } else { 2 }
    }
    /// Embedding weights on the first pipeline stage: the input embedding, and with
    /// pp = 1 the output layer too when it is not tied to it.
    pub fn first_stage_embedding(&self, pp: u64) -> u64 {
        if pp == 1 {
            self.embedding_params()
        } else {
            self.vocab * self.hidden
        }
    }
    /// Weights of the MLPs of one layer (all experts).
    pub fn expert_params(&self) -> u64 {
        self.mlp_mats() * self.hidden * self.ffn * self.experts
    }
    pub fn is_moe(&self) -> bool {
        self.experts > 1
    }
    /// Weights of one layer (matrices only; norms and biases are < 0.1% and left out).
    pub fn layer_params(&self) -> u64 {
        let h = self.hidden;
        let attn = 2 * h * self.q_dim() + 2 * h * self.kv_dim(); // Q and output; K and V
        let router = if self.is_moe() { h * self.experts } else { 0 };
        attn + self.expert_params() + router
    }
    /// Matrices of h×f in one MLP (2 GELU, 3 SwiGLU).
    pub fn mlp_mats(&self) -> u64 {
        match self.ffn_kind {
            FfnKind::Gelu => 2,
            FfnKind::Swiglu => 3,
        }
    }
    /// All weights: layers plus the embedding (and the output layer when untied).
    pub fn params(&self) -> u64 {
        self.layers * self.layer_params() + self.embedding_params()
    }

    /// Weights a token goes through (MoE: top_k of the experts; dense: all).
    pub fn active_params(&self) -> u64 {
        let inactive = (self.experts - self.top_k) * self.mlp_mats() * self.hidden * self.ffn;
        self.params() - self.layers * inactive
    }

    fn check(&self) -> Result<()> {
        let pos = [
            ("layers", self.layers),
            ("hidden", self.hidden),
            ("heads", self.heads),
            ("ffn", self.ffn),
            ("vocab", self.vocab),
            ("experts", self.experts),
            ("top_k", self.top_k),
        ];
        if let Some((k, _)) = pos.iter().find(|(_, v)| *v == 0) {
            return Err(bad(format!("model {}: {k} must be > 0", self.name)));
        }
        if self.head_dim == Some(0) {
            return Err(bad(format!("model {}: head_dim must be > 0", self.name)));
        }
        if self.head_dim.is_none() && !self.hidden.is_multiple_of(self.heads) {
            return Err(bad(format!(
                "model {}: hidden {} is not a multiple of heads {} (or give head_dim)",
                self.name, self.hidden, self.heads
            )));
        }
        let kv = self.kv_heads();
        if kv == 0 || !self.heads.is_multiple_of(kv) {
            return Err(bad(format!(
                "model {}: kv_heads {kv} must divide heads {}",
                self.name, self.heads
            )));
        }
        if self.top_k > self.experts {
            return Err(bad(format!(
                "model {}: top_k {} exceeds experts {}",
                self.name, self.top_k, self.experts
            )));
        }
        Ok(())
    }

    /// A preset by name, or a TOML file (anything with a '.' or '/' in it that exists).
    pub fn resolve(name_or_file: &str) -> Result<ModelSpec> {
        if let Some(m) = preset_model(name_or_file) {
            return Ok(m);
        }
        let p = Path::new(name_or_file);
        if p.exists() {
            return Self::load(p);
        }
        Err(bad(format!(
            "unknown model '{name_or_file}' (presets: {}; or a TOML file)",
            MODEL_PRESETS.join(", ")
        )))
    }

    pub fn load(path: &Path) -> Result<ModelSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::File {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    pub fn from_toml(text: &str, what: &str) -> Result<ModelSpec> {
        let m: ModelSpec = toml::from_str(text)
            .map_err(|e| bad(format!("{what}: {}", e.message().replace('\n', " "))))?;
        m.check()?;
        Ok(m)
    }
}

pub const MODEL_PRESETS: &[&str] = &[
    "llama2-7b",
    "llama2-13b",
    "llama2-34b",
    "llama2-70b",
    "qwen1.5-7b",
    "qwen1.5-14b",
    "baichuan2-7b",
    "baichuan2-13b",
    "gpt3-175b",
    "megatron-22b",
    "megatron-175b",
    "megatron-530b",
    "megatron-1t",
    "mixtral-8x7b",
    "palm-540b",
];

/// The preset called `name` (any case; the spec keeps `name` as given).
pub fn preset_model(name: &str) -> Option<ModelSpec> {
    let lower = name.to_ascii_lowercase();
    let &(_, layers, hidden, heads, kv, ffn, ffn_kind, vocab, seq, experts, top_k, source) =
        MODELS.iter().find(|row| row.0 == lower)?;
    // Untied unless the source says the embedding is shared (GPT-3 and Megatron's GPT
    // reuse the input embedding as the output layer, PaLM "shared input-output
    // embeddings"); PaLM alone has 256-wide heads and parallel blocks.
    let palm = lower == "palm-540b";
    let tied = lower.starts_with("gpt3") || lower.starts_with("megatron") || palm;
    Some(ModelSpec {
        name: name.into(),
        layers,
        hidden,
        heads,
        kv_heads: Some(kv),
        head_dim: Some(if palm { 256 } else { hidden / heads }),
        parallel_block: palm,
        tied_embeddings: Some(tied),
        ffn,
        ffn_kind,
        vocab,
        seq: Some(seq),
        experts,
        top_k,
        source: source.into(),
    })
}

const KORTHIKANTI: &str = "Korthikanti et al. 2022, 'Reducing Activation Recomputation in Large Transformer Models', Table 3 (V = 51200, s = 2048)";

/// A preset: name, layers, hidden, heads, kv_heads, ffn, MLP, vocab, seq, experts, top_k,
/// source.
#[rustfmt::skip]
type Preset = (&'static str, u64, u64, u64, u64, u64, FfnKind, u64, u64, u64, u64, &'static str);

/// The presets, a row each, in the columns of [`Preset`].
#[rustfmt::skip]
const MODELS: &[Preset] = {
    use FfnKind::{Gelu, Swiglu};
    &[
    // Touvron et al. 2023 (Llama 2), Table 1 + the released config.json files.
    ("llama2-7b",     32,  4096,  32,  32,  11008,     Swiglu, 32000,  4096,  1, 1, "Llama 2 paper + meta-llama/Llama-2-7b-hf config.json"),
    ("llama2-13b",    40,  5120,  40,  40,  13824,     Swiglu, 32000,  4096,  1, 1, "Llama 2 paper + meta-llama/Llama-2-13b-hf config.json"),
    // The 34B of the Llama 2 paper was not released; its shape is Code Llama 34B's.
    ("llama2-34b",    48,  8192,  64,  8,   22016,     Swiglu, 32000,  4096,  1, 1, "Llama 2 paper (34B, GQA) + codellama/CodeLlama-34b-hf config.json"),
    ("llama2-70b",    80,  8192,  64,  8,   28672,     Swiglu, 32000,  4096,  1, 1, "Llama 2 paper + meta-llama/Llama-2-70b-hf config.json"),
    ("qwen1.5-7b",    32,  4096,  32,  32,  11008,     Swiglu, 151936, 32768, 1, 1, "Qwen/Qwen1.5-7B config.json"),
    ("qwen1.5-14b",   40,  5120,  40,  40,  13696,     Swiglu, 152064, 32768, 1, 1, "Qwen/Qwen1.5-14B config.json"),
    ("baichuan2-7b",  32,  4096,  32,  32,  11008,     Swiglu, 125696, 4096,  1, 1, "Yang et al. 2023 (Baichuan 2), Table 2 + baichuan-inc/Baichuan2-7B-Base config.json"),
    ("baichuan2-13b", 40,  5120,  40,  40,  13696,     Swiglu, 125696, 4096,  1, 1, "Yang et al. 2023 (Baichuan 2), Table 2 + baichuan-inc/Baichuan2-13B-Base config.json"),
    ("gpt3-175b",     96,  12288, 96,  96,  4 * 12288, Gelu,   50257,  2048,  1, 1, "Brown et al. 2020 (GPT-3), Table 2.1; GPT-2 BPE vocabulary"),
    ("megatron-22b",  48,  6144,  64,  64,  4 * 6144,  Gelu,   51200,  2048,  1, 1, KORTHIKANTI),
    ("megatron-175b", 96,  12288, 96,  96,  4 * 12288, Gelu,   51200,  2048,  1, 1, KORTHIKANTI),
    ("megatron-530b", 105, 20480, 128, 128, 4 * 20480, Gelu,   51200,  2048,  1, 1, KORTHIKANTI),
    ("megatron-1t",   128, 25600, 160, 160, 4 * 25600, Gelu,   51200,  2048,  1, 1, KORTHIKANTI),
    ("mixtral-8x7b",  32,  4096,  32,  8,   14336,     Swiglu, 32000,  32768, 8, 2, "Jiang et al. 2024 (Mixtral of Experts) + mistralai/Mixtral-8x7B-v0.1 config.json"),
    // Chowdhery et al. 2022 (PaLM), Table 1 and section 2: multi-query (one K/V head),
    // head size 256, SwiGLU with d_ff = 4·d_model, parallel layers, shared embeddings,
    // 256k SentencePiece vocabulary, 2048 tokens.
    ("palm-540b",     118, 18432, 48,  1,   4 * 18432, Swiglu, 256000, 2048,  1, 1, "Chowdhery et al. 2022 (PaLM), Table 1 and section 2"),
    ]
};

/// Arithmetic precision of the GEMMs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Bf16,
    Fp16,
    Fp8,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "fp16" | "half" | "float16" => Ok(Precision::Fp16),
            "fp8" => Ok(Precision::Fp8),
            _ => Err(format!("unknown precision '{s}' (bf16, fp16, fp8)")),
        }
    }
}

/// One accelerator: dense peak FLOP/s per precision (no sparsity) and memory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    pub name: String,
    pub bf16_tflops: f64,
    pub fp16_tflops: f64,
    /// None where the device has no FP8 tensor path.
    #[serde(default)]
    pub fp8_tflops: Option<f64>,
    pub memory_gib: f64,
    #[serde(default)]
    pub source: String,
}

pub const DEVICE_PRESETS: &[&str] = &["h100", "h200", "a100", "ascend910b"];

/// The preset called `name`.
pub fn preset_device(name: &str) -> Option<DeviceSpec> {
    let d = |n: &str, bf16: f64, fp16: f64, fp8: Option<f64>, mem: f64, src: &str| DeviceSpec {
        name: n.into(),
        bf16_tflops: bf16,
        fp16_tflops: fp16,
        fp8_tflops: fp8,
        memory_gib: mem,
        source: src.into(),
    };
    Some(match name.to_ascii_lowercase().as_str() {
        // Dense (not the 2:4-sparsity figure NVIDIA prints first).
        "h100" => d(
            "h100",
            989.0,
            989.0,
            Some(1979.0),
            80.0,
            "NVIDIA H100 SXM5 datasheet (dense = half the sparsity figure)",
        ),
        "h200" => d(
            "h200",
            989.0,
            989.0,
            Some(1979.0),
            141.0,
            "NVIDIA H200 SXM datasheet (dense = half the sparsity figure)",
        ),
        "a100" => d(
            "a100",
            312.0,
            312.0,
            None,
            80.0,
            "NVIDIA A100 SXM4 datasheet; 312 TFLOP/s is the F of Korthikanti et al.",
        ),
        // Atlas 800T A2: 8 × 910B, "up to 2.5 PFLOPS FP16" → ~313 per NPU; 64 GB HBM.
        "ascend910b" | "910b" | "ascend-910b" => d(
            "ascend910b",
            313.0,
            313.0,
            None,
            64.0,
            "Huawei Atlas 800T A2 datasheet (2.5 PFLOPS FP16 / 8 NPUs)",
        ),
        _ => return None,
    })
}

impl DeviceSpec {
    /// Peak dense FLOP/s at `p`.
    pub fn peak_flops(&self, p: Precision) -> Result<f64> {
        let t = match p {
            Precision::Bf16 => self.bf16_tflops,
            Precision::Fp16 => self.fp16_tflops,
            Precision::Fp8 => self
                .fp8_tflops
                .ok_or_else(|| bad(format!("device {} has no fp8 peak", self.name)))?,
        };
        Ok(t * 1e12)
    }

    pub fn resolve(name_or_file: &str) -> Result<DeviceSpec> {
        if let Some(d) = preset_device(name_or_file) {
            return Ok(d);
        }
        let p = Path::new(name_or_file);
        if p.exists() {
            let text = std::fs::read_to_string(p).map_err(|e| TrainError::File {
                path: p.display().to_string(),
                msg: e.to_string(),
            })?;
            let d: DeviceSpec = toml::from_str(&text).map_err(|e| {
                bad(format!(
                    "{}: {}",
                    p.display(),
                    e.message().replace('\n', " ")
                ))
            })?;
            if d.bf16_tflops <= 0.0 || d.fp16_tflops <= 0.0 {
                return Err(bad(format!("{}: peak TFLOP/s must be > 0", p.display())));
            }
            return Ok(d);
        }
        Err(bad(format!(
            "unknown device '{name_or_file}' (presets: {}; or a TOML file)",
            DEVICE_PRESETS.join(", ")
        )))
    }
}
