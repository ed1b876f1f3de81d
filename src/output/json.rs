//! `--json FILE`: the whole [`Report`] (versioned schema) as one JSON document, valid
//! after every row, at a constant cost per row.
//!
//! `begin` writes `{"meta":…,"rows":[` and a tail (`],"summary":{…},"findings":[…]}`) atomically
//! (temporary file, then rename). Each row group is then one positioned write at the
//! byte offset where the rows array ends: `,<row>` followed by the new tail. A write
//! either happened or did not, so a kill leaves one complete document; rewriting the
//! whole report per row instead made a sweep's cost grow with rows². One row per line.
//!
//! The file is kept longer than the document, padded with spaces (valid after a JSON
//! document), and grown by appending spaces only: a reader that reads to the end in
//! several reads then never joins an old document to a newer one's bytes. Linux does not
//! make a read atomic against a concurrent write, so a reader that reads exactly while a
//! row lands can still, rarely, see a torn mix: reread on a parse error. `end` trims the
//! padding.

use super::{io_err, Sink};
use crate::error::Result;
use crate::result::{Row, RunMeta, Summary};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use xccl_schema::Finding;

pub struct JsonSink {
    path: PathBuf,
    open: Option<Open>,
}

struct Open {
    file: File,
    /// Byte offset just past the last row (where `]` of the rows array starts).
    rows_end: u64,
    /// End of the document as last written; a shorter tail is padded up to it, since
    /// positioned writes never shrink the file.
    file_end: u64,
    /// Length of the file: the document, then spaces.
    capacity: u64,
    rows: u64,
    /// Running summary, so the file says how far the run got (complete: false).
    summary: Summary,
    findings: Vec<Finding>,
    busbw_sum: f64,
}

/// `]` closing the rows array, the summary, the findings, and padding (whitespace after
/// the document is valid JSON) up to `min_len` bytes.
fn tail(summary: &Summary, findings: &[Finding], min_len: usize) -> Vec<u8> {
    let mut t = b"\n],\"summary\":".to_vec();
    serde_json::to_writer(&mut t, summary).expect("summary serializes");
    t.extend_from_slice(b",\n\"findings\":");
    serde_json::to_writer(&mut t, findings).expect("findings serialize");
    t.push(b'}');
    if t.len() + 1 < min_len {
        t.resize(min_len - 1, b' ');
    }
    t.push(b'\n');
    t
}

impl JsonSink {
    pub fn new(path: PathBuf) -> Self {
        JsonSink { path, open: None }
    }

    /// Writes `body` (rows, or nothing) at the end of the rows array, followed by the
    /// current tail, in one positioned write.
    fn write_at_rows_end(&mut self, body: &[u8]) -> Result<()> {
        let Some(o) = &mut self.open else {
            return Ok(());
        };
        let rows_end = o.rows_end + body.len() as u64;
        let min_tail = o.file_end.saturating_sub(rows_end) as usize;
        let mut buf = Vec::with_capacity(body.len() + 160);
        buf.extend_from_slice(body);
        buf.extend_from_slice(&tail(&o.summary, &o.findings, min_tail));
        let end = o.rows_end + buf.len() as u64;
        let path = &self.path;
        if end > o.capacity {
            // Grow by spaces first (valid at every step), by 1/8 or 64 KiB at least, so
            // growing costs a constant per row on average.
            let cap = end.max(o.capacity + (o.capacity / 8).max(64 << 10));
            o.file
                .write_all_at(&vec![b' '; (cap - o.capacity) as usize], o.capacity)
                .map_err(io_err(format!("writing {}", path.display())))?;
            o.capacity = cap;
        }
        o.file
            .write_all_at(&buf, o.rows_end)
            .map_err(io_err(format!("writing {}", path.display())))?;
        o.file_end = o.file_end.max(end);
        o.rows_end = rows_end;
        Ok(())
    }
}

impl Sink for JsonSink {
    fn begin(&mut self, meta: &RunMeta) -> Result<()> {
        let mut head = b"{\"meta\":".to_vec();
        serde_json::to_writer(&mut head, meta).expect("meta serializes");
        head.extend_from_slice(b",\n\"rows\":[");
        // Nothing measured yet: nothing wrong so far, and not complete.
        let summary = Summary {
            check_ok: true,
            ..Default::default()
        };
        let mut doc = head.clone();
        doc.extend_from_slice(&tail(&summary, &[], 0));
        let tmp = self.path.with_extension("json.partial");
        std::fs::write(&tmp, &doc).map_err(io_err(format!("writing {}", tmp.display())))?;
        std::fs::rename(&tmp, &self.path)
            .map_err(io_err(format!("writing {}", self.path.display())))?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(io_err(format!("opening {}", self.path.display())))?;
        self.open = Some(Open {
            file,
            rows_end: head.len() as u64,
            file_end: doc.len() as u64,
            capacity: doc.len() as u64,
            rows: 0,
            summary,
            findings: vec![],
            busbw_sum: 0.0,
        });
        Ok(())
    }

