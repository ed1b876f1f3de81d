//! The communication of one step, per parallel dimension (docs/SOURCES.md [shoeybi2019],
//! [korthikanti2022], [narayanan2021], [rajbhandari2020-zero], [lepikhin2020-gshard]):
//! which collective, what size (in the size column's convention of the sweeps, so a
//! measured row answers it directly), how many per step, and on which communicator (ranks,
//! nodes).

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
    /// ZeRO-3: issued layer by layer around the layer's compute (parameter gathers
    /// before each forward and backward, gradient reduce-scatters after each backward);
    /// timed by [`prefetch_exposed`] and [`reduce_tail`], not as buckets.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_layer: bool,
}

/// ZeRO-3's unit of gathering: one layer's parameters on this device (the first layer of
/// the first chunk also holds the embedding, as FSDP's root unit does), as elements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Zero3Unit {
    /// Parameters on the whole DP group.
    pub dense: u64,
    /// Expert parameters on the expert DP group (MoE with ep > 1), else 0.
    pub expert: u64,
}

/// The ZeRO-3 units of this device (first pipeline stage), per model chunk in layer
/// order: `layers / (pp·vp)` per chunk.
pub fn zero3_units(m: &ModelSpec, lay: &Layout) -> Vec<Vec<Zero3Unit>> {
    let d = lay.dims;
    let vp = d.vp.max(1);
    let per_chunk = m.layers / (d.pp * vp);
    let expert = if m.is_moe() {
        m.mlp_mats() * m.hidden * m.ffn * m.experts
    } else {
        0
    };
    let dense_layer = m.layer_params() - expert;
    let dp_ex = d.dp / d.ep;
    // Expert parameters go to their own DP group; without one (dp = ep) they stay put.
    let (dense_l, expert_l) = if dp_ex > 1 || d.ep == 1 {
        if d.ep > 1 {
            (dense_layer / d.tp, expert / (d.tp * d.ep))
        } else {
            ((dense_layer + expert) / d.tp, 0)
        }
    } else {
        (dense_layer / d.tp, 0)
    };
    (0..vp)
        .map(|c| {
            (0..per_chunk)
                .map(|i| Zero3Unit {
                    dense: dense_l
                        + if c == 0 && i == 0 {
                            m.first_stage_embedding(d.pp) / d.tp
                        } else {
                            0
                        },
                    expert: expert_l,
                })
                .collect()
        })
        .collect()
}

/// Parameter gathers per micro-batch and unit: one before its forward, one before its
/// backward, and one more before the recomputation forward with full recompute (the
/// whole chunk is recomputed before its backward, so the parameters were freed).
pub fn zero3_gathers_per_microbatch(lay: &Layout) -> u64 {
    if lay.recompute == Recompute::Full {
        3
    } else {
        2
    }
}

/// Exposed seconds of one pass over layers whose parameters are gathered with one-deep
/// prefetch: the first gather before anything (exposed whole), gather i issued when
/// layer i − 1 starts its compute, so only what it takes beyond that layer's compute
/// shows: g₀ + Σᵢ≥₁ max(0, gᵢ − cᵢ₋₁). `gathers` and `compute` in pass order.
pub fn prefetch_exposed(gathers: &[f64], compute: &[f64]) -> f64 {
    let Some(first) = gathers.first() else {
        return 0.0;
    };
    first
        + gathers
            .iter()
            .skip(1)
            .zip(compute)
            .map(|(g, c)| (g - c).max(0.0))
            .sum::<f64>()
}

