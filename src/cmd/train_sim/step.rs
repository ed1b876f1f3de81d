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
//! The DP messages are the prediction's own list ([`super::dp`]), so simulation and
//! prediction cannot drift apart; every collective the step issues is counted at its
//! call, and `--json` writes rank 0's counts (`messages`) beside the step times for a
//! reader to hold against `predict --json`'s `comm`.
//!
//! Compute is real work ([`super::work`]): each half-layer's matrix products run on this
//! rank's engine (CPU or GPU), between them the DP reductions in flight are tested so MPI
//! progresses them, and the last backward's DP buckets start as its products complete
//! (bucket i of n once i+1 n-ths of that backward's FLOPs are done). Nothing here reads a
//! predicted time.
//!
//! The communication goes through [`StepComm`]: `--backend mpi` (default), `nccl` or
//! `hccl`. On NCCL and HCCL the messages are real library calls on device buffers, each
//! group on its own stream; DP buckets are issued at the end of the half-layer in which
//! they become ready rather than between products ([`StepComm::ordered_issue`]), and
//! ZeRO-3's per-layer messages at layer boundaries, the same place on every rank.
#![cfg(feature = "mpi")]

use super::dp::{DpMsg, DpMsgs};
use super::groups::Comms;
use super::transport::api::{Coll, Op, StepComm, Xfer};
use super::work::{Half, Work};
use crate::error::Result;
use xccl_schema::CollKind;
use xccl_train::comm::{step_ops, Dim};
use xccl_train::layout::{Layout, Recompute};
use xccl_train::model::ModelSpec;
use xccl_train::schedule::{pipeline, Action, P2p};

/// One kind of message and how many the step issued: (dim, collective, bytes, ranks, count).
pub type Issued = (Dim, CollKind, u64, u64, u64);

/// Buffers and compute of the simulated step.
pub struct Sim<C: StepComm> {
    m: u64,
    vp: u64,
    /// Layers per model chunk (per stage when vp = 1).
    layers: u64,
    work: Work,
    recompute_full: bool,
    sp: bool,
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
    /// The DP messages: buckets, ZeRO's gathers, ZeRO-3's per-layer messages.
    dp: DpMsgs<C>,
    /// Messages of the current step.
    pub issued: Vec<Issued>,
}

fn floats(bytes: u64) -> usize {
    (bytes as usize / 4).max(1)
}

