//! all_reduce: every rank ends with the reduction of all inputs.
//!
//! Bus factor 2(n−1)/n: a ring all-reduce is a reduce-scatter followed by an all-gather,
//! each moving (n−1)/n of the buffer over every rank's link.
use super::{CollKind, Collective, Counts, Source};

pub struct AllReduce;

impl Collective for AllReduce {
    fn kind(&self) -> CollKind {
        CollKind::AllReduce
    }
    fn counts(&self, bytes: usize, elem: usize, _n: usize) -> Counts {
        let count = bytes / elem;
        Counts {
            count,
            send: count,
            recv: count,
        }
    }
    fn algbw_bytes(&self, c: Counts, elem: usize, _n: usize) -> f64 {
        (c.count * elem) as f64
    }
    fn bus_factor(&self, n: usize) -> f64 {
        2.0 * (n as f64 - 1.0) / n as f64
    }
    fn bus_factor_formula(&self) -> &'static str {
        "2(n-1)/n"
    }
    fn has_op(&self) -> bool {
        true
    }
    fn source(&self, _r: usize, _n: usize, _root: usize, _c: Counts, j: usize) -> Source {
        Source::Reduce { index: j }
    }
}
