//! alltoall: block b of rank r's input goes to rank b, landing as block r.
//!
//! Bus factor (n−1)/n: each rank sends all but its own block; algbw counts the whole
//! buffer (count × n). Out-of-place only: an in-place exchange is not defined by NCCL.
use super::{per_rank, CollKind, Collective, Counts, Source};

pub struct Alltoall;

impl Collective for Alltoall {
    fn kind(&self) -> CollKind {
        CollKind::Alltoall
    }
    fn counts(&self, bytes: usize, elem: usize, n: usize) -> Counts {
        let count = per_rank(bytes, elem, n);
        Counts {
            count,
            send: count * n,
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
    fn in_place(&self) -> bool {
        false
    }
    fn source(&self, r: usize, _n: usize, _root: usize, c: Counts, j: usize) -> Source {
        Source::Copy {
            rank: j / c.count,
            index: r * c.count + j % c.count,
        }
    }
}
