//! `--markdown FILE`: the run's table as GitHub Markdown (xccl-report's formatting),
//! rewritten after every size like the JSON file, so an interrupted run leaves a table
//! that says it is partial.

use super::{io_err, Sink};
use crate::error::Result;
use crate::result::{Row, RunMeta, Summary};
use std::path::PathBuf;

pub struct MarkdownSink {
    path: PathBuf,
    meta: Option<RunMeta>,
    rows: Vec<Row>,
}

impl MarkdownSink {
    pub fn new(path: PathBuf) -> Self {
        MarkdownSink {
            path,
            meta: None,
            rows: vec![],
        }
    }

    fn flush(&self, summary: &Summary) -> Result<()> {
        let Some(m) = &self.meta else { return Ok(()) };
        let text = xccl_report::markdown::run(m, &self.rows, summary);
        std::fs::write(&self.path, text).map_err(io_err(format!("writing {}", self.path.display())))
    }
}

impl Sink for MarkdownSink {
    fn begin(&mut self, meta: &RunMeta) -> Result<()> {
        self.meta = Some(meta.clone());
        self.flush(&Summary::default())
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        self.rows.extend_from_slice(group);
        self.flush(&Summary::default())
    }
    fn end(&mut self, summary: &Summary) -> Result<()> {
        self.flush(summary)
    }
}
