//! Topologies, the bandwidth model and the 0.8× verdict of xccl-bench.
//!
//! A busbw number alone does not say whether a cluster is healthy. This crate answers
//! "what should the links give here, and does the measurement reach 0.8 of it?", split
//! into intra-node (SDMA) and inter-node (RDMA) traffic as Ascend's tuning guidance does
//! (docs/SOURCES.md [ascend-tuning]):
//!
//! 1. [`Topology`] — a versioned TOML description ([`Topology::load`], format in
//!    `docs/TOPOLOGY.md`, presets in `topologies/`), or one detected from the running job
//!    ([`Topology::detect`]); [`Topology::validate`] checks a file against the job and gives
//!    the rank → node [`Placement`].
//! 2. [`model::expected`] — bytes per link class, the busbw ceiling set by the bottleneck
//!    link (ring, hierarchical, switch uplinks with oversubscription) and an α–β time.
//! 3. [`verdict::judge`] — bandwidth-bound / low efficiency / latency-bound / above model,
//!    with the bottleneck class; [`verdict::Verdict::cell`] for the table.
//! 4. [`health::shortfalls`] — rows failing `--min-efficiency`.
//! 5. [`emu::plan`] — link rates for the emulated cluster (`scripts/emu-cluster.sh`), from
//!    the same file the verdict uses.
//!
//! The crate knows nothing of MPI or devices: the harness passes facts in (hostnames per
//! rank, devices per node, the fabric its backend uses) and result numbers, and gets plain
//! data back. That keeps it testable without a cluster.

pub mod detect;
pub mod emu;
pub mod error;
pub mod health;
pub mod host_nics;
pub mod model;
pub mod nics;
pub mod slurm;
mod spec;
pub mod topology;
pub mod verdict;
pub mod wiring;

pub use error::{Location, TopoError};
pub use model::{Expectation, LinkClass};
pub use spec::{FORMAT_VERSION, OLDEST_FORMAT_VERSION};
pub use topology::{
    CheckReport, DeviceNic, Emulation, Fabric, FabricKind, JobFacts, Nics, Placement, RailGroup,
    Route, RouteKind, RouteLink, Switch, Topology, Transport,
};
pub use verdict::{Class, JudgeOptions, Verdict};
pub use xccl_schema::CollKind;
