//! The step simulator of `train-sim`: one model's training-step communication, run for real.
//!
//! Why: a prediction is only as good as its step model. This runs the schedule the model
//! assumes on the real communicators (MPI backend): per micro-batch and stage, compute as
//! calibrated waits of the predicted length with the TP collectives (and EP alltoalls) in
//! the layer path, PP send/recv in the order of `xccl_train::schedule` (Megatron's 1F1B,
//! or its interleaved 1F1B with vp model chunks per stage; each pipeline call's sends and
//! receives posted together and waited for together, [`StepComm::batch`]), and the DP
//! gradient reduction in buckets issued through the last backward as non-blocking
//! collectives: all-reduce, or with ZeRO ≥ 1 reduce-scatter, then the parameter
//! all-gather after the optimizer. ZeRO-3 works layer by layer instead
//! (`xccl_train::comm::zero3_units`): each layer's parameters all-gathered before its
//! forward and backward (one-deep prefetch), its gradients reduce-scattered after the
//! chunk's last backward, all non-blocking and tested every ≤ 1 ms. Each
//! dimension has its own sub-communicator. The measured step time is printed beside the
//! predicted one with the error.
//!
//! The DP messages are the prediction's own list (`xccl_train::comm::step_ops`, bucket by
//! bucket), so simulation and prediction cannot drift apart; every collective the step
//! issues is counted at its call, and `--json` writes rank 0's counts (`messages`) beside
//! the step times for a reader to hold against `predict --json`'s `comm`.
//!
//! The waits sleep (the emulated cluster's ranks share a few cores: spinning would steal
//! them from the ranks moving data); a sleep that wakes late (measured 10-30 ms over the
//! 64 phases of the emulated DP+TP step on the loaded 2-core CI VM) is paid back from the
//! next phase, so a step's compute adds up to the predicted length. They sleep in slices
//! of at most 1 ms while DP reductions are in flight, testing them between slices so MPI
//! progresses them, as a GPU's copy engine would.
//!
//! The communication goes through [`super::transport::StepComm`]: `--backend mpi`
//! (default), `nccl` or `hccl`. On NCCL and HCCL the messages are real library calls on
//! device buffers, each group on its own stream, but compute is still the host-side wait
//! on every backend (no matrix products run on the device), and DP buckets are issued at
//! the end of the backward phase in which they become ready rather than by the clock
//! ([`super::transport::StepComm::ordered_issue`]); ZeRO-3's per-layer messages are
//! issued at layer boundaries, the same place on every rank, on every backend.

use super::transport::api::{Op, StepComm, Xfer};
use super::transport::{hccl::HcclStep, mpi::MpiStep, nccl::NcclStep};
use super::TrainSimArgs;
use crate::backend::BackendKind;
use crate::cmd::job::build;
use crate::error::{BenchError, Result};
use crate::world::{agree, MpiWorld};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::time::{Duration, Instant};
use xccl_schema::CollKind;
use xccl_train::comm::{zero3_units, Dim};
use xccl_train::layout::Recompute;
use xccl_train::output::{IssuedOp, ScaleResult, TrainSimReport};
use xccl_train::predict::{predict, Job, Prediction};
use xccl_train::schedule::{pipeline, Action, P2p};

fn usage(s: String) -> BenchError {
    BenchError::Usage(s)
}

pub fn run(w: &MpiWorld, a: &TrainSimArgs) -> Result<i32> {
    // Arguments first (the same checks on every rank, before any library is loaded).
    check_args(w, a)?;
    match a.backend {
        BackendKind::Mpi => run_on(w, a, MpiStep::new(w.comm())),
        BackendKind::Nccl => {
            let t = agree(w, NcclStep::new(w));
            run_on(w, a, t?)
        }
        BackendKind::Hccl => {
            let t = agree(w, HcclStep::new(w));
            run_on(w, a, t?)
        }
    }
}

