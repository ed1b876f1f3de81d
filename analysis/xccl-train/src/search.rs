//! `predict --search`: the layouts of a model on N devices that fit in memory, ranked
//! by predicted throughput.
//!
//! Why enumerate rather than optimise: the space is small once the rules people follow
//! are applied (tp a divisor of the heads and of the devices per node, so TP stays on
//! the node's fabric; pp a divisor of the layers; dp what is left; ep a divisor of dp and
//! of the experts), and every point is one [`crate::predict::predict`] on the same
//! communication source, so the ranking uses the whole step model rather than a proxy.
//! Memory ([`crate::memory`]) is checked first, so layouts that do not fit are never
//! timed. Sequence parallelism is on whenever tp > 1 (it only removes memory and turns
//! each all-reduce into an all-gather and a reduce-scatter of the same bus bytes);
//! plain 1F1B (vp = 1).

use crate::comm::Group;
use crate::error::{bad, Result};
use crate::layout::{Dims, Recompute};
use crate::memory::{memory, Memory};
use crate::predict::{predict, Job};
use crate::timer::{CommTimer, Timed};
use serde::{Deserialize, Serialize};
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use xccl_schema::CollKind;

/// The search's timer: the same answers as the one it wraps, each asked once. Layouts
/// share most of their messages (the recompute and ZeRO variants of one dp/tp/pp, the
/// same groups at another micro-batch), and the topology model's answer for a large
/// group is the expensive part of a prediction.
struct Memo<'a> {
    inner: &'a dyn CommTimer,
    seen: RefCell<HashMap<(CollKind, u64, Group), Timed>>,
    nic: OnceCell<Option<f64>>,
}

impl CommTimer for Memo<'_> {
    fn time(&self, coll: CollKind, bytes: u64, g: &Group) -> Timed {
        if let Some(t) = self.seen.borrow().get(&(coll, bytes, *g)) {
            return t.clone();
        }
        let t = self.inner.time(coll, bytes, g);
        self.seen.borrow_mut().insert((coll, bytes, *g), t.clone());
        t
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn nic_bytes_per_s(&self) -> Option<f64> {
        *self.nic.get_or_init(|| self.inner.nic_bytes_per_s())
    }
}

/// What `--search` varies, besides dp/tp/pp/ep.
#[derive(Clone, Debug)]
pub struct Space {
    pub devices: u64,
    /// Micro-batch sizes tried (each must divide the per-replica batch).
    pub micro_batches: Vec<u64>,
    pub recompute: Vec<Recompute>,
    pub zero: Vec<u8>,
}

impl Space {
    pub fn new(devices: u64) -> Space {
        Space {
            devices,
            micro_batches: vec![1, 2, 4, 8],
            recompute: vec![Recompute::None, Recompute::Selective, Recompute::Full],
            zero: vec![0, 1, 2, 3],
        }
    }
}

/// One layout that fits, with its prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub layout: String,
    pub recompute: Recompute,
    pub zero: u8,
    pub sequence_parallel: bool,
    pub step_time_s: f64,
    pub mfu: f64,
    pub tokens_per_s: f64,
    pub memory: Memory,
}

/// The answer: how many layouts were tried, how many fit, the best first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub devices: u64,
    pub tried: usize,
    pub fit: usize,
    pub ranked: Vec<Candidate>,
}

fn divisors(n: u64) -> Vec<u64> {
    (1..=n).filter(|k| n.is_multiple_of(*k)).collect()
}

/// Every layout of `job`'s model, batch and options on `space.devices` devices that
/// fits, ranked by predicted tokens/s (the job's own dims, recompute and ZeRO are
/// replaced). An error if no layout is possible or none fits.
pub fn search(job: &Job, space: &Space, timer: &dyn CommTimer) -> Result<SearchResult> {
    let timer = Memo {
        inner: timer,
        seen: RefCell::new(HashMap::new()),
        nic: OnceCell::new(),
    };
    let m = &job.model;
    let n = space.devices;
    if n == 0 {
        return Err(bad("--devices must be > 0"));
    }
    let k = job.layout.devices_per_node;
    let gb = job.layout.global_batch;
    let mut tried = 0usize;
    let mut smallest: Option<(f64, String)> = None;
    let mut ranked = Vec::new();
    let tps: Vec<u64> = divisors(m.heads)
        .into_iter()
        .filter(|t| m.kv_heads().is_multiple_of(*t) || t.is_multiple_of(m.kv_heads()))
        .filter(|t| k.is_multiple_of(*t) && n.is_multiple_of(*t))
        .collect();
    for &tp in &tps {
        for pp in divisors(m.layers)
            .into_iter()
            .filter(|p| n.is_multiple_of(tp * p))
        {
            let dp = n / (tp * pp);
            let eps: Vec<u64> = if m.is_moe() {
                divisors(dp)
                    .into_iter()
                    .filter(|e| m.experts.is_multiple_of(*e))
                    .collect()
            } else {
                vec![1]
            };
            for &ep in &eps {
                for &mb in &space.micro_batches {
                    if !gb.is_multiple_of(dp * mb) {
                        continue;
                    }
                    for &rc in &space.recompute {
                        for &zero in &space.zero {
                            let mut j = job.clone();
                            j.layout.dims = Dims {
                                dp,
                                tp,
                                pp,
                                ep,
                                vp: 1,
                                mb,
                            };
                            j.layout.recompute = rc;
                            j.layout.zero = zero;
                            j.layout.sequence_parallel = tp > 1;
                            if j.layout.check(m).is_err() {
                                continue;
                            }
                            tried += 1;
                            let mem = memory(m, &j.layout, &j.device);
                            if !mem.fits {
                                if smallest.as_ref().is_none_or(|(b, _)| mem.total_bytes < *b) {
                                    smallest = Some((mem.total_bytes, describe(&j)));
                                }
                                continue;
                            }
                            let p = predict(&j, &timer)?;
                            ranked.push(Candidate {
                                layout: j.layout.dims.to_string(),
                                recompute: rc,
                                zero,
                                sequence_parallel: j.layout.sequence_parallel,
                                step_time_s: p.step_time_s,
                                mfu: p.mfu,
                                tokens_per_s: p.tokens_per_s,
                                memory: mem,
                            });
                        }
                    }
                }
            }
        }
    }
    if tried == 0 {
        return Err(bad(format!(
            "--search: no layout of {} on {n} devices ({k} per node) divides its heads, layers and global batch {gb}",
            m.name
        )));
    }
    if ranked.is_empty() {
        let (b, what) = smallest.expect("tried > 0");
        return Err(bad(format!(
            "--search: none of {tried} layouts of {} on {n} × {} fits in {} GiB (the smallest, {what}, needs {:.1} GiB)",
            m.name,
            job.device.name,
            job.device.memory_gib,
            Memory::gib(b)
        )));
    }
    ranked.sort_by(|a, b| {
        b.tokens_per_s
            .total_cmp(&a.tokens_per_s)
            .then(a.memory.total_bytes.total_cmp(&b.memory.total_bytes))
    });
    Ok(SearchResult {
        devices: n,
        tried,
        fit: ranked.len(),
        ranked,
    })
}

fn describe(j: &Job) -> String {
    format!(
        "{} recompute {:?} ZeRO-{}",
        j.layout.dims, j.layout.recompute, j.layout.zero
    )
}
