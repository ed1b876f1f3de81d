//! `--json` cost per row: the sink fed synthetic rows, rows per second at 1,000 and at
//! 100,000 rows (constant cost per row means similar rates), and the previous method
//! (the whole report rewritten atomically per row) at 1,000 rows for comparison.
//! `cargo bench --bench json_sink`; no MPI.

use serde_json::json;
use std::time::Instant;
use xccl_bench::output::{json::JsonSink, Sink};
use xccl_bench::result::{Report, Row, RunMeta, Summary};

fn meta() -> RunMeta {
    serde_json::from_value(json!({
        "schema_version": 1, "tool": "xccl-bench", "tool_version": "0",
        "started_unix": 0, "collective": "all_reduce",
        "backend": {"name": "mpi", "library": "Open MPI", "version": "4.1.4", "device": "host"},
        "mpi_library": "Open MPI 4.1.4", "nranks": 2, "hosts": ["h"], "ranks_per_host": [2],
        "ranks": [], "args": ["xccl-bench", "all_reduce"],
        "settings": {"min_bytes": 8, "max_bytes": 8, "step_factor": 2.0, "step_bytes": null,
            "iters": 20, "warmup_iters": 5, "check_iters": 1, "average": "avg",
            "blocking": false, "precision": null, "time_budget_s": null, "timeout_s": 0.0,
            "timing": "per-call"}
    }))
    .unwrap()
}

/// An out-of-place/in-place pair of 8 B rows, as `-N` cycles of one size produce.
fn group(i: usize) -> Vec<Row> {
    ["out-of-place", "in-place"]
        .iter()
        .map(|p| {
            serde_json::from_value(json!({
                "collective": "all_reduce", "size_bytes": 8, "count": 2, "dtype": "float",
                "op": "sum", "op_impl": "native", "root": -1, "placement": p, "iters": 20,
                "time_us": {"avg": 0.71 + i as f64 * 1e-6, "min": 0.52, "max": 3.1,
                    "p50": 0.69, "p99": 2.4},
                "algbw_gbs": 0.0112, "busbw_gbs": 0.0112, "wrong": 0, "precision": 0.0345,
                "per_rank": {"mean_us": [0.7, 0.72], "p50_us": [0.69, 0.7], "p99_us": [2.3, 2.4]}
            }))
            .unwrap()
        })
        .collect()
}

/// Rows per second writing `rows` rows (in groups of two) with the sink.
fn sink_rate(path: &std::path::Path, rows: usize) -> f64 {
    let mut s = JsonSink::new(path.to_path_buf());
    s.begin(&meta()).unwrap();
    let t0 = Instant::now();
    for i in 0..rows / 2 {
        s.rows(&group(i)).unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    s.end(&Summary {
        complete: true,
        ..Default::default()
    })
    .unwrap();
    let v: Report = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(v.rows.len(), rows);
    rows as f64 / secs
}

/// The previous method: the whole report serialized, written and renamed per group.
fn rewrite_rate(path: &std::path::Path, rows: usize) -> f64 {
    let mut r = Report {
        meta: meta(),
        rows: vec![],
        summary: Summary::default(),
        findings: vec![],
        imported: None,
    };
    let tmp = path.with_extension("json.partial");
    let t0 = Instant::now();
    for i in 0..rows / 2 {
        r.rows.extend(group(i));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&r).unwrap()).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }
    rows as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("xccl-json-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bench.json");
    println!("# --json sink, rows of one 8 B size (groups of 2 rows), rows per second");
    for rows in [1_000, 100_000] {
        // The median of three runs.
        let mut r: Vec<f64> = (0..3).map(|_| sink_rate(&p, rows)).collect();
        r.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let size = std::fs::metadata(&p).unwrap().len();
        println!(
            "sink (positioned write per row)  {rows:>7} rows: {:>9.0} rows/s  ({:.1} MB file)",
            r[1],
            size as f64 / 1e6
        );
    }
    println!(
        "previous (rewrite whole report)  {:>7} rows: {:>9.0} rows/s",
        1_000,
        rewrite_rate(&p, 1_000)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
