//! How a job is laid out over devices: the parallel dimensions (`dp=8,tp=4,pp=2`), the
//! batch, and the options that change FLOPs or communication (sequence parallel, ZeRO,
//! activation recompute, gradient dtype, DP overlap).

use crate::error::{bad, Result};
use crate::model::ModelSpec;
use serde::{Deserialize, Serialize};

/// Activation recomputation (Korthikanti et al. 2022).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recompute {
    None,
    /// Attention core only (adds 4·b·l·s²·h FLOPs).
    Selective,
    /// One extra forward of every layer.
    Full,
}

impl std::str::FromStr for Recompute {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "none" => Ok(Recompute::None),
            "selective" => Ok(Recompute::Selective),
            "full" => Ok(Recompute::Full),
            _ => Err(format!("unknown recompute '{s}' (none, selective, full)")),
        }
    }
}

/// The parallel dimensions. Ranks are numbered tp fastest, then dp, then pp (Megatron's
/// default order), so a TP group is consecutive ranks and sits inside a node when tp
/// divides the devices per node. EP groups are consecutive DP ranks (ep divides dp).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    pub dp: u64,
    pub tp: u64,
    pub pp: u64,
    pub ep: u64,
    /// Virtual pipeline chunks per stage (interleaved 1F1B); 1 = plain 1F1B.
    pub vp: u64,
    /// Micro-batch size in sequences.
    pub mb: u64,
}

impl Dims {
    pub fn devices(&self) -> u64 {
        self.dp * self.tp * self.pp
    }

    /// `dp=D,tp=T,pp=P[,ep=E,vp=V,mb=M]`; unnamed dimensions are 1.
    pub fn parse(s: &str) -> Result<Dims> {
        let mut d = Dims {
            dp: 1,
            tp: 1,
            pp: 1,
            ep: 1,
            vp: 1,
            mb: 1,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                bad(format!(
                    "--layout: '{part}' is not KEY=N (dp, tp, pp, ep, vp, mb)"
                ))
            })?;
            let n: u64 = v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(format!("--layout: {k}={v}: want a positive integer")))?;
            match k.trim() {
                "dp" => d.dp = n,
                "tp" => d.tp = n,
                "pp" => d.pp = n,
                "ep" => d.ep = n,
                "vp" => d.vp = n,
                "mb" => d.mb = n,
                other => {
                    return Err(bad(format!(
                        "--layout: unknown dimension '{other}' (dp, tp, pp, ep, vp, mb)"
                    )))
                }
            }
        }
        Ok(d)
    }
}

impl std::fmt::Display for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dp={},tp={},pp={}", self.dp, self.tp, self.pp)?;
        if self.ep > 1 {
            write!(f, ",ep={}", self.ep)?;
        }
        if self.vp > 1 {
            write!(f, ",vp={}", self.vp)?;
        }
        write!(f, ",mb={}", self.mb)
    }
}

/// A whole job: dimensions, batch and the options that change FLOPs or communication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub dims: Dims,
    /// Sequences per step, over all DP replicas.
    pub global_batch: u64,
    pub seq: u64,
    /// Megatron sequence parallelism (TP all-reduces become all-gather + reduce-scatter).
    pub sequence_parallel: bool,
    /// ZeRO stage 0-3 over the DP group.
    pub zero: u8,
    pub recompute: Recompute,
    /// Bytes per gradient element in the DP reduction (2 bf16/fp16, 4 fp32).
    pub grad_bytes: u64,
    /// Bytes per activation element on TP/PP/EP links.
    pub act_bytes: u64,
    /// DP reduction in buckets overlapped with backward (DDP / Megatron overlap_grad_reduce).
    pub overlap_dp: bool,
    /// Gradient bucket size in bytes.
    pub bucket_bytes: u64,
    /// Devices per node, for which communicator crosses nodes.
    pub devices_per_node: u64,
    /// NICs (rails) per node: inter-node groups beyond this many per node share one.
    pub nics_per_node: u64,
}

impl Layout {
    /// `dims` at `global_batch` sequences of `seq` tokens with the CLI's other defaults: no
    /// sequence parallelism, ZeRO-0, no recompute, bf16 gradients and activations, DP
    /// overlapped in 25 MiB buckets (PyTorch DDP's default), 8 devices and 8 NICs per node.
    /// Override a field with `Layout { zero: 1, ..Layout::new(..) }`.
    pub fn new(dims: Dims, global_batch: u64, seq: u64) -> Layout {
        Layout {
            dims,
            global_batch,
            seq,
            sequence_parallel: false,
            zero: 0,
            recompute: Recompute::None,
            grad_bytes: 2,
            act_bytes: 2,
            overlap_dp: true,
            bucket_bytes: 25 << 20,
            devices_per_node: 8,
            nics_per_node: 8,
        }
    }

    /// Micro-batches per step per pipeline.
    pub fn microbatches(&self) -> u64 {
        self.global_batch / (self.dims.dp * self.dims.mb)
    }

    /// Checks the layout against the model; one line per problem.
    pub fn check(&self, m: &ModelSpec) -> Result<()> {
        let d = &self.dims;
        if self.seq == 0 || self.global_batch == 0 {
            return Err(bad("--seq and --global-batch must be > 0"));
        }
        if !self.global_batch.is_multiple_of(d.dp * d.mb) {
            return Err(bad(format!(
                "--global-batch {} is not a multiple of dp × mb = {}",
                self.global_batch,
                d.dp * d.mb
            )));
        }
        if !m.layers.is_multiple_of(d.pp * d.vp) {
            return Err(bad(format!(
                "model {} has {} layers, not a multiple of pp × vp = {}",
                m.name,
                m.layers,
                d.pp * d.vp
            )));
        }
        if !m.heads.is_multiple_of(d.tp) {
            return Err(bad(format!(
                "tp={} does not divide the {} heads of {}",
                d.tp, m.heads, m.name
            )));
        }
        if d.ep > 1 {
            if !m.is_moe() {
                return Err(bad(format!(
                    "ep={} needs a MoE model; {} is dense",
                    d.ep, m.name
                )));
            }
            if !d.dp.is_multiple_of(d.ep) || !m.experts.is_multiple_of(d.ep) {
                return Err(bad(format!(
                    "ep={} must divide dp={} and the {} experts",
                    d.ep, d.dp, m.experts
                )));
            }
        }
        if d.vp > 1 && d.pp == 1 {
            return Err(bad("vp > 1 needs pp > 1 (interleaved pipeline)"));
        }
        if d.vp > 1 && !self.microbatches().is_multiple_of(d.pp) {
            return Err(bad(format!(
                "interleaved pipeline: {} micro-batches is not a multiple of pp={}",
                self.microbatches(),
                d.pp
            )));
        }
        if self.zero > 3 {
            return Err(bad(format!("--zero {}: stages are 0-3", self.zero)));
        }
        if self.devices_per_node == 0 {
            return Err(bad("devices per node must be > 0"));
        }
        Ok(())
    }
}
