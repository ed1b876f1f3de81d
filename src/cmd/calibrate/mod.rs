//! `xccl-bench calibrate`: the device's achieved FLOP/s on one model's layer products
//! (the shapes `train-sim` runs, [`xccl_train::gemm`], on the same engine,
//! [`crate::compute`]), written as a device file that `predict --device FILE.json` takes
//! in place of a nominal peak × efficiency ([`xccl_train::calib`]).
//!
//! Under mpirun every rank runs each product at the same time as the others (a barrier
//! before each), as in a step where every device computes at once; on the CPU the ranks
//! share the host's cores, so launch as many per host as the job will. A product's time
//! is sustained: back to back for at least `--min-time` seconds, divided by the count (a
//! single product of a few ms fits in one scheduler slice and, on shared cores, measured
//! 4-7× the rate a step's second of compute got on the emulated cluster); the median of
//! `--reps` such runs on a rank, then the slowest rank's.
//!
//! With tp > 1 under mpirun it also times the layer's TP all-reduce inside the compute
//! it sits in ([`in_step`]); `predict --device FILE.json` then takes that time for the
//! TP all-reduces of the same size and group (without sequence parallelism).

#[cfg(feature = "mpi")]
mod in_step;

use crate::backend::BackendKind;
use crate::compute::{self, ComputeOn};
use crate::error::{say, BenchError, Result};
use crate::rules::ExitCode;
use crate::world::{agree, World};
use clap::Args;
use std::path::PathBuf;
use xccl_train::calib::{device_model, Calibration, ShapeRate, FORMAT};
use xccl_train::gemm::{layer_gemms, Gemm};
use xccl_train::layout::{Dims, Layout};
use xccl_train::model::ModelSpec;

#[derive(Args, Debug, Clone)]
pub struct CalibrateArgs {
    /// A model preset or TOML model file (as predict's).
    #[arg(long)]
    pub model: String,
    /// The layout whose tp and mb fix the shapes: dp=D,tp=T,pp=P[,mb=M].
    #[arg(long, value_parser = |s: &str| Dims::parse(s).map_err(|e| e.to_string()))]
    pub layout: Dims,
    /// Sequence length.
    #[arg(long)]
    pub seq: u64,
    /// The backend whose device this calibrates (the file records it; predict refuses
    /// the file for sweeps of another).
    #[arg(long, value_enum, default_value_t = BackendKind::Mpi)]
    pub backend: BackendKind,
    /// Where the products run: host or device (default: device on nccl, else host).
    #[arg(long, value_enum)]
    pub compute: Option<ComputeOn>,
    /// Fraction of each product's rows computed, as train-sim's --compute-scale.
    #[arg(long = "compute-scale", default_value_t = 1.0)]
    pub compute_scale: f64,
    /// Timed runs of each product (after one warm-up product), each `--min-time` long.
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Seconds of back-to-back products per timed run.
    #[arg(long = "min-time", default_value_t = 0.2)]
    pub min_time: f64,
    /// The device file to write.
    #[arg(long, short = 'o', value_name = "FILE.json")]
    pub out: PathBuf,
}

fn usage(e: impl std::fmt::Display) -> BenchError {
    BenchError::Usage(e.to_string())
}