fn check_args(w: &MpiWorld, a: &TrainSimArgs) -> Result<()> {
    let size = w.comm().size() as u64;
    let (job, _) = build(&a.job)?;
    let d = job.layout.dims;
    if d.devices() != size {
        return Err(usage(format!(
            "train-sim: layout {} needs {} ranks; mpirun started {size}",
            d,
            d.devices()
        )));
    }
    Ok(())
}

fn run_on<C: StepComm>(w: &MpiWorld, a: &TrainSimArgs, mut comm: C) -> Result<i32> {
    let world = w.comm();
    let size = world.size() as u64;
    let (job, timer) = build(&a.job)?;
    let d = job.layout.dims;
    if d.devices() != size {
        return Err(usage(format!(
            "train-sim: layout {} needs {} ranks; mpirun started {size}",
            d,
            d.devices()
        )));
    }
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
    let mut results = Vec::new();
    let mut messages = Vec::new();
    for dp in dps {
        let mut j = job.clone();
        j.layout.dims.dp = dp;
        j.layout.global_batch = per_replica * dp;
        let pred = predict(&j, timer.as_ref()).map_err(|e| usage(e.to_string()))?;
        let times = run_scale(&mut comm, &j, &pred, d.dp, a.steps)?;
        sleepy_barrier(world);
        if let Some((t, issued)) = times {
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
            let mut sorted = t.clone();
            sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let n = sorted.len();
            let mean = if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            };
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
            });
        }
    }
    if rank0 {
        println!(
            "# train-sim: {}{} on {size} ranks ({}; compute = calibrated waits), {} timed steps per scale; communication times from {}",
            job.model.name,
            if job.layout.zero > 0 {
                format!(", ZeRO-{}", job.layout.zero)
            } else {
                String::new()
            },
            comm.describe(),
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
        if let Some(path) = &a.json {
            let mut rep = TrainSimReport::new(
                job.model.name.clone(),
                size,
                a.steps,
                timer.describe(),
                results,
            );
            rep.messages = messages;
            let text = serde_json::to_string_pretty(&rep)?;
            std::fs::write(path, text + "\n").map_err(|e| BenchError::Io {
                what: format!("cannot write {}", path.display()),
                source: e,
            })?;
        }
    }
    Ok(0)
}

/// Communicators of one rank.
struct Comms<C: StepComm> {
    all: C::Group,
    tp: C::Group,
    dp: C::Group,
    ep: Option<C::Group>,
    /// Expert parameters' DP group (same place in the EP group), when ep > 1.
    edp: Option<C::Group>,
    stage: u64,
    pp: u64,
    /// Neighbour ranks in `all` (a ring: the interleaved schedule sends from the last
    /// stage to the first).
    prev: usize,
    next: usize,
}

/// One kind of message and how many the step issued: (dim, collective, bytes, ranks, count).
type Issued = (Dim, CollKind, u64, u64, u64);

