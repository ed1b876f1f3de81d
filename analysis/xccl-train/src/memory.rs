//! Memory per device: weights, gradients and optimizer states of mixed-precision Adam
//! with ZeRO 0–3, activations by Korthikanti et al.'s per-layer accounting, against the
//! device's memory (docs/PREDICT.md "Memory").
//!
//! Why a model and not a measurement: which layouts fit decides which ones are worth
//! predicting (and `predict --search` prunes on it), long before a job runs. The counts
//! are the published ones so a reader can redo them:
//! - states: 2 bytes of bf16/fp16 weights, the gradient bytes of the layout (2, or 4 when
//!   gradients are kept in fp32), 12 bytes of fp32 master weights, momentum and variance:
//!   2 + 2 + 12 = 16 bytes per parameter (Rajbhandari et al. 2020, "ZeRO", section 3.1);
//!   ZeRO-1 shards the 12, ZeRO-2 also the gradients, ZeRO-3 also the weights over the DP
//!   group (expert weights over the expert DP group, dp/ep);
//! - activations per layer and micro-batch, 16-bit, with 1-byte dropout masks
//!   (Korthikanti et al. 2022, section 4 and Table 2): attention 11·sbh + 5·a·s²·b,
//!   MLP 19·sbh, norms 4·sbh, i.e. sbh(34 + 5as/h); tensor parallelism splits what lies
//!   between its two all-reduces (10·sbh stay whole), sequence parallelism splits the rest;
//!   selective recompute drops the 5·a·s²·b of the attention core; full recompute keeps
//!   the layer input 2·sbh. Generalised term by term to other shapes: Q and the attention
//!   output are a·d wide, K and V kv·d wide, the MLP keeps its input, mask and
//!   2·mats·s·b·f (GELU: the two f-wide tensors around the activation, 16·sbh at f = 4h;
//!   SwiGLU: gate, up and their product), times top_k for MoE; a parallel block has one
//!   norm and one shared input;
//! - pipeline: with 1F1B the first stage holds min(pp, m) micro-batches of its layers;
//!   interleaved, (1 + (pp − 1)/(pp·vp)) times that (Korthikanti et al. section 4.2.3);
//!   the embedding's dropout mask sbh per micro-batch in flight on the first stage, the
//!   output layer 4·sbh/t·(1 + V/h) on the last (section 4.3, fp32 logits);
//! - full recompute also needs one layer's activations while it is recomputed, and
//!   ZeRO-3 a gathered layer (and the one prefetched behind it).
//!
//! Not counted: framework workspace, allocator fragmentation, communication buffers,
//! the CUDA/CANN context (together often a few GB): `fits` compares with the whole memory.

use crate::layout::{Layout, Recompute};
use crate::model::{DeviceSpec, ModelSpec};
use serde::{Deserialize, Serialize};

/// Bytes per parameter of the weights the GEMMs read (bf16/fp16).
pub const WEIGHT_BYTES: f64 = 2.0;
/// Bytes per parameter of Adam's fp32 master weights, momentum and variance (ZeRO
/// paper's K = 12).
pub const ADAM_STATE_BYTES: f64 = 12.0;

/// Where the bytes of one device go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Which pipeline stage is the fullest: "first", "last" or "only" (pp = 1).
    pub stage: String,
    /// Parameters held on that device before ZeRO's sharding (its TP/PP/EP share).
    pub params: f64,
    pub weights_bytes: f64,
    pub gradients_bytes: f64,
    pub optimizer_bytes: f64,
    pub activations_bytes: f64,
    /// ZeRO-3's gathered layers; full recompute's one recomputed layer.
    pub working_bytes: f64,
    pub total_bytes: f64,
    pub capacity_bytes: f64,
    /// Micro-batches whose activations the stage holds at once.
    pub in_flight: f64,
    pub fits: bool,
}

impl Memory {
    pub fn gib(bytes: f64) -> f64 {
        bytes / (1u64 << 30) as f64
    }
}

