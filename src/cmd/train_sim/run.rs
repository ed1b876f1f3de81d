//! `train-sim`'s run: the arguments checked, the backend's transport set up, the step
//! simulated at every DP scale ([`super::step`]) and timed (the maximum over ranks of
//! each step, and of each step's seconds in matrix products), and the measured step
//! times printed (and written as JSON) beside the prediction. The prediction is made
//! here for that report only: the step itself never sees it.
#![cfg(feature = "mpi")]

use super::args::TrainSimArgs;
use super::groups::Comms;
use super::step::{Issued, Sim};
use super::transport::api::StepComm;
use super::transport::{hccl::HcclStep, mpi::MpiStep, nccl::NcclStep};
use super::wait;
use super::work::Work;
use crate::backend::BackendKind;
use crate::cmd::job::build;
use crate::compute;
use crate::error::{BenchError, Result};
use crate::world::{agree, MpiWorld, World};
use mpi::traits::*;
use std::time::Instant;
use xccl_train::gemm::layer_gemms;
use xccl_train::output::{IssuedOp, Phases, ScaleResult, TrainSimReport};
use xccl_train::predict::{predict, Job};
use xccl_train::timer::CommTimer;

fn usage(s: String) -> BenchError {
    BenchError::Usage(s)
}

/// `train-sim` on the world of `w`: arguments checked, the backend's transport set up on
/// every rank, then [`run_on`] it.
pub fn run(w: &MpiWorld, a: &TrainSimArgs) -> Result<i32> {
    // Arguments first (the same checks on every rank, before any library is loaded).
    let job = job_of(w, a)?;
    crate::cmd::diagnosis::check_metrics(w, a.metrics.as_deref())?;
    match a.backend {
        BackendKind::Mpi => run_on(w, a, job, MpiStep::new(w.comm())),
        BackendKind::Nccl => {
            let t = agree(w, NcclStep::new(w));
            run_on(w, a, job, t?)
        }
        BackendKind::Hccl => {
            let t = agree(w, HcclStep::new(w));
            run_on(w, a, job, t?)
        }
    }
}

/// The job and timer of `a`, whose layout must take every rank mpirun started.
fn job_of(w: &MpiWorld, a: &TrainSimArgs) -> Result<(Job, Box<dyn CommTimer>)> {
    let size = w.comm().size() as u64;
    let (job, timer) = build(&a.job)?;
    let d = job.layout.dims;
    if d.devices() != size {
        return Err(usage(format!(
            "train-sim: layout {} needs {} ranks; mpirun started {size}",
            d,
            d.devices()
        )));
    }
    Ok((job, timer))
}

