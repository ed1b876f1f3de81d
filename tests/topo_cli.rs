//! `topo show`, `topo check` and `--topology` from the command line, under mpirun.

mod common;
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

#[test]
fn topo_show_prints_a_preset_and_the_detected_job() {
    let r = mpirun(2, &["topo", "show", "topologies/dgx-h100.toml"], &[], T);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("nvswitch"), "{}", r.stdout);
    let r = mpirun(2, &["topo", "show"], &[], T);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("detected"), "{}", r.stdout);
    assert!(r.stdout.contains("1 × 2 devices"), "{}", r.stdout);
}

#[test]
fn topo_check_rejects_a_file_that_does_not_match_the_job() {
    let r = mpirun(2, &["topo", "check", "topologies/emu-3node.toml"], &[], T);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("is not in the topology"), "{}", r.stdout);
    let r = mpirun(2, &["topo", "check", "topologies/dgx-h100.toml"], &[], T);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ok: 2 ranks on 1 nodes"), "{}", r.stdout);
}

#[test]
fn malformed_topology_is_one_line_naming_file_line_and_key() {
    let bad = tmp("bad.toml");
    std::fs::write(
        &bad,
        "version = 1\nname = \"x\"\n[node]\ndevices = 8\n\n[node.fabric]\nkind = \"warp-drive\"\nbw_gbs = 10.0\n",
    )
    .unwrap();
    let r = mpirun(
        2,
        &[
            "all_reduce",
            "-e",
            "64",
            "--topology",
            bad.to_str().unwrap(),
        ],
        &[],
        T,
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("bad.toml"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(lines[0].contains("bad.toml:7"), "{}", lines[0]);
    assert!(lines[0].contains("node.fabric.kind"), "{}", lines[0]);
    assert_no_survivors(&r);
}

#[test]
fn min_efficiency_needs_a_topology() {
    let r = mpirun(
        2,
        &["all_reduce", "-e", "64", "--min-efficiency", "0.8"],
        &[],
        T,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--min-efficiency needs --topology"),
        "{}",
        r.stderr
    );
}

#[test]
fn verdicts_land_in_table_and_json() {
    let json = tmp("verdict.json");
    let r = mpirun(
        2,
        &[
            "all_reduce",
            "-b",
            "1K",
            "-e",
            "64K",
            "-f",
            "8",
            "--topology",
            "detect",
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
        T,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("verdict"), "{}", r.stdout);
    let v = read_json(&json);
    for row in v["rows"].as_array().unwrap() {
        let verdict = &row["verdict"];
        assert!(
            verdict["expected_busbw_gbs"].as_f64().unwrap() > 0.0,
            "{row}"
        );
        assert!([
            "bandwidth-bound",
            "low efficiency",
            "latency-bound",
            "above model"
        ]
        .contains(&verdict["class"].as_str().unwrap()));
        assert!(verdict["cell"].is_string());
    }
}
