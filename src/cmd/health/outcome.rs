//! What `health` concluded: one record per check and the findings of all of them, reduced
//! to one verdict and one exit status (0 healthy, 4 a check failed or found something,
//! 1 a check could not run). The record is the contract; JSON and Markdown are written
//! from it and from nothing else.

use crate::output::metrics::{families, MetricSet};
use crate::rules::ExitCode;
use std::fmt::Write;
use xccl_schema::Finding;

/// The record, defined in xccl-schema so that `report` reads it without the runtime.
pub use xccl_schema::health::{Check, HealthReport, Status};

/// The exit status of a set of checks: a check that could not run outweighs one that
/// failed, which outweighs passing.
pub fn exit_code(checks: &[Check]) -> ExitCode {
    if checks.iter().any(|c| c.status == Status::Error) {
        ExitCode::Failed
    } else if checks.iter().any(|c| c.status == Status::Fail) {
        ExitCode::Findings
    } else {
        ExitCode::Ok
    }
}

/// Adds `more` to `findings`, leaving out what is already there (the sweep and links
/// can name the same node).
pub fn merge_findings(findings: &mut Vec<Finding>, more: Vec<Finding>) {
    for f in more {
        if !findings
            .iter()
            .any(|g| g.kind == f.kind && g.subject == f.subject)
        {
            findings.push(f);
        }
    }
}

/// The record as Prometheus families: whether healthy, each check's status (1 passed),
/// duration, expected duration and floor, the sweep's rows when it wrote them, and every
/// finding (`crate::output::metrics`).
pub fn metrics(r: &HealthReport, sweep: Option<&xccl_schema::result::Report>) -> MetricSet {
    let mut set = MetricSet::new();
    families::run_info(&mut set, "health", sweep.map(|s| &s.meta.backend));
    set.gauge("health_healthy", "1 when every check passed, else 0.")
        .set::<&str, &str>(&[], f64::from(u8::from(r.healthy)));
    set.gauge(
        "health_exit_code",
        "The exit status of health (0 healthy, 4 findings, 1 could not run).",
    )
    .set::<&str, &str>(&[], f64::from(r.exit_code));
    for c in &r.checks {
        set.gauges(
            &[("check", c.name.as_str())],
            &[
                (
                    "health_check_passed",
                    "1 when the check passed, 0 when it failed or could not run.",
                    f64::from(u8::from(c.status == Status::Pass)),
                ),
                (
                    "health_check_duration_seconds",
                    "How long the check ran.",
                    c.wall_s,
                ),
                (
                    "health_check_expected_seconds",
                    "How long the check should take at the topology's nominal rates.",
                    c.expected_s,
                ),
                (
                    "health_check_floor_ratio",
                    "Fraction of the topology's expectation below which the check fails.",
                    c.floor,
                ),
            ],
        );
    }
    if let Some(s) = sweep {
        families::rows(&mut set, &[], &s.rows);
    }
    families::findings(&mut set, &[], &r.findings);
    set
}

/// The verdict as lines for the terminal (after the checks' own output).
pub fn summary(r: &HealthReport) -> String {
    let mut s = String::new();
    for c in &r.checks {
        let _ = writeln!(
            s,
            "# health: {:<7} {:<22} floor {:.2}  {:>7.1} s (expected {:.1} s)",
            format!("{:?}", c.status).to_uppercase(),
            c.name,
            c.floor,
            c.wall_s,
            c.expected_s
        );
        for d in &c.detail {
            let _ = writeln!(s, "#   {d}");
        }
    }
    for f in &r.findings {
        let _ = writeln!(s, "finding: {f}");
    }
    let _ = writeln!(
        s,
        "# health: {} ({} check(s), {} finding(s), {:.1} s; exit {})",
        if r.healthy { "HEALTHY" } else { "NOT HEALTHY" },
        r.checks.len(),
        r.findings.len(),
        r.wall_s,
        r.exit_code
    );
    s
}

/// The record as a Markdown page.
pub fn markdown(r: &HealthReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Health: {}\n\nTopology `{}`, {} rank(s) on {} host(s): {}. Expected {:.1} s, took {:.1} s; exit {}.\n",
        if r.healthy { "healthy" } else { "not healthy" },
        r.topology,
        r.nranks,
        r.hosts.len(),
        r.hosts.join(", "),
        r.expected_s,
        r.wall_s,
        r.exit_code
    );
    let _ = writeln!(
        s,
        "| check | status | floor | took (s) | expected (s) | command |\n|---|---|---|---|---|---|"
    );
    for c in &r.checks {
        let _ = writeln!(
            s,
            "| {} | {:?} | {:.2} | {:.1} | {:.1} | `{}` |",
            c.name, c.status, c.floor, c.wall_s, c.expected_s, c.command
        );
    }
    for c in r.checks.iter().filter(|c| !c.detail.is_empty()) {
        let _ = writeln!(s, "\n**{}**\n", c.name);
        for d in &c.detail {
            let _ = writeln!(s, "- {d}");
        }
    }
    let _ = writeln!(s, "\n## Findings\n");
    if r.findings.is_empty() {
        let _ = writeln!(s, "None.");
    }
    for f in &r.findings {
        let _ = writeln!(s, "- **{}** {}: {}", f.kind, f.subject, f.evidence);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: Status) -> Check {
        Check {
            name: "c".into(),
            command: "x".into(),
            floor: 0.8,
            status,
            exit_code: 0,
            expected_s: 1.0,
            wall_s: 1.0,
            detail: vec![],
        }
    }

    #[test]
    fn could_not_run_outweighs_failed_outweighs_passed() {
        use Status::*;
        assert_eq!(exit_code(&[check(Pass), check(Pass)]), ExitCode::Ok);
        assert_eq!(exit_code(&[check(Pass), check(Fail)]), ExitCode::Findings);
        assert_eq!(exit_code(&[check(Fail), check(Error)]), ExitCode::Failed);
        assert_eq!(exit_code(&[]), ExitCode::Ok);
    }
}
