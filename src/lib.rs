//! xccl-bench: collective-communication sweeps with nccl-tests-grade results over MPI,
//! NCCL and HCCL, with topology-aware verdicts.
//!
//! This crate is the runtime: launch ([`world`]), backends ([`backend`]), the harness
//! ([`harness`]), exporters ([`output`]) and the command line. What a result *is* (the
//! collective vocabulary, element types, typed rows) comes from `xccl-schema`, re-exported
//! here as [`coll`], [`types`] and [`result`]; what results *mean* (topology model,
//! diagnosis, prediction, reports) lives in the analysis crates under `analysis/`.

pub use xccl_schema::{coll, result, types};

pub mod app;
pub mod backend;
pub mod cli;
pub mod clock;
pub mod diag;
pub mod error;
pub mod harness;
pub mod judge;
pub mod links;
pub mod offline;
pub mod output;
pub mod predict_cmd;
pub mod reports;
pub mod screen;
pub mod split;
#[cfg(feature = "mpi")]
pub mod train_comm;
#[cfg(feature = "mpi")]
pub mod train_sim;
pub mod validate;
pub mod watchdog;
pub mod world;
