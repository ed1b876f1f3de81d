//! The communication of one step, per parallel dimension (REFERENCE §5): which collective,
//! what size (in the size column's convention of the sweeps, so a measured row answers it
//! directly), how many per step, and on which communicator (ranks, nodes).

use crate::layout::{Layout, Recompute};
use crate::model::ModelSpec;
use serde::{Deserialize, Serialize};
use xccl_schema::CollKind;

/// A parallel dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dim {
    Tp,
    Dp,
    Pp,
    Ep,
}

impl Dim {
    pub fn name(self) -> &'static str {
        match self {
            Dim::Tp => "TP",
            Dim::Dp => "DP",
            Dim::Pp => "PP",
            Dim::Ep => "EP",
        }
    }
}

/// A communicator: its rank count and how it lies over nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Group {
    pub nranks: u64,
    pub nodes: u64,
    /// Most ranks of the group on one node.
    pub ranks_per_node: u64,
    /// Groups of the same dimension whose inter-node traffic shares one NIC at the same
    /// time (1 when each has its own rail); the bandwidth part of a time scales by it.
    #[serde(default = "one")]
    pub share: u64,
}

fn one() -> u64 {
    1
}

impl Group {
    /// The group of `n` ranks `first, first+stride, ...` with `k` devices per node.
    pub fn strided(n: u64, stride: u64, k: u64) -> Group {
        let mut nodes: Vec<u64> = (0..n).map(|i| (i * stride) / k).collect();
        nodes.dedup();
        let count = nodes.len() as u64;
        Group {
            nranks: n,
            nodes: count,
            ranks_per_node: n.div_ceil(count),
            share: 1,
        }
    }

    /// With `k` devices and `nics` NICs per node, how many groups like this one send
    /// across nodes through the same NIC at once (`groups` of them in all).
    pub fn sharing(mut self, k: u64, nics: u64, groups: u64) -> Group {
        if !self.intra() {
            let per_node = (k / self.ranks_per_node.max(1)).min(groups).max(1);
            self.share = per_node.div_ceil(nics.max(1)).max(1);
        }
        self
    }
    pub fn intra(&self) -> bool {
        self.nodes == 1
    }
    pub fn class(&self) -> &'static str {
        if self.intra() {
            "intra-node"
        } else {
            "inter-node"
        }
    }
}

/// One kind of message of a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommOp {
    pub dim: Dim,
    pub what: String,
    pub collective: CollKind,
    /// The size column of a sweep of this collective (all_gather: whole output; alltoall:
    /// whole buffer per rank; all_reduce, reduce_scatter input; sendrecv: one message).
    pub bytes: u64,
    /// How many per step on each device.
    pub count: u64,
    pub group: Group,
    /// Whether it can hide under compute (DP buckets under backward).
    pub overlappable: bool,
}

