//! The collective vocabulary itself: the kinds, their names and aliases, the counts a
//! call moves, where an output element comes from, and the trait each collective's
//! module implements.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollKind {
    AllReduce,
    AllGather,
    ReduceScatter,
    Broadcast,
    Reduce,
    Alltoall,
    Sendrecv,
    Gather,
    Scatter,
}

/// Element counts of one call. `count` is what the table's `count` column shows (per-rank
/// count, as nccl-tests); `send`/`recv` are the buffer lengths in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub count: usize,
    pub send: usize,
    pub recv: usize,
}

/// Where output element `j` of a rank's receive buffer comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Element `index` of rank `rank`'s input.
    Copy { rank: usize, index: usize },
    /// Reduction over all ranks of their input element `index`.
    Reduce { index: usize },
    /// Undefined on this rank (e.g. reduce/gather on a non-root): not checked.
    Unchecked,
}

pub trait Collective: Sync {
    fn kind(&self) -> CollKind;
    /// Counts for a message of `bytes` bytes (as nccl-tests: `bytes` is the per-rank size
    /// for all_reduce, the whole buffer for all_gather etc.).
    fn counts(&self, bytes: usize, elem: usize, nranks: usize) -> Counts;
    /// Bytes that algbw divides by time.
    fn algbw_bytes(&self, c: Counts, elem: usize, nranks: usize) -> f64;
    /// busbw = algbw × this factor.
    fn bus_factor(&self, nranks: usize) -> f64;
    /// The factor as a formula of n, for `list` and `--help`.
    fn bus_factor_formula(&self) -> &'static str;
    fn has_op(&self) -> bool {
        false
    }
    fn has_root(&self) -> bool {
        false
    }
    /// Whether an in-place variant is defined (send and receive share one buffer).
    fn in_place(&self) -> bool {
        true
    }
    fn source(&self, rank: usize, nranks: usize, root: usize, c: Counts, j: usize) -> Source;
}

impl CollKind {
    pub const ALL: [CollKind; 9] = [
        CollKind::AllReduce,
        CollKind::AllGather,
        CollKind::ReduceScatter,
        CollKind::Broadcast,
        CollKind::Reduce,
        CollKind::Alltoall,
        CollKind::Sendrecv,
        CollKind::Gather,
        CollKind::Scatter,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CollKind::AllReduce => "all_reduce",
            CollKind::AllGather => "all_gather",
            CollKind::ReduceScatter => "reduce_scatter",
            CollKind::Broadcast => "broadcast",
            CollKind::Reduce => "reduce",
            CollKind::Alltoall => "alltoall",
            CollKind::Sendrecv => "sendrecv",
            CollKind::Gather => "gather",
            CollKind::Scatter => "scatter",
        }
    }

    /// Other spellings the command line and readers accept (besides any case, `-` for
    /// `_`, no separator at all, and nccl-tests' `_perf` suffix).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            CollKind::AllReduce => &["all-reduce", "allreduce"],
            CollKind::AllGather => &["all-gather", "allgather"],
            CollKind::ReduceScatter => &["reduce-scatter", "reducescatter"],
            CollKind::Alltoall => &["all-to-all", "all_to_all", "a2a"],
            CollKind::Sendrecv => &["send-recv", "send_recv", "p2p"],
            CollKind::Broadcast => &["bcast"],
            CollKind::Reduce | CollKind::Gather | CollKind::Scatter => &[],
        }
    }
}

impl fmt::Display for CollKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CollKind {
    type Err = String;
    /// Accepts the name, an alias, any case, `-` for `_`, no separator, and nccl-tests'
    /// binary names (`all_reduce_perf`).
    fn from_str(s: &str) -> Result<Self, String> {
        let squash = |x: &str| -> String {
            x.to_ascii_lowercase()
                .chars()
                .filter(|c| *c != '_' && *c != '-')
                .collect()
        };
        let l = s.to_ascii_lowercase();
        let want = squash(l.strip_suffix("_perf").unwrap_or(&l));
        CollKind::ALL
            .iter()
            .copied()
            .find(|c| squash(c.name()) == want || c.aliases().iter().any(|a| squash(a) == want))
            .ok_or_else(|| {
                let names: Vec<_> = CollKind::ALL.iter().map(|c| c.name()).collect();
                format!("unknown collective '{s}' (known: {})", names.join(", "))
            })
    }
}

/// Per-rank count for collectives whose size is the whole n-rank buffer.
pub(crate) fn per_rank(bytes: usize, elem: usize, nranks: usize) -> usize {
    bytes / elem / nranks
}
