//! What describes a training job on the command line (model, device, layout, batch,
//! where communication times come from), shared by `predict` and `train-sim`, and the
//! [`xccl_train::predict::Job`] and communication timer it builds.

use crate::error::{BenchError, Result};
use clap::Args;
use std::path::PathBuf;
use xccl_schema::types::parse_size;
use xccl_train::calib::{Calibration, InStep};
use xccl_train::flops::FlopsForm;
use xccl_train::layout::{Dims, Layout, Recompute};
use xccl_train::model::{DeviceSpec, ModelSpec, Precision};
use xccl_train::predict::{ComputeSource, Job};
use xccl_train::timer::{CommTimer, FromTopology, Measured};

/// What describes a job: model, device, layout, and where communication times come from.
#[derive(Args, Debug, Clone)]
pub struct JobArgs {
    /// A preset (llama2-7b, llama2-13b, llama2-34b, llama2-70b, qwen1.5-7b, qwen1.5-14b,
    /// baichuan2-7b, baichuan2-13b, gpt3-175b, megatron-22b, megatron-175b, megatron-530b,
    /// megatron-1t, mixtral-8x7b) or a TOML model file (docs/PREDICT.md).
    #[arg(long)]
    pub model: String,
    /// A preset (h100, h200, a100, ascend910b), a TOML device file, or a calibration
    /// file (FILE.json from `xccl-bench calibrate`: compute from the device's measured
    /// GEMM rates on this model's layer shapes).
    #[arg(long)]
    pub device: String,
    /// Parallel dimensions: dp=D,tp=T,pp=P[,ep=E,vp=V,mb=M] (missing ones are 1);
    /// required except with `predict --search`.
    #[arg(long, value_parser = parse_dims)]
    pub layout: Option<Dims>,
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

/// A usage error (exit 2) from any displayable error.
pub fn usage(e: impl std::fmt::Display) -> BenchError {
    BenchError::Usage(e.to_string())
}

/// What a job needs when no --measured or --topology gives communication times.
pub const NO_COMM: &str = "predict needs communication times: --measured FILE.json... (sweeps of this cluster) or --topology FILE (its model)";

/// The job and the timer a command line describes.
pub fn build(a: &JobArgs) -> Result<(Job, Box<dyn CommTimer>)> {
    let (job, timer) = build_job(a, None)?;
    Ok((job, timer.ok_or_else(|| usage(NO_COMM))?))
}

/// The job a command line describes (its layout, else `stand_in`'s when given: the
/// search replaces it) and a communication timer when --measured or --topology gives one.
pub fn build_job(a: &JobArgs, stand_in: Option<Dims>) -> Result<(Job, Option<Box<dyn CommTimer>>)> {
    let dims = a.layout.or(stand_in).ok_or_else(|| {
        usage("--layout dp=D,tp=T,pp=P[,ep=E,vp=V,mb=M] is required (or predict --search)")
    })?;
    let model = ModelSpec::resolve(&a.model).map_err(usage)?;
    let calibration = calibration_of(a)?;
    let device = match &calibration {
        Some(c) => c.device_spec(),
        None => DeviceSpec::resolve(&a.device).map_err(usage)?,
    };
    // The topology file is read once: its model times communication when no sweeps are
    // given; with sweeps it still says devices and NICs per node, and a file that does
    // not load is then passed over.
    let loaded = a
        .topology
        .as_ref()
        .map(|t| (t, xccl_topo::Topology::load(t)));
    let (file_dpn, file_nics) = match &loaded {
        Some((_, Ok(t))) => (Some(t.devices_per_node as u64), Some(t.nics.count as u64)),
        _ => (None, None),
    };
    let (timer, dpn): (Option<Box<dyn CommTimer>>, Option<u64>) = if !a.measured.is_empty() {
        let m = Measured::load(&a.measured).map_err(usage)?;
        let mut dpn = None;
        for p in &a.measured {
            if let Ok(r) = xccl_schema::read_report(p) {
                let k = r.meta.ranks_per_host.iter().copied().max().unwrap_or(1) as u64;
                dpn = Some(dpn.unwrap_or(0).max(k));
            }
        }
        (Some(Box::new(m)), dpn)
    } else if let Some((t, topo)) = loaded {
        let topo = topo.map_err(usage)?;
        let k = topo.devices_per_node as u64;
        (
            Some(Box::new(FromTopology {
                topo,
                file: t.display().to_string(),
            })),
            Some(k),
        )
    } else {
        (None, None)
    };
    // Without sweeps `dpn` is the file's own count.
    let k = a.devices_per_node.or(file_dpn).or(dpn).unwrap_or(8);
    let nics = a.nics_per_node.or(file_nics);
    let mut compute = match (a.device_step_time, a.compute_efficiency) {
        (Some(s), _) => ComputeSource::DeviceStep { seconds: s },
        (None, e) => ComputeSource::Peak {
            efficiency: e.unwrap_or(0.5),
        },
    };
    let layout = Layout {
        dims,
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
    let mut timer = timer;
    if let Some(c) = &calibration {
        if !c.in_step.is_empty() {
            timer = timer.map(|inner| -> Box<dyn CommTimer> {
                Box::new(InStep {
                    inner,
                    calls: c.in_step.clone(),
                })
            });
        }
        if let Some((backend, dev)) = sweeps_device(&a.measured) {
            c.check_for(&backend, &dev).map_err(usage)?;
        }
        let (f, b) = c.layer_times(&model, &layout).map_err(usage)?;
        compute = ComputeSource::Calibrated {
            layer_forward_s: f,
            layer_backward_s: b,
        };
    }
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

/// The calibration file `--device` names (a `.json` file), checked against the other
/// compute sources.
fn calibration_of(a: &JobArgs) -> Result<Option<Calibration>> {
    if !a.device.ends_with(".json") {
        return Ok(None);
    }
    if a.device_step_time.is_some() || a.compute_efficiency.is_some() {
        return Err(usage(format!(
            "--device {}: a calibration file gives the compute; drop --device-step-time/--compute-efficiency",
            a.device
        )));
    }
    Calibration::load(std::path::Path::new(&a.device))
        .map(Some)
        .map_err(usage)
}

/// The backend and rank 0's device of the first sweep file that reads.
fn sweeps_device(files: &[PathBuf]) -> Option<(String, String)> {
    files.iter().find_map(|p| {
        let r = xccl_schema::read_report(p).ok()?;
        Some((r.meta.backend.name.clone(), r.meta.backend.device.clone()))
    })
}