/// Runs `job` on the ranks of the first `dp` replicas of a world laid out with `full_dp`;
/// the step times (max over ranks) and the last step's messages on the active ranks, None
/// elsewhere.
#[allow(clippy::type_complexity)]
fn run_scale<C: StepComm>(
    t: &mut C,
    job: &Job,
    pred: &Prediction,
    full_dp: u64,
    steps: usize,
) -> Result<Option<(Vec<f64>, Vec<Issued>)>> {
    let d = job.layout.dims;
    let world = t.world()?;
    let r = t.rank(&world) as u64;
    let (ti, di, pi) = (r % d.tp, (r / d.tp) % full_dp, r / (d.tp * full_dp));
    let active = di < d.dp;
    let key = (ti + d.tp * (di + d.dp * pi)) as u32;
    let Some(all) = t.split(&world, active.then_some(0), key)? else {
        return Ok(None);
    };
    let split = |t: &mut C, color: u64, key: u64, what: &str| -> Result<C::Group> {
        t.split(&all, Some(color as u32), key as u32)?
            .ok_or_else(|| BenchError::Backend(format!("{what} split gave no group")))
    };
    let tp = split(t, di + d.dp * pi, ti, "tp")?;
    let dp = split(t, ti + d.tp * pi, di, "dp")?;
    let ep = if d.ep > 1 {
        let groups = d.dp / d.ep;
        Some(split(t, (ti + d.tp * pi) * groups + di / d.ep, di, "ep")?)
    } else {
        None
    };
    let edp = if d.ep > 1 {
        Some(split(
            t,
            (ti + d.tp * pi) * d.ep + di % d.ep,
            di / d.ep,
            "expert dp",
        )?)
    } else {
        None
    };
    let stride = (d.tp * d.dp) as usize;
    let me = t.rank(&all);
    let span = stride * (d.pp as usize - 1);
    let c = Comms::<C> {
        stage: pi,
        pp: d.pp,
        prev: if pi == 0 { me + span } else { me - stride },
        next: if pi + 1 == d.pp {
            me - span
        } else {
            me + stride
        },
        all,
        tp,
        dp,
        ep,
        edp,
    };
    let mut sim = Sim::new(t, job, pred)?;
    let mut out = Vec::with_capacity(steps);
    for i in 0..=steps {
        t.barrier(&c.all);
        let t0 = Instant::now();
        sim.step(t, &c);
        let mine = t0.elapsed().as_secs_f64();
        let worst = t.max(&c.all, mine);
        if i > 0 {
            out.push(worst);
        }
    }
    Ok(Some((out, sim.issued)))
}

/// Buffers and phase lengths of the simulated step.
struct Sim<C: StepComm> {
    m: u64,
    vp: u64,
    /// Layers per model chunk (per stage when vp = 1).
    layers: u64,
    t_f: f64,
    t_b: f64,
    recompute_full: bool,
    sp: bool,
    window: f64,
    /// f32 elements of the TP activation (`act`, `act_out`) and of its 1/tp share.
    act_elems: usize,
    sp_elems: usize,
    act: C::Buf,
    act_out: C::Buf,
    sp_gather: C::Buf,
    /// Bytes of one PP message and of one EP alltoall buffer.
    p2p_bytes: usize,
    a2a_bytes: usize,
    p2p_send: C::Buf,
    p2p_recv: C::Buf,
    p2p_recv2: C::Buf,
    a2a_send: C::Buf,
    a2a_recv: C::Buf,
    /// DP reductions issued under the last backward.
    buckets: Vec<DpMsg<C>>,
    /// DP reductions after the last backward (`--no-overlap`).
    serial: Vec<DpMsg<C>>,
    /// ZeRO-3's messages per chunk and layer (`comm::zero3_units`): parameter
    /// all-gathers (dense, and expert when ep > 1) and gradient reduce-scatters.
    z3_gather: Vec<Vec<Vec<DpMsg<C>>>>,
    z3_rs: Vec<Vec<Vec<DpMsg<C>>>>,
    /// ZeRO's parameter all-gather after the optimizer.
    gather_after: Vec<DpMsg<C>>,
    /// Messages of the current step.
    issued: Vec<Issued>,
}

/// One DP message of the step with its buffers (f32 elements; a reduce-scatter's input and
/// an all-gather's output rounded up to a multiple of the group).
struct DpMsg<C: StepComm> {
    coll: CollKind,
    /// On the expert-parameter DP group rather than the whole DP group.
    expert: bool,
    /// f32 elements of `send` and `recv`.
    send_elems: usize,
    recv_elems: usize,
    send: C::Buf,
    recv: C::Buf,
}

