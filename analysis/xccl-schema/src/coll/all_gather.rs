//! all_gather: every rank ends with the concatenation of all ranks' inputs.
//!
//! Bus factor (n−1)/n: each rank must receive the n−1 blocks it does not own; algbw
//! counts the whole output (count × n).
use super::{per_rank, CollKind, Collective, Counts, Source};

pub struct AllGather;

impl Collective for AllGather {
    fn kind(&self) -> CollKind {
        CollKind::AllGather
    }
    fn counts(&self, bytes: usize, elem: usize, n: usize) -> Counts {
        let count = per_rank(bytes, elem, n);
        Counts {
            count,
            send: count,
            recv: count * n,
        }
    }
    fn algbw_bytes(&self, c: Counts, elem: usize, n: usize) -> f64 {
        (c.count * elem * n) as f64
    }
    fn bus_factor(&self, n: usize) -> f64 {
        (n as f64 - 1.0) / n as f64
    }
    fn bus_factor_formula(&self) -> &'static str {
        "(n-1)/n"
    }
    fn source(&self, _r: usize, _n: usize, _root: usize, c: Counts, j: usize) -> Source {
        Source::Copy {
            rank: j / c.count,
            index: j % c.count,
        }
    }
}
