//! The collective vocabulary, the one home of every collective's name, aliases, element
//! counts, algbw bytes and bus-bandwidth factor (with its derivation in the module's doc),
//! and where each output element comes from (the expected data).
//!
//! One module per collective, as in nccl-tests. The runtime's harness (warm-up, timing,
//! checking), the topology model, `xccl-bench list`, `--help` and every offline reader
//! import it from here; nothing else spells a bus factor.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

mod all_gather;
mod all_reduce;
mod alltoall;
mod broadcast;
mod dispatch;
mod gather;
mod reduce;
mod reduce_scatter;
mod scatter;
mod sendrecv;

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

display_as_name!(CollKind);

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers from nccl-tests' doc/PERFORMANCE.md (docs/SOURCES.md
    /// [nccl-tests-perf]), computed by hand independent of the modules.
    #[test]
    fn bus_factors_and_algbw_bytes_n1_to_8() {
        for n in 1..=8usize {
            let nf = n as f64;
            let ring = (nf - 1.0) / nf;
            let expect = [
                (CollKind::AllReduce, 2.0 * ring),
                (CollKind::AllGather, ring),
                (CollKind::ReduceScatter, ring),
                (CollKind::Alltoall, ring),
                (CollKind::Gather, ring),
                (CollKind::Scatter, ring),
                (CollKind::Broadcast, 1.0),
                (CollKind::Reduce, 1.0),
                (CollKind::Sendrecv, 1.0),
            ];
            for (k, f) in expect {
                assert!((k.imp().bus_factor(n) - f).abs() < 1e-12, "{k} n={n}");
            }
            // 8 MiB of float: per-rank counts and algbw bytes.
            let bytes = 8 << 20;
            let e = 4;
            for k in CollKind::ALL {
                let c = k.imp().counts(bytes, e, n);
                let whole = matches!(
                    k,
                    CollKind::AllGather
                        | CollKind::ReduceScatter
                        | CollKind::Alltoall
                        | CollKind::Gather
                        | CollKind::Scatter
                );
                let count = if whole { bytes / e / n } else { bytes / e };
                assert_eq!(c.count, count, "{k} n={n}");
                let s = if whole { count * e * n } else { count * e };
                assert_eq!(k.imp().algbw_bytes(c, e, n), s as f64, "{k} n={n}");
            }
        }
    }

    #[test]
    fn buffer_lengths() {
        let n = 4;
        let c = |k: CollKind| k.imp().counts(4096, 4, n);
        assert_eq!(
            c(CollKind::AllReduce),
            Counts {
                count: 1024,
                send: 1024,
                recv: 1024
            }
        );
        assert_eq!(
            c(CollKind::AllGather),
            Counts {
                count: 256,
                send: 256,
                recv: 1024
            }
        );
        assert_eq!(
            c(CollKind::ReduceScatter),
            Counts {
                count: 256,
                send: 1024,
                recv: 256
            }
        );
        assert_eq!(
            c(CollKind::Alltoall),
            Counts {
                count: 256,
                send: 1024,
                recv: 1024
            }
        );
        assert_eq!(
            c(CollKind::Gather),
            Counts {
                count: 256,
                send: 256,
                recv: 1024
            }
        );
        assert_eq!(
            c(CollKind::Scatter),
            Counts {
                count: 256,
                send: 1024,
                recv: 256
            }
        );
    }

    #[test]
    fn sources_follow_semantics() {
        let n = 3;
        let c = CollKind::Alltoall.imp().counts(3 * 2 * 4, 4, n);
        // rank 1, output block from rank 2 = rank 2's input block 1
        assert_eq!(
            CollKind::Alltoall.imp().source(1, n, 0, c, 2 * 2 + 1),
            Source::Copy {
                rank: 2,
                index: 2 + 1
            }
        );
        let c = CollKind::Sendrecv.imp().counts(16, 4, n);
        assert_eq!(
            CollKind::Sendrecv.imp().source(0, n, 0, c, 3),
            Source::Copy { rank: 2, index: 3 }
        );
        let c = CollKind::Reduce.imp().counts(16, 4, n);
        assert_eq!(
            CollKind::Reduce.imp().source(1, n, 2, c, 0),
            Source::Unchecked
        );
        assert_eq!(
            CollKind::Reduce.imp().source(2, n, 2, c, 0),
            Source::Reduce { index: 0 }
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "all_reduce_perf".parse::<CollKind>().unwrap(),
            CollKind::AllReduce
        );
        assert_eq!(
            "allgather".parse::<CollKind>().unwrap(),
            CollKind::AllGather
        );
        assert!("allreduc".parse::<CollKind>().is_err());
        assert_eq!(
            "All-To-All".parse::<CollKind>().unwrap(),
            CollKind::Alltoall
        );
        for k in CollKind::ALL {
            assert_eq!(k.name().parse::<CollKind>().unwrap(), k);
            for a in k.aliases() {
                assert_eq!(a.parse::<CollKind>().unwrap(), k, "{a}");
            }
        }
    }
}
