//! Slow ranks in every benchmark run: the per-call entry/exit stamps the MPI backend
//! records on an aligned clock ([`crate::clock`]) become each row's
//! [`RankTiming`](crate::result::RankTiming) on rank 0, and the run's `slow_rank`
//! findings at its end. The rules are `xccl_diag::ranks` (pure, unit-tested); this file
//! only shapes the gathered bytes for them and keeps the rows' results until the end.

use crate::error::Result;
use crate::output::Sink;
use crate::result::{RankTiming, Row, RunMeta, Summary};
use xccl_diag::ranks::{analyze_row, run_findings, Who};
use xccl_schema::Finding;

/// One row's analysis from every rank's gathered stamps (`[residual, e0, x0, e1, x1, …]`
/// in seconds on the aligned clock). `None` unless every rank recorded the same calls
/// and there are at least two ranks.
pub fn ranks_timing(per_rank: &[Vec<f64>]) -> Option<RankTiming> {
    let len = per_rank.first()?.len();
    if per_rank.len() < 2 || len < 3 || len % 2 == 0 || per_rank.iter().any(|v| v.len() != len) {
        return None;
    }
    let calls = (len - 1) / 2;
    let residual_us = per_rank.iter().map(|v| v[0]).fold(0.0, f64::max) * 1e6;
    // µs from the first entry: small numbers keep their precision.
    let base = per_rank[0][1];
    let us = |v: f64| (v - base) * 1e6;
    let enter: Vec<Vec<f64>> = (0..calls)
        .map(|c| per_rank.iter().map(|v| us(v[1 + 2 * c])).collect())
        .collect();
    let exit: Vec<Vec<f64>> = (0..calls)
        .map(|c| per_rank.iter().map(|v| us(v[2 + 2 * c])).collect())
        .collect();
    Some(analyze_row(&enter, &exit, residual_us).timing(residual_us))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_shape() {
        // Two ranks, two calls; rank 1 enters 2 ms late both times (seconds).
        let r0 = vec![1e-6, 0.0, 0.003, 0.010, 0.013];
        let r1 = vec![2e-6, 0.002, 0.003, 0.012, 0.013];
        let t = ranks_timing(&[r0.clone(), r1]).unwrap();
        assert_eq!(t.calls, 2);
        assert!((t.clock_residual_us - 2.0).abs() < 1e-9);
        // Rank 0's sync: 2000 µs per call; transit: min(x − L) = 1000 µs.
        assert!((t.sync_us[0] - 2000.0).abs() < 1e-6, "{t:?}");
        assert!((t.transit_us - 1000.0).abs() < 1e-6, "{t:?}");
        // Mismatched call counts or one rank: no analysis.
        assert!(ranks_timing(&[r0.clone(), vec![0.0, 0.0, 1.0]]).is_none());
        assert!(ranks_timing(&[r0]).is_none());
    }
}