impl<C: StepComm> DpMsg<C> {
    fn new(t: &mut C, coll: CollKind, bytes: u64, group: u64, expert: bool) -> Result<Self> {
        let elems = (bytes as usize / 4).max(1);
        let g = group.max(1) as usize;
        let per = elems.div_ceil(g);
        let (send, recv) = match coll {
            CollKind::ReduceScatter => (per * g, per),
            CollKind::AllGather => (per, per * g),
            _ => (elems, elems),
        };
        Ok(DpMsg {
            coll,
            expert,
            send_elems: send,
            recv_elems: recv,
            send: t.alloc(4 * send)?,
            recv: t.alloc(4 * recv)?,
        })
    }
    /// The size column's bytes: reduce-scatter input, all-gather output, all-reduce buffer.
    fn bytes(&self) -> u64 {
        4 * self.send_elems.max(self.recv_elems) as u64
    }
    /// The library call for this message.
    fn op(&mut self) -> Op<'_, C::Buf> {
        let (send, recv) = (&self.send, &mut self.recv);
        match self.coll {
            CollKind::ReduceScatter => Op::ReduceScatter {
                send,
                recv,
                recv_elems: self.recv_elems,
            },
            CollKind::AllGather => Op::AllGather {
                send,
                recv,
                send_elems: self.send_elems,
            },
            _ => Op::AllReduce {
                send,
                recv,
                elems: self.send_elems,
            },
        }
    }
}

fn dp_comm<C: StepComm>(c: &Comms<C>, expert: bool) -> &C::Group {
    if expert {
        c.edp.as_ref().unwrap_or(&c.dp)
    } else {
        &c.dp
    }
}

fn floats(bytes: u64) -> usize {
    (bytes as usize / 4).max(1)
}

impl<C: StepComm> Sim<C> {
    fn new(tr: &mut C, job: &Job, p: &Prediction) -> Result<Self> {
        let bytes_of = |dim: Dim| p.comm.iter().find(|t| t.op.dim == dim).map(|t| t.op.bytes);
        let tp_bytes = bytes_of(Dim::Tp).unwrap_or(4);
        let pp_bytes = bytes_of(Dim::Pp).unwrap_or(1);
        let ep_bytes = bytes_of(Dim::Ep).unwrap_or(1);
        let (mut buckets, mut serial) = (Vec::new(), Vec::new());
        let mut gather_after = Vec::new();
        let lay = &job.layout;
        let dp = lay.dims.dp;
        // ZeRO-3 issues per layer (its ops are `per_layer`); ZeRO-1/2 in buckets.
        for t in p
            .comm
            .iter()
            .filter(|t| t.op.dim == Dim::Dp && !t.op.per_layer)
        {
            let (coll, g) = (t.op.collective, t.op.group.nranks);
            for _ in 0..t.op.count {
                let msg = DpMsg::new(tr, coll, t.op.bytes, g, g != dp)?;
                match coll {
                    CollKind::AllGather => gather_after.push(msg),
                    _ if t.op.overlappable => buckets.push(msg),
                    _ => serial.push(msg),
                }
            }
        }
        let (mut z3_gather, mut z3_rs) = (Vec::new(), Vec::new());
        if lay.zero == 3 && dp > 1 {
            let dp_ex = dp / lay.dims.ep;
            for chunk in zero3_units(&job.model, lay) {
                let mut msgs = |coll: CollKind, per: u64| -> Result<Vec<Vec<DpMsg<C>>>> {
                    chunk
                        .iter()
                        .map(|u| {
                            let mut v = vec![DpMsg::new(tr, coll, u.dense * per, dp, false)?];
                            if u.expert > 0 && dp_ex > 1 {
                                v.push(DpMsg::new(tr, coll, u.expert * per, dp_ex, true)?);
                            }
                            Ok(v)
                        })
                        .collect()
                };
                z3_gather.push(msgs(CollKind::AllGather, lay.act_bytes)?);
                z3_rs.push(msgs(CollKind::ReduceScatter, lay.grad_bytes)?);
            }
        }
        let m = p.microbatches;
        let tp_count = job.layout.dims.tp;
        let vp = job.layout.dims.vp.max(1);
        let act_elems = floats(tp_bytes);
        // Sequence parallel: each rank holds 1/tp of the gathered activation.
        let sp_elems = floats(tp_bytes / tp_count.max(1));
        Ok(Sim {
            m,
            vp,
            layers: job.model.layers / (job.layout.dims.pp * vp),
            // One chunk's share of a micro-batch's forward and backward.
            t_f: p.t_forward_s / vp as f64,
            t_b: p.t_backward_s / vp as f64,
            recompute_full: job.layout.recompute == Recompute::Full,
            sp: job.layout.sequence_parallel,
            window: p.dp_window_s,
            act_elems,
            sp_elems,
            act: tr.alloc(4 * act_elems)?,
            act_out: tr.alloc(4 * act_elems)?,
            sp_gather: tr.alloc(4 * sp_elems)?,
            p2p_bytes: pp_bytes as usize,
            a2a_bytes: ep_bytes as usize,
            p2p_send: tr.alloc(pp_bytes as usize)?,
            p2p_recv: tr.alloc(pp_bytes as usize)?,
            p2p_recv2: tr.alloc(pp_bytes as usize)?,
            a2a_send: tr.alloc(ep_bytes as usize)?,
            a2a_recv: tr.alloc(ep_bytes as usize)?,
            buckets,
            serial,
            z3_gather,
            z3_rs,
            gather_after,
            issued: Vec::new(),
        })
    }

