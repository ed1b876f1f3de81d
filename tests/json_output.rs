//! The JSON file is the contract offline analysis reads: written, read back, and saying
//! the same as the table on stdout. CSV says the same too.

mod common;
use common::*;
use std::time::Duration;

/// Parses the data lines of the nccl-tests table into (size, count, oop time, oop algbw,
/// oop busbw, oop wrong, ip time, ip busbw).
fn table_rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn close(table: &str, json: f64, what: &str) {
    let t: f64 = table.parse().unwrap_or_else(|_| panic!("{what}: {table}"));
    // The table rounds to 2 decimals (or fewer digits for large times).
    let tol = if json.abs() >= 10000.0 {
        0.5
    } else if json.abs() >= 100.0 {
        0.05
    } else {
        0.005
    };
    assert!(
        (t - json).abs() <= tol + 1e-9,
        "{what}: table {t} vs json {json}"
    );
}

#[test]
fn json_and_csv_match_the_table() {
    let json = tmp("match.json");
    let csv = tmp("match.csv");
    let line = "all_reduce -b 8 -e 64K -f 8 -n 3 -w 1 --json {} --csv {}";
    let r = mpirun(2, &argv(line, &[&json, &csv]), &[], Duration::from_secs(60));
    r.assert_code(0);
    let v = read_json(&json);
    assert_eq!(
        v["meta"]["schema_version"],
        xccl_bench::result::SCHEMA_VERSION
    );
    assert_eq!(v["meta"]["nranks"], 2);
    assert_eq!(v["meta"]["collective"], "all_reduce");
    assert_eq!(
        v["meta"]["ranks_per_host"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .sum::<u64>(),
        2
    );
    assert_eq!(v["summary"]["complete"], true);
    let rows = v["rows"].as_array().unwrap();
    let table = table_rows(&r.stdout);
    assert_eq!(table.len(), 5, "sizes 8, 64, 512, 4K, 32K: {}", r.stdout);
    assert_eq!(rows.len(), 10);
    for (i, t) in table.iter().enumerate() {
        let (oop, ip) = (&rows[2 * i], &rows[2 * i + 1]);
        assert_eq!(oop["placement"], "out-of-place");
        assert_eq!(ip["placement"], "in-place");
        assert_eq!(t[0], oop["size_bytes"].to_string());
        assert_eq!(t[1], oop["count"].to_string());
        assert_eq!(t[2], "float");
        assert_eq!(t[3], "sum");
        assert_eq!(t[4], "-1");
        close(&t[5], oop["time_us"]["avg"].as_f64().unwrap(), "oop time");
        close(&t[6], oop["algbw_gbs"].as_f64().unwrap(), "oop algbw");
        close(&t[7], oop["busbw_gbs"].as_f64().unwrap(), "oop busbw");
        assert_eq!(t[8], oop["wrong"].to_string());
        close(&t[9], ip["time_us"]["avg"].as_f64().unwrap(), "ip time");
        close(&t[11], ip["busbw_gbs"].as_f64().unwrap(), "ip busbw");
        // busbw = algbw × 2(n-1)/n = algbw for n = 2; time = size / algbw.
        let algbw = oop["algbw_gbs"].as_f64().unwrap();
        assert!((oop["busbw_gbs"].as_f64().unwrap() - algbw).abs() < 1e-12);
        let size = oop["size_bytes"].as_f64().unwrap();
        let t_us = oop["time_us"]["avg"].as_f64().unwrap();
        assert!((algbw - size / (t_us * 1e-6) / 1e9).abs() <= 1e-9 * algbw.max(1.0));
        assert_eq!(oop["per_rank"]["mean_us"].as_array().unwrap().len(), 2);
        assert_eq!(oop["iters"], 3);
        let ts = &oop["time_us"];
        assert!(ts["min"].as_f64().unwrap() <= ts["p50"].as_f64().unwrap() + 0.01);
        assert!(ts["p50"].as_f64().unwrap() <= ts["p99"].as_f64().unwrap());
        assert!(ts["p99"].as_f64().unwrap() <= ts["max"].as_f64().unwrap() * 1.001 + 0.01);
    }
    // Average bus bandwidth footer = mean of every row's busbw.
    let avg: f64 = rows
        .iter()
        .map(|r| r["busbw_gbs"].as_f64().unwrap())
        .sum::<f64>()
        / rows.len() as f64;
    let footer = r
        .stdout
        .lines()
        .find(|l| l.starts_with("# Avg bus bandwidth"))
        .unwrap();
    let f: f64 = footer.split(':').nth(1).unwrap().trim().parse().unwrap();
    assert!((f - avg).abs() < 1e-6, "{footer} vs {avg}");
    // CSV: header plus one line per JSON row, same sizes and times.
    let c = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = c.lines().collect();
    assert_eq!(lines.len(), 1 + rows.len());
    for (l, row) in lines[1..].iter().zip(rows) {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f[1], row["size_bytes"].to_string());
        assert_eq!(f[6], row["placement"].as_str().unwrap());
        let t: f64 = f[8].parse().unwrap();
        assert!((t - row["time_us"]["avg"].as_f64().unwrap()).abs() < 0.001);
    }
}

