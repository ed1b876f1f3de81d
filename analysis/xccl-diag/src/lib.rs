//! Diagnosis: which rank, node, link, uplink or switch placement is at fault.
//!
//! A verdict such as `LOW 0.46 RDMA` says that a row falls short, not why. This crate turns
//! measurements into [`xccl_schema::Finding`]s an engineer acts on, with the evidence. It
//! is pure (no MPI, no clock, no I/O): the runtime measures, this crate decides, so every
//! rule is tested on synthetic data here, including clusters the CI cannot emulate.
//!
//! - [`schedule`]: rounds of disjoint pairs (circle method, N−1 rounds for even N) and the
//!   O(log N) bisection screen.
//! - [`rail_plan`]: rail clusters (N nodes × R rails): same-rail rounds of every rail at
//!   once, cross-rail samples, intra-node rounds; the compact record of what they measure.
//! - [`rail_screen`]: the O(log N) screen per device on rail clusters: rail, cross-rail
//!   and intra-node rings, halved where short, then the per-device test of the suspects.
//! - [`stats`]: Dixon's Q (msprof-analyze's 99.5 % table and variants), MAD and 3σ.
//! - [`ranks`]: per-iteration entry/exit times on an aligned clock → wait, sync, transit,
//!   the two-step 0.2 rule and a vote per operation → `slow_rank`.
//! - [`links`]: the pairwise link matrix, expected rates (topology with the sharing of
//!   each round, or the class median) → `slow_node`, `slow_uplink`, `slow_link`.
//! - [`rails`]: per-NIC links of a rail cluster against its leaves and spine → the part to
//!   replace: `slow_nic`, `slow_node`, `slow_device_link`, `miswired_nic`, `slow_uplink`,
//!   `slow_link`.
//! - [`split`]: a collective run whole, per node (SDMA) and across nodes (RDMA) →
//!   `algorithm`, `small_messages`, or the limiting link class.
//! - [`leaf`]: leaf-switch groups inferred from the link matrix, compared with the file →
//!   `misplaced_node`.
//! - [`uplink`]: each declared uplink loaded with several flows at once against the
//!   topology's flow model → `slow_uplink` (`topo validate`).
//!
//! Thresholds and their sources: docs/DIAGNOSIS.md.

pub mod leaf;
pub mod links;
pub mod rail_doc;
pub mod rail_plan;
pub mod rail_screen;
pub mod rail_time;
pub mod rail_topo;
pub mod rails;
pub mod ranks;
pub mod schedule;
pub mod split;
pub mod stats;
pub mod uplink;

pub use xccl_schema::finding::{Finding, FindingKind, Subject};
use xccl_schema::rules::ExitCode;

/// Exit status of a diagnosing command: [`ExitCode::Ok`] without a finding,
/// [`ExitCode::Findings`] with one.
pub fn exit_code(findings: &[Finding]) -> i32 {
    if findings.is_empty() {
        ExitCode::Ok
    } else {
        ExitCode::Findings
    }
    .code()
}
