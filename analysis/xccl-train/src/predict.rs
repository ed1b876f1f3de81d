//! Step time, MFU/HFU, throughput and linearity of a job (docs/SOURCES.md, "Training step"
//! and [ascend-tuning]).
//!
//! The step model (1F1B pipeline, the schedule train-sim runs):
//! - per micro-batch and stage: forward t_f and backward t_b compute (backward holds the
//!   recomputation), plus the TP and EP collectives of its layers and the PP transfers
//!   (an exchange with each neighbour, both directions at once; interleaved, one per
//!   chunk: vp times as many), all on the critical path: t_stage;
//! - a step: m·t_stage for the micro-batches, plus the bubble (p−1)·t_stage/v
//!   (Narayanan et al. 2021: (p−1)/(m+p−1) of the step for v = 1, (p−1)/(v·m) of the ideal
//!   time);
//! - then the DP gradient reduction: buckets that become ready evenly through the last
//!   backward (t_b) and are reduced one after the other; what runs past that backward is
//!   exposed. ZeRO's parameter all-gathers are exposed.

use crate::comm::{prefetch_exposed, reduce_tail, step_ops, zero3_units, CommOp, Dim, Group};
use crate::error::{bad, Result};
use crate::flops::{hfu, mfu, step_flops, FlopsForm, StepFlops};
use crate::layout::Recompute;
use crate::layout::{Dims, Layout};
use crate::model::{DeviceSpec, ModelSpec, Precision};
use crate::timer::{shared_nic_seconds, CommTimer, Timed};
use serde::{Deserialize, Serialize};
use xccl_schema::rules::LINEARITY;
use xccl_schema::CollKind;

/// Where compute time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeSource {
    /// Peak dense FLOP/s × efficiency.
    Peak { efficiency: f64 },
    /// Measured fwd+bwd time of one micro-batch on one device holding the whole model.
    DeviceStep { seconds: f64 },
    /// One micro-batch through one layer on one TP rank, from a calibration file
    /// ([`crate::calib`]): forward and backward (with recomputation) seconds.
    Calibrated {
        layer_forward_s: f64,
        layer_backward_s: f64,
    },
}

/// Everything a prediction needs.
#[derive(Clone, Debug)]
pub struct Job {
    pub model: ModelSpec,
    pub device: DeviceSpec,
    pub precision: Precision,
    pub layout: Layout,
    pub form: FlopsForm,
    pub compute: ComputeSource,
}

/// One communication op with its time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimedOp {
    #[serde(flatten)]
    pub op: CommOp,
    pub time_each_s: f64,
    pub time_total_s: f64,
    pub timing: Timed,
}

/// Where the step goes (seconds).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub compute_s: f64,
    pub tp_exposed_s: f64,
    pub ep_exposed_s: f64,
    pub pp_exposed_s: f64,
    pub dp_exposed_s: f64,
    pub dp_hidden_s: f64,
    pub bubble_s: f64,
    /// The bubble as a fraction of the step.
    pub bubble_fraction: f64,
}

/// A prediction for one layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub model: String,
    pub device: String,
    pub layout: String,
    pub devices: u64,
    pub microbatches: u64,
    pub flops_form: String,
    pub model_flops_per_step: f64,
    pub hardware_flops_per_step: f64,
    pub peak_flops_per_device: f64,
    pub step_time_s: f64,
    pub mfu: f64,
    pub hfu: f64,
    pub tokens_per_s: f64,
    pub samples_per_s: f64,
    pub tokens_per_day: f64,
    pub breakdown: Breakdown,
    /// Per micro-batch and stage: forward and backward compute (seconds).
    pub t_forward_s: f64,
    pub t_backward_s: f64,
    /// How long the DP buckets have to hide under: the last backward of the step (the
    /// last chunk's, interleaved), with its TP/EP. train-sim issues them over the same.
    #[serde(default)]
    pub dp_window_s: f64,
    pub comm: Vec<TimedOp>,
    pub comm_source: String,
}