/// The communication of one step on one device (the busiest: first pipeline stage,
/// every layer an MoE layer for MoE models).
pub fn step_ops(m: &ModelSpec, lay: &Layout) -> Vec<CommOp> {
    let d = lay.dims;
    let k = lay.devices_per_node;
    let nics = lay.nics_per_node;
    let mbs = lay.microbatches();
    let l_stage = m.layers / d.pp;
    let act = d.mb * lay.seq * m.hidden * lay.act_bytes; // one micro-batch's b·s·h
    let mut ops = Vec::new();
    // Forward passes of the layers per micro-batch: 1, or 2 with full recompute.
    let fwd_passes = if lay.recompute == Recompute::Full {
        2
    } else {
        1
    };
    if d.tp > 1 {
        let g = Group::strided(d.tp, 1, k).sharing(k, nics, d.dp * d.pp);
        // 2 in forward (after attention, after MLP), 2 in backward, per layer (Megatron).
        let count = (2 * fwd_passes + 2) * l_stage * mbs;
        if lay.sequence_parallel {
            ops.push(CommOp {
                dim: Dim::Tp,
                what: "sequence-parallel all-gather of b·s·h activations".into(),
                collective: CollKind::AllGather,
                bytes: act,
                count,
                group: g,
                overlappable: false,
            });
            ops.push(CommOp {
                dim: Dim::Tp,
                what: "sequence-parallel reduce-scatter of b·s·h activations".into(),
                collective: CollKind::ReduceScatter,
                bytes: act,
                count,
                group: g,
                overlappable: false,
            });
        } else {
            ops.push(CommOp {
                dim: Dim::Tp,
                what: "all-reduce of b·s·h activations (2 forward, 2 backward per layer)".into(),
                collective: CollKind::AllReduce,
                bytes: act,
                count,
                group: g,
                overlappable: false,
            });
        }
    }
    let sp_div = if lay.sequence_parallel { d.tp } else { 1 };
    if d.ep > 1 {
        let g = Group::strided(d.ep, d.tp, k).sharing(k, nics, d.tp * d.pp * (d.dp / d.ep));
        ops.push(CommOp {
            dim: Dim::Ep,
            what: format!(
                "MoE dispatch/combine alltoall of b·s·h·top_k ({} per layer)",
                2 * fwd_passes + 2
            ),
            collective: CollKind::Alltoall,
            bytes: act * m.top_k / sp_div,
            count: (2 * fwd_passes + 2) * l_stage * mbs,
            group: g,
            overlappable: false,
        });
    }
    if d.pp > 1 {
        let g = Group::strided(2, d.tp * d.dp, k).sharing(k, nics, d.tp * d.dp);
        ops.push(CommOp {
            dim: Dim::Pp,
            what: if d.vp > 1 {
                format!(
                    "send/recv of b·s·h activations and gradients at the {} chunk boundaries (interleaved, vp={})",
                    d.pp * d.vp - 1,
                    d.vp
                )
            } else {
                "send/recv of b·s·h activations and gradients at a stage boundary".into()
            },
            collective: CollKind::Sendrecv,
            bytes: act / sp_div,
            // The first stage's sends and receives in the schedule train-sim runs.
            count: crate::schedule::stage_messages(d.pp, d.vp, mbs, 0),
            group: g,
            overlappable: false,
        });
    }
    if d.dp > 1 {
        let g = Group::strided(d.dp, d.tp, k).sharing(k, nics, d.tp * d.pp);
        // Parameters on this device: its share of the layers of one stage + the embedding.
        let per_layer = m.layer_params() as f64;
        let expert = if m.is_moe() {
            (m.mlp_mats() * m.hidden * m.ffn * m.experts) as f64
        } else {
            0.0
        };
        let dense_layer = per_layer - expert;
        let l = l_stage as f64;
        let emb = (m.vocab * m.hidden) as f64;
        let dense = (l * dense_layer + emb) / d.tp as f64;
        let experts_local = l * expert / (d.tp * d.ep) as f64;
        let mut push_grads = |params: f64, g: Group, what: &str| {
            let total = (params * lay.grad_bytes as f64) as u64;
            if total == 0 || g.nranks < 2 {
                return;
            }
            let bucket = lay.bucket_bytes.min(total).max(1);
            let full = total / bucket;
            let rest = total % bucket;
            let coll = if lay.zero >= 1 {
                CollKind::ReduceScatter
            } else {
                CollKind::AllReduce
            };
            ops.push(CommOp {
                dim: Dim::Dp,
                what: format!("{what} gradient {} in buckets", coll.name()),
                collective: coll,
                bytes: bucket,
                count: full,
                group: g,
                overlappable: lay.overlap_dp,
            });
            if rest > 0 {
                ops.push(CommOp {
                    dim: Dim::Dp,
                    what: format!("{what} gradient {} (last partial bucket)", coll.name()),
                    collective: coll,
                    bytes: rest,
                    count: 1,
                    group: g,
                    overlappable: lay.overlap_dp,
                });
            }
            if lay.zero >= 1 {
                let pbytes = (params * lay.act_bytes as f64) as u64;
                let gathers = if lay.zero == 3 { 2 } else { 1 };
                ops.push(CommOp {
                    dim: Dim::Dp,
                    what: format!(
                        "{what} ZeRO-{} parameter all-gather{}",
                        lay.zero,
                        if lay.zero == 3 {
                            " (after the optimizer and before forward)"
                        } else {
                            " after the optimizer"
                        }
                    ),
                    collective: CollKind::AllGather,
                    bytes: pbytes,
                    count: gathers,
                    group: g,
                    overlappable: false,
                });
            }
        };
        push_grads(dense, g, "dense");
        if experts_local > 0.0 {
            let dp_ex = d.dp / d.ep;
            if dp_ex > 1 {
                push_grads(
                    experts_local,
                    Group::strided(dp_ex, d.tp * d.ep, k),
                    "expert",
                );
            }
        }
    }
    ops
}
