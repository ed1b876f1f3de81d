//! gather: the root ends with the concatenation of all ranks' inputs.
//!
//! Bus factor (n−1)/n: the root's link receives n−1 of the n blocks; algbw counts the
//! whole output (count × n).
use super::{per_rank, CollKind, Collective, Counts, Source};

pub struct Gather;

impl Collective for Gather {
    fn kind(&self) -> CollKind {
        CollKind::Gather
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
    fn has_root(&self) -> bool {
        true
    }
    fn source(&self, r: usize, _n: usize, root: usize, c: Counts, j: usize) -> Source {
        if r == root {
            Source::Copy {
                rank: j / c.count,
                index: j % c.count,
            }
        } else {
            Source::Unchecked
        }
    }
}