    /// Counts one message the step issued.
    fn count(&mut self, dim: Dim, coll: CollKind, bytes: u64, nranks: usize) {
        let nranks = nranks as u64;
        match self
            .issued
            .iter_mut()
            .find(|x| (x.0, x.1, x.2, x.3) == (dim, coll, bytes, nranks))
        {
            Some(x) => x.4 += 1,
            None => self.issued.push((dim, coll, bytes, nranks, 1)),
        }
    }

    /// DP messages one after the other, each waited for.
    fn blocking(&mut self, tr: &mut C, c: &Comms<C>, list: &mut [DpMsg<C>]) {
        for m in list.iter_mut() {
            let comm = dp_comm(c, m.expert);
            self.count(Dim::Dp, m.coll, m.bytes(), tr.size(comm));
            tr.run(comm, m.op());
        }
    }

    /// Starts one ZeRO-3 unit's messages (all-gathers or reduce-scatters) and counts them.
    ///
    /// # Safety
    /// `msgs` must stay alive and unmoved until every returned handle is waited for.
    unsafe fn issue_dp(
        &mut self,
        tr: &mut C,
        c: &Comms<C>,
        msgs: &mut [DpMsg<C>],
    ) -> Vec<C::Handle> {
        msgs.iter_mut()
            .map(|m| {
                let comm = dp_comm(c, m.expert);
                self.count(Dim::Dp, m.coll, m.bytes(), tr.size(comm));
                tr.start(comm, m.op())
            })
            .collect()
    }

    fn tp_op(&mut self, tr: &mut C, c: &Comms<C>) {
        if tr.size(&c.tp) < 2 {
            return;
        }
        let (n, bytes) = (tr.size(&c.tp), 4 * self.act_elems as u64);
        if self.sp {
            self.count(Dim::Tp, CollKind::AllGather, bytes, n);
            self.count(Dim::Tp, CollKind::ReduceScatter, bytes, n);
            tr.run(
                &c.tp,
                Op::AllGather {
                    send: &self.sp_gather,
                    recv: &mut self.act,
                    send_elems: self.sp_elems,
                },
            );
            tr.run(
                &c.tp,
                Op::ReduceScatter {
                    send: &self.act,
                    recv: &mut self.sp_gather,
                    recv_elems: self.sp_elems,
                },
            );
        } else {
            self.count(Dim::Tp, CollKind::AllReduce, bytes, n);
            tr.run(
                &c.tp,
                Op::AllReduce {
                    send: &self.act,
                    recv: &mut self.act_out,
                    elems: self.act_elems,
                },
            );
        }
    }