#[test]
fn adaptive_mode_reports_precision_and_respects_budget() {
    let json = tmp("adaptive.json");
    let line = "all_reduce -b 1M -e 1M --precision 5% --time-budget 2 --max-iters 300 --json {}";
    let r = mpirun(2, &argv(line, &[&json]), &[], Duration::from_secs(60));
    r.assert_code(0);
    let v = read_json(&json);
    for row in v["rows"].as_array().unwrap() {
        let p = row["precision"].as_f64().unwrap();
        let iters = row["iters"].as_u64().unwrap();
        let mean = row["time_us"]["avg"].as_f64().unwrap() * 1e-6;
        // The target was met, or the iteration cap, or the budget (2 s) ran out.
        assert!(
            p <= 0.05 || iters == 300 || iters as f64 * mean >= 1.0,
            "precision {p} after {iters} iterations"
        );
        assert!(iters <= 300);
        assert!(iters >= 5);
    }
    r.assert_stdout_has("adaptive(precision 5.0%, budget 2s)");
}

#[test]
fn no_launcher_is_one_rank() {
    let r = solo(&argv("sendrecv -b 8 -e 64", &[]), Duration::from_secs(30));
    r.assert_code(0);
    r.assert_stdout_has("# Ranks: 1 on 1 host(s)");
}

/// The file is one valid document whenever a reader looks, rows grow one group at a
/// time with a current summary, and the timing method is recorded.
#[test]
fn json_file_is_valid_whenever_read_during_a_run() {
    let json = tmp("cycles.json");
    let _ = std::fs::remove_file(&json);
    let path = json.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    // Reads the file as fast as it can while the run writes it.
    let reader = std::thread::spawn(move || {
        let (mut reads, mut max_rows, mut torn) = (0usize, 0usize, 0usize);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok(bytes) = std::fs::read(&path) else {
                std::thread::yield_now();
                continue;
            };
            // A read that overlaps a write can see a torn mix (Linux reads are not atomic
            // against writes); the document must be whole again on a reread.
            let v: serde_json::Value = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(_) => {
                    torn += 1;
                    let again = std::fs::read(&path).unwrap();
                    serde_json::from_slice(&again).unwrap_or_else(|e| {
                        panic!(
                            "invalid JSON on reread: {e}\n{}",
                            String::from_utf8_lossy(&again)
                        )
                    })
                }
            };
            let n = v["rows"].as_array().unwrap().len();
            assert!(n >= max_rows, "rows went from {max_rows} to {n}");
            assert_eq!(n % 2, 0, "a group is written at once");
            if v["summary"]["complete"] == false {
                assert_eq!(v["summary"]["check_ok"], true);
            }
            max_rows = n;
            reads += 1;
        }
        (reads, torn)
    });
    let line = "all_reduce -b 8 -e 8 -N 150 -n 1 -w 0 --timing loop --json {}";
    let r = mpirun(2, &argv(line, &[&json]), &[], Duration::from_secs(120));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, torn) = reader.join().expect("reader saw only valid JSON");
    r.assert_code(0);
    assert!(reads > 0);
    // Torn reads are rare coincidences, not a state the file stays in.
    assert!(torn * 20 <= reads, "{torn} torn reads of {reads}");
    let v = read_json(&json);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 300);
    assert!(rows.iter().all(|r| r["size_bytes"] == 8));
    assert_eq!(v["summary"]["complete"], true);
    assert_eq!(v["summary"]["check_ok"], true);
    assert_eq!(v["meta"]["settings"]["timing"], "loop");
    // Loop timing: every iteration's sample on a rank is that rank's loop mean.
    let pr = &rows[0]["per_rank"];
    for k in 0..2 {
        let (mean, p50) = (
            pr["mean_us"][k].as_f64().unwrap(),
            pr["p50_us"][k].as_f64().unwrap(),
        );
        assert!((mean - p50).abs() <= 0.002 * mean + 0.001, "{pr}");
    }
}