/// Activation bytes of one layer for one micro-batch of `b` sequences of `s` tokens on a
/// device of a TP group of `t` (the per-layer formula; see the module doc).
pub fn layer_activation_bytes(
    m: &ModelSpec,
    s: u64,
    b: u64,
    t: u64,
    sp: bool,
    rc: Recompute,
) -> f64 {
    let (s, b, t) = (s as f64, b as f64, t as f64);
    let h = m.hidden as f64;
    let sbh = s * b * h;
    let div_all = if sp { t } else { 1.0 };
    if rc == Recompute::Full {
        return 2.0 * sbh / div_all;
    }
    let (q, kv) = (m.q_dim() as f64, m.kv_dim() as f64);
    let a = m.heads as f64;
    let (norms, mlp_whole) = if m.parallel_block {
        (2.0 * sbh, sbh)
    } else {
        (4.0 * sbh, 3.0 * sbh)
    };
    // QKV input 2·sbh and the output dropout mask sbh.
    let attn_whole = 3.0 * sbh;
    let core = if rc == Recompute::Selective {
        0.0
    } else {
        5.0 * a * s * s * b
    };
    // Q and K for the scores, V, and the input of the output projection.
    let attn_split = 4.0 * s * b * (q + kv) + core;
    let mlp_split = 2.0 * m.mlp_mats() as f64 * s * b * m.ffn as f64 * m.top_k as f64;
    let whole = norms + attn_whole + mlp_whole;
    whole / div_all + (attn_split + mlp_split) / t
}

/// Bytes of (weights, gradients, optimizer states) on one device holding `params`
/// (dense, expert) parameters before sharding, with ZeRO `stage` over DP groups of
/// `groups` (dense, expert) ranks: 2Ψ + gΨ + 12Ψ, stage 1 dividing the 12Ψ, stage 2
/// also the gradients, stage 3 also the weights (ZeRO paper, section 5 and Figure 1).
pub fn model_states(
    params: (f64, f64),
    grad_bytes: f64,
    stage: u8,
    groups: (f64, f64),
) -> (f64, f64, f64) {
    let shard = |from: u8| -> f64 {
        if stage >= from {
            params.0 / groups.0 + params.1 / groups.1
        } else {
            params.0 + params.1
        }
    };
    (
        WEIGHT_BYTES * shard(3),
        grad_bytes * shard(2),
        ADAM_STATE_BYTES * shard(1),
    )
}

/// Parameters on one device of `stage` (first/last of pp), split into (dense, expert).
fn stage_params(m: &ModelSpec, lay: &Layout, first: bool, last: bool) -> (f64, f64) {
    let d = lay.dims;
    let l = (m.layers / d.pp) as f64;
    let expert = if m.is_moe() {
        m.expert_params() as f64
    } else {
        0.0
    };
    let dense_layer = m.layer_params() as f64 - expert;
    let vh = (m.vocab * m.hidden) as f64;
    // The input embedding on the first stage; the output layer on the last (Megatron
    // keeps a copy of a tied embedding there when pp > 1, kept in sync by an all-reduce).
    let emb = if d.pp == 1 {
        m.embedding_params() as f64
    } else {
        vh * (first as u8 + last as u8) as f64
    };
    let tp = d.tp as f64;
    (
        (l * dense_layer + emb) / tp,
        l * expert / (tp * d.ep as f64),
    )
}

/// Memory of the fullest device of the job.
pub fn memory(m: &ModelSpec, lay: &Layout, dev: &DeviceSpec) -> Memory {
    let d = lay.dims;
    let stages: &[(&str, bool, bool)] = if d.pp == 1 {
        &[("only", true, true)]
    } else {
        &[("first", true, false), ("last", false, true)]
    };
    let cap = dev.memory_gib * (1u64 << 30) as f64;
    let mut best: Option<Memory> = None;
    for &(name, first, last) in stages {
        let mem = stage_memory(m, lay, first, last, name, cap);
        if best
            .as_ref()
            .is_none_or(|b| mem.total_bytes > b.total_bytes)
        {
            best = Some(mem);
        }
    }
    best.expect("at least one stage")
}

