//! train-sim's compute is real work that no prediction feeds (issue 17 item 1), and
//! `calibrate` writes the device file `predict --device FILE.json` reads (item 2).
//!
//! - Structurally: nothing under src/cmd/train_sim/ but the report in run.rs names the
//!   prediction, and nothing there sleeps but the barrier of ranks left out of a scale.
//! - Behaviourally: the same job with predict's compute input (--device-step-time) 2×
//!   apart gives a 2× different predicted compute, and a measured compute and step that
//!   stay put.

mod common;
use common::train_job::{self, TINY};
use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(120);

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
}

#[test]
fn train_sim_reads_no_predicted_time() {
    let mut files = Vec::new();
    sources(Path::new("src/cmd/train_sim"), &mut files);
    sources(Path::new("src/compute"), &mut files);
    assert!(files.len() > 5, "{files:?}");
    let predicted = [
        "t_forward_s",
        "t_backward_s",
        "dp_window_s",
        "breakdown",
        "step_time_s",
        "Prediction",
        "xccl_train::predict",
    ];
    for (path, text) in &files {
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        if path.ends_with("run.rs") {
            // The report beside the measurement: predict() is called there and only
            // there; the step's runner takes no prediction.
            let runner = &code[code.find("fn run_scale").expect("run_scale")..];
            for w in predicted.iter().chain(&["pred"]) {
                assert!(!runner.contains(w), "{path}: run_scale names `{w}`");
            }
            continue;
        }
        for w in predicted {
            assert!(!code.contains(w), "{path} names `{w}`");
        }
        if !path.ends_with("wait.rs") {
            assert!(!code.contains("sleep"), "{path} sleeps");
        }
    }
}

/// One train-sim run of tiny-test on dp=2 with predict's compute from a one-device
/// micro-batch of `dev_step` seconds; its only scale.
fn run(dev_step: &str, name: &str) -> Value {
    let out = tmp(&format!("compute-{name}.json"));
    let mut args = vec!["train-sim"];
    let mut job = train_job::job(TINY, "dp=2", "4", &["--steps", "3", "--json"]);
    // job_on fixes --device-step-time 0.02: replace its value.
    let i = job.iter().position(|a| *a == "--device-step-time").unwrap();
    job[i + 1] = dev_step;
    args.extend(job);
    args.push(out.to_str().unwrap());
    let r = mpirun(2, &args, &[], T);
    r.assert_code(0);
    r.assert_stdout_has("compute: matrixmultiply sgemm");
    let j = read_json(&out);
    assert_eq!(j["compute_scale"], 1.0, "{j}");
    j["scales"][0].clone()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("no {k} in {v}"))
}

#[test]
fn measured_step_does_not_follow_predicted_compute() {
    // Alternating runs, the fastest of each kind: load from other processes on a shared
    // machine slows a run, never speeds it up.
    let mut runs: [Vec<Value>; 2] = [vec![], vec![]];
    for i in 0..4 {
        // Predicted compute 4 s and 8 s per step, above the ~1 s measured: a sleep of the
        // predicted compute, alone or added to the products, would move the step ≥ 1.8×.
        let (k, s) = if i % 2 == 0 { (0, "2") } else { (1, "4") };
        runs[k].push(run(s, &format!("{s}-{i}")));
    }
    let best = |k: usize, what: &dyn Fn(&Value) -> f64| {
        runs[k].iter().map(what).fold(f64::INFINITY, f64::min)
    };
    let pc = |v: &Value| f(&v["phases"], "predicted_compute_s");
    let mc = |v: &Value| f(&v["phases"], "measured_compute_s");
    let step = |v: &Value| f(v, "measured_min_s");
    // The input did move the prediction by 2×...
    let pr = best(1, &pc) / best(0, &pc);
    assert!((pr - 2.0).abs() < 1e-6, "predicted compute ratio {pr}");
    // ...and the measurement did not follow (a sleep of the predicted compute would give
    // ratios near 2).
    for (what, get) in [("compute", &mc as &dyn Fn(&Value) -> f64), ("step", &step)] {
        let r = best(1, get) / best(0, get);
        assert!(
            (1.0 / 1.5..1.5).contains(&r),
            "measured {what} moved {r:.2}× with predicted compute 2×: {runs:?}"
        );
    }
    assert!(best(0, &mc) > 0.0);
}

#[test]
fn calibrate_writes_a_device_file_predict_takes_and_refuses_another_backend() {
    let cal = tmp("cal.json");
    let line = "calibrate --model tests/train-sim/tiny.toml --layout dp=2 --seq 64 --reps 2 --min-time 0.02 -o {}";
    let r = solo(&argv(line, &[&cal]), T);
    r.assert_code(0);
    r.assert_stdout_has("qkv");
    let j = read_json(&cal);
    assert_eq!(j["backend"], "mpi");
    assert_eq!(j["device"], "host");
    assert_eq!(j["scale"], 1.0);
    // 6 forward products and 12 backward ones, each with a positive rate.
    let shapes = j["shapes"].as_array().unwrap();
    assert_eq!(shapes.len(), 18, "{j}");
    assert!(shapes
        .iter()
        .all(|s| s["flops_per_s"].as_f64().unwrap() > 0.0));

    let sweep = "tests/golden/inputs/all_reduce-slow.json";
    let predict = |device: &Path, seq: &str| {
        let line = "predict --model tests/train-sim/tiny.toml --device {} --layout dp=2 \
            --global-batch 4 --seq {} --measured {}";
        solo(&argv(line, &[&device, &seq, &sweep]), T)
    };
    let r = predict(&cal, "64");
    r.assert_code(0);
    r.assert_stdout_has("host (mpi, calibrated) GEMMs per layer");
    // Another sequence length: shapes the file lacks, refused in one line.
    let r = predict(&cal, "128");
    r.assert_code(2);
    r.assert_stderr_has("calibrate this model and layout");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    // A file from another backend than the sweeps'.
    let mut other = j.clone();
    other["backend"] = "nccl".into();
    other["device"] = "NVIDIA H100 80GB HBM3".into();
    let nccl = tmp("cal-nccl.json");
    std::fs::write(&nccl, other.to_string()).unwrap();
    let r = predict(&nccl, "64");
    r.assert_code(2);
    r.assert_stderr_has("the sweeps are of host on mpi");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
}
