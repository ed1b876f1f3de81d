//! `xccl-bench train-sim`: one model's training-step communication, run for real.
//!
//! Why: a prediction is only as good as its step model. This runs the schedule the model
//! assumes on the real communicators (MPI backend): per micro-batch and stage, compute as
//! calibrated waits of the predicted length with the TP collectives (and EP alltoalls) in
//! the layer path, PP send/recv in the order of `xccl_train::schedule` (Megatron's 1F1B,
//! or its interleaved 1F1B with vp model chunks per stage), and the DP
//! gradient reduction in buckets issued through the last backward as non-blocking
//! collectives: all-reduce, or with ZeRO ≥ 1 reduce-scatter, then the parameter
//! all-gather after the optimizer (ZeRO-3: one more before the first forward). Each
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
//! next phase, so a step's compute adds up to the predicted length. They sleep in slices of at most 1 ms while DP reductions are in
//! flight, testing them between slices so MPI progresses them, as a GPU's copy engine
//! would. GPU backends are not wired: compute is always a wait.

use crate::error::BenchError;
use crate::predict_cmd::{build, TrainSimArgs};
use crate::world::MpiWorld;
use anyhow::Result;
use mpi::collective::SystemOperation;
use mpi::request::{scope, Request, Scope};
use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;
use std::time::{Duration, Instant};
use xccl_schema::CollKind;
use xccl_train::comm::zero3_units;
use xccl_train::comm::Dim;
use xccl_train::layout::Recompute;
use xccl_train::output::{IssuedOp, ScaleResult, TrainSimReport};
use xccl_train::predict::{predict, Job, Prediction};
use xccl_train::schedule::{pipeline, Action, P2p};

fn usage(s: String) -> anyhow::Error {
    BenchError::Usage(s).into()
}

