//! `xccl-bench judge`: the verdicts a saved result would have had with `--topology`
//! (xccl-topo's model and the 0.8 rule), and the `--min-efficiency` health check, offline.
//! Takes our JSON and the logs `xccl_schema::import` reads (nccl-tests, hccl_test); a
//! result that failed its correctness check exits 1 after its verdicts.

use crate::cmd::parse::parse_unit_fraction;
use crate::error::{BenchError, Result};
use crate::rules::{ExitCode, BANDWIDTH_EFFICIENCY};
use clap::Args;
use std::path::PathBuf;
use xccl_topo::{health, verdict, JudgeOptions, Topology};

#[derive(Args, Debug, Clone)]
pub struct JudgeArgs {
    /// A result file written by `--json`.
    pub report: PathBuf,
    /// The topology to judge against (see docs/TOPOLOGY.md).
    #[arg(long, value_name = "FILE")]
    pub topology: PathBuf,
    /// Efficiency at or above which a large-message row is bandwidth-bound (default 0.8,
    /// or --min-efficiency when given).
    #[arg(long, value_parser = parse_unit_fraction)]
    pub threshold: Option<f64>,
    /// Exit with status 4 when any large-message row falls below this efficiency.
    #[arg(long = "min-efficiency", value_parser = parse_unit_fraction)]
    pub min_efficiency: Option<f64>,
    /// Write the result with every row's verdict to FILE.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Write every row's busbw and efficiency against the topology, and run info as Prometheus metrics (node_exporter's textfile format) to FILE,
    /// replaced atomically.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}

/// `xccl-bench judge`: the verdicts a saved result would have had with `--topology`.
pub fn run(a: &JudgeArgs) -> Result<i32> {
    if let Some(p) = &a.metrics {
        crate::output::metrics::check_target(p)?;
    }
    let mut report =
        xccl_schema::read_report(&a.report).map_err(|e| BenchError::Usage(e.to_string()))?;
    if report.meta.ranks.is_empty() {
        // hccl_test prints no hosts: placing its ranks would mean inventing them.
        return Err(BenchError::Usage(format!(
            "{}: the result names no hosts or devices, so its ranks cannot be placed on a topology",
            a.report.display()
        )));
    }
    if let Some(p) = &report.imported {
        crate::error::say(&format!(
            "xccl-bench: note: {} is imported: {}",
            a.report.display(),
            p.summary()
        ));
    }
    let topo = Topology::load(&a.topology)?;
    let hosts: Vec<&str> = report.meta.ranks.iter().map(|r| r.host.as_str()).collect();
    let placement = topo
        .place(&hosts)
        .map_err(|e| BenchError::Usage(format!("{}: {e}", a.report.display())))?;
    let threshold = a
        .threshold
        .or(a.min_efficiency)
        .unwrap_or(BANDWIDTH_EFFICIENCY);
    let opts = JudgeOptions::with_threshold(threshold);
    println!(
        "{:>12} {:>13} {:>10} {:>10} {:>width$}  note",
        "size(B)",
        "placement",
        "busbw",
        "expected",
        verdict::CELL_HEADER,
        width = verdict::CELL_WIDTH
    );
    let mut judged = Vec::with_capacity(report.rows.len());
    for row in &mut report.rows {
        let v = verdict::judge_row(&topo, &placement, row, &opts);
        println!(
            "{:>12} {:>13} {:>10.4} {:>10.4} {:>width$}  {}",
            row.size_bytes,
            row.placement,
            row.busbw_gbs,
            v.expected_busbw_gbs,
            v.cell(),
            v.note,
            width = verdict::CELL_WIDTH
        );
        judged.push((row.label(), v.clone()));
        row.verdict = Some(v);
    }
    if !report.summary.complete {
        crate::error::say(&format!(
            "xccl-bench: note: {} is from a run that did not finish: {} row(s) judged",
            a.report.display(),
            report.rows.len()
        ));
    }
    if let Some(w) = &a.write {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(w, text).map_err(|e| BenchError::Usage(format!("{}: {e}", w.display())))?;
    }
    let mut code = ExitCode::Ok;
    if !report.summary.check_ok {
        // A wrong result is a failure whatever its speed (exit 1, as the sweep's).
        crate::error::say(&format!(
            "xccl-bench: error: {} failed its correctness check ({} wrong element(s){})",
            a.report.display(),
            report.summary.wrong_total,
            report
                .imported
                .as_ref()
                .map_or(String::new(), |p| format!(", as {} says", p.format))
        ));
        code = ExitCode::Failed;
    }
    if let Some(m) = a.min_efficiency.filter(|_| code == ExitCode::Ok) {
        let short = health::shortfalls(judged.iter().map(|(l, v)| (l, v)), m);
        if !short.is_empty() {
            crate::error::say_block(&health::summary(&short, m));
            code = ExitCode::Findings;
        }
    }
    crate::output::metrics::write_if(a.metrics.as_deref(), || {
        use crate::output::metrics::{families, MetricSet};
        let mut set = MetricSet::new();
        families::run_info(&mut set, "judge", Some(&report.meta.backend));
        families::rows(&mut set, &[], &report.rows);
        families::summary(&mut set, &[], &report.summary);
        families::findings(&mut set, &[], &report.findings);
        set
    })?;
    Ok(code.code())
}