/// Compute seconds of one micro-batch on one stage: (forward, backward).
fn compute_times(job: &Job, f: &StepFlops) -> Result<(f64, f64)> {
    let d = job.layout.dims;
    let m = job.layout.microbatches() as f64;
    let split = (d.tp * d.pp) as f64;
    // Share of the hardware FLOPs in forward: one third of the model FLOPs.
    let fwd_share = (f.model / 3.0) / f.hardware;
    if let ComputeSource::Calibrated {
        layer_forward_s,
        layer_backward_s,
    } = job.compute
    {
        let layers = (job.model.layers / d.pp) as f64;
        return Ok((layers * layer_forward_s, layers * layer_backward_s));
    }
    let per_mb = match job.compute {
        ComputeSource::Peak { efficiency } => {
            if !(efficiency > 0.0 && efficiency <= 1.0) {
                return Err(bad(format!(
                    "--compute-efficiency {efficiency}: want 0 < E ≤ 1"
                )));
            }
            let peak = job.device.peak_flops(job.precision)?;
            f.hardware / (d.dp as f64) / m / split / (peak * efficiency)
        }
        // Measured on one device for one micro-batch without recomputation: scale by
        // the recomputation share and split over the model-parallel devices.
        ComputeSource::DeviceStep { seconds } => {
            if seconds <= 0.0 {
                return Err(bad("--device-step-time must be > 0"));
            }
            seconds * (f.hardware / f.model) / split
        }
        ComputeSource::Calibrated { .. } => unreachable!("returned above"),
    };
    Ok((per_mb * fwd_share, per_mb * (1.0 - fwd_share)))
}

/// ZeRO-3 per-layer gathers and reduce-scatters (`comm::zero3_ops`): the exposed part
/// of the gathers per micro-batch (every chunk's forward and backward passes, each with
/// one-deep prefetch behind the previous layer's compute) and the reduce-scatters' tail
/// past the step's last backward pass (the first chunk's; the other chunks' hide under
/// the backwards after theirs). (0, 0) without ZeRO-3.
fn zero3_exposed(job: &Job, timed: &[TimedOp], t_f: f64, t_b: f64) -> (f64, f64) {
    let lay = &job.layout;
    if lay.zero != 3 || lay.dims.dp < 2 {
        return (0.0, 0.0);
    }
    let d = lay.dims;
    let each = |coll: CollKind, elems: u64, bytes_per: u64, expert: bool| -> f64 {
        let bytes = elems * bytes_per;
        timed
            .iter()
            .find(|t| {
                t.op.per_layer
                    && t.op.collective == coll
                    && t.op.bytes == bytes
                    && t.op.what.starts_with("expert") == expert
            })
            .map_or(0.0, |t| t.time_each_s)
    };
    let units = zero3_units(&job.model, lay);
    let per_chunk = units.first().map_or(1, |u| u.len().max(1)) as f64;
    let vp = d.vp.max(1) as f64;
    // One layer's compute in a pass: the chunk's share of a micro-batch, per layer.
    let c_f = t_f / vp / per_chunk;
    let full = lay.recompute == Recompute::Full;
    let c_b = if full { t_b - t_f } else { t_b } / vp / per_chunk;
    let (mut per_mb, mut tail) = (0.0, 0.0);
    for (ci, chunk) in units.iter().enumerate() {
        let g: Vec<f64> = chunk
            .iter()
            .map(|u| {
                each(CollKind::AllGather, u.dense, lay.act_bytes, false)
                    + each(CollKind::AllGather, u.expert, lay.act_bytes, true)
            })
            .collect();
        let rs: Vec<f64> = chunk
            .iter()
            .rev()
            .map(|u| {
                each(CollKind::ReduceScatter, u.dense, lay.grad_bytes, false)
                    + each(CollKind::ReduceScatter, u.expert, lay.grad_bytes, true)
            })
            .collect();
        let g_rev: Vec<f64> = g.iter().rev().copied().collect();
        let n = g.len();
        let fwd = prefetch_exposed(&g, &vec![c_f; n]);
        // Backward runs the layers in reverse (after the recomputation forward).
        let bwd = prefetch_exposed(&g_rev, &vec![c_b; n]);
        per_mb += fwd + bwd + if full { fwd } else { 0.0 };
        if ci == 0 {
            tail = reduce_tail(&rs, &vec![c_b; n]);
        }
    }
    (per_mb, tail)
}

