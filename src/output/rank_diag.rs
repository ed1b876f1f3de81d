//! Slow ranks in every benchmark run: each row's [`RankTiming`](crate::result::RankTiming)
//! (made by the harness from the per-call entry/exit stamps the MPI backend records on an
//! aligned clock) is kept on rank 0, and the run's `slow_rank` findings come at its end. The rules are `xccl_diag::ranks` (pure, unit-tested); this file
//! only shapes the gathered bytes for them and keeps the rows' results until the end.

use crate::error::Result;
use crate::output::Sink;
use crate::result::{RankTiming, Row, RunMeta, Summary};
use xccl_diag::ranks::{run_findings, Who};
use xccl_schema::Finding;

/// A sink in front of the others: remembers who each rank is and every row's
/// [`RankTiming`], and gives the run's findings at the end.
pub struct RankDiag<S: Sink> {
    who: Vec<Who>,
    rows: Vec<(String, RankTiming)>,
    /// Every row seen, when asked to keep them (`--split` judges them again).
    pub seen: Option<Vec<Row>>,
    pub inner: S,
}

impl<S: Sink> RankDiag<S> {
    pub fn new(inner: S) -> Self {
        RankDiag {
            who: vec![],
            rows: vec![],
            seen: None,
            inner,
        }
    }

    /// `slow_rank` findings of the rows so far (voted over the rows).
    pub fn run_findings(&self) -> Vec<Finding> {
        run_findings(&self.rows, &self.who)
    }
}

impl<S: Sink> Sink for RankDiag<S> {
    fn begin(&mut self, meta: &RunMeta) -> Result<()> {
        self.who = meta
            .ranks
            .iter()
            .map(|r| Who {
                host: r.host.clone(),
                device: r.device.clone(),
            })
            .collect();
        self.inner.begin(meta)
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        if let Some(seen) = &mut self.seen {
            seen.extend_from_slice(group);
        }
        for r in group {
            if let Some(t) = &r.ranks_timing {
                self.rows.push((r.label(), t.clone()));
            }
        }
        self.inner.rows(group)
    }
    fn note(&mut self, msg: &str) {
        self.inner.note(msg)
    }
    fn findings(&mut self, findings: &[Finding]) -> Result<()> {
        self.inner.findings(findings)
    }
    fn end(&mut self, summary: &Summary) -> Result<()> {
        self.inner.end(summary)
    }
}
