//! The matrix products of one micro-batch through one transformer layer on one TP rank:
//! what `train-sim` runs as its compute, what `calibrate` times, and what `predict
//! --device CALIBRATION.json` turns into seconds, from one list so the three cannot drift.
//!
//! Why these shapes: they are the layer's FLOPs in [`crate::flops::LayerFlops`], matrix by
//! matrix (Megatron's tensor-parallel split, Shoeybi et al. 2019, docs/SOURCES.md
//! [shoeybi2019]): QKV column-parallel (n/tp), the attention core per head (heads/tp per
//! rank), output projection row-parallel (k/tp), MLP up column-parallel and down
//! row-parallel. Their FLOPs sum to `LayerFlops` less the MoE router, per token, / tp
//! (tested). The logits GEMM and element-wise work are not in the list.
//!
//! A backward GEMM is two products of the forward's size (input gradient dX = dY·Wᵀ and
//! weight gradient dW = Xᵀ·dY): (m, n, k) gives (m, k, n) and (k, n, m).
//!
//! `scale` (0 < scale ≤ 1) keeps that fraction of every product's rows (tokens, or
//! queries in the attention core), so a step's FLOPs shrink by `scale` while the weight
//! shapes stay the model's: the emulated cluster's CPUs finish a step in seconds.

use crate::error::{bad, Result};
use crate::layout::Layout;
use crate::model::ModelSpec;
use serde::{Deserialize, Serialize};

/// One matrix product C[m×n] = A[m×k]·B[k×n], issued `count` times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gemm {
    /// qkv, scores, context, out_proj, mlp_up, mlp_down; backward ones end in .dx / .dw.
    pub name: String,
    pub m: u64,
    pub n: u64,
    pub k: u64,
    pub count: u64,
}

impl Gemm {
    /// FLOPs of all `count` products (a multiply-add = 2).
    pub fn flops(&self) -> f64 {
        2.0 * (self.m * self.n * self.k * self.count) as f64
    }

    /// The two backward products of this forward one.
    pub fn backward(&self) -> [Gemm; 2] {
        let g = |suffix: &str, m, n, k| Gemm {
            name: format!("{}.{suffix}", self.name),
            m,
            n,
            k,
            count: self.count,
        };
        [
            g("dx", self.m, self.k, self.n),
            g("dw", self.k, self.n, self.m),
        ]
    }
}

/// One micro-batch through one layer on one TP rank: the forward products and the
/// backward ones (two per forward product).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerGemms {
    pub forward: Vec<Gemm>,
    pub backward: Vec<Gemm>,
    /// The scale the rows were cut by.
    pub scale: f64,
}

impl LayerGemms {
    pub fn forward_flops(&self) -> f64 {
        self.forward.iter().map(Gemm::flops).sum()
    }
    pub fn backward_flops(&self) -> f64 {
        self.backward.iter().map(Gemm::flops).sum()
    }
    /// Every distinct product (forward then backward), for calibration.
    pub fn all(&self) -> impl Iterator<Item = &Gemm> {
        self.forward.iter().chain(&self.backward)
    }
}

/// Rows kept at `scale`: at least one.
fn rows(n: u64, scale: f64) -> u64 {
    ((n as f64 * scale).round() as u64).max(1)
}

/// The products of one micro-batch (`layout.dims.mb` sequences of `layout.seq` tokens)
/// through one layer of `m` on one of `layout.dims.tp` ranks, rows cut by `scale`.
pub fn layer_gemms(m: &ModelSpec, layout: &Layout, scale: f64) -> Result<LayerGemms> {
    if !(scale > 0.0 && scale <= 1.0) {
        return Err(bad(format!("compute scale {scale}: want 0 < scale ≤ 1")));
    }
    let tp = layout.dims.tp.max(1);
    let (h, s, mb) = (m.hidden, layout.seq, layout.dims.mb.max(1));
    let d = m.head_dim();
    let kvd = m.kv_heads() * d;
    let f = m.ffn;
    let t = rows(mb * s, scale);
    let heads = (m.heads / tp).max(1);
    let up = (m.mlp_mats() - 1) * f / tp;
    let g = |name: &str, mm: u64, n: u64, k: u64, count: u64| Gemm {
        name: name.into(),
        m: mm,
        n: n.max(1),
        k: k.max(1),
        count,
    };
    let forward = vec![
        g("qkv", t, (h + 2 * kvd) / tp, h, 1),
        // Q·Kᵀ and attention·V per sequence and head: queries are the rows.
        g("scores", rows(s, scale), s, d, mb * heads),
        g("context", rows(s, scale), d, s, mb * heads),
        g("out_proj", t, h, h / tp, 1),
        g("mlp_up", t, up, h, m.top_k),
        g("mlp_down", t, h, f / tp, m.top_k),
    ];
    let backward = forward.iter().flat_map(Gemm::backward).collect();
    Ok(LayerGemms {
        forward,
        backward,
        scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flops::LayerFlops;
    use crate::layout::Dims;
    use crate::model::preset_model;

    fn layout(tp: u64, mb: u64, seq: u64) -> Layout {
        let dims = Dims {
            dp: 1,
            tp,
            pp: 1,
            ep: 1,
            vp: 1,
            mb,
        };
        Layout {
            bucket_bytes: 1 << 25,
            ..Layout::new(dims, mb, seq)
        }
    }

    #[test]
    fn products_sum_to_the_layer_flops_per_rank() {
        for (name, tp) in [("llama2-7b", 1), ("llama2-70b", 8), ("gpt3-175b", 8)] {
            let m = preset_model(name).unwrap();
            let lay = layout(tp, 2, 4096);
            let g = layer_gemms(&m, &lay, 1.0).unwrap();
            let lf = LayerFlops::of(&m, 4096);
            let want = (lf.total() - lf.router) * (2 * 4096) as f64 / tp as f64;
            let got = g.forward_flops();
            assert!((got - want).abs() / want < 1e-9, "{name}: {got} vs {want}");
            assert!((g.backward_flops() - 2.0 * got).abs() / got < 1e-9);
        }
    }

    #[test]
    fn scale_cuts_the_flops_by_itself() {
        let m = preset_model("llama2-7b").unwrap();
        let lay = layout(2, 1, 4096);
        let full = layer_gemms(&m, &lay, 1.0).unwrap().forward_flops();
        let cut = layer_gemms(&m, &lay, 0.125).unwrap().forward_flops();
        assert!((cut / full - 0.125).abs() < 1e-9, "{}", cut / full);
        assert!(layer_gemms(&m, &lay, 0.0).is_err());
        assert!(layer_gemms(&m, &lay, 1.5).is_err());
    }
}
