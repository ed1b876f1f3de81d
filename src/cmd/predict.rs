//! `xccl-bench predict` (offline): a training job's step time, MFU/HFU, throughput and
//! linearity from measured communication ([`super::job`] builds the job and its timer),
//! printed as text and written as JSON.

use super::job::{build_job, usage, JobArgs, NO_COMM};
use crate::error::{BenchError, Result};
use crate::rules::{ExitCode, LINEARITY};
use clap::Args;
use std::path::{Path, PathBuf};
use xccl_train::flops::step_flops;
use xccl_train::layout::Dims;
use xccl_train::memory::{memory, Memory};
use xccl_train::output::{MeasuredStep, PredictionReport, SearchReport, UtilisationReport};
use xccl_train::predict::{self, ComputeSource, Job, Linearity, Prediction};
use xccl_train::search::{search, SearchResult, Space};

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// MFU/HFU and tokens/s of a measured step of this many seconds: beside the
    /// prediction, or alone (with memory) when no --measured/--topology is given.
    #[arg(long = "step-time")]
    pub step_time: Option<f64>,
    /// Devices of the job: with --layout, checked against dp × tp × pp; with --search,
    /// the devices to lay the model out on.
    #[arg(long)]
    pub devices: Option<u64>,
    /// Enumerate dp/tp/pp (ep for MoE), micro-batch (1, 2, 4, 8), recompute and ZeRO
    /// stage on --devices, keep the layouts that fit in the device's memory and rank them
    /// by predicted throughput (needs --measured or --topology; replaces --layout,
    /// --recompute, --zero, --sequence-parallel).
    #[arg(long)]
    pub search: bool,
    /// How many of the ranked layouts --search prints.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Write the prediction (and linearity) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the predicted step time, its parts, MFU/HFU, throughput and linearity as Prometheus metrics (node_exporter's textfile format) to FILE,
    /// replaced atomically.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}

fn write_json(path: &Path, v: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    std::fs::write(path, text + "\n").map_err(|e| BenchError::Io {
        what: format!("cannot write {}", path.display()),
        source: e,
    })
}

pub fn run(a: &PredictArgs) -> Result<i32> {
    if let Some(p) = &a.metrics {
        crate::output::metrics::check_target(p)?;
    }
    if a.search {
        if a.metrics.is_some() {
            return Err(usage(
                "--metrics writes a prediction's figures; --search writes none (use --json)"
                    .to_string(),
            ));
        }
        return run_search(a);
    }
    let (job, timer) = build_job(&a.job, None)?;
    if let Some(n) = a.devices {
        let d = job.layout.dims;
        if d.devices() != n {
            return Err(usage(format!(
                "--layout {d} uses dp × tp × pp = {} devices, not --devices {n}",
                d.devices()
            )));
        }
    }
    let mem = memory(&job.model, &job.layout, &job.device);
    let measured = match a.step_time {
        Some(t) => {
            let (mfu, hfu) = predict::measured_utilisation(&job, t).map_err(usage)?;
            Some(MeasuredStep {
                step_time_s: t,
                mfu,
                hfu,
                tokens_per_s: (job.layout.global_batch * job.layout.seq) as f64 / t,
            })
        }
        None => None,
    };
    let Some(timer) = timer else {
        // Utilisation of a measured step needs no communication source.
        let Some(m) = measured else {
            return Err(usage(NO_COMM));
        };
        if a.metrics.is_some() {
            return Err(usage("--metrics writes a prediction's figures; --step-time alone writes none (use --json)".to_string()));
        }
        return run_utilisation(a, &job, m, mem);
    };
    let p = predict::predict(&job, timer.as_ref()).map_err(usage)?;
    let lin = predict::linearity(&job, timer.as_ref()).map_err(usage)?;
    print!("{}", render(&job, &p));
    print!("{}", render_memory(&job, &mem));
    if let Some(m) = &measured {
        println!("{}", render_measured(m));
    }
    print!("{}", render_linearity(&lin));
    let mut j = PredictionReport::new(p, lin, measured);
    j.parameters = Some(job.model.params());
    j.memory = Some(mem);
    if let Some(path) = &a.json {
        write_json(path, &j)?;
    }
    crate::output::metrics::write_if(a.metrics.as_deref(), || {
        use crate::output::metrics::{analysis, families, MetricSet};
        let mut set = MetricSet::new();
        families::run_info(&mut set, "predict", None);
        analysis::prediction(&mut set, &[], &j);
        set
    })?;
    Ok(ExitCode::Ok.code())
}

fn render_measured(m: &MeasuredStep) -> String {
    format!(
        "measured step {:.4} s: MFU {:.2}%  HFU {:.2}%  {:.4e} tokens/s",
        m.step_time_s,
        100.0 * m.mfu,
        100.0 * m.hfu,
        m.tokens_per_s
    )
}

