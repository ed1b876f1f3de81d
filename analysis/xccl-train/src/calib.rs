//! The device file `xccl-bench calibrate` writes and `predict --device FILE.json` reads:
//! the achieved FLOP/s of one device on the layer's matrix products ([`crate::gemm`]),
//! measured, so the prediction's compute is a measurement of the device rather than a
//! nominal peak × efficiency.
//!
//! A prediction from it times each product of a micro-batch's layer from the rate
//! measured for that exact shape; a shape the file lacks (another model, tp, micro-batch,
//! sequence or scale) is refused, never guessed.

use crate::comm::Group;
use crate::error::{bad, Result, TrainError};
use crate::gemm::{layer_gemms, Gemm, LayerGemms};
use crate::layout::{Layout, Recompute};
use crate::model::{DeviceSpec, ModelSpec};
use crate::timer::{CommTimer, Timed};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file's format tag.
pub const FORMAT: &str = "xccl-bench calibration 1";

/// One product's measured rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShapeRate {
    #[serde(flatten)]
    pub gemm: Gemm,
    /// Median seconds of the `count` products, over repetitions (and ranks).
    pub seconds: f64,
    pub flops_per_s: f64,
}

/// A calibration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub format: String,
    /// The device as its backend names it ("host" for MPI on CPUs, the GPU's name for
    /// NCCL), without a bus id.
    pub device: String,
    /// The backend whose device this is: mpi, nccl, hccl.
    pub backend: String,
    /// What ran the products (library, precision, threads).
    pub engine: String,
    /// The processor or GPU in words (information).
    #[serde(default)]
    pub detail: String,
    /// Ranks that ran the products at once (they share the host's cores on the CPU).
    pub ranks: u64,
    /// The fraction of each product's rows computed ([`crate::gemm`]).
    pub scale: f64,
    pub model: String,
    pub tp: u64,
    pub mb: u64,
    pub seq: u64,
    pub shapes: Vec<ShapeRate>,
    /// Collectives of the layer path timed inside the compute they sit in (absent when
    /// calibrate ran without TP groups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_step: Vec<InStepCall>,
}

/// One layer-path collective timed two ways by `calibrate`: back to back (as a sweep
/// times it) and each right after a half-layer's products (as a step issues it), there as
/// what it adds to the half-layer's wall time beyond the products' sustained time (the
/// compute the prediction counts). The difference is what a call costs inside a step
/// beyond the sweep: peers arriving at different times, launch and progress on a loaded
/// host (issue 17 item 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InStepCall {
    pub collective: xccl_schema::CollKind,
    pub bytes: u64,
    pub nranks: u64,
    /// Median seconds per call, back to back; then what a call issued after the products
    /// adds to the half-layer (its wall time less the products' sustained time), at least
    /// the back-to-back time.
    pub back_to_back_s: f64,
    pub in_step_s: f64,
}

/// A timer that answers the calibrated layer-path calls from their in-step time and
/// everything else from `inner` (sweeps or topology).
pub struct InStep {
    pub inner: Box<dyn CommTimer>,
    pub calls: Vec<InStepCall>,
}

impl CommTimer for InStep {
    fn time(&self, coll: xccl_schema::CollKind, bytes: u64, g: &Group) -> Timed {
        match self
            .calls
            .iter()
            .find(|c| c.collective == coll && c.bytes == bytes && c.nranks == g.nranks)
        {
            Some(c) => Timed {
                seconds: c.in_step_s,
                source: format!(
                    "calibrate: in-step {:.3} ms (back to back {:.3} ms)",
                    c.in_step_s * 1e3,
                    c.back_to_back_s * 1e3
                ),
                extrapolated: None,
            },
            None => self.inner.time(coll, bytes, g),
        }
    }
    fn describe(&self) -> String {
        format!(
            "{}; TP calls timed in-step by calibrate",
            self.inner.describe()
        )
    }
    fn nic_bytes_per_s(&self) -> Option<f64> {
        self.inner.nic_bytes_per_s()
    }
}

/// The device name without a trailing " (bus id)", as sweeps record it.
pub fn device_model(name: &str) -> &str {
    match name.rfind(" (") {
        Some(i) if name.ends_with(')') => &name[..i],
        _ => name,
    }
}

