//! sendrecv: a ring, each rank sends its buffer to r+1 and receives from r−1.
//!
//! Bus factor 1: every link carries the whole buffer once, in each direction.
//! Out-of-place only: sending and receiving the same buffer at once is a race.
use super::{CollKind, Collective, Counts, Source};

pub struct Sendrecv;

impl Collective for Sendrecv {
    fn kind(&self) -> CollKind {
        CollKind::Sendrecv
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
    fn in_place(&self) -> bool {
        false
    }
    fn source(&self, r: usize, n: usize, _root: usize, _c: Counts, j: usize) -> Source {
        Source::Copy {
            rank: (r + n - 1) % n,
            index: j,
        }
    }
}
