//! Every importer on its fixtures (tests/fixtures/import, see its README for the formats'
//! sources): what is read, what is left unset and said so, and the one-line refusals.

use std::path::{Path, PathBuf};
use xccl_schema::result::TimingMethod;
use xccl_schema::{read_report, CollKind, DataType, Placement, ReadError, ReduceOp, Report};

fn fx(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn read(name: &str) -> Report {
    read_report(fx(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn err(name: &str) -> String {
    match read_report(fx(name)) {
        Ok(_) => panic!("{name}: read, but should be refused"),
        Err(e) => {
            let s = e.to_string();
            assert_eq!(s.lines().count(), 1, "{s}");
            assert!(s.contains(name), "names the file: {s}");
            s
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn classic_text_two_nodes() {
    let r = read("nccl-tests-classic-2node.txt");
    let p = r.imported.as_ref().unwrap();
    assert_eq!(p.format, "nccl-tests text");
    // The log never names its binary: sum, root -1, size = count x 4 => all_reduce.
    assert_eq!(r.meta.collective, CollKind::AllReduce);
    assert_eq!(r.meta.nranks, 16);
    assert_eq!(r.meta.hosts, ["node01", "node02"]);
    assert_eq!(r.meta.ranks_per_host, [8, 8]);
    assert_eq!(r.meta.ranks[9].local_rank, 1);
    assert_eq!(r.meta.ranks[9].device, "NVIDIA H100 80GB HBM3 [0x43]");
    assert_eq!(r.meta.settings.iters, 20);
    assert_eq!(r.meta.settings.warmup_iters, 5);
    assert_eq!(r.meta.settings.step_factor, Some(8.0));
    assert_eq!(r.meta.settings.timing, Some(TimingMethod::Loop));
    assert_eq!(r.rows.len(), 20);
    let last = &r.rows[18];
    assert_eq!(last.size_bytes, 1073741824);
    assert_eq!(last.placement, Placement::OutOfPlace);
    assert_eq!(last.op, Some(ReduceOp::Sum));
    assert_eq!(last.dtype, DataType::Float);
    assert_eq!(last.time_us.avg, 5993.2);
    assert_eq!(last.busbw_gbs, 335.92);
    assert_eq!(r.rows[19].placement, Placement::InPlace);
    assert_eq!(r.rows[19].busbw_gbs, 339.67);
    // Not in the text: left unset, and said so.
    assert!(last.time_us.p50.is_nan() && last.precision.is_nan());
    assert!(last.per_rank.mean_us.is_empty());
    assert!(p.lacks.iter().any(|l| l.starts_with("per-rank times")));
    assert!(p
        .lacks
        .iter()
        .any(|l| l.starts_with("per-iteration spread")));
    assert!(r.summary.complete && r.summary.check_ok);
    assert_eq!(r.summary.avg_busbw_gbs, 104.543);
}

#[test]
fn wrong_elements_fail_the_check() {
    let r = read("nccl-tests-wrong.txt");
    let bad: Vec<_> = r.rows.iter().filter(|x| x.wrong != Some(0)).collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(
        (bad[0].size_bytes, bad[0].placement),
        (16777216, Placement::InPlace)
    );
    assert_eq!(bad[0].wrong, Some(1024));
    assert_eq!(r.summary.wrong_total, 1024);
    assert!(!r.summary.check_ok);
}

#[test]
fn per_iteration_columns_give_spread() {
    let r = read("nccl-tests-2.19-per-iter.txt");
    let p = r.imported.as_ref().unwrap();
    assert_eq!(p.version.as_deref(), Some("2.17.6"));
    assert_eq!(r.meta.backend.version, "2.27.3");
    assert_eq!(r.meta.collective, CollKind::AllReduce);
    assert_eq!(r.meta.nranks, 8);
    assert_eq!(r.meta.ranks[5].device, "NVIDIA H100 80GB HBM3 [0000:43:00]");
    assert_eq!(r.meta.settings.timing, Some(TimingMethod::DeviceEvents));
    let x = &r.rows[0];
    assert_eq!(
        (x.time_us.min, x.time_us.max, x.time_us.p99),
        (28.31, 36.83, 35.92)
    );
    // 95% CI of the mean from cv 4.2% over 20 iterations.
    assert!(close(x.precision, 1.96 * 0.042 / 20f64.sqrt()));
    assert!(x.time_us.p50.is_nan());
    assert!(p.lacks.iter().any(|l| l.starts_with("p50")));
}

#[test]
fn two_tables_in_one_log() {
    let r = read("nccl-tests-2.17-two-tables.txt");
    assert_eq!(r.meta.collective, CollKind::AllGather);
    assert_eq!(r.meta.nranks, 4);
    assert_eq!(r.rows.len(), 44);
    assert_eq!(r.rows[0].dtype, DataType::Float);
    assert_eq!(r.rows[22].dtype, DataType::Half);
    // The second table ran with -c 0: #wrong N/A, not 0.
    assert_eq!(r.rows[0].wrong, Some(0));
    assert_eq!(r.rows[22].wrong, None);
    assert_eq!(r.rows[0].op, None);
}

#[test]
fn every_type_and_op() {
    let r = read("reduce_perf-dall-oall.txt");
    assert_eq!(r.meta.collective, CollKind::Reduce);
    // 10 types x 5 ops x 2 placements; the 10 mulsum lines are skipped and said so.
    assert_eq!(r.rows.len(), 100);
    let p = r.imported.as_ref().unwrap();
    assert!(p
        .notes
        .iter()
        .any(|n| n.starts_with("10 row(s) of redop mulsum")));
    assert!(r
        .rows
        .iter()
        .any(|x| x.dtype == DataType::Bfloat16 && x.op == Some(ReduceOp::Avg)));
    assert!(r.rows.iter().all(|x| x.root == 0));
}

#[test]
fn oldest_table_has_no_wrong_count_and_no_root() {
    let r = read("nccl-tests-old-error-column.txt");
    assert_eq!(r.meta.nranks, 4);
    assert_eq!(r.meta.collective, CollKind::AllReduce);
    assert!(r.rows.iter().all(|x| x.wrong.is_none() && x.root == -1));
    let p = r.imported.as_ref().unwrap();
    assert!(p.lacks.iter().any(|l| l.starts_with("#wrong")));
    assert!(p.lacks.iter().any(|l| l.starts_with("root")));
}

#[test]
fn a_log_without_footer_is_a_partial_run() {
    let r = read("nccl-tests-no-footer.txt");
    assert!(!r.summary.complete);
    assert_eq!(r.rows.len(), 16);
    assert!(r
        .imported
        .unwrap()
        .notes
        .iter()
        .any(|n| n.contains("did not finish")));
}

#[test]
fn json_with_per_iteration_and_per_process_times() {
    let r = read("nccl-tests-same.json");
    let p = r.imported.as_ref().unwrap();
    assert_eq!(p.format, "nccl-tests JSON");
    assert_eq!(r.meta.collective, CollKind::AllReduce);
    assert_eq!(r.meta.nranks, 2);
    assert_eq!(r.meta.backend.version, "2.28.9");
    assert_eq!(r.rows.len(), 10);
    let x = &r.rows[8];
    assert_eq!((x.size_bytes, x.root, x.iters), (32768, -1, 20));
    assert!(x.time_us.p50.is_finite() && x.precision.is_finite() && x.precision > 0.0);
    // per_process_max_times_us: each rank's mean, the second process 0.97 of the first.
    assert_eq!(x.per_rank.mean_us.len(), 2);
    assert!((x.per_rank.mean_us[1] / x.per_rank.mean_us[0] - 0.97).abs() < 1e-5);
    assert!(!p.lacks.iter().any(|l| l.starts_with("per-rank")));
    assert!(r.summary.complete && r.summary.check_ok);
}

#[test]
fn json_without_per_iteration_says_so() {
    let r = read("nccl-tests-no-I.json");
    let p = r.imported.as_ref().unwrap();
    assert!(r
        .rows
        .iter()
        .all(|x| x.per_rank.mean_us.is_empty() && x.precision.is_nan()));
    assert!(p.lacks.iter().any(|l| l.starts_with("per-rank times")));
    assert!(p
        .lacks
        .iter()
        .any(|l| l.starts_with("per-iteration spread")));
}

#[test]
fn hccl_test_busbw_is_derived() {
    let r = read("hccl_test-all_reduce.txt");
    let p = r.imported.as_ref().unwrap();
    assert_eq!(p.format, "hccl_test text");
    assert_eq!(r.meta.collective, CollKind::AllReduce);
    assert_eq!(r.meta.nranks, 8);
    assert_eq!(r.rows.len(), 14);
    let x = &r.rows[13];
    assert_eq!(
        (x.size_bytes, x.count, x.time_us.avg),
        (67108864, 16777216, 2630.20)
    );
    // nccl-tests' algbw (bytes / time), busbw = algbw x 2(n-1)/n: derived, and said so.
    assert!(close(x.algbw_gbs, 67108864.0 / 2630.20 / 1e3));
    assert!(close(x.busbw_gbs, x.algbw_gbs * 1.75));
    assert!(p
        .derived
        .iter()
        .any(|d| d.starts_with("busbw = algbw x 1.7500")));
    assert!(p.lacks.iter().any(|l| l == "busbw"));
    assert_eq!(r.meta.settings.iters, 20);
    assert!(r.summary.complete && r.summary.check_ok);
}

#[test]
fn hccl_test_failed_check() {
    let r = read("hccl_test-all_gather-failed.txt");
    assert_eq!(r.meta.collective, CollKind::AllGather);
    assert_eq!((r.meta.nranks, r.rows[0].dtype), (16, DataType::Half));
    // data_size is per NPU: the whole all_gather buffer is 16 times it.
    assert_eq!(r.rows[0].size_bytes, 16 * 1048576);
    assert!(!r.summary.check_ok);
    assert_eq!(r.rows[3].wrong, None);
    let n = &r.imported.as_ref().unwrap().notes;
    assert!(
        n.iter()
            .any(|x| x == "check_result failed at data_size 8388608 (on rank 11)"),
        "{n:?}"
    );
}

#[test]
fn refused_in_one_line() {
    let e = err("nccl-tests-truncated.txt");
    assert!(e.contains("nccl-tests text output, but truncated: the last line (31) has 3 of the table's 13 fields"), "{e}");
    let e = err("nccl-tests-truncated.json");
    assert!(e.contains("nccl-tests JSON output, but truncated"), "{e}");
    let e = err("hccl_test-truncated.txt");
    assert!(e.contains("hccl_test text output, but truncated"), "{e}");
    let e = err("hccl_test-no-command-all_reduce.txt");
    assert!(e.contains("the rank count is unknown"), "{e}");
    let e = err("osu_allreduce.txt");
    assert!(
        e.contains("not JSON") && e.contains("nor nccl-tests or hccl_test output"),
        "{e}"
    );
    assert!(matches!(
        read_report(fx("osu_allreduce.txt")),
        Err(ReadError::Unrecognized { .. })
    ));
}

#[test]
fn detection_is_by_content_not_name() {
    // The same bytes under a name that says nothing (and a misleading extension).
    let dir = std::env::temp_dir().join(format!("xccl-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (src, dst) in [
        ("nccl-tests-classic-2node.txt", "run7.json"),
        ("nccl-tests-same.json", "run8.log"),
        ("hccl_test-all_reduce.txt", "run9.csv"),
    ] {
        std::fs::copy(fx(src), dir.join(dst)).unwrap();
        let r = read_report(dir.join(dst)).unwrap();
        assert_eq!(r.meta.collective, CollKind::AllReduce, "{dst}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn imported_result_round_trips_through_our_json() {
    // judge --write writes an imported result as our JSON; NaN (not recorded) is null
    // there and must read back as not recorded.
    let r = read("nccl-tests-classic-2node.txt");
    let text = serde_json::to_string(&r).unwrap();
    let back = xccl_schema::read::parse_report(&text, Path::new("x.json")).unwrap();
    assert!(back.rows[0].time_us.p50.is_nan() && back.rows[0].precision.is_nan());
    assert_eq!(back.imported, r.imported);
    assert_eq!(back.rows.len(), r.rows.len());
}
