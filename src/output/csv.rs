//! `--csv FILE`: one line per row and placement, appended and flushed as measured.

use super::{io_err, Sink};
use crate::error::Result;
use crate::result::{Row, RunMeta, Summary};
use std::io::Write;
use std::path::PathBuf;

pub const HEADER: &str = "collective,size_bytes,count,dtype,op,root,placement,iters,time_us,min_us,max_us,p50_us,p99_us,algbw_gbs,busbw_gbs,wrong,precision,verdict";

pub struct CsvSink {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl CsvSink {
    pub fn new(path: PathBuf) -> Self {
        CsvSink { path, file: None }
    }
}

pub fn line(r: &Row) -> String {
    let verdict = r.verdict.as_ref().map_or("", |v| v.class.name());
    format!(
        "{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.6},{:.6},{},{:.5},{}",
        r.collective,
        r.what_cells().join(","),
        r.iters,
        r.time_us.avg,
        r.time_us.min,
        r.time_us.max,
        r.time_us.p50,
        r.time_us.p99,
        r.algbw_gbs,
        r.busbw_gbs,
        r.wrong.map_or(String::new(), |w| w.to_string()),
        r.precision,
        verdict
    )
}

impl Sink for CsvSink {
    fn begin(&mut self, _meta: &RunMeta) -> Result<()> {
        let mut f = std::fs::File::create(&self.path)
            .map_err(io_err(format!("creating {}", self.path.display())))?;
        writeln!(f, "{HEADER}").map_err(io_err("writing CSV"))?;
        self.file = Some(f);
        Ok(())
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        if let Some(f) = &mut self.file {
            for r in group {
                writeln!(f, "{}", line(r)).map_err(io_err("writing CSV"))?;
            }
            f.flush().map_err(io_err("writing CSV"))?;
        }
        Ok(())
    }
    fn end(&mut self, _summary: &Summary) -> Result<()> {
        Ok(())
    }
}
