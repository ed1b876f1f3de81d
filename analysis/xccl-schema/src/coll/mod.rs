//! The collective vocabulary, the one home of every collective's name, aliases, element
//! counts, algbw bytes and bus-bandwidth factor (with its derivation in the module's doc),
//! and where each output element comes from (the expected data).
//!
//! One module per collective, as in nccl-tests. The runtime's harness (warm-up, timing,
//! checking), the topology model, `xccl-bench list`, `--help` and every offline reader
//! import it from here; nothing else spells a bus factor.

mod all_gather;
mod all_reduce;
mod alltoall;
mod broadcast;
mod gather;
mod kind;
mod reduce;
mod reduce_scatter;
mod scatter;
mod sendrecv;

pub use kind::{CollKind, Collective, Counts, Source};

impl CollKind {
    /// busbw = algbw × this factor for `n` ranks (nccl-tests PERFORMANCE.md).
    pub fn bus_factor(self, n: usize) -> f64 {
        self.imp().bus_factor(n.max(1))
    }

    /// Whether the collective reduces (where in-network reduction, NVLS/SHARP, applies).
    pub fn reduces(self) -> bool {
        self.imp().has_op()
    }

    pub fn imp(self) -> &'static dyn Collective {
        match self {
            CollKind::AllReduce => &all_reduce::AllReduce,
            CollKind::AllGather => &all_gather::AllGather,
            CollKind::ReduceScatter => &reduce_scatter::ReduceScatter,
            CollKind::Broadcast => &broadcast::Broadcast,
            CollKind::Reduce => &reduce::Reduce,
            CollKind::Alltoall => &alltoall::Alltoall,
            CollKind::Sendrecv => &sendrecv::Sendrecv,
            CollKind::Gather => &gather::Gather,
            CollKind::Scatter => &scatter::Scatter,
        }
    }
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