    fn ep_op(&mut self, tr: &mut C, c: &Comms<C>) {
        if let Some(ep) = &c.ep {
            let n = tr.size(ep);
            self.count(Dim::Ep, CollKind::Alltoall, self.a2a_bytes as u64, n);
            tr.run(
                ep,
                Op::Alltoall {
                    send: &self.a2a_send,
                    recv: &mut self.a2a_recv,
                    per_peer: self.a2a_bytes / n,
                },
            );
        }
    }

    /// Forward (or the recomputation forward) of one micro-batch through one chunk.
    fn forward(&mut self, tr: &mut C, c: &Comms<C>, t: f64, chunk: usize) {
        let per = t / self.layers as f64 / 2.0;
        if !self.z3_gather.is_empty() {
            return self.z3_pass(tr, c, chunk, per, false, false);
        }
        for _ in 0..self.layers {
            for _ in 0..2 {
                wait(per);
                self.tp_op(tr, c);
                self.ep_op(tr, c);
            }
        }
    }

    /// One pass over a chunk's layers with ZeRO-3's gathers: the first layer's
    /// parameters gathered and waited for, the next layer's issued as a layer starts
    /// (one-deep prefetch) and waited for before it runs; with `reduce` (the chunk's last
    /// backward of the step) each layer's gradients reduce-scattered as its backward
    /// ends, all waited for at the end of the pass. In flight during the waits, tested
    /// every ≤ 1 ms so MPI progresses them. Issued at layer boundaries: the same place
    /// in the layer path on every rank, as the device backends require.
    fn z3_pass(
        &mut self,
        tr: &mut C,
        c: &Comms<C>,
        chunk: usize,
        per: f64,
        reverse: bool,
        reduce: bool,
    ) {
        let mut gathers = std::mem::take(&mut self.z3_gather[chunk]);
        let mut rss = std::mem::take(&mut self.z3_rs[chunk]);
        {
            let mut g_refs: Vec<Option<&mut Vec<DpMsg<C>>>> =
                gathers.iter_mut().map(Some).collect();
            let mut r_refs: Vec<Option<&mut Vec<DpMsg<C>>>> = rss.iter_mut().map(Some).collect();
            if reverse {
                g_refs.reverse();
                r_refs.reverse();
            }
            let n = g_refs.len();
            // The messages live in `gathers` and `rss`, neither dropped nor moved (only
            // the outer vectors are, by `take` and the restore below) before every handle
            // is waited for in this block.
            let mut next = unsafe { self.issue_dp(tr, c, g_refs[0].take().unwrap()) };
            let mut rs_pending = Vec::new();
            for i in 0..n {
                for h in std::mem::take(&mut next) {
                    tr.wait(h);
                }
                if i + 1 < n {
                    next = unsafe { self.issue_dp(tr, c, g_refs[i + 1].take().unwrap()) };
                }
                for _ in 0..2 {
                    wait_testing(tr, per, &mut next, &mut rs_pending);
                    self.tp_op(tr, c);
                    self.ep_op(tr, c);
                }
                if reduce {
                    let mut more = unsafe { self.issue_dp(tr, c, r_refs[i].take().unwrap()) };
                    rs_pending.append(&mut more);
                }
            }
            for h in rs_pending {
                tr.wait(h);
            }
        }
        self.z3_gather[chunk] = gathers;
        self.z3_rs[chunk] = rss;
    }