fn stage_memory(
    m: &ModelSpec,
    lay: &Layout,
    first: bool,
    last: bool,
    name: &str,
    cap: f64,
) -> Memory {
    let d = lay.dims;
    let (dense, expert) = stage_params(m, lay, first, last);
    let groups = (d.dp as f64, (d.dp / d.ep).max(1) as f64);
    let (weights, grads, optim) =
        model_states((dense, expert), lay.grad_bytes as f64, lay.zero, groups);

    let (s, b, t, sp) = (lay.seq, d.mb, d.tp, lay.sequence_parallel);
    let per_layer = layer_activation_bytes(m, s, b, t, sp, lay.recompute);
    let layers = (m.layers / d.pp) as f64;
    let mbs = lay.microbatches().max(1) as f64;
    let pp = d.pp as f64;
    let in_flight = if first {
        let base = pp.min(mbs);
        if d.vp > 1 {
            base * (1.0 + (pp - 1.0) / (pp * d.vp as f64))
        } else {
            base
        }
    } else {
        1.0
    };
    let sbh = (s * b * m.hidden) as f64;
    let div_all = if sp { t as f64 } else { 1.0 };
    let mut act = layers * per_layer * in_flight;
    if first {
        act += sbh / div_all * in_flight; // embedding dropout mask
    }
    if last {
        act += 4.0 * sbh / div_all + 4.0 * (s * b * m.vocab) as f64 / t as f64;
    }
    let mut working = 0.0;
    if lay.recompute == Recompute::Full {
        working += layer_activation_bytes(m, s, b, t, sp, Recompute::None);
    }
    if lay.zero == 3 && d.dp > 1 {
        // The layer computed and the one prefetched behind it, gathered.
        let layer = m.layer_params() as f64 - m.expert_params() as f64 * (m.is_moe() as u8 as f64);
        let expert_layer = if m.is_moe() {
            m.expert_params() as f64 / d.ep as f64
        } else {
            0.0
        };
        working += 2.0 * WEIGHT_BYTES * (layer + expert_layer) / t as f64;
    }
    let total = weights + grads + optim + act + working;
    Memory {
        stage: name.into(),
        params: dense + expert,
        weights_bytes: weights,
        gradients_bytes: grads,
        optimizer_bytes: optim,
        activations_bytes: act,
        working_bytes: working,
        total_bytes: total,
        capacity_bytes: cap,
        in_flight,
        fits: total <= cap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::preset_model;

    #[test]
    fn gpt_shape_is_the_papers_formula() {
        // sbh(34 + 5as/h) without parallelism, sbh(10 + 24/t + 5as/(ht)) with TP,
        // sbh/t(34 + 5as/h) with TP + SP, 34·sbh/t selective, 2·sbh full (Table 2).
        let m = preset_model("megatron-175b").unwrap();
        let (s, b, h, a) = (2048.0, 1.0, 12288.0, 96.0);
        let sbh = s * b * h;
        let x = 5.0 * a * s / h;
        let got = |t, sp, rc| layer_activation_bytes(&m, 2048, 1, t, sp, rc);
        let close = |g: f64, w: f64| assert!((g / w - 1.0).abs() < 1e-12, "{g} vs {w}");
        close(got(1, false, Recompute::None), sbh * (34.0 + x));
        close(
            got(8, false, Recompute::None),
            sbh * (10.0 + 24.0 / 8.0 + x / 8.0),
        );
        close(got(8, true, Recompute::None), sbh / 8.0 * (34.0 + x));
        close(got(8, true, Recompute::Selective), 34.0 * sbh / 8.0);
        close(
            got(8, false, Recompute::Selective),
            sbh * (10.0 + 24.0 / 8.0),
        );
        close(got(8, false, Recompute::Full), 2.0 * sbh);
    }
}
