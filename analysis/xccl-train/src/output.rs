//! What `xccl-bench predict --json` and `xccl-bench train-sim --json` write, as typed
//! files of their own (`tool` "xccl-bench", `kind` "prediction" or "train-sim", a
//! `schema_version`), so that offline readers (`xccl-bench report`) read them back and
//! tell them apart from benchmark results with `xccl_schema::read::kind_of`. The runtime
//! only fills them.

use crate::memory::Memory;
use crate::predict::{Linearity, Prediction};
use crate::search::SearchResult;
use serde::{Deserialize, Serialize};

/// `kind` of a [`PredictionReport`].
pub const PREDICTION_KIND: &str = "prediction";
/// `kind` of a [`UtilisationReport`] (`predict --step-time` with no communication source).
pub const UTILISATION_KIND: &str = "utilisation";
/// `kind` of a [`SearchReport`].
pub const SEARCH_KIND: &str = "layout-search";
/// `kind` of a [`TrainSimReport`].
pub const TRAIN_SIM_KIND: &str = "train-sim";
/// 1: the first typed forms of both files.
pub const SCHEMA_VERSION: u32 = 1;

fn tool() -> String {
    xccl_schema::result::TOOL.into()
}

/// `predict --json`: the prediction's fields at the top level (as before the file was
/// typed), its linearity, and the utilisation of a measured step when one was given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionReport {
    pub tool: String,
    pub kind: String,
    pub schema_version: u32,
    #[serde(flatten)]
    pub prediction: Prediction,
    pub linearity: Linearity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_step: Option<MeasuredStep>,
    /// Weights of the whole model (files written before it: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<u64>,
    /// Memory of the fullest device (files written before it: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
}

impl PredictionReport {
    pub fn new(
        prediction: Prediction,
        linearity: Linearity,
        measured_step: Option<MeasuredStep>,
    ) -> Self {
        PredictionReport {
            tool: tool(),
            kind: PREDICTION_KIND.into(),
            schema_version: SCHEMA_VERSION,
            prediction,
            linearity,
            measured_step,
            parameters: None,
            memory: None,
        }
    }
}

/// `predict --step-time S --json` without a communication source: the job's FLOPs,
/// utilisation and tokens/s of the measured step, and its memory; nothing predicted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UtilisationReport {
    pub tool: String,
    pub kind: String,
    pub schema_version: u32,
    pub model: String,
    pub device: String,
    pub layout: String,
    pub devices: u64,
    pub parameters: u64,
    pub model_flops_per_step: f64,
    pub hardware_flops_per_step: f64,
    pub measured_step: MeasuredStep,
    pub memory: Memory,
}

impl UtilisationReport {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        model: String,
        device: String,
        layout: String,
        devices: u64,
        parameters: u64,
        flops: (f64, f64),
        measured_step: MeasuredStep,
        memory: Memory,
    ) -> Self {
        UtilisationReport {
            tool: tool(),
            kind: UTILISATION_KIND.into(),
            schema_version: SCHEMA_VERSION,
            model,
            device,
            layout,
            devices,
            parameters,
            model_flops_per_step: flops.0,
            hardware_flops_per_step: flops.1,
            measured_step,
            memory,
        }
    }
}

/// `predict --search --json`: the layouts that fit, best first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchReport {
    pub tool: String,
    pub kind: String,
    pub schema_version: u32,
    pub model: String,
    pub device: String,
    pub global_batch: u64,
    pub seq: u64,
    pub comm_source: String,
    #[serde(flatten)]
    pub result: SearchResult,
}

impl SearchReport {
    pub fn new(
        model: String,
        device: String,
        global_batch: u64,
        seq: u64,
        comm_source: String,
        result: SearchResult,
    ) -> Self {
        SearchReport {
            tool: tool(),
            kind: SEARCH_KIND.into(),
            schema_version: SCHEMA_VERSION,
            model,
            device,
            global_batch,
            seq,
            comm_source,
            result,
        }
    }
}

/// A step time measured on the real job (`predict --step-time`), with its utilisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredStep {
    pub step_time_s: f64,
    pub mfu: f64,
    pub hfu: f64,
    /// Global batch × sequence / step time (files written before it: 0).
    #[serde(default)]
    pub tokens_per_s: f64,
}

/// One scale (DP size) that `train-sim` ran: predicted beside measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleResult {
    pub layout: String,
    pub devices: u64,
    pub predicted_step_s: f64,
    /// The median over the timed steps (each the slowest rank's).
    pub measured_step_s: f64,
    pub measured_min_s: f64,
    pub measured_max_s: f64,
    /// (predicted − measured) / measured.
    pub error: f64,
    pub predicted_tokens_per_s: f64,
    pub measured_tokens_per_s: f64,
    /// Compute and exposed communication, measured and predicted (absent in files
    /// written before train-sim ran real matrix products).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<Phases>,
}

