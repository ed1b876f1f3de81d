//! The versioned reader: a real version-1 file (written by the release before the typed
//! schema), round trips, and one clear error for each kind of file it cannot read.

use std::path::Path;
use xccl_schema::read::parse_report;
use xccl_schema::{read_report, CollKind, Placement, ReadError, ReduceOp};

const V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/v1-all_reduce.json"
);

#[test]
fn reads_a_version_1_file_as_typed_rows() {
    let r = read_report(V1).unwrap();
    assert_eq!(r.meta.schema_version, 1);
    assert_eq!(r.meta.collective, CollKind::AllReduce);
    assert!(r.summary.complete);
    assert!(r.findings.is_empty());
    assert_eq!(
        r.rows.len(),
        4,
        "8 B and 256 B, each out-of-place and in-place"
    );
    assert_eq!(r.rows[0].placement, Placement::OutOfPlace);
    assert_eq!(r.rows[1].placement, Placement::InPlace);
    assert_eq!(r.rows[0].op, Some(ReduceOp::Sum));
    assert!(
        r.rows[0].verdict.is_some(),
        "v1 verdicts (with their `cell`) read"
    );
    assert_eq!(r.rows[0].nranks(), 2);
}

#[test]
fn round_trips_and_keeps_the_json_names() {
    let r = read_report(V1).unwrap();
    let text = serde_json::to_string(&r).unwrap();
    assert!(text.contains(r#""collective":"all_reduce""#), "{text}");
    assert!(text.contains(r#""placement":"out-of-place""#));
    assert!(text.contains(r#""dtype":"float""#));
    assert!(text.contains(r#""op":"sum""#));
    let back = parse_report(&text, Path::new("x.json")).unwrap();
    assert_eq!(back, r);
}

#[test]
fn op_none_for_collectives_without_a_reduction() {
    let text =
        std::fs::read_to_string(V1)
            .unwrap()
            .replacen(r#""op": "sum""#, r#""op": "none""#, 1);
    let r = parse_report(&text, Path::new("x.json")).unwrap();
    assert_eq!(r.rows[0].op, None);
    assert_eq!(r.rows[0].op_name(), "none");
}

fn err(text: &str) -> String {
    let e = parse_report(text, Path::new("res.json")).unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("res.json: "), "{s}");
    assert_eq!(s.lines().count(), 1, "{s}");
    s
}

#[test]
fn refuses_foreign_newer_and_broken_files_in_one_line() {
    assert!(err("not json").contains("not JSON"));
    assert!(err(r#"{"rows": []}"#).contains("not an xccl-bench result (no `meta` object)"));
    assert!(err(r#"{"meta": {"tool": "nccl-tests"}}"#).contains("written by `nccl-tests`"));
    let v1 = std::fs::read_to_string(V1).unwrap();
    let newer = v1.replacen(r#""schema_version": 1"#, r#""schema_version": 99"#, 1);
    let e = err(&newer);
    assert!(e.contains("schema version 99 is newer"), "{e}");
    let broken = v1.replacen(
        r#""collective": "all_reduce""#,
        r#""collective": "warp""#,
        1,
    );
    let e = err(&broken);
    assert!(e.contains("schema version 1, but"), "{e}");
    assert!(e.contains("warp"), "{e}");
    match read_report("/nonexistent/res.json") {
        Err(ReadError::Io { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_partial_file_reads_as_far_as_it_goes() {
    let v1 = std::fs::read_to_string(V1).unwrap();
    let partial = v1.replacen(r#""complete": true"#, r#""complete": false"#, 1);
    let r = parse_report(&partial, Path::new("x.json")).unwrap();
    assert!(!r.summary.complete);
    assert_eq!(r.rows.len(), 4);
}