/// Predicts one layout.
pub fn predict(job: &Job, timer: &dyn CommTimer) -> Result<Prediction> {
    let lay = &job.layout;
    lay.check(&job.model)?;
    let d = lay.dims;
    let m = lay.microbatches();
    let f = step_flops(
        &job.model,
        lay.global_batch,
        lay.seq,
        lay.recompute,
        job.form,
    );
    let (t_f, t_b) = compute_times(job, &f)?;
    let ops = step_ops(&job.model, lay);
    let mut timed = Vec::with_capacity(ops.len());
    for op in ops {
        // Groups sharing a NIC: each alone runs as measured; together the NIC also carries
        // the other groups' bytes (`shared_nic_seconds`), or, without the NIC's rate, each
        // moves its bytes at 1/share of the rate.
        let share = op.group.share;
        let mut t = timer.time(op.collective, op.bytes, &op.group);
        if share > 1 {
            match timer.nic_bytes_per_s() {
                Some(nic) => {
                    let bus = op.bytes as f64 * op.collective.bus_factor(op.group.nranks as usize);
                    t.seconds = shared_nic_seconds(t.seconds, bus, nic, share);
                    t.source = format!(
                        "{} (+ {} other groups' bytes on the NIC at {:.4} GB/s)",
                        t.source,
                        share - 1,
                        nic / 1e9
                    );
                }
                None => {
                    t = timer.time(op.collective, op.bytes * share, &op.group);
                    t.source = format!(
                        "{} (at {share}× the size: {share} groups share a NIC)",
                        t.source
                    );
                }
            }
        }
        if !t.seconds.is_finite() {
            return Err(bad(format!(
                "no time for {} {} B on {} ranks: {}",
                op.collective,
                op.bytes,
                op.group.nranks,
                t.extrapolated.clone().unwrap_or_default()
            )));
        }
        timed.push(TimedOp {
            time_each_s: t.seconds,
            time_total_s: t.seconds * op.count as f64,
            timing: t,
            op,
        });
    }
    let total = |dim: Dim| -> f64 {
        timed
            .iter()
            .filter(|t| t.op.dim == dim && !t.op.overlappable && !t.op.per_layer)
            .map(|t| t.time_total_s)
            .sum()
    };
    let (tp, ep) = (total(Dim::Tp), total(Dim::Ep));
    // PP messages go both ways at once (Megatron's send_forward_recv_backward and
    // send_backward_recv_forward): per micro-batch a stage makes one exchange with each
    // neighbour, so end stages wait for one and middle stages for two.
    // Interleaved (vp > 1): per micro-batch and chunk the same exchanges as plain 1F1B
    // per micro-batch (each of the vp steady-state calls sends forward and backward at
    // once), so vp times as many. (On the emulated cluster, pp=2, vp=2: predicted
    // within 2% of train-sim; counting the two messages a call sends to its two
    // neighbours one after the other, 2·vp, overshot by 8%.)
    let mf = m as f64;
    let pp_msg = timed
        .iter()
        .find(|t| t.op.dim == Dim::Pp)
        .map_or(0.0, |t| t.time_each_s);
    let pp = mf * pp_msg * d.vp as f64 * (d.pp - 1).min(2) as f64;
    let (z3_mb, z3_tail) = zero3_exposed(job, &timed, t_f, t_b);
    let t_stage = t_f + t_b + (tp + ep + pp) / mf + z3_mb;
    // Narayanan et al.: (p − 1)/(v·m) of the ideal m·t_stage.
    let bubble = (d.pp - 1) as f64 * t_stage / d.vp as f64;
    // DP buckets under the last backward (its compute and the backward half of TP/EP);
    // interleaved, under the last chunk's backward (1/vp of it).
    let window = (t_b + (tp + ep) / mf / 2.0) / d.vp as f64;
    let buckets: Vec<f64> = timed
        .iter()
        .filter(|t| t.op.dim == Dim::Dp && t.op.overlappable)
        .flat_map(|t| std::iter::repeat_n(t.time_each_s, t.op.count as usize))
        .collect();
    let dp_overlap_total: f64 = buckets.iter().sum();
    let dp_exposed_overlap = {
        let nb = buckets.len() as f64;
        let mut finish: f64 = 0.0;
        for (i, t) in buckets.iter().enumerate() {
            let ready = window * (i as f64 + 1.0) / nb;
            finish = finish.max(ready) + t;
        }
        if buckets.is_empty() {
            0.0
        } else {
            (finish - window).max(0.0)
        }
    };
    let dp_serial = total(Dim::Dp);
    let dp_exposed = dp_exposed_overlap + dp_serial + z3_tail;
    let step = mf * t_stage + bubble + dp_exposed;
    let peak = job.device.peak_flops(job.precision)?;
    let n = d.devices();
    let tokens = f.tokens;
    Ok(Prediction {
        model: job.model.name.clone(),
        device: job.device.name.clone(),
        layout: d.to_string(),
        devices: n,
        microbatches: m,
        flops_form: job.form.describe().into(),
        model_flops_per_step: f.model,
        hardware_flops_per_step: f.hardware,
        peak_flops_per_device: peak,
        step_time_s: step,
        mfu: mfu(&f, peak, n, step),
        hfu: hfu(&f, peak, n, step),
        tokens_per_s: tokens / step,
        samples_per_s: lay.global_batch as f64 / step,
        tokens_per_day: tokens / step * 86400.0,
        breakdown: Breakdown {
            compute_s: mf * (t_f + t_b),
            tp_exposed_s: tp,
            ep_exposed_s: ep,
            pp_exposed_s: pp,
            // ZeRO-3's exposed gathers sit in every micro-batch (inside t_stage).
            dp_exposed_s: dp_exposed + mf * z3_mb,
            dp_hidden_s: dp_overlap_total - dp_exposed_overlap,
            bubble_s: bubble,
            bubble_fraction: bubble / step,
        },
        t_forward_s: t_f,
        t_backward_s: t_b,
        dp_window_s: window,
        comm: timed,
        comm_source: timer.describe(),
    })
}

