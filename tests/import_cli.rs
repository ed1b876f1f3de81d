//! The offline commands on other tools' outputs (issue 18 item 1): `compare` of an
//! nccl-tests JSON against our JSON of the same all_reduce (the same times: exit 0; every
//! time doubled: exit 5), `judge` of an nccl-tests log against a topology naming its hosts,
//! `report` of every importer's fixture with what each lacks said, a failed correctness
//! check, and a foreign or truncated log refused in one line naming it (exit 2).
//! Fixtures: analysis/xccl-schema/tests/fixtures/import (README there).

mod common;
use common::*;
use std::path::PathBuf;
use std::time::Duration;

fn fx(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("analysis/xccl-schema/tests/fixtures/import")
        .join(name)
}

/// Our own run of all_reduce (2 ranks, float, 8 B..32 KiB by 8), from which the nccl-tests
/// JSON fixtures took their times.
fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/inputs/all_reduce.json")
}

fn run(line: &str, fill: &[&dyn AsRef<std::path::Path>]) -> Run {
    solo(&argv(line, fill), Duration::from_secs(60))
}

#[test]
fn compare_nccl_tests_json_against_ours() {
    let (same, slow) = (fx("nccl-tests-same.json"), fx("nccl-tests-slow.json"));
    let r = run("compare {} {}", &[&ours(), &same]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Every row of the import matched a row of ours (same collective, size, type, op,
    // root, placement and rank count), none slower.
    assert_eq!(r.stdout.matches(" same").count(), 10, "{}", r.stdout);
    assert!(!r.stdout.contains("only in"), "{}", r.stdout);
    r.assert_stdout_has("nccl-tests-same.json is imported: nccl-tests JSON");

    let json = tmp("import-compare.json");
    let r = run("compare {} {} --json {}", &[&ours(), &slow, &json]);
    assert_eq!(r.code, 5, "{}{}", r.stdout, r.stderr);
    let c = read_json(&json);
    let rows = c["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    for row in rows {
        let ratio = row["time_ratio"].as_f64().unwrap();
        assert!((ratio - 2.0).abs() < 1e-3, "{row}");
    }
    // The rows whose own noise (our run's 95% CI) exceeds a doubling stay `same`; every
    // other one is a regression.
    let regressions = rows.iter().filter(|r| r["status"] == "regression").count();
    assert!(regressions >= 8, "{c}");
    assert_eq!(c["regressions"].as_u64().unwrap() as usize, regressions);

    // The other way round: the import as the base.
    let r = run("compare {} {}", &[&same, &slow]);
    assert_eq!(r.code, 5, "{}{}", r.stdout, r.stderr);
}

#[test]
fn compare_a_table_without_spread_by_the_threshold() {
    // nccl-tests text has no per-iteration spread: the threshold alone judges, said so.
    let r = run(
        "compare {} {}",
        &[&fx("nccl-tests-no-I.json"), &fx("nccl-tests-slow.json")],
    );
    assert_eq!(r.code, 5, "{}{}", r.stdout, r.stderr);
    r.assert_stdout_has("records no per-iteration spread for 10 compared row(s)");
    assert_eq!(r.stdout.matches("REGRESSION").count(), 10, "{}", r.stdout);
}

#[test]
fn judge_an_nccl_tests_log_against_a_topology() {
    let log = fx("nccl-tests-classic-2node.txt");
    let topo = fx("two-dgx-h100.toml");
    let judged = tmp("import-judged.json");
    let r = run("judge {} --topology {} --write {}", &[&log, &topo, &judged]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // 16 ranks on node01 and node02 were placed on the topology: the large rows are
    // judged against the NICs (8 x 50 GB/s per node), the small ones on latency.
    assert!(
        r.stdout
            .contains("1073741824 out-of-place   335.9200   400.0000 BW 0.84 RDMA"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("2097152 out-of-place    99.1700   400.0000 LOW 0.25 RDMA"),
        "{}",
        r.stdout
    );
    r.assert_stderr_has("is imported: nccl-tests text; lacks: per-rank times");
    // The written file is our JSON, readable again, with its provenance.
    let back = xccl_schema::read_report(&judged).unwrap();
    assert_eq!(back.imported.unwrap().format, "nccl-tests text");
    assert!(back.rows.iter().all(|x| x.verdict.is_some()));
    // --min-efficiency on the same log: the 2 MiB and 16 MiB rows fall short.
    let r = run(
        "judge {} --topology {} --min-efficiency 0.8",
        &[&log, &topo],
    );
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
}

#[test]
fn a_wrong_element_is_a_correctness_failure() {
    let topo = fx("two-dgx-h100.toml");
    let r = run(
        "judge {} --topology {}",
        &[&fx("nccl-tests-wrong.txt"), &topo],
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    r.assert_stderr_has("nccl-tests-wrong.txt failed its correctness check (1024 wrong element(s), as nccl-tests text says)");
    let html = tmp("import-wrong.html");
    let r = run("report {} -o {}", &[&fx("nccl-tests-wrong.txt"), &html]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains("complete, 1024 wrong"));
    let h = {
        let r = run(
            "report {} -o {}",
            &[&fx("hccl_test-all_gather-failed.txt"), &html],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        std::fs::read_to_string(&html).unwrap()
    };
    assert!(h.contains("complete, check FAILED"));
    assert!(h.contains("check_result failed at data_size 8388608 (on rank 11)"));
}

#[test]
fn report_of_every_importer_says_what_is_missing() {
    let html = tmp("import-all.html");
    let files: Vec<PathBuf> = [
        "nccl-tests-classic-2node.txt",
        "nccl-tests-2.19-per-iter.txt",
        "nccl-tests-2.17-two-tables.txt",
        "reduce_perf-dall-oall.txt",
        "nccl-tests-old-error-column.txt",
        "nccl-tests-same.json",
        "hccl_test-all_reduce.txt",
    ]
    .iter()
    .map(|f| fx(f))
    .collect();
    let mut args = vec!["report"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["-o", html.to_str().unwrap()]);
    let r = solo(&args, Duration::from_secs(60));
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.assert_stderr_has("(7 run(s),");
    assert_eq!(r.stderr.matches("is imported:").count(), 7, "{}", r.stderr);
    r.assert_stderr_has("hccl_test-all_reduce.txt is imported: hccl_test text; lacks: busbw");
    r.assert_stderr_has("derived: busbw = algbw x 1.7500 (bus factor of all_reduce on 8 ranks; hccl_test prints none)");
    let h = std::fs::read_to_string(&html).unwrap();
    assert_eq!(h.matches("<p class=\"note\">Imported:").count(), 7);
    // Unrecorded percentiles are shown as such, never as a number.
    assert!(h.contains("<td>—</td>"));
    assert!(!h.contains("NaN"));
    // The per-rank view takes the per-process times of an nccl-tests JSON with -I, and
    // draws nothing for one without them.
    for (f, has) in [
        ("nccl-tests-same.json", true),
        ("nccl-tests-no-I.json", false),
    ] {
        let r = run("report {} -o {}", &[&fx(f), &html]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let h = std::fs::read_to_string(&html).unwrap();
        assert_eq!(h.contains(&format!("{f} rank 1")), has, "{f}");
    }
}

#[test]
fn judge_refuses_a_result_without_hosts() {
    // hccl_test prints no hosts: `judge` says so instead of placing invented ones.
    let topo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topologies/atlas-800t-a2.toml");
    let r = run(
        "judge {} --topology {}",
        &[&fx("hccl_test-all_reduce.txt"), &topo],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    r.assert_stderr_has("hccl_test-all_reduce.txt: the result names no hosts or devices, so its ranks cannot be placed on a topology");
}

#[test]
fn foreign_or_truncated_logs_are_one_line_and_exit_2() {
    let out = tmp("import-bad.html");
    for (f, why) in [
        ("osu_allreduce.txt", "not JSON"),
        (
            "nccl-tests-truncated.txt",
            "nccl-tests text output, but truncated",
        ),
        (
            "nccl-tests-truncated.json",
            "nccl-tests JSON output, but truncated",
        ),
        (
            "hccl_test-truncated.txt",
            "hccl_test text output, but truncated",
        ),
        (
            "hccl_test-no-command-all_reduce.txt",
            "the rank count is unknown",
        ),
    ] {
        let p = fx(f);
        let topo = fx("two-dgx-h100.toml");
        for args in [
            argv("report {} -o {}", &[&p, &out]),
            argv("compare {} {}", &[&ours(), &p]),
            argv("judge {} --topology {}", &[&p, &topo]),
        ] {
            let r = solo(&args, Duration::from_secs(60));
            assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
            assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
            r.assert_stderr_has(f);
            r.assert_stderr_has(why);
        }
    }
}
