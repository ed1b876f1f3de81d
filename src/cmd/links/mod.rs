//! `xccl-bench links`: the pairwise link matrix, and its O(log N) screen.
//!
//! A collective's busbw says that something is slow, not what. This command measures
//! every link alone, all disjoint pairs of a round at once (the circle method of
//! `xccl_diag::schedule`: N−1 rounds for even N instead of N(N−1)/2 one after the other):
//! between nodes, one rank per node (each node's local rank 0); within nodes, every device
//! pair, all nodes in parallel. Each pair measures latency (8-byte ping-pong), one
//! direction, then both directions at once; a world barrier starts every phase so that the
//! pairs of a round really overlap. After the rounds, every suspect's lowest links are
//! measured again alone, one after the other, three times each (median): a finding is
//! reported only when that confirms it (a loaded host once made one pair of a healthy
//! cluster look slow in its round). The decision (expected rates, attribution to a slow
//! node, uplink or link, confirmation) is `xccl_diag::links`, which knows nothing of MPI.
//!
//! With a topology of several NICs per node (rails, `[[nic]]`) or `--backend nccl|hccl`,
//! `links` runs per device instead ([`rails`]): one rank per device, every rail's pairs,
//! cross-rail samples and intra-node pairs, each through the chosen library; with
//! `--screen`, the per-device screen ([`rail_screen`]) first and that test on its suspects.

mod args;
mod pairwise;
mod rail_out;
mod rail_screen;
mod rails;
mod screen;

pub use args::LinksArgs;

use crate::error::Result;
use crate::world::World;

/// `links`: the screen with `--screen`, else every pair.
#[cfg(feature = "mpi")]
pub fn run(world: &dyn World, a: &LinksArgs) -> Result<i32> {
    if crate::world::agree(world, rails::wanted(a))? {
        return if a.screen {
            rail_screen::run(world, a)
        } else {
            rails::run(world, a)
        };
    }
    if a.screen {
        screen::run(world, a)
    } else {
        pairwise::run(world, a)
    }
}

#[cfg(not(feature = "mpi"))]
pub fn run(_world: &dyn World, _a: &LinksArgs) -> Result<i32> {
    Err(crate::error::BenchError::Unsupported(
        "links: this binary was built without MPI (--no-default-features)".into(),
    ))
}