/// MFU/HFU of a measured step time.
pub fn measured_utilisation(job: &Job, step_s: f64) -> Result<(f64, f64)> {
    if step_s <= 0.0 {
        return Err(bad("--step-time must be > 0"));
    }
    let f = step_flops(
        &job.model,
        job.layout.global_batch,
        job.layout.seq,
        job.layout.recompute,
        job.form,
    );
    let peak = job.device.peak_flops(job.precision)?;
    let n = job.layout.dims.devices();
    Ok((mfu(&f, peak, n, step_s), hfu(&f, peak, n, step_s)))
}

/// One scale of the linearity table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalePoint {
    pub label: String,
    pub devices: u64,
    pub nodes: u64,
    pub layout: String,
    pub step_time_s: f64,
    pub tokens_per_s: f64,
    /// throughput / (one device's throughput × devices).
    pub linearity: f64,
    /// throughput / (one node's throughput × nodes), from one node on.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cluster_linearity: Option<f64>,
    /// The largest exposed communication at this scale, and its seconds per step.
    pub main_loss: String,
    pub below_threshold: bool,
}

/// Linearity: the layout's tp and pp kept, dp grown from one device to the layout's
/// scale; each DP replica keeps its micro-batches (weak scaling: linearity as in
/// docs/SOURCES.md [ascend-tuning]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Linearity {
    pub threshold: f64,
    pub points: Vec<ScalePoint>,
    /// The first scale below the threshold and the communication that takes it there.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verdict: Option<String>,
}