pub fn run(world: &dyn World, a: &CalibrateArgs) -> Result<i32> {
    let model = ModelSpec::resolve(&a.model).map_err(usage)?;
    if a.reps == 0 || a.seq == 0 || a.min_time.is_nan() || a.min_time < 0.0 {
        return Err(usage(
            "calibrate: --reps and --seq must be > 0, --min-time ≥ 0",
        ));
    }
    let layout = Layout {
        bucket_bytes: 1,
        devices_per_node: 1,
        nics_per_node: 1,
        ..Layout::new(a.layout, a.layout.dp * a.layout.mb, a.seq)
    };
    let g = layer_gemms(&model, &layout, a.compute_scale).map_err(usage)?;
    let on = a.compute.unwrap_or(compute::default_for(a.backend));
    let mut engine = agree(
        world,
        compute::open(on, a.backend, world.local_rank(), g.all()),
    )?;
    let mut shapes = Vec::new();
    for gemm in g.all() {
        let mut times = Vec::with_capacity(a.reps);
        world.barrier();
        engine.run(gemm, &mut || {}).map_err(BenchError::Backend)?;
        for _ in 0..a.reps {
            world.barrier();
            let t = std::time::Instant::now();
            let mut n = 0u32;
            while n == 0 || t.elapsed().as_secs_f64() < a.min_time {
                engine.run(gemm, &mut || {}).map_err(BenchError::Backend)?;
                n += 1;
            }
            times.push(t.elapsed().as_secs_f64() / n as f64);
        }
        times.sort_by(|x, y| x.total_cmp(y));
        let seconds = world.allreduce_max(times[times.len() / 2]);
        shapes.push(ShapeRate {
            gemm: gemm.clone(),
            seconds,
            flops_per_s: gemm.flops() / seconds,
        });
    }
    let in_step = in_step_calls(world, &mut *engine, &model, &layout, &g, &shapes)?;
    let cal = Calibration {
        format: FORMAT.into(),
        device: device_model(&engine.device()).to_string(),
        backend: a.backend.name().into(),
        engine: engine.describe(),
        detail: detail(&engine.device()),
        ranks: world.size() as u64,
        scale: a.compute_scale,
        model: model.name.clone(),
        tp: a.layout.tp,
        mb: a.layout.mb,
        seq: a.seq,
        shapes,
        in_step,
    };
    if world.rank() == 0 {
        print!("{}", render(&cal));
        let text = serde_json::to_string_pretty(&cal)?;
        std::fs::write(&a.out, text + "\n").map_err(|e| BenchError::Io {
            what: format!("cannot write {}", a.out.display()),
            source: e,
        })?;
        say(&format!("calibrate: wrote {}", a.out.display()));
    }
    Ok(ExitCode::Ok.code())
}

/// The in-step TP all-reduce when the layout has TP groups and the world holds them (never
/// without MPI: that world is one process).
fn in_step_calls(
    world: &dyn World,
    engine: &mut dyn compute::Engine,
    model: &ModelSpec,
    layout: &Layout,
    g: &xccl_train::gemm::LayerGemms,
    sustained: &[ShapeRate],
) -> Result<Vec<xccl_train::calib::InStepCall>> {
    let tp = layout.dims.tp;
    if tp < 2 || !(world.size() as u64).is_multiple_of(tp) {
        return Ok(vec![]);
    }
    let ops = xccl_train::comm::step_ops(model, layout);
    let Some(op) = ops.iter().find(|o| o.dim == xccl_train::comm::Dim::Tp) else {
        return Ok(vec![]);
    };
    let half = &g.forward[..4];
    // What the prediction counts for the half's products: their sustained times.
    let half_s: f64 = half
        .iter()
        .filter_map(|p| sustained.iter().find(|r| r.gemm == *p))
        .map(|r| r.seconds)
        .sum();
    #[cfg(feature = "mpi")]
    let calls = vec![in_step::tp_all_reduce(
        world, engine, half, half_s, tp, op.bytes,
    )?];
    #[cfg(not(feature = "mpi"))]
    let calls = {
        let _ = (engine, half_s, op);
        vec![]
    };
    Ok(calls)
}

/// The processor in words for the host (/proc/cpuinfo's model name), else the device.
fn detail(device: &str) -> String {
    if device != "host" {
        return device.into();
    }
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default()
}

/// The file as a table.
pub fn render(c: &Calibration) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# calibrate: {} tp={} mb={} seq={} on {} ({}, {}), {} ranks at once, rows × {}",
        c.model, c.tp, c.mb, c.seq, c.device, c.backend, c.engine, c.ranks, c.scale
    );
    let _ = writeln!(
        s,
        "{:<16} {:>7} {:>7} {:>7} {:>6} {:>12} {:>10}",
        "product", "m", "n", "k", "count", "seconds", "GFLOP/s"
    );
    for r in &c.shapes {
        let Gemm {
            name,
            m,
            n,
            k,
            count,
        } = &r.gemm;
        let (secs, gflops) = (r.seconds, r.flops_per_s / 1e9);
        let _ = writeln!(
            s,
            "{name:<16} {m:>7} {n:>7} {k:>7} {count:>6} {secs:>12.6} {gflops:>10.2}"
        );
    }
    for call in &c.in_step {
        let _ = writeln!(
            s,
            "in-step {} {} B on {} ranks: back to back {:.3} ms, after the products {:.3} ms",
            call.collective.name(),
            call.bytes,
            call.nranks,
            call.back_to_back_s * 1e3,
            call.in_step_s * 1e3
        );
    }
    s
}
