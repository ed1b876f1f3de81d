//! reduce: the root ends with the reduction of all inputs.
//!
//! Bus factor 1: a pipelined reduce moves the whole buffer over every link once.
use super::{CollKind, Collective, Counts, Source};

pub struct Reduce;

impl Collective for Reduce {
    fn kind(&self) -> CollKind {
        CollKind::Reduce
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
    fn bus_factor(&self, _n: usize) -> f64 {
        1.0
    }
    fn bus_factor_formula(&self) -> &'static str {
        "1"
    }
    fn has_op(&self) -> bool {
        true
    }
    fn has_root(&self) -> bool {
        true
    }
    fn source(&self, r: usize, _n: usize, root: usize, _c: Counts, j: usize) -> Source {
        if r == root {
            Source::Reduce { index: j }
        } else {
            Source::Unchecked
        }
    }
}
