//! Bad input: one clear line from rank 0, a non-zero exit, every rank gone, no hang.

mod common;
use common::*;
use std::time::Duration;

/// `xccl-bench LINE` on `np` ranks must exit `code` with one error line holding `needle`.
fn expect_error(np: usize, line: &str, code: i32, needle: &str) {
    let args = argv(line, &[]);
    let r = mpirun(np, &args, &[], Duration::from_secs(60));
    assert_eq!(
        r.code, code,
        "{args:?}: exit code\nstdout:{}\nstderr:{}",
        r.stdout, r.stderr
    );
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains(needle)).collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: expected one line containing {needle:?} (rank 0 only), stderr:\n{}",
        r.stderr
    );
    assert!(
        lines[0].starts_with("xccl-bench: error:") || lines[0].starts_with("error:"),
        "{}",
        lines[0]
    );
    assert_no_survivors(&r);
}

#[test]
fn reversed_sizes() {
    expect_error(
        2,
        "all_reduce -b 64M -e 8",
        2,
        "minimum size 64M (-b) is larger than maximum size 8 (-e)",
    );
}

#[test]
fn malformed_size() {
    expect_error(2, "all_reduce -b 12Q", 2, "malformed size '12Q'");
}

#[test]
fn unknown_type_and_op() {
    expect_error(
        2,
        "all_reduce -d float128",
        2,
        "unknown data type 'float128'",
    );
    expect_error(2, "all_reduce -o xor", 2, "unknown reduction op 'xor'");
}

#[test]
fn type_the_backend_cannot_reduce() {
    expect_error(
        2,
        "all_reduce -d f8e4m3",
        2,
        "all_reduce with f8e4m3: the MPI backend has no fp8 arithmetic",
    );
}

#[test]
fn unknown_collective() {
    expect_error(2, "allreduc", 2, "unrecognized subcommand 'allreduc'");
}

#[test]
fn root_out_of_range() {
    expect_error(
        3,
        "broadcast -r 3 -e 64",
        2,
        "root 3 (-r) is out of range for 3 ranks",
    );
}

#[test]
fn size_too_large_for_memory() {
    expect_error(
        2,
        "all_gather -b 8 -e 64T",
        1,
        "not enough memory: the largest size (-e 64T)",
    );
}

#[test]
fn hung_collective_times_out_and_aborts_every_rank() {
    let json = tmp("hang.json");
    let args = argv("all_reduce -b 8 -e 64 -n 2 -T 2 --json {}", &[&json]);
    let hang = [("XCCL_TEST_HANG_RANK", "1")];
    let r = mpirun(3, &args, &hang, Duration::from_secs(60));
    assert_eq!(r.code, 3, "exit 3: -T caught a hang; stderr:\n{}", r.stderr);
    assert!(
        r.stderr.contains("all_reduce (out-of-place) of 8 bytes, float did not complete within 2.0 s (-T); aborting all ranks"),
        "stderr:\n{}",
        r.stderr
    );
    assert_no_survivors(&r);
}

#[test]
fn rows_measured_before_a_hang_are_kept() {
    let json = tmp("hang-late.json");
    // Rank 2 hangs only from the second size on: the first size's rows must survive.
    let args = argv("all_reduce -b 8 -e 64 -f 8 -n 2 -T 2 --json {}", &[&json]);
    let hang = [
        ("XCCL_TEST_HANG_RANK", "2"),
        ("XCCL_TEST_HANG_FROM_BYTES", "64"),
    ];
    let r = mpirun(3, &args, &hang, Duration::from_secs(60));
    assert_eq!(r.code, 3, "exit 3: -T caught a hang; stderr:\n{}", r.stderr);
    let v = read_json(&json);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "8-byte rows (both placements) kept: {v}");
    assert_eq!(rows[0]["size_bytes"], 8);
    assert_no_survivors(&r);
}

#[test]
fn launcher_mismatch_is_detected() {
    // A launcher that says 4 ranks while MPI says 1: what a binary built against another
    // MPI sees. Simulated by the variable alone (no mpirun), as a foreign launcher would.
    let out = command("all_reduce -e 8")
        .env("PMI_SIZE", "4")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("launcher started 4 ranks (PMI_SIZE=4) but this process sees a world of 1"),
        "{err}"
    );
}
