//! The DP messages of `train-sim`'s step, with their buffers: the list the prediction
//! times too (`xccl_train::comm::step_ops`, bucket by bucket, sizes only, no times; ZeRO-3's layer by layer from
//! `xccl_train::comm::zero3_units`), so simulation and prediction cannot drift apart.
#![cfg(feature = "mpi")]

use super::transport::api::{Coll, Op, StepComm};
use crate::error::Result;
use xccl_schema::CollKind;
use xccl_train::comm::{zero3_units, CommOp, Dim};
use xccl_train::layout::Layout;
use xccl_train::model::ModelSpec;

/// One DP message of the step with its buffers (f32 elements; a reduce-scatter's input and
/// an all-gather's output rounded up to a multiple of the group).
pub struct DpMsg<C: StepComm> {
    pub coll: CollKind,
    /// On the expert-parameter DP group rather than the whole DP group.
    pub expert: bool,
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
    pub fn bytes(&self) -> u64 {
        4 * self.send_elems.max(self.recv_elems) as u64
    }

    /// The library call for this message.
    pub fn op(&mut self) -> Op<'_, C::Buf> {
        let (coll, count) = match self.coll {
            CollKind::ReduceScatter => (Coll::ReduceScatter, self.recv_elems),
            CollKind::AllGather => (Coll::AllGather, self.send_elems),
            _ => (Coll::AllReduce, self.send_elems),
        };
        Op {
            coll,
            send: &self.send,
            recv: &mut self.recv,
            count,
        }
    }
}

/// ZeRO-3's messages of one kind: per model chunk, per layer, the dense parameters' and
/// (when ep > 1) the expert parameters'.
pub type PerLayer<C> = Vec<Vec<Vec<DpMsg<C>>>>;

/// Every DP message of the step, by where the step issues it.
pub struct DpMsgs<C: StepComm> {
    /// Reductions issued under the last backward.
    pub buckets: Vec<DpMsg<C>>,
    /// Reductions after the last backward (`--no-overlap`).
    pub serial: Vec<DpMsg<C>>,
    /// ZeRO-3's parameter all-gathers and gradient reduce-scatters, per chunk and layer.
    pub z3_gather: PerLayer<C>,
    pub z3_rs: PerLayer<C>,
    /// ZeRO's parameter all-gather after the optimizer.
    pub gather_after: Vec<DpMsg<C>>,
}

impl<C: StepComm> DpMsgs<C> {
    /// The DP messages among `ops` (the step's, `step_ops` of `model` on `lay`), their
    /// buffers allocated on `tr`.
    pub fn new(tr: &mut C, model: &ModelSpec, lay: &Layout, ops: &[CommOp]) -> Result<Self> {
        let (mut buckets, mut serial) = (Vec::new(), Vec::new());
        let mut gather_after = Vec::new();
        let dp = lay.dims.dp;
        // ZeRO-3 issues per layer (its ops are `per_layer`); ZeRO-1/2 in buckets.
        for op in ops.iter().filter(|o| o.dim == Dim::Dp && !o.per_layer) {
            let (coll, g) = (op.collective, op.group.nranks);
            for _ in 0..op.count {
                let msg = DpMsg::new(tr, coll, op.bytes, g, g != dp)?;
                match coll {
                    CollKind::AllGather => gather_after.push(msg),
                    _ if op.overlappable => buckets.push(msg),
                    _ => serial.push(msg),
                }
            }
        }
        let (mut z3_gather, mut z3_rs) = (Vec::new(), Vec::new());
        if lay.zero == 3 && dp > 1 {
            let dp_ex = dp / lay.dims.ep;
            for chunk in zero3_units(model, lay) {
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
        Ok(DpMsgs {
            buckets,
            serial,
            z3_gather,
            z3_rs,
            gather_after,
        })
    }
}
