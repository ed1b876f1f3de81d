//! `xccl-bench report` and `xccl-bench compare`: offline commands over saved results,
//! built on the pure functions of the xccl-report crate. `report` takes any mix of
//! results, link matrices, predictions and train-sim files. Files are read through
//! xccl-schema's versioned reader, so a foreign, newer or broken file is one line and
//! exit 2; a partial file (interrupted run) is used as far as it goes and said so. Logs of
//! nccl-tests and hccl_test are imported by that reader; what they lack is said.

use crate::cmd::parse::{parse_threshold, parse_unit_fraction};
use crate::error::{say, BenchError, Result};
use crate::output::metrics::{self, families, MetricSet};
use crate::rules::{ExitCode, BANDWIDTH_EFFICIENCY};
use clap::Args;
use std::path::{Path, PathBuf};
use xccl_schema::Report;

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Files written by `--json`: benchmark results (several runs, collectives or
    /// backends), `links`, `predict` and `train-sim` files, in any mix.
    #[arg(required = true, value_name = "FILE.json")]
    pub reports: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "report.html")]
    pub output: PathBuf,
    /// Title at the top of the report.
    #[arg(long, default_value = "xccl-bench report")]
    pub title: String,
    /// Write every input's series (labelled `file`: rows, links, findings, predictions) as Prometheus metrics (node_exporter's textfile format) to FILE,
    /// replaced atomically.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// The efficiency line drawn under the expected busbw (default 0.8).
    #[arg(long, value_parser = parse_unit_fraction, default_value_t = BANDWIDTH_EFFICIENCY)]
    pub threshold: f64,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The reference result (--json file).
    pub base: PathBuf,
    /// The result to check against it.
    pub new: PathBuf,
    /// Relative slowdown that counts as a regression, e.g. `5%` or `0.05` (default 5%).
    #[arg(long, value_parser = parse_threshold, default_value = "5%")]
    pub threshold: f64,
    /// Also write the comparison as GitHub Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the comparison as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write each matched row's time and busbw ratio and regression, and the count of regressions as Prometheus metrics (node_exporter's textfile format) to FILE,
    /// replaced atomically.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}

fn read(p: &Path) -> Result<Report> {
    let r = xccl_schema::read_report(p).map_err(|e| BenchError::Usage(e.to_string()))?;
    if !r.summary.complete {
        partial_note(p, &r);
    }
    Ok(r)
}

fn imported_note(p: &Path, r: &Report) {
    if let Some(i) = &r.imported {
        say(&format!(
            "xccl-bench: note: {} is imported: {}",
            p.display(),
            i.summary()
        ));
    }
}

fn partial_note(p: &Path, r: &Report) {
    say(&format!(
        "xccl-bench: note: {} is from a run that did not finish{}: its {} row(s) are used",
        p.display(),
        r.summary
            .error
            .as_ref()
            .map_or(String::new(), |e| format!(" ({e})")),
        r.rows.len()
    ));
}

fn name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    )
}

fn write(p: &Path, text: &str) -> Result<()> {
    std::fs::write(p, text)
        .map_err(|e| BenchError::Usage(format!("cannot write {}: {e}", p.display())))
}

pub fn report(a: &ReportArgs) -> Result<i32> {
    if let Some(p) = &a.metrics {
        metrics::check_target(p)?;
    }
    let mut inputs = xccl_report::Inputs::default();
    for p in &a.reports {
        let kind = inputs
            .add_file(p)
            .map_err(|e| BenchError::Usage(e.to_string()))?;
        if kind == xccl_schema::Kind::Result {
            let r = &inputs.runs.last().expect("just added").report;
            imported_note(p, r);
            if !r.summary.complete {
                partial_note(p, r);
            }
        }
    }
    let opts = xccl_report::Options {
        title: a.title.clone(),
        threshold: a.threshold,
    };
    write(&a.output, &xccl_report::html(&inputs, &opts))?;
    say(&format!(
        "xccl-bench: wrote {} ({} run(s), {} link matrix(es), {} prediction(s), {} train-sim(s))",
        a.output.display(),
        inputs.runs.len(),
        inputs.links.len(),
        inputs.predictions.len(),
        inputs.sims.len()
    ));
    let others: Vec<String> = [
        (inputs.rail_links.len(), "rail-links"),
        (inputs.screens.len(), "links-screen"),
        (inputs.health.len(), "health"),
        (inputs.utilisations.len(), "utilisation"),
        (inputs.searches.len(), "layout-search"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, k)| format!("{n} {k}"))
    .collect();
    if !others.is_empty() {
        say(&format!("xccl-bench: also in it: {}", others.join(", ")));
    }
    metrics::write_if(a.metrics.as_deref(), || {
        let mut set = MetricSet::new();
        for r in &inputs.runs {
            families::run_info(&mut set, "report", Some(&r.report.meta.backend));
        }
        if inputs.runs.is_empty() {
            families::run_info(&mut set, "report", None);
        }
        metrics::analysis::report_inputs(&mut set, &inputs);
        set
    })?;
    Ok(ExitCode::Ok.code())
}

pub fn compare(a: &CompareArgs) -> Result<i32> {
    if let Some(p) = &a.metrics {
        metrics::check_target(p)?;
    }
    let base = read(&a.base)?;
    let new = read(&a.new)?;
    let c = xccl_report::compare(&name(&a.base), &base, &name(&a.new), &new, a.threshold);
    print!("{}", xccl_report::compare::table(&c));
    if let Some(p) = &a.markdown {
        write(p, &xccl_report::markdown::comparison(&c))?;
    }
    if let Some(p) = &a.json {
        write(p, &serde_json::to_string_pretty(&c)?)?;
    }
    metrics::write_if(a.metrics.as_deref(), || {
        let mut set = MetricSet::new();
        families::run_info(&mut set, "compare", Some(&new.meta.backend));
        metrics::analysis::comparison(&mut set, &c);
        set
    })?;
    Ok(if c.has_regression() {
        ExitCode::Regression
    } else {
        ExitCode::Ok
    }
    .code())
}
