//! Exporters: one per output format, each fed the same [`crate::result`] structs as rows
//! are measured, so an interrupted run keeps every row it finished.

use crate::error::Result;
use crate::result::{Row, RunMeta, Summary};
use xccl_schema::Finding;

pub mod csv;
pub mod hccl_test;
pub mod json;
pub mod markdown;
pub mod metrics;
pub mod progress;
pub mod rank_diag;
pub mod table;
pub mod verdict;

/// The table on stdout (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// nccl-tests' table (default).
    Nccl,
    /// hccl_test's columns.
    #[value(name = "hccl_test", alias = "hccl-test")]
    HcclTest,
}

pub trait Sink {
    fn begin(&mut self, meta: &RunMeta) -> Result<()>;
    /// One size's rows (out-of-place, then in-place where defined).
    fn rows(&mut self, group: &[Row]) -> Result<()>;
    /// A remark for the human reader (e.g. a skipped type).
    fn note(&mut self, _msg: &str) {}
    /// What diagnosis concluded so far (the whole list each time).
    fn findings(&mut self, _findings: &[Finding]) -> Result<()> {
        Ok(())
    }
    fn end(&mut self, summary: &Summary) -> Result<()>;
}

/// Feeds every sink in turn.
pub struct Tee(pub Vec<Box<dyn Sink>>);

impl Sink for Tee {
    fn begin(&mut self, meta: &RunMeta) -> Result<()> {
        self.0.iter_mut().try_for_each(|s| s.begin(meta))
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        self.0.iter_mut().try_for_each(|s| s.rows(group))
    }
    fn note(&mut self, msg: &str) {
        self.0.iter_mut().for_each(|s| s.note(msg))
    }
    fn findings(&mut self, findings: &[Finding]) -> Result<()> {
        self.0.iter_mut().try_for_each(|s| s.findings(findings))
    }
    fn end(&mut self, summary: &Summary) -> Result<()> {
        self.0.iter_mut().try_for_each(|s| s.end(summary))
    }
}

pub(crate) fn io_err(
    what: impl Into<String>,
) -> impl FnOnce(std::io::Error) -> crate::error::BenchError {
    let what = what.into();
    move |source| crate::error::BenchError::Io { what, source }
}

/// Keeps the rows it is given, in memory (for a caller that reads them back: `--split`,
/// the benchmarks).
#[derive(Default)]
pub struct Capture(pub Vec<Row>);

impl Sink for Capture {
    fn begin(&mut self, _: &RunMeta) -> Result<()> {
        Ok(())
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        self.0.extend_from_slice(group);
        Ok(())
    }
    fn end(&mut self, _: &Summary) -> Result<()> {
        Ok(())
    }
}
