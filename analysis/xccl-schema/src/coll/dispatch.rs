//! Each kind's implementation: [`CollKind::imp`] picks the module of the collective, and
//! what is asked of a kind that its module answers goes through it. Kept apart from the
//! vocabulary in `coll` that every collective's module implements, so that those modules
//! and this one depend on the vocabulary, never the other way round.

use super::{
    all_gather, all_reduce, alltoall, broadcast, gather, reduce, reduce_scatter, scatter, sendrecv,
    CollKind, Collective,
};

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
