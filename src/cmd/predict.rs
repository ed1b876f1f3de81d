//! `xccl-bench predict` (offline): a training job's step time, MFU/HFU, throughput and
//! linearity from measured communication ([`super::job`] builds the job and its timer),
//! printed as text and written as JSON.

use super::job::{build, usage, JobArgs};
use crate::error::{BenchError, Result};
use crate::rules::{ExitCode, LINEARITY};
use clap::Args;
use std::path::PathBuf;
use xccl_train::output::{MeasuredStep, PredictionReport};
use xccl_train::predict::{self, ComputeSource, Job, Linearity, Prediction};

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// MFU/HFU of a measured step of this many seconds, beside the prediction.
    #[arg(long = "step-time")]
    pub step_time: Option<f64>,
    /// Write the prediction (and linearity) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub fn run(a: &PredictArgs) -> Result<i32> {
    let (job, timer) = build(&a.job)?;
    let p = predict::predict(&job, timer.as_ref()).map_err(usage)?;
    let lin = predict::linearity(&job, timer.as_ref()).map_err(usage)?;
    let measured = match a.step_time {
        Some(t) => {
            let (mfu, hfu) = predict::measured_utilisation(&job, t).map_err(usage)?;
            Some(MeasuredStep {
                step_time_s: t,
                mfu,
                hfu,
            })
        }
        None => None,
    };
    print!("{}", render(&job, &p));
    if let Some(m) = &measured {
        println!(
            "measured step {:.4} s: MFU {:.2}%  HFU {:.2}%",
            m.step_time_s,
            100.0 * m.mfu,
            100.0 * m.hfu
        );
    }
    print!("{}", render_linearity(&lin));
    if let Some(path) = &a.json {
        let j = PredictionReport::new(p, lin, measured);
        let text = serde_json::to_string_pretty(&j)?;
        std::fs::write(path, text + "\n").map_err(|e| BenchError::Io {
            what: format!("cannot write {}", path.display()),
            source: e,
        })?;
    }
    Ok(ExitCode::Ok.code())
}

/// The prediction as text.
pub fn render(job: &Job, p: &Prediction) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let l = &job.layout;
    let _ = writeln!(
        s,
        "# predict: {} on {} × {} ({} per node), layout {}, global batch {}, seq {}, {} micro-batches, recompute {:?}{}{}",
        p.model,
        p.devices,
        p.device,
        l.devices_per_node,
        p.layout,
        l.global_batch,
        l.seq,
        p.microbatches,
        l.recompute,
        if l.sequence_parallel { ", sequence parallel" } else { "" },
        if l.zero > 0 { format!(", ZeRO-{}", l.zero) } else { String::new() }
    );
    let _ = writeln!(s, "# FLOPs form: {}", p.flops_form);
    let compute = match job.compute {
        ComputeSource::Peak { efficiency } => format!(
            "peak {:.0} TFLOP/s × efficiency {efficiency}",
            p.peak_flops_per_device / 1e12
        ),
        ComputeSource::DeviceStep { seconds } => {
            format!("measured one-device micro-batch step {seconds} s")
        }
        ComputeSource::Calibrated {
            layer_forward_s,
            layer_backward_s,
        } => format!(
            "{} GEMMs per layer and micro-batch {:.3} ms forward, {:.3} ms backward ({})",
            p.device,
            layer_forward_s * 1e3,
            layer_backward_s * 1e3,
            job.device.source
        ),
    };
    let _ = writeln!(s, "# compute: {compute}; communication: {}", p.comm_source);
    let _ = writeln!(
        s,
        "model FLOPs/step {:.4e}  hardware FLOPs/step {:.4e}",
        p.model_flops_per_step, p.hardware_flops_per_step
    );
    let _ = writeln!(
        s,
        "step time {:.4} s  MFU {:.2}%  HFU {:.2}%  {:.4e} tokens/s  {:.3} samples/s  {:.4e} tokens/day",
        p.step_time_s,
        100.0 * p.mfu,
        100.0 * p.hfu,
        p.tokens_per_s,
        p.samples_per_s,
        p.tokens_per_day
    );
    let b = &p.breakdown;
    let pct = |x: f64| 100.0 * x / p.step_time_s;
    let _ = writeln!(s, "breakdown (s, % of step):");
    for (k, v) in [
        ("compute", b.compute_s),
        ("TP exposed", b.tp_exposed_s),
        ("EP exposed", b.ep_exposed_s),
        ("PP exposed", b.pp_exposed_s),
        ("DP exposed", b.dp_exposed_s),
        ("pipeline bubble", b.bubble_s),
    ] {
        let v = v + 0.0; // -0.0 + 0.0 = 0.0: no "-0.0000"
        let _ = writeln!(s, "  {k:<16} {v:>10.4} {:>6.1}%", pct(v));
    }
    let _ = writeln!(
        s,
        "  {:<16} {:>10.4}  (under backward)",
        "DP hidden",
        b.dp_hidden_s + 0.0
    );
    if !p.comm.is_empty() {
        let _ = writeln!(
            s,
            "communication per step and device:\n  {:<3} {:<15} {:>12} {:>7} {:<28} {:>10} {:>10}  source",
            "dim", "collective", "bytes", "count", "communicator", "each(ms)", "total(s)"
        );
        for t in &p.comm {
            let _ = writeln!(
                s,
                "  {:<3} {:<15} {:>12} {:>7} {:<28} {:>10.3} {:>10.4}  {}{}",
                t.op.dim.name(),
                t.op.collective.name(),
                t.op.bytes,
                t.op.count,
                predict::describe_group(&t.op.group),
                t.time_each_s * 1e3,
                t.time_total_s,
                t.timing.source,
                t.timing
                    .extrapolated
                    .as_ref()
                    .map(|e| format!(" [extrapolated: {e}]"))
                    .unwrap_or_default()
            );
        }
    }
    s
}

pub fn render_linearity(l: &Linearity) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "linearity (tp and pp kept, dp grown, same micro-batches per replica; {} = communication-bound line):",
        l.threshold
    );
    let _ = writeln!(
        s,
        "  {:<24} {:<24} {:>10} {:>12} {:>10} {:>9}  largest loss",
        "scale", "layout", "step(s)", "tokens/s", "linearity", "cluster"
    );
    for p in &l.points {
        let _ = writeln!(
            s,
            "  {:<24} {:<24} {:>10.4} {:>12.4e} {:>10.3} {:>9}  {}{}",
            p.label,
            p.layout,
            p.step_time_s,
            p.tokens_per_s,
            p.linearity,
            p.cluster_linearity
                .map(|c| format!("{c:.3}"))
                .unwrap_or_else(|| "-".into()),
            p.main_loss,
            if p.below_threshold {
                format!("  < {LINEARITY}")
            } else {
                String::new()
            }
        );
    }
    match &l.verdict {
        Some(v) => {
            let _ = writeln!(s, "{v}");
        }
        None => {
            let _ = writeln!(
                s,
                "linearity stays at or above {} at every scale",
                l.threshold
            );
        }
    }
    s
}
