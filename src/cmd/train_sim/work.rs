//! The compute of `train-sim`'s step: each micro-batch's forward and backward run the
//! layer's matrix products for real ([`xccl_train::gemm`] shapes on a
//! [`crate::compute::Engine`]), timed as they run. Nothing here reads a prediction: how
//! long compute takes is whatever the products take on this rank, and the DP buckets of
//! the last backward start from its measured progress (the FLOPs of the products done),
//! not from a predicted window.
//!
//! A layer is two halves, each followed by its TP collective (Megatron's layer path):
//! attention (QKV, scores, context, output projection) and MLP (up, down); backward runs
//! them in reverse, the attention half first rerunning the attention core under selective
//! recomputation (full recomputation reruns the whole forward, [`super::step`]).
#![cfg(feature = "mpi")]

use crate::compute::Engine;
use xccl_train::calib::recomputed_selective;
use xccl_train::gemm::{Gemm, LayerGemms};
use xccl_train::layout::Recompute;

/// Which half of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Half {
    AttnFwd,
    MlpFwd,
    MlpBwd,
    AttnBwd,
}

/// The products of each half and the engine that runs them.
pub struct Work {
    engine: Box<dyn Engine>,
    halves: [Vec<Gemm>; 4],
    /// Seconds of products since the last [`Work::take_busy`].
    busy: f64,
}

impl Work {
    pub fn new(engine: Box<dyn Engine>, g: &LayerGemms, recompute: Recompute) -> Work {
        let (attn_f, mlp_f) = g.forward.split_at(4);
        // Backward of each forward product, MLP's first (the layer runs in reverse).
        let bwd = |v: &[Gemm]| -> Vec<Gemm> { v.iter().rev().flat_map(Gemm::backward).collect() };
        let mut attn_b = Vec::new();
        if recompute == Recompute::Selective {
            attn_b.extend_from_slice(recomputed_selective(g));
        }
        attn_b.extend(bwd(attn_f));
        Work {
            engine,
            halves: [attn_f.to_vec(), mlp_f.to_vec(), bwd(mlp_f), attn_b],
            busy: 0.0,
        }
    }

    pub fn describe(&self) -> String {
        self.engine.describe()
    }

    /// FLOPs of one half.
    pub fn flops(&self, h: Half) -> f64 {
        self.halves[h as usize].iter().map(Gemm::flops).sum()
    }

    /// Runs half `h`, calling `poll(done)` after every slice of work, `done` being the
    /// FLOPs of this half's products completed so far. A failed device call ends the job
    /// ([`super::transport::host::fatal`]).
    pub fn run(&mut self, h: Half, poll: &mut dyn FnMut(f64)) {
        let mut done = 0.0;
        for g in &self.halves[h as usize] {
            let d = done;
            match self.engine.run(g, &mut || poll(d)) {
                Ok(s) => self.busy += s,
                Err(e) => super::transport::host::fatal(e),
            }
            done += g.flops();
            poll(done);
        }
    }

    /// Seconds of products run since the last call.
    pub fn take_busy(&mut self) -> f64 {
        std::mem::take(&mut self.busy)
    }
}