    /// Backward of one micro-batch through one chunk; the step's last one issues the DP
    /// buckets as they become ready and waits for them at its end. ZeRO-3 gathers every
    /// layer's parameters and, in the chunk's last backward (`reduce`), reduce-scatters
    /// its gradients.
    fn backward(&mut self, tr: &mut C, c: &Comms<C>, last: bool, chunk: usize, reduce: bool) {
        let mut t_b = self.t_b;
        if self.recompute_full {
            self.forward(tr, c, self.t_f, chunk);
            t_b -= self.t_f;
        }
        let per = t_b / self.layers as f64 / 2.0;
        if !self.z3_gather.is_empty() {
            return self.z3_pass(tr, c, chunk, per, true, reduce);
        }
        if !last || self.buckets.is_empty() || tr.size(&c.dp) < 2 {
            for _ in 0..self.layers {
                for _ in 0..2 {
                    wait(per);
                    self.tp_op(tr, c);
                    self.ep_op(tr, c);
                }
            }
            return;
        }
        let start = Instant::now();
        let window = self.window;
        // Device backends: a bucket is issued at the end of the phase in which it becomes
        // ready (the same place in the layer path on every rank), not by the clock.
        let ordered = tr.ordered_issue();
        let phases = (2 * self.layers) as f64;
        let mut buckets = std::mem::take(&mut self.buckets);
        let nb = buckets.len();
        {
            let mut iter = buckets.iter_mut();
            let mut pending = Vec::new();
            let mut issued = 0usize;
            // Issues every bucket ready by `upto` seconds into this backward.
            macro_rules! issue {
                ($upto:expr) => {
                    while issued < nb && window * (issued as f64 + 1.0) / nb as f64 <= $upto {
                        let m: &mut DpMsg<C> = iter.next().unwrap();
                        let bytes = m.bytes();
                        let comm = dp_comm(c, m.expert);
                        self.count(Dim::Dp, m.coll, bytes, tr.size(comm));
                        // The buffers live in `buckets`, which is neither dropped nor
                        // moved before every handle is waited for below.
                        pending.push(unsafe { tr.start(comm, m.op()) });
                        issued += 1;
                    }
                };
            }
            let mut phase = 0.0f64;
            for _ in 0..self.layers {
                for _ in 0..2 {
                    let begun = Instant::now();
                    let end = begun + phase_target(per);
                    loop {
                        if !ordered {
                            issue!(start.elapsed().as_secs_f64());
                        }
                        pending.retain_mut(|h| !tr.test(h));
                        let now = Instant::now();
                        if now >= end {
                            phase_done(begun, per);
                            break;
                        }
                        let left = end - now;
                        std::thread::sleep(if pending.is_empty() && issued == nb {
                            left
                        } else {
                            left.min(Duration::from_millis(1))
                        });
                    }
                    phase += 1.0;
                    if ordered {
                        issue!(window * phase / phases);
                    }
                    self.tp_op(tr, c);
                    self.ep_op(tr, c);
                }
            }
            issue!(f64::INFINITY);
            for h in pending {
                tr.wait(h);
            }
        }
        self.buckets = buckets;
    }

    /// One point-to-point call of the schedule: its sends and receives all posted at
    /// once and waited for together (Megatron's batched isend/irecv, [`StepComm::batch`]).
    /// No tags (NCCL has none): with two stages both neighbours are one rank, and its
    /// messages match in posting order, which is the same on both sides — receives from
    /// prev (activation) before from next (gradient), sends to next (activation) before
    /// to prev (gradient), so a stage's first message to its neighbour is the one the
    /// neighbour receives first.
    fn p2p(&mut self, tr: &mut C, c: &Comms<C>, x: P2p) {
        let bytes = self.p2p_bytes;
        for _ in 0..x.messages() {
            self.count(Dim::Pp, CollKind::Sendrecv, bytes as u64, 2);
        }
        let (send, r1, r2) = (&self.p2p_send, &mut self.p2p_recv, &mut self.p2p_recv2);
        let mut items = Vec::with_capacity(4);
        if x.recv_prev {
            items.push(Xfer::Recv {
                buf: r1,
                bytes,
                peer: c.prev,
            });
        }
        if x.recv_next {
            items.push(Xfer::Recv {
                buf: r2,
                bytes,
                peer: c.next,
            });
        }
        if x.send_next {
            items.push(Xfer::Send {
                buf: send,
                bytes,
                peer: c.next,
            });
        }
        if x.send_prev {
            items.push(Xfer::Send {
                buf: send,
                bytes,
                peer: c.prev,
            });
        }
        if !items.is_empty() {
            tr.batch(&c.all, &mut items);
        }
    }