impl Calibration {
    pub fn load(path: &Path) -> Result<Calibration> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::File {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        let c: Calibration = serde_json::from_str(&text)
            .map_err(|e| bad(format!("{}: not a calibration file: {e}", path.display())))?;
        if c.format != FORMAT {
            return Err(bad(format!(
                "{}: format '{}', want '{FORMAT}'",
                path.display(),
                c.format
            )));
        }
        if let Some(s) = c
            .shapes
            .iter()
            .find(|s| s.flops_per_s.is_nan() || s.flops_per_s <= 0.0)
        {
            return Err(bad(format!(
                "{}: product {} has no positive rate",
                path.display(),
                s.gemm.name
            )));
        }
        Ok(c)
    }

    /// The measured seconds of `g` (its shape at its count).
    fn time(&self, g: &Gemm) -> Result<f64> {
        let s = self
            .shapes
            .iter()
            .find(|s| (s.gemm.m, s.gemm.n, s.gemm.k) == (g.m, g.n, g.k))
            .ok_or_else(|| {
                bad(format!(
                    "calibration of {} (tp={}, mb={}, seq={}, scale {}) has no {}×{}×{} product ({}): calibrate this model and layout",
                    self.model, self.tp, self.mb, self.seq, self.scale, g.m, g.n, g.k, g.name
                ))
            })?;
        Ok(g.flops() / s.flops_per_s)
    }

    /// Seconds of one micro-batch through one layer: (forward, backward with the
    /// recomputation `layout` asks for: selective reruns the attention core's forward,
    /// full the whole forward).
    pub fn layer_times(&self, m: &ModelSpec, layout: &Layout) -> Result<(f64, f64)> {
        let g = layer_gemms(m, layout, self.scale)?;
        let sum = |v: &[Gemm]| -> Result<f64> { v.iter().map(|x| self.time(x)).sum() };
        let fwd = sum(&g.forward)?;
        let mut bwd = sum(&g.backward)?;
        bwd += match layout.recompute {
            Recompute::None => 0.0,
            Recompute::Selective => sum(recomputed_selective(&g))?,
            Recompute::Full => fwd,
        };
        Ok((fwd, bwd))
    }

    /// A device for the prediction's MFU: named as the file names it, its "peak" the
    /// best rate measured (so MFU reads against the best product, not a datasheet).
    pub fn device_spec(&self) -> DeviceSpec {
        let best = self
            .shapes
            .iter()
            .map(|s| s.flops_per_s)
            .fold(0.0, f64::max)
            / 1e12;
        DeviceSpec {
            name: format!("{} ({}, calibrated)", self.device, self.backend),
            bf16_tflops: best,
            fp16_tflops: best,
            fp8_tflops: None,
            memory_gib: 0.0,
            source: format!("calibration: {}, {} ranks at once", self.engine, self.ranks),
        }
    }

    /// Refuses a file from another device or backend than `backend`/`device` (the
    /// sweeps' own).
    pub fn check_for(&self, backend: &str, device: &str) -> Result<()> {
        if self.backend != backend || device_model(&self.device) != device_model(device) {
            return Err(bad(format!(
                "calibration is of {} on {}; the sweeps are of {} on {}",
                self.device, self.backend, device, backend
            )));
        }
        Ok(())
    }
}

/// The forward products selective recomputation reruns: the attention core.
pub fn recomputed_selective(g: &LayerGemms) -> &[Gemm] {
    &g.forward[1..3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_id_is_not_part_of_the_device() {
        assert_eq!(device_model("NVIDIA H200 (0000:1b:00.0)"), "NVIDIA H200");
        assert_eq!(device_model("host"), "host");
    }

    struct Flat;
    impl CommTimer for Flat {
        fn time(&self, _: xccl_schema::CollKind, _: u64, _: &Group) -> Timed {
            Timed {
                seconds: 1e-4,
                source: "sweep".into(),
                extrapolated: None,
            }
        }
        fn describe(&self) -> String {
            "flat".into()
        }
    }

    #[test]
    fn in_step_answers_only_its_own_call() {
        use xccl_schema::CollKind::{AllGather, AllReduce};
        let t = InStep {
            inner: Box::new(Flat),
            calls: vec![InStepCall {
                collective: AllReduce,
                bytes: 131072,
                nranks: 2,
                back_to_back_s: 1e-4,
                in_step_s: 0.02,
            }],
        };
        let g2 = Group::strided(2, 1, 2);
        assert_eq!(t.time(AllReduce, 131072, &g2).seconds, 0.02);
        // Another size, group or collective: the sweeps' time.
        assert_eq!(t.time(AllReduce, 65536, &g2).seconds, 1e-4);
        assert_eq!(
            t.time(AllReduce, 131072, &Group::strided(4, 1, 2)).seconds,
            1e-4
        );
        assert_eq!(t.time(AllGather, 131072, &g2).seconds, 1e-4);
    }
}