/// `--step-time` without a communication source: what the step achieved, and memory.
fn run_utilisation(a: &PredictArgs, job: &Job, m: MeasuredStep, mem: Memory) -> Result<i32> {
    let l = &job.layout;
    let f = step_flops(&job.model, l.global_batch, l.seq, l.recompute, job.form);
    println!(
        "# utilisation: {} on {} × {}, layout {}, global batch {}, seq {}, recompute {:?}{}{}",
        job.model.name,
        l.dims.devices(),
        job.device.name,
        l.dims,
        l.global_batch,
        l.seq,
        l.recompute,
        if l.sequence_parallel {
            ", sequence parallel"
        } else {
            ""
        },
        if l.zero > 0 {
            format!(", ZeRO-{}", l.zero)
        } else {
            String::new()
        }
    );
    println!("# FLOPs form: {}", job.form.describe());
    println!(
        "model FLOPs/step {:.4e}  hardware FLOPs/step {:.4e}",
        f.model, f.hardware
    );
    print!("{}", render_memory(job, &mem));
    println!("{}", render_measured(&m));
    if let Some(path) = &a.json {
        let r = UtilisationReport::new(
            job.model.name.clone(),
            job.device.name.clone(),
            l.dims.to_string(),
            l.dims.devices(),
            job.model.params(),
            (f.model, f.hardware),
            m,
            mem,
        );
        write_json(path, &r)?;
    }
    Ok(ExitCode::Ok.code())
}

fn run_search(a: &PredictArgs) -> Result<i32> {
    let n = a
        .devices
        .ok_or_else(|| usage("--search needs --devices N (the devices to lay the model out on)"))?;
    if let Some(d) = a.job.layout {
        return Err(usage(format!(
            "--search chooses the layout: drop --layout {d}"
        )));
    }
    let stand_in = Dims::parse("dp=1").map_err(usage)?;
    let (job, timer) = build_job(&a.job, Some(stand_in))?;
    let timer = timer.ok_or_else(|| {
        usage("--search ranks layouts by predicted step time: give --measured FILE.json... or --topology FILE")
    })?;
    let r = search(&job, &Space::new(n), timer.as_ref()).map_err(usage)?;
    print!("{}", render_search(&job, &r, a.top, &timer.describe()));
    if let Some(path) = &a.json {
        let l = &job.layout;
        let j = SearchReport::new(
            job.model.name.clone(),
            job.device.name.clone(),
            l.global_batch,
            l.seq,
            timer.describe(),
            r,
        );
        write_json(path, &j)?;
    }
    Ok(ExitCode::Ok.code())
}

/// Parameters and the memory of the fullest device, one verdict.
pub fn render_memory(job: &Job, m: &Memory) -> String {
    let g = Memory::gib;
    format!(
        "parameters {:.4e} ({:.2} B); {:.4e} on the fullest device ({} stage)\n\
         memory per device (GiB): weights {:.2}  gradients {:.2}  optimizer {:.2}  activations {:.2} ({} in flight)  working {:.2}  total {:.2} of {}: {}\n",
        job.model.params() as f64,
        job.model.params() as f64 / 1e9,
        m.params,
        m.stage,
        g(m.weights_bytes),
        g(m.gradients_bytes),
        g(m.optimizer_bytes),
        g(m.activations_bytes),
        if m.in_flight == 1.0 {
            "1 micro-batch".to_string()
        } else {
            let n = format!("{:.4}", m.in_flight);
            format!("{} micro-batches", n.trim_end_matches('0').trim_end_matches('.'))
        },
        g(m.working_bytes),
        g(m.total_bytes),
        job.device.memory_gib,
        if m.fits { "fits" } else { "DOES NOT FIT" }
    )
}

pub fn render_search(job: &Job, r: &SearchResult, top: usize, source: &str) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let l = &job.layout;
    let _ = writeln!(
        s,
        "# search: {} ({:.2} B parameters) on {} × {} ({} per node, {} GiB each), global batch {}, seq {}; communication: {source}",
        job.model.name,
        job.model.params() as f64 / 1e9,
        r.devices,
        job.device.name,
        l.devices_per_node,
        job.device.memory_gib,
        l.global_batch,
        l.seq
    );
    let _ = writeln!(
        s,
        "{} layouts tried, {} fit; the best {} by predicted tokens/s:",
        r.tried,
        r.fit,
        top.min(r.fit)
    );
    let _ = writeln!(
        s,
        "  {:>4} {:<28} {:<10} {:>4} {:>10} {:>7} {:>12} {:>10} {:>10} {:>10}",
        "rank",
        "layout",
        "recompute",
        "zero",
        "step(s)",
        "MFU",
        "tokens/s",
        "mem(GiB)",
        "states",
        "activ."
    );
    for (i, c) in r.ranked.iter().take(top).enumerate() {
        let m = &c.memory;
        let _ = writeln!(
            s,
            "  {:>4} {:<28} {:<10} {:>4} {:>10.4} {:>6.2}% {:>12.4e} {:>10.2} {:>10.2} {:>10.2}",
            i + 1,
            c.layout,
            format!("{:?}", c.recompute).to_lowercase(),
            c.zero,
            c.step_time_s,
            100.0 * c.mfu,
            c.tokens_per_s,
            Memory::gib(m.total_bytes),
            Memory::gib(m.weights_bytes + m.gradients_bytes + m.optimizer_bytes),
            Memory::gib(m.activations_bytes + m.working_bytes)
        );
    }
    s
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
