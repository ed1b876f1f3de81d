//! `--json FILE`: the whole [`Report`] (versioned schema), rewritten atomically after every
//! row so the file is valid JSON at any moment, including after an interrupted run.

use super::{io_err, Sink};
use crate::error::Result;
use crate::result::{Report, Row, RunMeta, Summary};
use std::path::PathBuf;

pub struct JsonSink {
    path: PathBuf,
    report: Option<Report>,
}

impl JsonSink {
    pub fn new(path: PathBuf) -> Self {
        JsonSink { path, report: None }
    }

    fn flush(&self) -> Result<()> {
        let Some(r) = &self.report else { return Ok(()) };
        let tmp = self.path.with_extension("json.partial");
        let body = serde_json::to_vec_pretty(r).expect("report serializes");
        std::fs::write(&tmp, body).map_err(io_err(format!("writing {}", tmp.display())))?;
        std::fs::rename(&tmp, &self.path)
            .map_err(io_err(format!("writing {}", self.path.display())))
    }
}

impl Sink for JsonSink {
    fn begin(&mut self, meta: &RunMeta) -> Result<()> {
        self.report = Some(Report {
            meta: meta.clone(),
            rows: vec![],
            summary: Summary::default(),
            findings: vec![],
        });
        self.flush()
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        if let Some(r) = &mut self.report {
            r.rows.extend_from_slice(group);
        }
        self.flush()
    }
    fn end(&mut self, summary: &Summary) -> Result<()> {
        if let Some(r) = &mut self.report {
            r.summary = summary.clone();
        }
        self.flush()
    }
}
