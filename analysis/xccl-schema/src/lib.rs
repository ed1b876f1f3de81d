//! What an xccl-bench result is, for the runtime that writes it and for every offline
//! tool that reads it (judge, diagnose, predict, report, compare).
//!
//! This crate is the contract between the two halves of the project: the runtime
//! (launch, backends, harness) produces [`result::Report`]s; the analysis crates consume
//! them, possibly on another machine, years later. So it depends on nothing but serde and
//! the pure-Rust number types: no MPI, no CUDA, no vendor library.
//!
//! - [`coll`]: the collective vocabulary (names, aliases, counts, algbw bytes, bus factor).
//! - [`types`]: element types and reduction ops, as nccl-tests spells them.
//! - [`result`]: typed rows, run metadata, summary; [`result::SCHEMA_VERSION`].
//! - [`verdict`]: a row judged against the links (filled by xccl-topo).
//! - [`finding`]: what diagnosis concluded (slow rank, slow link, ...).
//! - [`rules`]: the thresholds (0.8, 0.2, ...) and the exit codes, each defined once.
//! - [`read`]: the versioned reader that refuses foreign and newer files in one line.
//! - [`import`]: nccl-tests' and hccl_test's outputs read into the same typed result.

/// `Display` as the type's `name()`: for the vocabulary's enums, which print as they are
/// spelled in files and on the command line.
macro_rules! display_as_name {
    ($($t:ty),+) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    )+};
}

pub mod coll;
pub mod finding;
pub mod health;
pub mod import;
pub mod read;
pub mod result;
pub mod rules;
pub mod types;
pub mod verdict;

pub use coll::CollKind;
pub use finding::{Finding, FindingKind};
pub use read::{kind_of, read_report, Kind, ReadError};
pub use result::{Placement, Provenance, RankTiming, Report, Row, SCHEMA_VERSION};
pub use types::{DataType, ReduceOp};
pub use verdict::{Class, LinkClass, Verdict};
