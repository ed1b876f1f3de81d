//! broadcast: every rank ends with the root's buffer.
//!
//! Bus factor 1: a pipelined broadcast moves the whole buffer over every link once.
use super::{CollKind, Collective, Counts, Source};

pub struct Broadcast;

impl Collective for Broadcast {
    fn kind(&self) -> CollKind {
        CollKind::Broadcast
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
    fn has_root(&self) -> bool {
        true
    }
    fn source(&self, _r: usize, _n: usize, root: usize, _c: Counts, j: usize) -> Source {
        Source::Copy {
            rank: root,
            index: j,
        }
    }
}
