//! xccl-bench: collective-communication sweeps with nccl-tests-grade results over MPI,
//! NCCL and HCCL, with topology-aware verdicts.

pub mod app;
pub mod backend;
pub mod cli;
pub mod coll;
pub mod error;
pub mod harness;
pub mod judge;
pub mod output;
pub mod result;
pub mod types;
pub mod watchdog;
pub mod world;
