//! `xccl-bench predict` (offline) and the arguments of `train-sim`: build a
//! [`xccl_train::predict::Job`] from the command line, time its communication from
//! measured sweeps or a topology file, and print the step breakdown and linearity.

use crate::error::BenchError;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use xccl_schema::types::parse_size;
use xccl_train::flops::FlopsForm;
use xccl_train::layout::{Dims, Layout, Recompute};
use xccl_train::model::{DeviceSpec, ModelSpec, Precision};
use xccl_train::output::{MeasuredStep, PredictionReport};
use xccl_train::predict::{self, ComputeSource, Job, Linearity, Prediction};
use xccl_train::timer::{CommTimer, FromTopology, Measured};

/// What describes a job: model, device, layout, and where communication times come from.
#[derive(Args, Debug, Clone)]
pub struct JobArgs {
    /// A preset (llama2-7b, llama2-13b, llama2-34b, llama2-70b, qwen1.5-7b, qwen1.5-14b,
    /// baichuan2-7b, baichuan2-13b, gpt3-175b, megatron-22b, megatron-175b, megatron-530b,
    /// megatron-1t, mixtral-8x7b) or a TOML model file (docs/PREDICT.md).
    #[arg(long)]
    pub model: String,
    /// A preset (h100, h200, a100, ascend910b) or a TOML device file.
    #[arg(long)]
    pub device: String,
    /// Parallel dimensions: dp=D,tp=T,pp=P[,ep=E,vp=V,mb=M] (missing ones are 1).
    #[arg(long, value_parser = parse_dims)]
    pub layout: Dims,
    /// Sequences per step over all DP replicas.
    #[arg(long = "global-batch")]
    pub global_batch: u64,
    /// Sequence length.
    #[arg(long)]
    pub seq: u64,
    #[arg(long, default_value = "none", value_parser = parse_recompute)]
    pub recompute: Recompute,
    /// Megatron sequence parallelism (TP all-reduce → all-gather + reduce-scatter).
    #[arg(long = "sequence-parallel")]
    pub sequence_parallel: bool,
    /// ZeRO stage over the DP group (0-3).
    #[arg(long, default_value_t = 0)]
    pub zero: u8,
    /// Gradient dtype of the DP reduction: bf16, fp16 or fp32.
    #[arg(long = "grad-dtype", default_value = "bf16", value_parser = parse_grad)]
    pub grad_bytes: u64,
    /// GEMM precision for the device peak: bf16, fp16, fp8.
    #[arg(long, default_value = "bf16")]
    pub precision: Precision,
    /// Do not overlap the DP gradient reduction with backward.
    #[arg(long = "no-overlap")]
    pub no_overlap: bool,
    /// DP gradient bucket size (PyTorch DDP's default 25 MB).
    #[arg(long = "bucket-size", default_value = "25M", value_parser = parse_size)]
    pub bucket_bytes: u64,
    /// Devices per node (default: the topology's, else the measured files' ranks per
    /// host, else 8).
    #[arg(long = "devices-per-node")]
    pub devices_per_node: Option<u64>,
    /// NICs per node (default: the topology's, else one per device): inter-node groups
    /// beyond this many per node share a NIC's bandwidth.
    #[arg(long = "nics-per-node")]
    pub nics_per_node: Option<u64>,
    /// Compute time from the device peak × E (default 0.5).
    #[arg(long = "compute-efficiency")]
    pub compute_efficiency: Option<f64>,
    /// Compute time from a measured fwd+bwd of one micro-batch on one device (seconds).
    #[arg(long = "device-step-time", conflicts_with = "compute_efficiency")]
    pub device_step_time: Option<f64>,
    /// How the logits GEMM is counted: exact (default) or megatron (Korthikanti et al.).
    #[arg(long = "flops-form", default_value = "exact")]
    pub flops_form: FlopsForm,
    /// Sweep result files (--json of any collective) to time the communication from.
    #[arg(long, num_args = 1.., value_name = "FILE.json")]
    pub measured: Vec<PathBuf>,
    /// A topology file to time the communication from its model, without measurements.
    #[arg(long, value_name = "FILE")]
    pub topology: Option<PathBuf>,
}

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