/// A scale's step split into compute and the rest, measured by train-sim's own clocks
/// around its matrix products and beside the prediction's split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Median over the timed steps of the slowest rank's seconds in matrix products.
    pub measured_compute_s: f64,
    /// Median over the timed steps of (step − that step's compute): communication,
    /// bubble and waits not hidden under compute.
    pub measured_exposed_s: f64,
    /// The prediction's compute (`breakdown.compute_s`) and step − compute.
    pub predicted_compute_s: f64,
    pub predicted_exposed_s: f64,
}

/// `train-sim --json`: the job and each scale it ran, smallest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSimReport {
    pub tool: String,
    pub kind: String,
    pub schema_version: u32,
    pub model: String,
    /// Ranks of the world (the largest scale's devices).
    pub ranks: u64,
    /// Timed steps per scale.
    pub steps: usize,
    /// Where the prediction's communication times came from.
    pub comm_source: String,
    pub scales: Vec<ScaleResult>,
    /// The messages the simulated step issued on rank 0 (the device `comm::step_ops`
    /// describes: first stage), counted at the calls, per scale: what a reader compares
    /// with the prediction's `comm` list for the same job.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<IssuedOp>,
    /// What ran the step's matrix products, and the fraction of each product's rows
    /// computed (`xccl_train::gemm`); empty and absent in older files.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub compute_engine: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_scale: Option<f64>,
}

/// One kind of message a simulated step issued: how many per step, of what size (the
/// size column's convention, as `comm::CommOp::bytes`), on a communicator of how many ranks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedOp {
    /// The scale's layout (`ScaleResult::layout`).
    pub layout: String,
    pub dim: crate::comm::Dim,
    pub collective: xccl_schema::CollKind,
    pub bytes: u64,
    pub count: u64,
    pub nranks: u64,
}

impl TrainSimReport {
    pub fn new(
        model: String,
        ranks: u64,
        steps: usize,
        comm_source: String,
        scales: Vec<ScaleResult>,
    ) -> Self {
        TrainSimReport {
            tool: tool(),
            kind: TRAIN_SIM_KIND.into(),
            schema_version: SCHEMA_VERSION,
            model,
            ranks,
            steps,
            comm_source,
            scales,
            messages: Vec::new(),
            compute_engine: String::new(),
            compute_scale: None,
        }
    }

    /// Linearity of each scale relative to the first (smallest): throughput over the
    /// first's × the device ratio, (devices, measured, predicted).
    pub fn linearity(&self) -> Vec<(u64, f64, f64)> {
        let Some(b) = self.scales.first() else {
            return vec![];
        };
        self.scales
            .iter()
            .map(|r| {
                let k = r.devices as f64 / b.devices as f64;
                (
                    r.devices,
                    r.measured_tokens_per_s / (b.measured_tokens_per_s * k),
                    r.predicted_tokens_per_s / (b.predicted_tokens_per_s * k),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale(devices: u64, tokens: f64) -> ScaleResult {
        ScaleResult {
            layout: format!("dp={devices}"),
            devices,
            predicted_step_s: 1.0,
            measured_step_s: 1.0,
            measured_min_s: 1.0,
            measured_max_s: 1.0,
            error: 0.0,
            predicted_tokens_per_s: tokens,
            measured_tokens_per_s: tokens * 0.9,
            phases: None,
        }
    }

    #[test]
    fn linearity_is_relative_to_the_smallest_scale() {
        // 1 device: 100 tokens/s predicted, 90 measured. 4 devices: 300 predicted →
        // 300 / (100 × 4) = 0.75; 270 measured → 270 / (90 × 4) = 0.75.
        let r = TrainSimReport::new(
            "m".into(),
            4,
            3,
            "x".into(),
            vec![scale(1, 100.0), scale(4, 300.0)],
        );
        let l = r.linearity();
        assert_eq!(l[0], (1, 1.0, 1.0));
        assert_eq!(l[1].0, 4);
        assert!((l[1].1 - 0.75).abs() < 1e-12 && (l[1].2 - 0.75).abs() < 1e-12);
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.starts_with(r#"{"tool":"xccl-bench","kind":"train-sim","schema_version":1"#));
        let back: TrainSimReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        // No messages: no key (files written before it read back the same).
        assert!(!text.contains("messages"), "{text}");
    }

    #[test]
    fn issued_messages_use_the_prediction_vocabulary() {
        let mut r = TrainSimReport::new("m".into(), 4, 1, "x".into(), vec![scale(4, 1.0)]);
        r.messages.push(IssuedOp {
            layout: "dp=4".into(),
            dim: crate::comm::Dim::Dp,
            collective: xccl_schema::CollKind::ReduceScatter,
            bytes: 1048576,
            count: 6,
            nranks: 4,
        });
        let text = serde_json::to_string(&r).unwrap();
        // The same words as predict's `comm` entries (CommOp: dim, collective, bytes, count).
        assert!(
            text.contains(r#""dim":"dp","collective":"reduce_scatter","bytes":1048576,"count":6"#),
            "{text}"
        );
        let back: TrainSimReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}
