//! Verdicts against a topology: each row's busbw against what the links should give
//! (xccl-topo's model), the 0.8× rule, and the `--min-efficiency` health check.
//!
//! A sink in front of the exporters: it fills `Row::verdict` (the model's `Verdict` plus
//! its table cell) on rank 0 before the table, JSON and CSV see the row, and remembers
//! every verdict for the health check at the end.

use crate::error::{BenchError, Result};
use crate::output::Sink;
use crate::result::{Row, RunMeta, Summary};
use xccl_topo::{health, verdict, JobFacts, JudgeOptions, Placement, Topology, Verdict};

pub struct Judge<S: Sink> {
    /// None: no topology, rows pass through unjudged.
    model: Option<(Topology, Placement)>,
    opts: JudgeOptions,
    verdicts: Vec<(String, Verdict)>,
    inner: S,
}

/// Loads `--topology FILE` (or detects one for `detect`) and places the job's ranks on it.
pub fn topology_for(spec: &str, facts: &JobFacts) -> Result<(Topology, Placement)> {
    let topo = if spec == "detect" {
        Topology::detect(facts, &xccl_topo::detect::sysfs_root())
    } else {
        Topology::load(spec).map_err(|e| BenchError::Usage(format!("--topology: {e}")))?
    };
    let report = topo.validate(facts);
    match report.placement {
        Some(p) if report.errors.is_empty() => Ok((topo, p)),
        _ => Err(BenchError::Usage(format!(
            "--topology {spec} does not match this job: {}",
            report.errors.join("; ")
        ))),
    }
}

impl<S: Sink> Judge<S> {
    pub fn new(model: Option<(Topology, Placement)>, threshold: f64, inner: S) -> Self {
        Judge {
            model,
            opts: JudgeOptions::with_threshold(threshold),
            verdicts: vec![],
            inner,
        }
    }

    /// The topology and placement rows are judged against (None without one).
    pub fn model(&self) -> Option<&(Topology, Placement)> {
        self.model.as_ref()
    }

    /// The sink behind this one.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// `r`'s verdict against the topology (None without one).
    pub fn judge(&self, r: &Row) -> Option<Verdict> {
        let (topo, placement) = self.model.as_ref()?;
        Some(verdict::judge_row(topo, placement, r, &self.opts))
    }

    /// Rows whose large-message efficiency fell below `min`, as one summary text.
    pub fn shortfalls(&self, min: f64) -> Option<String> {
        let s = health::shortfalls(self.verdicts.iter().map(|(l, v)| (l, v)), min);
        (!s.is_empty()).then(|| health::summary(&s, min))
    }
}

impl<S: Sink> Sink for Judge<S> {
    fn begin(&mut self, meta: &RunMeta) -> Result<()> {
        self.inner.begin(meta)?;
        if let Some((topo, _)) = &self.model {
            self.inner.note(&format!(
                "verdicts against topology '{}' (threshold {:.2} of expected busbw; BW = bandwidth-bound, LOW = low efficiency, LAT = latency-bound: time / model time)",
                topo.name, self.opts.threshold
            ));
        }
        Ok(())
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        let mut judged = group.to_vec();
        for r in &mut judged {
            if let Some(v) = self.judge(r) {
                self.verdicts.push((r.label(), v.clone()));
                r.verdict = Some(v);
            }
        }
        self.inner.rows(&judged)
    }
    fn note(&mut self, msg: &str) {
        self.inner.note(msg)
    }
    fn findings(&mut self, findings: &[xccl_schema::Finding]) -> Result<()> {
        self.inner.findings(findings)
    }
    fn end(&mut self, summary: &Summary) -> Result<()> {
        self.inner.end(summary)
    }
}