    /// One step: the stage's list from `xccl_train::schedule::pipeline` (plain 1F1B, or
    /// interleaved with vp chunks), then ZeRO's parameter gathers.
    fn step(&mut self, tr: &mut C, c: &Comms<C>) {
        self.issued.clear();
        phase_reset();
        let actions = pipeline(c.pp, self.vp, self.m, c.stage);
        let last_backward = actions
            .iter()
            .rposition(|a| matches!(a, Action::Backward { .. }));
        // Each chunk's last backward of the step (ZeRO-3 reduce-scatters there).
        let last_of = |chunk: u64| {
            actions
                .iter()
                .rposition(|a| *a == Action::Backward { chunk })
        };
        for (i, a) in actions.iter().enumerate() {
            match *a {
                Action::Forward { chunk } => self.forward(tr, c, self.t_f, chunk as usize),
                Action::Backward { chunk } => self.backward(
                    tr,
                    c,
                    Some(i) == last_backward,
                    chunk as usize,
                    Some(i) == last_of(chunk),
                ),
                Action::P2p(x) => self.p2p(tr, c, x),
            }
        }
        // After the last backward: reductions not overlapped, the optimizer (no time of
        // its own in the prediction either), then ZeRO's parameter all-gather.
        let mut serial = std::mem::take(&mut self.serial);
        self.blocking(tr, c, &mut serial);
        self.serial = serial;
        let mut after = std::mem::take(&mut self.gather_after);
        self.blocking(tr, c, &mut after);
        self.gather_after = after;
    }
}

/// A barrier that sleeps while it waits: ranks left out of a scale must not spin on the
/// cores the measured ranks need.
fn sleepy_barrier(c: &SimpleCommunicator) {
    let mut req = c.immediate_barrier();
    loop {
        match req.test() {
            Ok(_) => return,
            Err(r) => req = r,
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A compute phase with operations in flight: sleeps in slices of ≤ 1 ms, testing them.
fn wait_testing<C: StepComm>(
    tr: &mut C,
    seconds: f64,
    a: &mut Vec<C::Handle>,
    b: &mut Vec<C::Handle>,
) {
    let start = Instant::now();
    let end = start + phase_target(seconds);
    loop {
        a.retain_mut(|h| !tr.test(h));
        b.retain_mut(|h| !tr.test(h));
        let now = Instant::now();
        if now >= end {
            return phase_done(start, seconds);
        }
        let left = end - now;
        std::thread::sleep(if a.is_empty() && b.is_empty() {
            left
        } else {
            left.min(Duration::from_millis(1))
        });
    }
}

/// A calibrated compute phase: sleep until the deadline.
fn wait(seconds: f64) {
    if seconds > 0.0 {
        let t = Instant::now();
        std::thread::sleep(phase_target(seconds));
        phase_done(t, seconds);
    }
}

thread_local! {
    /// Seconds the compute phases so far ran past their length (the OS wakes a sleeper
    /// late), paid back from the next phase so a step's phases sum to the predicted
    /// compute.
    static OVERRUN: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// How long a compute phase of `seconds` should still sleep: its length less the overrun.
fn phase_target(seconds: f64) -> Duration {
    Duration::from_secs_f64((seconds - OVERRUN.with(|o| o.get())).max(0.0))
}

/// A phase of `seconds` begun at `start` has ended: carries its overrun (or what was
/// left of the previous one) to the next.
fn phase_done(start: Instant, seconds: f64) {
    OVERRUN.with(|o| o.set(o.get() + start.elapsed().as_secs_f64() - seconds));
}

/// A new step starts with no overrun.
fn phase_reset() {
    OVERRUN.with(|o| o.set(0.0));
}
