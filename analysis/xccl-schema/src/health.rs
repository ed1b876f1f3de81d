//! The record `xccl-bench health` writes (`kind` "health"): one entry per check (what
//! it ran, its floor, status, durations, why it failed) and the findings of all of them.
//! Defined here rather than in the runtime so that `report` reads it.

use crate::Finding;
use serde::{Deserialize, Serialize};

/// The `kind` of a health record's JSON.
pub const HEALTH_KIND: &str = "health";
pub const HEALTH_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// It ran and something is below its floor or wrong.
    Fail,
    /// It could not run (or was not run because an earlier check could not).
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    /// What it runs, as a person would type it.
    pub command: String,
    /// Fraction of the topology's expectation below which it fails.
    pub floor: f64,
    pub status: Status,
    /// The check's own command's exit status.
    pub exit_code: i32,
    pub expected_s: f64,
    pub wall_s: f64,
    /// One line per reason it failed (rows below the floor, wrong elements, errors).
    pub detail: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub tool: String,
    pub kind: String,
    pub schema_version: u32,
    pub topology: String,
    pub hosts: Vec<String>,
    pub nranks: usize,
    pub healthy: bool,
    pub exit_code: i32,
    pub expected_s: f64,
    pub wall_s: f64,
    pub checks: Vec<Check>,
    /// Every check's findings, each once.
    pub findings: Vec<Finding>,
}
