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
    assert!(err(r#"{"rows": []}"#).contains("not an xccl-bench file (no `meta` object)"));
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

#[test]
fn kind_of_tells_the_files_apart() {
    use serde_json::json;
    use xccl_schema::read::{kind_of, parse_kind};
    use xccl_schema::Kind;
    let p = Path::new("k.json");
    let v1: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(V1).unwrap()).unwrap();
    assert_eq!(kind_of(&v1, p).unwrap(), Kind::Result);
    for (k, want) in [
        ("links", Kind::Links),
        ("prediction", Kind::Prediction),
        ("train-sim", Kind::TrainSim),
    ] {
        let v = json!({"tool": "xccl-bench", "kind": k, "schema_version": 1});
        assert_eq!(kind_of(&v, p).unwrap(), want);
    }
    let e = |v: serde_json::Value| kind_of(&v, p).unwrap_err().to_string();
    assert_eq!(
        e(json!([1, 2])),
        "k.json: not an xccl-bench file (a JSON array, not an object)"
    );
    assert!(e(json!({"tool": "osu", "kind": "links"})).contains("written by `osu`"));
    assert!(e(json!({"tool": "xccl-bench", "kind": "warp"})).contains("unknown kind `warp`"));
    assert!(e(json!({"x": 1})).contains("no `meta` object and no `tool`"));
    // Versions: newer refused in one line naming the kind; absent reads as 1.
    #[derive(serde::Deserialize, Debug)]
    struct T {
        #[allow(dead_code)]
        kind: String,
    }
    let newer = json!({"tool": "xccl-bench", "kind": "links", "schema_version": 7});
    let s = parse_kind::<T>(newer, p, Kind::Links, 1)
        .unwrap_err()
        .to_string();
    assert_eq!(s, "k.json: an xccl-bench links file of schema version 7 is newer than this xccl-bench reads (up to 1); use a newer xccl-bench");
    let old = json!({"tool": "xccl-bench", "kind": "links"});
    assert!(parse_kind::<T>(old, p, Kind::Links, 1).is_ok());
    // A non-result given to the result reader says what it is.
    let s = parse_report(r#"{"tool": "xccl-bench", "kind": "links"}"#, p)
        .unwrap_err()
        .to_string();
    assert!(s.contains("another kind than a benchmark result"), "{s}");
}