/// Seconds past the end of a backward pass until the last of its gradient
/// reduce-scatters is done: each issued when its layer's backward ends, one after the
/// other on the link. `rs` and `compute` in pass order.
pub fn reduce_tail(rs: &[f64], compute: &[f64]) -> f64 {
    let (mut now, mut done) = (0.0f64, 0.0f64);
    for (r, c) in rs.iter().zip(compute) {
        now += c;
        done = done.max(now) + r;
    }
    (done - now).max(0.0)
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
                per_layer: false,
            });
            ops.push(CommOp {
                dim: Dim::Tp,
                what: "sequence-parallel reduce-scatter of b·s·h activations".into(),
                collective: CollKind::ReduceScatter,
                bytes: act,
                count,
                group: g,
                overlappable: false,
                per_layer: false,
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
                per_layer: false,
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
            per_layer: false,
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
            per_layer: false,
        });
    }
    if d.dp > 1 {
        let g = Group::strided(d.dp, d.tp, k).sharing(k, nics, d.tp * d.pp);
        if lay.zero == 3 {
            zero3_ops(m, lay, g, &mut ops);
            return ops;
        }
        // Parameters on this device: its share of the layers of one stage + the embedding.
        let per_layer = m.layer_params() as f64;
        let expert = if m.is_moe() {
            (m.mlp_mats() * m.hidden * m.ffn * m.experts) as f64
        } else {
            0.0
        };
        let dense_layer = per_layer - expert;
        let l = l_stage as f64;
        let emb = m.first_stage_embedding(d.pp) as f64;
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
                per_layer: false,
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
                    per_layer: false,
                });
            }
            if lay.zero >= 1 {
                let pbytes = (params * lay.act_bytes as f64) as u64;
                ops.push(CommOp {
                    dim: Dim::Dp,
                    what: format!(
                        "{what} ZeRO-{} parameter all-gather after the optimizer",
                        lay.zero
                    ),
                    collective: CollKind::AllGather,
                    bytes: pbytes,
                    count: 1,
                    group: g,
                    overlappable: false,
                    per_layer: false,
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

/// ZeRO-3's per-layer messages (DeepSpeed stage 3, FSDP FULL_SHARD): each unit's
/// parameters all-gathered before every forward and backward of every micro-batch (and
/// before the recomputation with full recompute), its gradients reduce-scattered once
/// per step, after its backward in the step's last micro-batch (gradients accumulate
/// unsharded until then, as FSDP's `no_sync`). Same sizes are merged into one op.
fn zero3_ops(m: &ModelSpec, lay: &Layout, g: Group, ops: &mut Vec<CommOp>) {
    let d = lay.dims;
    let k = lay.devices_per_node;
    let eg = Group::strided(d.dp / d.ep, d.tp * d.ep, k);
    let gathers = zero3_gathers_per_microbatch(lay) * lay.microbatches();
    let mut add = |coll: CollKind, bytes: u64, count: u64, expert: bool| {
        if bytes == 0 || count == 0 {
            return;
        }
        let group = if expert { eg } else { g };
        if group.nranks < 2 {
            return;
        }
        if let Some(o) = ops
            .iter_mut()
            .find(|o| o.per_layer && o.collective == coll && o.bytes == bytes && o.group == group)
        {
            o.count += count;
            return;
        }
        let what = if coll == CollKind::AllGather {
            "ZeRO-3 per-layer parameter all-gather (before each forward and backward)"
        } else {
            "ZeRO-3 per-layer gradient reduce-scatter (after its last backward)"
        };
        ops.push(CommOp {
            dim: Dim::Dp,
            what: format!("{}{what}", if expert { "expert " } else { "" }),
            collective: coll,
            bytes,
            count,
            group,
            overlappable: false,
            per_layer: true,
        });
    };
    for u in zero3_units(m, lay).iter().flatten() {
        add(CollKind::AllGather, u.dense * lay.act_bytes, gathers, false);
        add(CollKind::ReduceScatter, u.dense * lay.grad_bytes, 1, false);
        add(CollKind::AllGather, u.expert * lay.act_bytes, gathers, true);
        add(CollKind::ReduceScatter, u.expert * lay.grad_bytes, 1, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Dims, Layout, Recompute};
    use crate::model::ModelSpec;

    fn tiny() -> ModelSpec {
        // tests/train-sim/tiny.toml: 4 layers of 4·256² + 2·256·1024 = 786432
        // parameters, vocabulary 1000 × 256 = 256000 embedding parameters.
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/train-sim/tiny.toml"
        );
        ModelSpec::from_toml(&std::fs::read_to_string(p).unwrap(), "tiny").unwrap()
    }

    fn layout(dims: &str, batch: u64, recompute: Recompute) -> Layout {
        Layout {
            dims: Dims::parse(dims).unwrap(),
            global_batch: batch,
            seq: 64,
            sequence_parallel: false,
            zero: 3,
            recompute,
            grad_bytes: 4,
            act_bytes: 2,
            overlap_dp: true,
            bucket_bytes: 1 << 20,
            devices_per_node: 8,
            nics_per_node: 8,
        }
    }

    #[test]
    fn prefetch_hides_a_gather_behind_the_previous_layer() {
        // Gathers 3, 1, 5 ms behind layers of 2 ms: the first shows whole (3), the second
        // hides under layer 0 (1 < 2), the third shows 5 − 2 = 3: 6 ms.
        let e = prefetch_exposed(&[3.0, 1.0, 5.0], &[2.0, 2.0, 2.0]);
        assert!((e - 6.0).abs() < 1e-12, "{e}");
        assert_eq!(prefetch_exposed(&[], &[]), 0.0);
    }

    #[test]
    fn reduce_scatters_run_past_the_pass_by_their_backlog() {
        // Layers of 2 ms end at 2, 4, 6; reduce-scatters of 3 ms each start at 2, 5 (after
        // the first), 8: done at 11, 5 ms past the pass's end at 6.
        let t = reduce_tail(&[3.0, 3.0, 3.0], &[2.0, 2.0, 2.0]);
        assert!((t - 5.0).abs() < 1e-12, "{t}");
        // Shorter than the layers: only the last one's 1 ms shows.
        assert!((reduce_tail(&[1.0, 1.0], &[2.0, 2.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn zero3_gathers_every_layer_per_microbatch_and_pass() {
        // dp=4, 8 sequences: 2 micro-batches. Layer 0 + embedding: (786432 + 256000) × 2 B
        // = 2084864 B gathered 2 × 2 = 4 times, reduce-scattered once in fp32
        // (× 4 B = 4169728 B); layers 1-3: 1572864 B gathered 3 × 4 = 12 times, their
        // gradients 3145728 B reduce-scattered 3 times. Total gathered per step:
        // 4·2084864 + 12·1572864 = 27213824 B = 2 × 2 micro-batches × all 3401728 params × 2 B.
        let ops = step_ops(&tiny(), &layout("dp=4", 8, Recompute::None));
        let got: Vec<(CollKind, u64, u64)> = ops
            .iter()
            .map(|o| {
                assert!(o.per_layer && o.dim == Dim::Dp && o.group.nranks == 4);
                (o.collective, o.bytes, o.count)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (CollKind::AllGather, 2084864, 4),
                (CollKind::ReduceScatter, 4169728, 1),
                (CollKind::AllGather, 1572864, 12),
                (CollKind::ReduceScatter, 3145728, 3),
            ]
        );
        // Full recompute gathers once more per micro-batch: 3 × 2 = 6 and 3 × 6 = 18.
        let ops = step_ops(&tiny(), &layout("dp=4", 8, Recompute::Full));
        let gathers: Vec<u64> = ops
            .iter()
            .filter(|o| o.collective == CollKind::AllGather)
            .map(|o| o.count)
            .collect();
        assert_eq!(gathers, vec![6, 18]);
        // dp=2, pp=2, vp=2: rank 0 holds chunks of one layer each (layers 0 and 2); the
        // embedding rides with chunk 0. 8 / 2 = 4 micro-batches: 8 gathers each.
        let units = zero3_units(&tiny(), &layout("dp=2,pp=2,vp=2", 8, Recompute::None));
        assert_eq!(units.len(), 2);
        assert_eq!(units[0][0].dense, 1042432);
        assert_eq!(units[1][0].dense, 786432);
    }
}
