//! The `xccl-topo` command used by scripts/emu-cluster.sh and for offline judging.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_xccl-topo");
const EMU: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../topologies/emu-3node.toml"
);

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn show_plan_model() {
    let (rc, out, _) = run(&["show", EMU]);
    assert_eq!(rc, 0);
    assert!(out.contains("emu-sw1 (tier 1): emu-n1, emu-n2"), "{out}");
    let (rc, out, _) = run(&["emu-plan", EMU, "--slow-node", "emu-n2:0.25"]);
    assert_eq!(rc, 0);
    assert!(out.contains("node 1 emu-n2 10.231.7.12 0 50000 1"), "{out}");
    let (rc, out, _) = run(&["model", EMU, "all_reduce", "8388608"]);
    assert_eq!(rc, 0);
    assert!(out.contains("expected busbw 0.0250 GB/s"), "{out}");
    let (rc, _, err) = run(&["show", "/nonexistent.toml"]);
    assert_eq!(rc, 1);
    assert!(err.contains("/nonexistent.toml"), "{err}");
}

#[test]
fn judge_a_report() {
    let dir = std::env::temp_dir().join(format!("xccl-topo-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = |busbw: f64| {
        let row = |size: u64, t: f64| {
            format!(
                r#"{{"collective":"all_reduce","size_bytes":{size},"root":-1,"placement":"out-of-place","busbw_gbs":{busbw},"time_us":{{"avg":{t}}}}}"#
            )
        };
        format!(
            r#"{{"meta":{{"ranks":[{{"host":"emu-n1"}},{{"host":"emu-n2"}},{{"host":"emu-n3"}}]}},"rows":[{},{}]}}"#,
            row(1 << 20, 80000.0),
            row(8 << 20, 500000.0)
        )
    };
    let good = dir.join("good.json");
    let bad = dir.join("bad.json");
    std::fs::write(&good, report(0.0225)).unwrap();
    std::fs::write(&bad, report(0.0110)).unwrap();
    let (rc, out, _) = run(&[
        "judge",
        EMU,
        good.to_str().unwrap(),
        "--min-efficiency",
        "0.8",
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("BW 0.90 RDMA"), "{out}");
    assert!(out.contains("LAT"), "{out}");
    let (rc, out, err) = run(&[
        "judge",
        EMU,
        bad.to_str().unwrap(),
        "--min-efficiency",
        "0.8",
    ]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("LOW 0.44 RDMA"), "{out}");
    assert!(err.contains("1 large-message row(s)"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
