//! The sweep's `--metrics FILE`: a [`Sink`] that keeps the run's rows (as judged),
//! findings and summary and writes the file once, at the end (also the end of a run
//! that stopped early: `xccl_bench_run_complete 0`).

use super::{families, write, MetricSet};
use crate::error::Result;
use crate::output::Sink;
use crate::result::{Row, RunMeta, Summary};
use std::path::PathBuf;
use xccl_schema::Finding;

pub struct MetricsSink {
    path: PathBuf,
    /// Run info and every row so far (a row measured again replaces its sample, so an
    /// endless `-N 0` run keeps one sample per row).
    set: Option<MetricSet>,
    findings: Vec<Finding>,
}

impl MetricsSink {
    pub fn new(path: PathBuf) -> Self {
        MetricsSink {
            path,
            set: None,
            findings: vec![],
        }
    }
}

/// The metrics of one sweep: run info, every row, the summary, the findings.
pub fn sweep(meta: &RunMeta, rows: &[Row], summary: &Summary, findings: &[Finding]) -> MetricSet {
    let mut set = MetricSet::new();
    families::run_info(&mut set, meta.collective.name(), Some(&meta.backend));
    families::rows(&mut set, &[], rows);
    families::summary(&mut set, &[], summary);
    families::findings(&mut set, &[], findings);
    set
}

impl Sink for MetricsSink {
    fn begin(&mut self, meta: &RunMeta) -> Result<()> {
        self.set = Some(sweep(meta, &[], &Summary::default(), &[]));
        Ok(())
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        if let Some(s) = &mut self.set {
            families::rows(s, &[], group);
        }
        Ok(())
    }
    fn findings(&mut self, findings: &[Finding]) -> Result<()> {
        self.findings = findings.to_vec();
        Ok(())
    }
    fn end(&mut self, summary: &Summary) -> Result<()> {
        let Some(set) = &mut self.set else {
            return Ok(());
        };
        families::summary(set, &[], summary);
        families::findings(set, &[], &self.findings);
        write(&self.path, set)
    }
}
