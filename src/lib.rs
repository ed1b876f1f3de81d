//! xccl-bench: collective-communication sweeps with nccl-tests-grade results over MPI,
//! NCCL and HCCL, with topology-aware verdicts.
//!
//! This crate is the runtime. Its layers, top to bottom (a module uses only those below
//! it; `tests/architecture.rs` checks this):
//!
//! - [`cmd`]: one room per subcommand (its arguments, its `run`, whether it needs an MPI
//!   job), the one `Cmd` enum and the one dispatch.
//! - [`output`]: the exporters (table, JSON, CSV, Markdown, hccl_test, metrics, progress) and the
//!   sinks that judge rows on their way there (verdicts, slow ranks).
//! - [`probe`]: the MPI point-to-point probes shared by `links`, its screen and
//!   `topo validate`.
//! - [`harness`]: warm-up, timing and checking of a planned sweep.
//! - [`compute`]: the layer's matrix products on the CPU or the rank's GPU (`train-sim`'s
//!   compute, `calibrate`'s measurement).
//! - [`backend`]: one collective on MPI, NCCL or HCCL, and the test data it moves.
//! - [`world`], [`clock`], [`watchdog`], [`error`]: ranks and nodes, aligned clocks, the
//!   hang watchdog, errors.
//!
//! What a result *is* (the collective vocabulary, element types, typed rows, thresholds,
//! exit codes) comes from `xccl-schema`, re-exported here as [`coll`], [`types`],
//! [`result`] and [`rules`]; what results *mean* (topology model, diagnosis, prediction,
//! reports) lives in the analysis crates under `analysis/`.

pub use xccl_schema::{coll, result, rules, types};

pub mod backend;
pub mod clock;
pub mod cmd;
pub mod compute;
pub mod error;
pub mod harness;
pub mod output;
#[cfg(feature = "mpi")]
pub mod probe;
pub mod watchdog;
pub mod world;