pub fn run(w: &MpiWorld, a: &TrainSimArgs) -> Result<i32> {
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
        let times = run_scale(world, &j, &pred, d.dp, a.steps);
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
            "# train-sim: {}{} on {size} ranks (MPI backend; compute = calibrated waits), {} timed steps per scale; communication times from {}",
            job.model.name,
            if job.layout.zero > 0 {
                format!(", ZeRO-{}", job.layout.zero)
            } else {
                String::new()
            },
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
struct Comms {
    all: SimpleCommunicator,
    tp: SimpleCommunicator,
    dp: SimpleCommunicator,
    ep: Option<SimpleCommunicator>,
    /// Expert parameters' DP group (same place in the EP group), when ep > 1.
    edp: Option<SimpleCommunicator>,
    stage: u64,
    pp: u64,
    /// Neighbour ranks in `all` (a ring: the interleaved schedule sends from the last
    /// stage to the first).
    prev: i32,
    next: i32,
}

/// One kind of message and how many the step issued: (dim, collective, bytes, ranks, count).
type Issued = (Dim, CollKind, u64, u64, u64);

/// Runs `job` on the ranks of the first `dp` replicas of a world laid out with `full_dp`;
/// the step times (max over ranks) and the last step's messages on the active ranks, None
/// elsewhere.
fn run_scale(
    world: &SimpleCommunicator,
    job: &Job,
    pred: &Prediction,
    full_dp: u64,
    steps: usize,
) -> Option<(Vec<f64>, Vec<Issued>)> {
    let d = job.layout.dims;
    let r = world.rank() as u64;
    let (ti, di, pi) = (r % d.tp, (r / d.tp) % full_dp, r / (d.tp * full_dp));
    let active = di < d.dp;
    let key = (ti + d.tp * (di + d.dp * pi)) as i32;
    let all = if active {
        world.split_by_color_with_key(Color::with_value(0), key)
    } else {
        world.split_by_color(Color::undefined())
    }?;
    let tp = all
        .split_by_color_with_key(Color::with_value((di + d.dp * pi) as i32), ti as i32)
        .expect("tp split");
    let dp = all
        .split_by_color_with_key(Color::with_value((ti + d.tp * pi) as i32), di as i32)
        .expect("dp split");
    let ep = (d.ep > 1).then(|| {
        let groups = d.dp / d.ep;
        all.split_by_color_with_key(
            Color::with_value(((ti + d.tp * pi) * groups + di / d.ep) as i32),
            di as i32,
        )
        .expect("ep split")
    });
    let edp = (d.ep > 1).then(|| {
        all.split_by_color_with_key(
            Color::with_value(((ti + d.tp * pi) * d.ep + di % d.ep) as i32),
            (di / d.ep) as i32,
        )
        .expect("expert dp split")
    });
    let stride = (d.tp * d.dp) as i32;
    let me = all.rank();
    let c = Comms {
        stage: pi,
        pp: d.pp,
        prev: if pi == 0 {
            me + stride * (d.pp as i32 - 1)
        } else {
            me - stride
        },
        next: if pi + 1 == d.pp {
            me - stride * (d.pp as i32 - 1)
        } else {
            me + stride
        },
        all,
        tp,
        dp,
        ep,
        edp,
    };
    let mut sim = Sim::new(job, pred);
    let mut out = Vec::with_capacity(steps);
    for i in 0..=steps {
        c.all.barrier();
        let t0 = Instant::now();
        sim.step(&c);
        let mine = t0.elapsed().as_secs_f64();
        let mut worst = 0.0f64;
        c.all
            .all_reduce_into(&mine, &mut worst, SystemOperation::max());
        if i > 0 {
            out.push(worst);
        }
    }
    Some((out, sim.issued))
}

/// Buffers and phase lengths of the simulated step.
struct Sim {
    m: u64,
    vp: u64,
    /// Layers per model chunk (per stage when vp = 1).
    layers: u64,
    t_f: f64,
    t_b: f64,
    recompute_full: bool,
    sp: bool,
    window: f64,
    act: Vec<f32>,
    act_out: Vec<f32>,
    sp_gather: Vec<f32>,
    p2p_send: Vec<u8>,
    p2p_recv: Vec<u8>,
    p2p_recv2: Vec<u8>,
    a2a_send: Vec<u8>,
    a2a_recv: Vec<u8>,
    /// DP reductions issued under the last backward.
    buckets: Vec<DpMsg>,
    /// DP reductions after the last backward (`--no-overlap`).
    serial: Vec<DpMsg>,
    /// ZeRO-3's messages per chunk and layer (`comm::zero3_units`): parameter
    /// all-gathers (dense, and expert when ep > 1) and gradient reduce-scatters.
    z3_gather: Vec<Vec<Vec<DpMsg>>>,
    z3_rs: Vec<Vec<Vec<DpMsg>>>,
    /// ZeRO's parameter all-gather after the optimizer.
    gather_after: Vec<DpMsg>,
    /// Messages of the current step.
    issued: Vec<Issued>,
}

/// One DP message of the step with its buffers (f32 elements; a reduce-scatter's input and
/// an all-gather's output rounded up to a multiple of the group).
struct DpMsg {
    coll: CollKind,
    /// On the expert-parameter DP group rather than the whole DP group.
    expert: bool,
    send: Vec<f32>,
    recv: Vec<f32>,
}

impl DpMsg {
    fn new(coll: CollKind, bytes: u64, group: u64, expert: bool) -> DpMsg {
        let elems = (bytes as usize / 4).max(1);
        let g = group.max(1) as usize;
        let per = elems.div_ceil(g);
        let (send, recv) = match coll {
            CollKind::ReduceScatter => (per * g, per),
            CollKind::AllGather => (per, per * g),
            _ => (elems, elems),
        };
        DpMsg {
            coll,
            expert,
            send: vec![1.0f32; send],
            recv: vec![0.0f32; recv],
        }
    }
    /// The size column's bytes: reduce-scatter input, all-gather output, all-reduce buffer.
    fn bytes(&self) -> u64 {
        4 * self.send.len().max(self.recv.len()) as u64
    }
}

fn dp_comm(c: &Comms, expert: bool) -> &SimpleCommunicator {
    if expert {
        c.edp.as_ref().unwrap_or(&c.dp)
    } else {
        &c.dp
    }
}

fn floats(bytes: u64) -> Vec<f32> {
    vec![1.0f32; (bytes as usize / 4).max(1)]
}

impl Sim {
    fn new(job: &Job, p: &Prediction) -> Sim {
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
                let msg = DpMsg::new(coll, t.op.bytes, g, g != dp);
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
                let msgs = |coll: CollKind, per: u64| -> Vec<Vec<DpMsg>> {
                    chunk
                        .iter()
                        .map(|u| {
                            let mut v = vec![DpMsg::new(coll, u.dense * per, dp, false)];
                            if u.expert > 0 && dp_ex > 1 {
                                v.push(DpMsg::new(coll, u.expert * per, dp_ex, true));
                            }
                            v
                        })
                        .collect()
                };
                z3_gather.push(msgs(CollKind::AllGather, lay.act_bytes));
                z3_rs.push(msgs(CollKind::ReduceScatter, lay.grad_bytes));
            }
        }
        let m = p.microbatches;
        let tp_count = job.layout.dims.tp;
        let vp = job.layout.dims.vp.max(1);
        Sim {
            m,
            vp,
            layers: job.model.layers / (job.layout.dims.pp * vp),
            // One chunk's share of a micro-batch's forward and backward.
            t_f: p.t_forward_s / vp as f64,
            t_b: p.t_backward_s / vp as f64,
            recompute_full: job.layout.recompute == Recompute::Full,
            sp: job.layout.sequence_parallel,
            window: p.dp_window_s,
            act: floats(tp_bytes),
            act_out: floats(tp_bytes),
            // Sequence parallel: each rank holds 1/tp of the gathered activation.
            sp_gather: floats(tp_bytes / tp_count.max(1)),
            p2p_send: vec![0u8; pp_bytes as usize],
            p2p_recv: vec![0u8; pp_bytes as usize],
            p2p_recv2: vec![0u8; pp_bytes as usize],
            a2a_send: vec![0u8; ep_bytes as usize],
            a2a_recv: vec![0u8; ep_bytes as usize],
            buckets,
            serial,
            z3_gather,
            z3_rs,
            gather_after,
            issued: Vec::new(),
        }
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
    fn blocking(&mut self, c: &Comms, list: &mut [DpMsg]) {
        for m in list.iter_mut() {
            let comm = dp_comm(c, m.expert);
            self.count(Dim::Dp, m.coll, m.bytes(), comm.size() as usize);
            match m.coll {
                CollKind::ReduceScatter => comm.reduce_scatter_block_into(
                    &m.send[..],
                    &mut m.recv[..],
                    SystemOperation::sum(),
                ),
                CollKind::AllGather => comm.all_gather_into(&m.send[..], &mut m.recv[..]),
                _ => comm.all_reduce_into(&m.send[..], &mut m.recv[..], SystemOperation::sum()),
            }
        }
    }

    fn tp_op(&mut self, c: &Comms) {
        if c.tp.size() < 2 {
            return;
        }
        let (n, bytes) = (c.tp.size() as usize, 4 * self.act.len() as u64);
        if self.sp {
            self.count(Dim::Tp, CollKind::AllGather, bytes, n);
            self.count(Dim::Tp, CollKind::ReduceScatter, bytes, n);
            c.tp.all_gather_into(&self.sp_gather[..], &mut self.act[..]);
            c.tp.reduce_scatter_block_into(
                &self.act[..],
                &mut self.sp_gather[..],
                SystemOperation::sum(),
            );
        } else {
            self.count(Dim::Tp, CollKind::AllReduce, bytes, n);
            c.tp.all_reduce_into(&self.act[..], &mut self.act_out[..], SystemOperation::sum());
        }
    }

    fn ep_op(&mut self, c: &Comms) {
        if let Some(ep) = &c.ep {
            self.count(
                Dim::Ep,
                CollKind::Alltoall,
                self.a2a_send.len() as u64,
                ep.size() as usize,
            );
            ep.all_to_all_into(&self.a2a_send[..], &mut self.a2a_recv[..]);
        }
    }

    /// Forward (or the recomputation forward) of one micro-batch through one chunk.
    fn forward(&mut self, c: &Comms, t: f64, chunk: usize) {
        let per = t / self.layers as f64 / 2.0;
        if !self.z3_gather.is_empty() {
            return self.z3_pass(c, chunk, per, false, false);
        }
        for _ in 0..self.layers {
            for _ in 0..2 {
                wait(per);
                self.tp_op(c);
                self.ep_op(c);
            }
        }
    }

    /// One pass over a chunk's layers with ZeRO-3's gathers: the first layer's
    /// parameters gathered and waited for, the next layer's issued as a layer starts
    /// (one-deep prefetch) and waited for before it runs; with `reduce` (the chunk's last
    /// backward of the step) each layer's gradients reduce-scattered as its backward
    /// ends, all waited for at the end of the pass. In flight during the waits, tested
    /// every ≤ 1 ms so MPI progresses them.
    fn z3_pass(&mut self, c: &Comms, chunk: usize, per: f64, reverse: bool, reduce: bool) {
        let mut gathers = std::mem::take(&mut self.z3_gather[chunk]);
        let mut rss = std::mem::take(&mut self.z3_rs[chunk]);
        let mut g_refs: Vec<Option<&mut Vec<DpMsg>>> = gathers.iter_mut().map(Some).collect();
        let mut r_refs: Vec<Option<&mut Vec<DpMsg>>> = rss.iter_mut().map(Some).collect();
        if reverse {
            g_refs.reverse();
            r_refs.reverse();
        }
        let n = g_refs.len();
        scope(|sc| {
            let mut counted = Vec::new();
            let mut next = issue_dp(c, sc, g_refs[0].take().unwrap(), &mut counted);
            let mut rs_pending = Vec::new();
            for i in 0..n {
                for r in std::mem::take(&mut next) {
                    r.wait();
                }
                if i + 1 < n {
                    next = issue_dp(c, sc, g_refs[i + 1].take().unwrap(), &mut counted);
                }
                for _ in 0..2 {
                    wait_testing(per, &mut next, &mut rs_pending);
                    self.tp_op(c);
                    self.ep_op(c);
                }
                if reduce {
                    let mut more = issue_dp(c, sc, r_refs[i].take().unwrap(), &mut counted);
                    rs_pending.append(&mut more);
                }
            }
            for r in rs_pending {
                r.wait();
            }
            for (coll, bytes, nranks) in counted {
                self.count(Dim::Dp, coll, bytes, nranks);
            }
        });
        self.z3_gather[chunk] = gathers;
        self.z3_rs[chunk] = rss;
    }

    /// Backward of one micro-batch through one chunk; the step's last one issues the DP
    /// buckets as they become ready and waits for them at its end. ZeRO-3 gathers every
    /// layer's parameters and, in the chunk's last backward (`reduce`), reduce-scatters
    /// its gradients.
    fn backward(&mut self, c: &Comms, last: bool, chunk: usize, reduce: bool) {
        let mut t_b = self.t_b;
        if self.recompute_full {
            self.forward(c, self.t_f, chunk);
            t_b -= self.t_f;
        }
        let per = t_b / self.layers as f64 / 2.0;
        if !self.z3_gather.is_empty() {
            return self.z3_pass(c, chunk, per, true, reduce);
        }
        if !last || self.buckets.is_empty() || c.dp.size() < 2 {
            for _ in 0..self.layers {
                for _ in 0..2 {
                    wait(per);
                    self.tp_op(c);
                    self.ep_op(c);
                }
            }
            return;
        }
        let start = Instant::now();
        let window = self.window;
        let mut buckets = std::mem::take(&mut self.buckets);
        let nb = buckets.len();
        scope(|sc| {
            let mut iter = buckets.iter_mut();
            let mut pending = Vec::new();
            let mut issued = 0usize;
            // Issues every bucket ready by `upto` seconds into this backward.
            macro_rules! issue {
                ($upto:expr) => {
                    while issued < nb && window * (issued as f64 + 1.0) / nb as f64 <= $upto {
                        let m: &mut DpMsg = iter.next().unwrap();
                        let bytes = m.bytes();
                        let DpMsg {
                            coll,
                            expert,
                            send,
                            recv,
                        } = m;
                        let comm = dp_comm(c, *expert);
                        self.count(Dim::Dp, *coll, bytes, comm.size() as usize);
                        let (s, r) = (&send[..], &mut recv[..]);
                        pending.push(if *coll == CollKind::ReduceScatter {
                            comm.immediate_reduce_scatter_block_into(
                                sc,
                                s,
                                r,
                                SystemOperation::sum(),
                            )
                        } else {
                            comm.immediate_all_reduce_into(sc, s, r, SystemOperation::sum())
                        });
                        issued += 1;
                    }
                };
            }
            for _ in 0..self.layers {
                for _ in 0..2 {
                    let begun = Instant::now();
                    let end = begun + phase_target(per);
                    loop {
                        issue!(start.elapsed().as_secs_f64());
                        pending = pending.into_iter().filter_map(|r| r.test().err()).collect();
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
                    self.tp_op(c);
                    self.ep_op(c);
                }
            }
            issue!(f64::INFINITY);
            for p in pending {
                p.wait();
            }
        });
        self.buckets = buckets;
    }

    /// `n` PP messages (a send or a receive each; an exchange is two).
    fn count_p2p(&mut self, n: u64) {
        for _ in 0..n {
            self.count(Dim::Pp, CollKind::Sendrecv, self.p2p_send.len() as u64, 2);
        }
    }

    /// One point-to-point call of the schedule: its sends and receives all posted at
    /// once and waited for together (Megatron's batched isend/irecv). Activations and
    /// gradients have their own tags: with two stages both neighbours are one rank.
    fn p2p(&mut self, c: &Comms, x: P2p) {
        const ACT: i32 = 1;
        const GRAD: i32 = 2;
        self.count_p2p(x.messages());
        let (send, r1, r2) = (
            &self.p2p_send[..],
            &mut self.p2p_recv[..],
            &mut self.p2p_recv2[..],
        );
        let (next, prev) = (c.all.process_at_rank(c.next), c.all.process_at_rank(c.prev));
        scope(|sc| {
            let mut reqs = Vec::with_capacity(4);
            if x.recv_prev {
                reqs.push(prev.immediate_receive_into_with_tag(sc, r1, ACT));
            }
            if x.recv_next {
                reqs.push(next.immediate_receive_into_with_tag(sc, r2, GRAD));
            }
            if x.send_next {
                reqs.push(next.immediate_send_with_tag(sc, send, ACT));
            }
            if x.send_prev {
                reqs.push(prev.immediate_send_with_tag(sc, send, GRAD));
            }
            for r in reqs {
                r.wait();
            }
        });
    }

    /// One step: the stage's list from `xccl_train::schedule::pipeline` (plain 1F1B, or
    /// interleaved with vp chunks), between ZeRO's parameter gathers.
    fn step(&mut self, c: &Comms) {
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
                Action::Forward { chunk } => self.forward(c, self.t_f, chunk as usize),
                Action::Backward { chunk } => self.backward(
                    c,
                    Some(i) == last_backward,
                    chunk as usize,
                    Some(i) == last_of(chunk),
                ),
                Action::P2p(x) => self.p2p(c, x),
            }
        }
        // After the last backward: reductions not overlapped, the optimizer (no time of
        // its own in the prediction either), then ZeRO's parameter all-gather.
        let mut serial = std::mem::take(&mut self.serial);
        self.blocking(c, &mut serial);
        self.serial = serial;
        let mut after = std::mem::take(&mut self.gather_after);
        self.blocking(c, &mut after);
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

/// Issues one ZeRO-3 unit's messages (all-gathers or reduce-scatters) non-blocking and
/// notes (collective, bytes, ranks) of each for the count.
fn issue_dp<'a, S: Scope<'a> + Copy>(
    c: &Comms,
    sc: S,
    msgs: &'a mut [DpMsg],
    counted: &mut Vec<(CollKind, u64, usize)>,
) -> Vec<Request<'a, [f32], S>> {
    msgs.iter_mut()
        .map(|m| {
            let bytes = m.bytes();
            let comm = dp_comm(c, m.expert);
            counted.push((m.coll, bytes, comm.size() as usize));
            if m.coll == CollKind::ReduceScatter {
                comm.immediate_reduce_scatter_block_into(
                    sc,
                    &m.send[..],
                    &mut m.recv[..],
                    SystemOperation::sum(),
                )
            } else {
                comm.immediate_all_gather_into(sc, &m.send[..], &mut m.recv[..])
            }
        })
        .collect()
}

/// A compute phase with requests in flight: sleeps in slices of ≤ 1 ms, testing them.
fn wait_testing<'a, S: Scope<'a>>(
    seconds: f64,
    a: &mut Vec<Request<'a, [f32], S>>,
    b: &mut Vec<Request<'a, [f32], S>>,
) {
    let start = Instant::now();
    let end = start + phase_target(seconds);
    loop {
        *a = std::mem::take(a)
            .into_iter()
            .filter_map(|r| r.test().err())
            .collect();
        *b = std::mem::take(b)
            .into_iter()
            .filter_map(|r| r.test().err())
            .collect();
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