impl<C: StepComm> Sim<C> {
    /// The step of `model` on `lay`, its compute on `work`.
    pub fn new(tr: &mut C, model: &ModelSpec, lay: &Layout, work: Work) -> Result<Self> {
        let ops = step_ops(model, lay);
        let bytes_of = |dim: Dim| ops.iter().find(|o| o.dim == dim).map(|o| o.bytes);
        let tp_bytes = bytes_of(Dim::Tp).unwrap_or(4);
        let pp_bytes = bytes_of(Dim::Pp).unwrap_or(1);
        let ep_bytes = bytes_of(Dim::Ep).unwrap_or(1);
        let dp = DpMsgs::new(tr, model, lay, &ops)?;
        let m = lay.microbatches();
        let tp_count = lay.dims.tp;
        let vp = lay.dims.vp.max(1);
        let act_elems = floats(tp_bytes);
        // Sequence parallel: each rank holds 1/tp of the gathered activation.
        let sp_elems = floats(tp_bytes / tp_count.max(1));
        Ok(Sim {
            m,
            vp,
            layers: model.layers / (lay.dims.pp * vp),
            work,
            recompute_full: lay.recompute == Recompute::Full,
            sp: lay.sequence_parallel,
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
            dp,
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
            let comm = c.dp_of(m.expert);
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
                let comm = c.dp_of(m.expert);
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
                Op {
                    coll: Coll::AllGather,
                    send: &self.sp_gather,
                    recv: &mut self.act,
                    count: self.sp_elems,
                },
            );
            tr.run(
                &c.tp,
                Op {
                    coll: Coll::ReduceScatter,
                    send: &self.act,
                    recv: &mut self.sp_gather,
                    count: self.sp_elems,
                },
            );
        } else {
            self.count(Dim::Tp, CollKind::AllReduce, bytes, n);
            tr.run(
                &c.tp,
                Op {
                    coll: Coll::AllReduce,
                    send: &self.act,
                    recv: &mut self.act_out,
                    count: self.act_elems,
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
                Op {
                    coll: Coll::Alltoall,
                    send: &self.a2a_send,
                    recv: &mut self.a2a_recv,
                    count: self.a2a_bytes / n,
                },
            );
        }
    }

    /// Seconds of matrix products since the last call (this rank's compute).
    pub fn take_compute(&mut self) -> f64 {
        self.work.take_busy()
    }

    /// The compute, given back when the scale is done.
    pub fn into_work(self) -> Work {
        self.work
    }

    /// One half-layer's products with nothing in flight, then its TP and EP collectives.
    fn half(&mut self, tr: &mut C, c: &Comms<C>, h: Half) {
        self.work.run(h, &mut |_| {});
        self.tp_op(tr, c);
        self.ep_op(tr, c);
    }

    /// Forward (or the recomputation forward) of one micro-batch through one chunk.
    fn forward(&mut self, tr: &mut C, c: &Comms<C>, chunk: usize) {
        if !self.dp.z3_gather.is_empty() {
            return self.z3_pass(tr, c, chunk, false, false);
        }
        for _ in 0..self.layers {
            self.half(tr, c, Half::AttnFwd);
            self.half(tr, c, Half::MlpFwd);
        }
    }

    /// One pass over a chunk's layers with ZeRO-3's gathers: the first layer's
    /// parameters gathered and waited for, the next layer's issued as a layer starts
    /// (one-deep prefetch) and waited for before it runs; with `reduce` (the chunk's last
    /// backward of the step) each layer's gradients reduce-scattered as its backward
    /// ends, all waited for at the end of the pass. In flight during the waits, tested
    /// between the products' slices so MPI progresses them. Issued at layer boundaries: the same place
    /// in the layer path on every rank, as the device backends require.
    fn z3_pass(&mut self, tr: &mut C, c: &Comms<C>, chunk: usize, reverse: bool, reduce: bool) {
        let halves = if reverse {
            [Half::MlpBwd, Half::AttnBwd]
        } else {
            [Half::AttnFwd, Half::MlpFwd]
        };
        let mut gathers = std::mem::take(&mut self.dp.z3_gather[chunk]);
        let mut rss = std::mem::take(&mut self.dp.z3_rs[chunk]);
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
                for h in halves {
                    self.work.run(h, &mut |_| {
                        next.retain_mut(|h| !tr.test(h));
                        rs_pending.retain_mut(|h| !tr.test(h));
                    });
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
        self.dp.z3_gather[chunk] = gathers;
        self.dp.z3_rs[chunk] = rss;
    }

    /// Backward of one micro-batch through one chunk; the step's last one issues the DP
    /// buckets as its products complete and waits for them at its end. ZeRO-3 gathers
    /// every layer's parameters and, in the chunk's last backward (`reduce`),
    /// reduce-scatters its gradients.
    fn backward(&mut self, tr: &mut C, c: &Comms<C>, last: bool, chunk: usize, reduce: bool) {
        if self.recompute_full {
            self.forward(tr, c, chunk);
        }
        if !self.dp.z3_gather.is_empty() {
            return self.z3_pass(tr, c, chunk, true, reduce);
        }
        if !last || self.dp.buckets.is_empty() || tr.size(&c.dp) < 2 {
            for _ in 0..self.layers {
                self.half(tr, c, Half::MlpBwd);
                self.half(tr, c, Half::AttnBwd);
            }
            return;
        }
        // Bucket i of nb is ready once (i + 1)/nb of this backward's FLOPs are done.
        let halves = [Half::MlpBwd, Half::AttnBwd];
        let total: f64 =
            self.layers as f64 * halves.iter().map(|h| self.work.flops(*h)).sum::<f64>();
        // Device backends: a bucket is issued at the end of the half-layer in which it
        // becomes ready (the same place in the layer path on every rank).
        let ordered = tr.ordered_issue();
        let mut buckets = std::mem::take(&mut self.dp.buckets);
        let nb = buckets.len();
        {
            let mut iter = buckets.iter_mut();
            let mut pending = Vec::new();
            let mut issued = 0usize;
            let mut done = 0.0f64;
            let ready = |issued: usize, done: f64| {
                issued < nb && total * (issued as f64 + 1.0) / nb as f64 <= done * (1.0 + 1e-9)
            };
            // Issues every bucket ready after `done` FLOPs. The buffers live in
            // `buckets`, neither dropped nor moved before every handle is waited for.
            let mut issue =
                |tr: &mut C, pending: &mut Vec<C::Handle>, issued: &mut usize, done: f64| {
                    while ready(*issued, done) || (done.is_infinite() && *issued < nb) {
                        let m: &mut DpMsg<C> = iter.next().unwrap();
                        pending.push(unsafe { tr.start(c.dp_of(m.expert), m.op()) });
                        *issued += 1;
                    }
                };
            for _ in 0..self.layers {
                for h in halves {
                    let base = done;
                    self.work.run(h, &mut |d| {
                        if !ordered {
                            issue(tr, &mut pending, &mut issued, base + d);
                        }
                        pending.retain_mut(|x| !tr.test(x));
                    });
                    done = base + self.work.flops(h);
                    if ordered {
                        issue(tr, &mut pending, &mut issued, done);
                    }
                    self.tp_op(tr, c);
                    self.ep_op(tr, c);
                }
            }
            issue(tr, &mut pending, &mut issued, f64::INFINITY);
            for h in pending {
                tr.wait(h);
            }
        }
        for m in &buckets {
            self.count(Dim::Dp, m.coll, m.bytes(), tr.size(c.dp_of(m.expert)));
        }
        self.dp.buckets = buckets;
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
        // Receives from prev and next, then sends to next and prev (the posting order).
        let recvs = [(x.recv_prev, r1, c.prev), (x.recv_next, r2, c.next)];
        let sends = [(x.send_next, c.next), (x.send_prev, c.prev)];
        let mut items: Vec<Xfer<'_, C::Buf>> = recvs
            .into_iter()
            .filter(|r| r.0)
            .map(|(_, buf, peer)| Xfer::Recv { buf, bytes, peer })
            .collect();
        items.extend(
            sends
                .into_iter()
                .filter(|s| s.0)
                .map(|(_, peer)| Xfer::Send {
                    buf: send,
                    bytes,
                    peer,
                }),
        );
        if !items.is_empty() {
            tr.batch(&c.all, &mut items);
        }
    }

    /// One step: the stage's list from `xccl_train::schedule::pipeline` (plain 1F1B, or
    /// interleaved with vp chunks), then ZeRO's parameter gathers.
    pub fn step(&mut self, tr: &mut C, c: &Comms<C>) {
        self.issued.clear();
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
                Action::Forward { chunk } => self.forward(tr, c, chunk as usize),
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
        let mut serial = std::mem::take(&mut self.dp.serial);
        self.blocking(tr, c, &mut serial);
        self.dp.serial = serial;
        let mut after = std::mem::take(&mut self.dp.gather_after);
        self.blocking(tr, c, &mut after);
        self.dp.gather_after = after;
    }
}
