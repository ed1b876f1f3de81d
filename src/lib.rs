//! xccl-bench: collective-communication sweeps with nccl-tests-grade results over MPI,
//! NCCL and HCCL, with topology-aware verdicts.

pub mod backend;
pub mod coll;
pub mod error;
pub mod types;
pub mod world;
