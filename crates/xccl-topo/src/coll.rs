//! The collectives the model knows, named as nccl-tests names them. This mirrors the
//! harness's own enum on purpose: the topology crate sits below the harness and must not
//! depend on it, so the two meet on the snake_case names (`all_reduce`, ...).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coll {
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

impl Coll {
    pub const ALL: [Coll; 9] = [
        Coll::AllReduce,
        Coll::AllGather,
        Coll::ReduceScatter,
        Coll::Broadcast,
        Coll::Reduce,
        Coll::Alltoall,
        Coll::Sendrecv,
        Coll::Gather,
        Coll::Scatter,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Coll::AllReduce => "all_reduce",
            Coll::AllGather => "all_gather",
            Coll::ReduceScatter => "reduce_scatter",
            Coll::Broadcast => "broadcast",
            Coll::Reduce => "reduce",
            Coll::Alltoall => "alltoall",
            Coll::Sendrecv => "sendrecv",
            Coll::Gather => "gather",
            Coll::Scatter => "scatter",
        }
    }

    /// busbw = algbw × this (nccl-tests PERFORMANCE.md; REFERENCE §2).
    pub fn bus_factor(self, n: usize) -> f64 {
        let n = n.max(1) as f64;
        match self {
            Coll::AllReduce => 2.0 * (n - 1.0) / n,
            Coll::AllGather
            | Coll::ReduceScatter
            | Coll::Alltoall
            | Coll::Gather
            | Coll::Scatter => (n - 1.0) / n,
            Coll::Broadcast | Coll::Reduce | Coll::Sendrecv => 1.0,
        }
    }

    /// Whether the collective reduces (where NVLS/SHARP in-network reduction applies).
    pub fn reduces(self) -> bool {
        matches!(self, Coll::AllReduce | Coll::ReduceScatter | Coll::Reduce)
    }
}

impl fmt::Display for Coll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Coll {
    type Err = String;
    /// Accepts `all_reduce`, `all-reduce`, `allreduce` (any case), and likewise.
    fn from_str(s: &str) -> Result<Self, String> {
        let norm: String = s
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        Coll::ALL
            .into_iter()
            .find(|c| c.name().replace('_', "") == norm)
            .ok_or_else(|| format!("unknown collective `{s}`"))
    }
}