fn run_on<C: StepComm>(
    w: &MpiWorld,
    a: &TrainSimArgs,
    (job, timer): (Job, Box<dyn CommTimer>),
    mut comm: C,
) -> Result<i32> {
    let world = w.comm();
    let size = world.size() as u64;
    let d = job.layout.dims;
    if a.steps == 0 {
        return Err(usage("--steps must be > 0".into()));
    }
    let mut dps: Vec<u64> = a.scale_dp.clone();
    dps.push(d.dp);
    dps.sort_unstable();
    dps.dedup();
    if let Some(bad) = dps
        .iter()
        .find(|x| **x == 0 || d.dp % **x != 0 || **x % d.ep != 0)
    {
        return Err(usage(format!(
            "--scale-dp {bad}: must divide dp={} and be a multiple of ep={}",
            d.dp, d.ep
        )));
    }
    let per_replica = job.layout.global_batch / d.dp;
    let rank0 = world.rank() == 0;
    let gemms =
        layer_gemms(&job.model, &job.layout, a.compute_scale).map_err(|e| usage(e.to_string()))?;
    let on = a.compute.unwrap_or(compute::default_for(a.backend));
    let engine = compute::open(on, a.backend, w.local_rank(), gemms.all());
    let mut work = Some(Work::new(agree(w, engine)?, &gemms, job.layout.recompute));
    let engine = work.as_ref().map(Work::describe).unwrap_or_default();
    let mut results = Vec::new();
    let mut messages = Vec::new();
    for dp in dps {
        let mut j = job.clone();
        j.layout.dims.dp = dp;
        j.layout.global_batch = per_replica * dp;
        let pred = predict(&j, timer.as_ref()).map_err(|e| usage(e.to_string()))?;
        let (times, back) = run_scale(&mut comm, &j, work.take().unwrap(), d.dp, a.steps)?;
        work = Some(back);
        wait::sleepy_barrier(world);
        if let Some((t, busy, issued)) = times {
            let layout = j.layout.dims.to_string();
            messages.extend(
                issued
                    .into_iter()
                    .map(|(dim, collective, bytes, nranks, count)| IssuedOp {
                        layout: layout.clone(),
                        dim,
                        collective,
                        bytes,
                        count,
                        nranks,
                    }),
            );
            // The median step: robust to a step disturbed by other load on the machine.
            let mean = median(&t);
            let exposed: Vec<f64> = t.iter().zip(&busy).map(|(s, c)| s - c).collect();
            let pc = pred.breakdown.compute_s;
            let min = t.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = t.iter().cloned().fold(0.0, f64::max);
            let tokens = (j.layout.global_batch * j.layout.seq) as f64;
            results.push(ScaleResult {
                layout: j.layout.dims.to_string(),
                devices: j.layout.dims.devices(),
                predicted_step_s: pred.step_time_s,
                measured_step_s: mean,
                measured_min_s: min,
                measured_max_s: max,
                error: (pred.step_time_s - mean) / mean,
                predicted_tokens_per_s: pred.tokens_per_s,
                measured_tokens_per_s: tokens / mean,
                phases: Some(Phases {
                    measured_compute_s: median(&busy),
                    measured_exposed_s: median(&exposed),
                    predicted_compute_s: pc,
                    predicted_exposed_s: pred.step_time_s - pc,
                }),
            });
        }
    }
    if rank0 {
        println!(
            "# train-sim: {}{} on {size} ranks ({}; compute: {engine}, rows × {}), {} timed steps per scale; communication times from {}",
            job.model.name,
            if job.layout.zero > 0 {
                format!(", ZeRO-{}", job.layout.zero)
            } else {
                String::new()
            },
            comm.describe(),
            a.compute_scale,
            a.steps,
            timer.describe()
        );
        println!(
            "{:<26} {:>8} {:>14} {:>14} {:>22} {:>8}",
            "layout", "devices", "predicted(s)", "median(s)", "min..max(s)", "error"
        );
        for r in &results {
            println!(
                "{:<26} {:>8} {:>14.4} {:>14.4} {:>22} {:>7.1}%",
                r.layout,
                r.devices,
                r.predicted_step_s,
                r.measured_step_s,
                format!("{:.4}..{:.4}", r.measured_min_s, r.measured_max_s),
                100.0 * r.error
            );
        }
        if results.len() > 1 {
            let b = &results[0];
            println!(
                "linearity relative to {} ({} devices): measured beside predicted",
                b.layout, b.devices
            );
            for r in &results[1..] {
                let k = r.devices as f64 / b.devices as f64;
                println!(
                    "  {:<26} measured {:.3}  predicted {:.3}",
                    r.layout,
                    r.measured_tokens_per_s / (b.measured_tokens_per_s * k),
                    r.predicted_tokens_per_s / (b.predicted_tokens_per_s * k)
                );
            }
        }
        let mut rep = TrainSimReport::new(
            job.model.name.clone(),
            size,
            a.steps,
            timer.describe(),
            results,
        );
        rep.messages = messages;
        rep.compute_engine = engine;
        rep.compute_scale = Some(a.compute_scale);
        if let Some(path) = &a.json {
            let text = serde_json::to_string_pretty(&rep)?;
            std::fs::write(path, text + "\n").map_err(|e| BenchError::Io {
                what: format!("cannot write {}", path.display()),
                source: e,
            })?;
        }
        crate::output::metrics::write_if(a.metrics.as_deref(), || {
            use crate::output::metrics::{analysis, families, MetricSet};
            let mut set = MetricSet::new();
            let info = crate::cmd::diagnosis::backend_info(w, a.backend);
            families::run_info(&mut set, "train-sim", Some(&info));
            analysis::train_sim(&mut set, &[], &rep);
            set
        })?;
    }
    Ok(0)
}

/// The median of `v` (not empty).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// What one scale measured on an active rank: the step times and the seconds in matrix
/// products (each the maximum over ranks), and the last step's messages.
type Measured = (Vec<f64>, Vec<f64>, Vec<Issued>);

/// Runs `job` on the ranks of the first `dp` replicas of a world laid out with `full_dp`,
/// its compute on `work` (given back); what it measured on the active ranks, None
/// elsewhere.
fn run_scale<C: StepComm>(
    t: &mut C,
    job: &Job,
    work: Work,
    full_dp: u64,
    steps: usize,
) -> Result<(Option<Measured>, Work)> {
    let Some(c) = Comms::new(t, job.layout.dims, full_dp)? else {
        return Ok((None, work));
    };
    let mut sim = Sim::new(t, &job.model, &job.layout, work)?;
    let (mut out, mut busy) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
    for i in 0..=steps {
        t.barrier(&c.all);
        sim.take_compute();
        let t0 = Instant::now();
        sim.step(t, &c);
        let mine = t0.elapsed().as_secs_f64();
        let worst = t.max(&c.all, mine);
        let compute = t.max(&c.all, sim.take_compute());
        if i > 0 {
            out.push(worst);
            busy.push(compute);
        }
    }
    let issued = std::mem::take(&mut sim.issued);
    Ok((Some((out, busy, issued)), sim.into_work()))
}
