//! scatter: rank r ends with block r of the root's input.
//!
//! Bus factor (n−1)/n: the root's link sends n−1 of the n blocks; algbw counts the whole
//! input (count × n).
use super::{per_rank, CollKind, Collective, Counts, Source};

pub struct Scatter;

impl Collective for Scatter {
    fn kind(&self) -> CollKind {
        CollKind::Scatter
    }
    fn counts(&self, bytes: usize, elem: usize, n: usize) -> Counts {
        let count = per_rank(bytes, elem, n);
        Counts {
            count,
            send: count * n,
            recv: count,
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
        Source::Copy {
            rank: root,
            index: r * c.count + j,
        }
    }
}