/// `train-sim`: the step's communication on MPI, NCCL or HCCL; compute is a calibrated
/// host-side wait on every backend.
#[derive(Args, Debug, Clone)]
pub struct TrainSimArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// Communication library: mpi (host memory), nccl or hccl (device buffers, one stream
    /// per communicator; compute stays a host-side wait).
    #[arg(long, value_enum, default_value_t = crate::cli::BackendKind::Mpi)]
    pub backend: crate::cli::BackendKind,
    /// Timed steps per scale (after one warm-up step).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// DP sizes to measure, besides the layout's (e.g. 1 for one replica: linearity).
    #[arg(long = "scale-dp", value_delimiter = ',')]
    pub scale_dp: Vec<u64>,
    /// Write predicted and measured step times as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

fn parse_dims(s: &str) -> std::result::Result<Dims, String> {
    Dims::parse(s).map_err(|e| e.to_string())
}
fn parse_recompute(s: &str) -> std::result::Result<Recompute, String> {
    s.parse()
}
fn parse_grad(s: &str) -> std::result::Result<u64, String> {
    match s {
        "bf16" | "fp16" => Ok(2),
        "fp32" | "float" => Ok(4),
        _ => Err(format!("unknown gradient dtype '{s}' (bf16, fp16, fp32)")),
    }
}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    BenchError::Usage(e.to_string()).into()
}

/// The job and the timer a command line describes.
pub fn build(a: &JobArgs) -> Result<(Job, Box<dyn CommTimer>)> {
    let model = ModelSpec::resolve(&a.model).map_err(usage)?;
    let device = DeviceSpec::resolve(&a.device).map_err(usage)?;
    let (timer, dpn): (Box<dyn CommTimer>, Option<u64>) = if !a.measured.is_empty() {
        let m = Measured::load(&a.measured).map_err(usage)?;
        let mut dpn = None;
        for p in &a.measured {
            if let Ok(r) = xccl_schema::read_report(p) {
                let k = r.meta.ranks_per_host.iter().copied().max().unwrap_or(1) as u64;
                dpn = Some(dpn.unwrap_or(0).max(k));
            }
        }
        (Box::new(m), dpn)
    } else if let Some(t) = &a.topology {
        let topo = xccl_topo::Topology::load(t).map_err(usage)?;
        let k = topo.devices_per_node as u64;
        (
            Box::new(FromTopology {
                topo,
                file: t.display().to_string(),
            }),
            Some(k),
        )
    } else {
        return Err(usage(
            "predict needs communication times: --measured FILE.json... (sweeps of this cluster) or --topology FILE (its model)",
        ));
    };
    let devices_per_node =
        a.devices_per_node
            .or(if a.topology.is_some() && a.measured.is_empty() {
                dpn
            } else {
                a.topology
                    .as_ref()
                    .and_then(|t| xccl_topo::Topology::load(t).ok())
                    .map(|t| t.devices_per_node as u64)
                    .or(dpn)
            });
    let k = devices_per_node.unwrap_or(8);
    let nics = a.nics_per_node.or_else(|| {
        a.topology
            .as_ref()
            .and_then(|t| xccl_topo::Topology::load(t).ok())
            .map(|t| t.nics.count as u64)
    });
    let compute = match (a.device_step_time, a.compute_efficiency) {
        (Some(s), _) => ComputeSource::DeviceStep { seconds: s },
        (None, e) => ComputeSource::Peak {
            efficiency: e.unwrap_or(0.5),
        },
    };
    let layout = Layout {
        dims: a.layout,
        global_batch: a.global_batch,
        seq: a.seq,
        sequence_parallel: a.sequence_parallel,
        zero: a.zero,
        recompute: a.recompute,
        grad_bytes: a.grad_bytes,
        act_bytes: 2,
        overlap_dp: !a.no_overlap,
        bucket_bytes: a.bucket_bytes.max(1),
        devices_per_node: k,
        nics_per_node: nics.unwrap_or(k).max(1),
    };
    layout.check(&model).map_err(usage)?;
    Ok((
        Job {
            model,
            device,
            precision: a.precision,
            layout,
            form: a.flops_form,
            compute,
        },
        timer,
    ))
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
    Ok(0)
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
            if p.below_threshold { "  < 0.8" } else { "" }
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