    fn rows(&mut self, group: &[Row]) -> Result<()> {
        let Some(o) = &mut self.open else {
            return Ok(());
        };
        if group.is_empty() {
            return Ok(());
        }
        let mut body = vec![];
        for r in group {
            body.extend_from_slice(if o.rows == 0 { b"\n" } else { b",\n" });
            serde_json::to_writer(&mut body, r).expect("row serializes");
            o.rows += 1;
            if let Some(w) = r.wrong {
                o.summary.wrong_total += w;
                o.summary.check_ok &= w == 0;
            }
            o.busbw_sum += r.busbw_gbs;
        }
        o.summary.avg_busbw_gbs = o.busbw_sum / o.rows as f64;
        self.write_at_rows_end(&body)
    }

    fn findings(&mut self, findings: &[Finding]) -> Result<()> {
        if let Some(o) = &mut self.open {
            o.findings = findings.to_vec();
        }
        self.write_at_rows_end(&[])
    }

    fn end(&mut self, summary: &Summary) -> Result<()> {
        if let Some(o) = &mut self.open {
            o.summary = summary.clone();
        }
        self.write_at_rows_end(&[])?;
        if let Some(o) = self.open.take() {
            // The document is complete; the padding after it goes.
            o.file
                .set_len(o.file_end)
                .map_err(io_err(format!("writing {}", self.path.display())))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn meta() -> RunMeta {
        serde_json::from_value(json!({
            "schema_version": 1, "tool": "xccl-bench", "tool_version": "0",
            "started_unix": 0, "collective": "all_reduce",
            "backend": {"name": "mpi", "library": "Open MPI", "version": "4.1", "device": "host"},
            "mpi_library": null, "nranks": 2, "hosts": ["h"], "ranks_per_host": [2],
            "ranks": [], "args": [],
            "settings": {"min_bytes": 8, "max_bytes": 8, "step_factor": 2.0, "step_bytes": null,
                "iters": 1, "warmup_iters": 0, "check_iters": 1, "average": "avg",
                "blocking": false, "precision": null, "time_budget_s": null, "timeout_s": 0.0,
                "timing": "per-call"}
        }))
        .expect("meta")
    }

    /// A row as a reader sees it (built from JSON, so it does not depend on the Rust
    /// types of its fields).
    pub(crate) fn row(size: u64, wrong: Option<u64>, busbw: f64) -> Row {
        serde_json::from_value(json!({
            "collective": "all_reduce", "size_bytes": size, "count": size / 4,
            "dtype": "float", "op": "sum", "op_impl": "native", "root": -1,
            "placement": "out-of-place", "iters": 20,
            "time_us": {"avg": 1.5, "min": 1.0, "max": 2.0, "p50": 1.5, "p99": 2.0},
            "algbw_gbs": busbw, "busbw_gbs": busbw, "wrong": wrong, "precision": 0.01,
            "per_rank": {"mean_us": [1.5, 1.5], "p50_us": [1.5, 1.5], "p99_us": [2.0, 2.0]}
        }))
        .expect("row")
    }

    fn parse(p: &std::path::Path) -> Value {
        let text = std::fs::read_to_string(p).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn file_parses_after_every_row_with_a_current_summary() {
        let dir = std::env::temp_dir().join(format!("xccl-json-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out.json");
        let mut s = JsonSink::new(p.clone());
        s.begin(&meta()).unwrap();
        let v = parse(&p);
        assert_eq!(v["rows"].as_array().unwrap().len(), 0);
        assert_eq!(v["summary"]["complete"], false);
        assert_eq!(v["summary"]["check_ok"], true);
        assert_eq!(v["meta"]["collective"], "all_reduce");
        let mut k = 0;
        for i in 0..40u64 {
            // Groups of one and two rows; one wrong element in row 7; long and short
            // busbw numbers so the tail's length changes both ways.
            let n = 1 + (i % 2) as usize;
            let group: Vec<Row> = (0..n)
                .map(|j| {
                    let w = (k + j == 7).then_some(1).or(Some(0));
                    row(8 << i.min(30), w, if i % 3 == 0 { 1.0 / 3.0 } else { 2.0 })
                })
                .collect();
            s.rows(&group).unwrap();
            k += n;
            let v = parse(&p);
            let rows = v["rows"].as_array().unwrap();
            assert_eq!(rows.len(), k);
            assert_eq!(rows[k - 1]["size_bytes"], 8u64 << i.min(30));
            assert_eq!(v["summary"]["complete"], false);
            assert_eq!(v["summary"]["wrong_total"], u64::from(k > 7));
            assert_eq!(v["summary"]["check_ok"], k <= 7);
        }
        // The final summary is shorter than the running one: the file stays valid.
        s.end(&Summary {
            complete: true,
            ..Default::default()
        })
        .unwrap();
        let v = parse(&p);
        assert_eq!(v["rows"].as_array().unwrap().len(), k);
        assert_eq!(v["summary"]["complete"], true);
        assert_eq!(v["summary"]["avg_busbw_gbs"], 0.0);
        let text = std::fs::read_to_string(&p).unwrap();
        // The growth padding (64 KiB at least) is trimmed; what is left pads the tail.
        assert!(text.len() - text.trim_end().len() < 200, "padding trimmed");
        // Readers of the previous format still read it.
        let r: crate::result::Report = serde_json::from_value(v).unwrap();
        assert_eq!(r.rows.len(), k);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