fn main_loss(p: &Prediction) -> String {
    let b = &p.breakdown;
    let parts = [
        ("TP communication", b.tp_exposed_s),
        ("EP alltoall", b.ep_exposed_s),
        ("PP send/recv", b.pp_exposed_s),
        ("DP gradient reduction (exposed)", b.dp_exposed_s),
        ("pipeline bubble", b.bubble_s),
    ];
    let (name, s) = parts
        .iter()
        .copied()
        .max_by(|a, c| a.1.partial_cmp(&c.1).unwrap())
        .unwrap();
    if s <= 0.0 {
        "none".into()
    } else {
        format!(
            "{name} {:.3} s ({:.1}% of the step)",
            s,
            100.0 * s / p.step_time_s
        )
    }
}

pub fn linearity(job: &Job, timer: &dyn CommTimer) -> Result<Linearity> {
    let d = job.layout.dims;
    let k = job.layout.devices_per_node;
    let per_replica_batch = job.layout.global_batch / d.dp;
    let one = {
        let mut j = job.clone();
        j.layout.dims = Dims {
            dp: 1,
            tp: 1,
            pp: 1,
            ep: 1,
            vp: 1,
            mb: d.mb,
        };
        j.layout.global_batch = per_replica_batch;
        j.layout.sequence_parallel = false;
        predict(&j, timer)?
    };
    let per_device = one.tokens_per_s;
    let replica = d.tp * d.pp;
    // Scales: 1 device, one node (or the smallest replica), then nodes doubling.
    let mut dps: Vec<u64> = vec![];
    let node_dp = (k / replica).max(1);
    let mut x = node_dp;
    while x < d.dp {
        if d.dp.is_multiple_of(x) && x.is_multiple_of(d.ep) {
            dps.push(x);
        }
        x *= 2;
    }
    dps.push(d.dp);
    dps.dedup();
    let mut points = vec![ScalePoint {
        label: "1 device".into(),
        devices: 1,
        nodes: 1,
        layout: "dp=1,tp=1,pp=1".into(),
        step_time_s: one.step_time_s,
        tokens_per_s: per_device,
        linearity: 1.0,
        cluster_linearity: None,
        main_loss: "none".into(),
        below_threshold: false,
    }];
    let mut node_tput: Option<f64> = None;
    for dp in dps {
        let mut j = job.clone();
        j.layout.dims.dp = dp;
        j.layout.global_batch = per_replica_batch * dp;
        let p = predict(&j, timer)?;
        let devices = dp * replica;
        let nodes = devices.div_ceil(k);
        let lin = p.tokens_per_s / (per_device * devices as f64);
        if nodes == 1 || node_tput.is_none() && devices >= k {
            node_tput = Some(p.tokens_per_s / nodes as f64);
        }
        let cl = node_tput
            .filter(|_| nodes > 1)
            .map(|t1| p.tokens_per_s / (t1 * nodes as f64));
        points.push(ScalePoint {
            label: if nodes == 1 {
                format!("{devices} devices, 1 node")
            } else {
                format!("{devices} devices, {nodes} nodes")
            },
            devices,
            nodes,
            layout: j.layout.dims.to_string(),
            step_time_s: p.step_time_s,
            tokens_per_s: p.tokens_per_s,
            linearity: lin,
            cluster_linearity: cl,
            main_loss: main_loss(&p),
            below_threshold: lin < LINEARITY,
        });
    }
    let verdict = points.iter().find(|p| p.below_threshold).map(|p| {
        format!(
            "linearity {:.2} < {LINEARITY} at {}: with data loading and host ruled out, communication (or the pipeline schedule) is the bottleneck there; largest loss: {}",
            p.linearity, p.label, p.main_loss
        )
    });
    Ok(Linearity {
        threshold: LINEARITY,
        points,
        verdict,
    })
}

/// The group a dimension runs on, for printing.
pub fn describe_group(g: &Group) -> String {
    format!(
        "{} ranks, {} ({} node{})",
        g.nranks,
        g.class(),
        g.nodes,
        if g.nodes == 1 { "" } else { "s" }
    )
}
