//! Slow ranks in a benchmark run (issue 8): `--delay RANK:US` makes one rank arrive late
//! at every timed call; the run must name exactly that rank (`slow_rank`, with its host
//! and device) and exit 4. Without a delay a run must name nobody and exit 0, every time:
//! 4 ranks on an oversubscribed machine are noisy, which is what the rule must survive.

mod common;
use common::{argv, mpirun, tmp};
use serde_json::Value;
use std::time::Duration;

fn run(extra: &[&str], tag: &str) -> (i32, Value, String) {
    let json = tmp(&format!("diag-ranks-{tag}.json"));
    let mut args = argv(
        "all_reduce -b 1K -e 64K -f 4 -n 20 -w 3 --json {}",
        &[&json],
    );
    args.extend_from_slice(extra);
    let r = mpirun(4, &args, &[], Duration::from_secs(120));
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(&json)
            .unwrap_or_else(|e| panic!("{tag}: no JSON ({e})\n{}\n{}", r.stdout, r.stderr)),
    )
    .unwrap();
    (r.code, v, r.stdout)
}

#[test]
fn delayed_rank_is_named_and_nothing_else() {
    // Rank 2 sleeps 20 ms after each barrier: well above the few milliseconds a rank can
    // lose to the scheduler when two tests' 8 ranks share 2 cores (2 ms was not, once).
    // Sizes up to 64 KiB keep each call well under the delay. The others enter ~20 ms
    // before it and wait for it before any data moves: sync ratio ≈ 20000 / (20000 +
    // transit) > 0.2 in every row, and rank 2 spends the shortest time in each call
    // (Dixon's Q at 99.5 %).
    let (code, v, out) = run(&["--delay", "2:20000"], "delay");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "exactly one finding: {f:?}\n{out}");
    assert_eq!(f[0]["kind"], "slow_rank");
    let s = &f[0]["subject"];
    assert_eq!(s["type"], "rank");
    assert_eq!(s["rank"], 2);
    assert_eq!(s["host"], v["meta"]["ranks"][2]["host"]);
    assert_eq!(s["device"], "host");
    assert_eq!(code, 4, "findings give exit 4\n{out}");
    assert!(out.contains("# finding: slow_rank: rank 2"), "{out}");
    // Every row carries the per-rank timing; rank 2 waits least in each.
    for row in v["rows"].as_array().unwrap() {
        let t = &row["ranks_timing"];
        let w: Vec<f64> = t["wait_ratio"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(w.len(), 4);
        let min = w.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(w[2], min, "rank 2 waits least: {t}");
        assert!(t["clock_residual_us"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn healthy_runs_name_nobody() {
    for i in 0..3 {
        let (code, v, out) = run(&[], &format!("healthy{i}"));
        assert_eq!(v["findings"], Value::Array(vec![]), "run {i}: {out}");
        assert_eq!(code, 0, "run {i}: {out}");
        assert!(!out.contains("# finding"), "{out}");
    }
}

#[test]
fn bad_delay_is_bad_input() {
    let delay = |d: &str| {
        let args = argv("all_reduce -b 8 -e 8 --delay {}", &[&d]);
        mpirun(2, &args, &[], Duration::from_secs(60))
    };
    let r = delay("5:100");
    r.assert_code(2);
    r.assert_stderr_has("--delay 5: rank out of range");
    let r = delay("x");
    r.assert_code(2);
}

#[test]
fn split_needs_several_nodes_with_several_ranks_per_node() {
    // 2 ranks on this one machine: --split has no inter-node part to run, so every rank
    // refuses before the sweep (exit 2, one line naming the host), nothing hangs.
    let topo = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/emu-2x2.toml");
    let args = argv("all_reduce -b 1K -e 1K --split --topology {}", &[&topo]);
    let r = mpirun(2, &args, &[], Duration::from_secs(60));
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    r.assert_stderr_has("--split needs a job over several nodes; all 2 ranks run on");
    common::assert_no_survivors(&r);
}
