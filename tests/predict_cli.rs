//! `predict` from the command line (offline) and `train-sim` under mpirun: JSON keys,
//! Korthikanti's measured step, bad input, and one simulated step on 2 ranks.

mod common;
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

#[test]
fn predict_writes_json_with_the_measured_step_utilisation() {
    let out = tmp("predict-175b.json");
    let r = solo(
        &[
            "predict",
            "--model",
            "megatron-175b",
            "--device",
            "a100",
            "--layout",
            "dp=1,tp=8,pp=8",
            "--global-batch",
            "64",
            "--seq",
            "2048",
            "--recompute",
            "selective",
            "--sequence-parallel",
            "--flops-form",
            "megatron",
            "--topology",
            "topologies/dgx-a100.toml",
            "--step-time",
            "13.75",
            "--json",
            out.to_str().unwrap(),
        ],
        T,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("megatron (Korthikanti"), "{}", r.stdout);
    let j = read_json(&out);
    // Typed and recognisable (xccl_train::output::PredictionReport).
    assert_eq!(j["tool"], "xccl-bench");
    assert_eq!(j["kind"], "prediction");
    assert_eq!(j["schema_version"], 1);
    for k in [
        "mfu",
        "hfu",
        "model_flops_per_step",
        "step_time_s",
        "tokens_per_s",
    ] {
        assert!(j[k].as_f64().is_some(), "no {k} in {j}");
    }
    // Published 51.4 / 52.8 (Korthikanti et al. Table); 51.34 / 52.73 from the rounded T.
    let m = &j["measured_step"];
    assert!((m["mfu"].as_f64().unwrap() - 0.514).abs() < 0.0015, "{m}");
    assert!((m["hfu"].as_f64().unwrap() - 0.528).abs() < 0.0015, "{m}");
    assert!(j["linearity"]["points"].as_array().unwrap().len() >= 2);
}

#[test]
fn predict_refuses_bad_input_in_one_line() {
    for (args, want) in [
        (vec!["--model", "nope"], "unknown model 'nope'"),
        (
            vec!["--model", "llama2-7b", "--layout", "dp=3"],
            "not a multiple of dp × mb",
        ),
        (
            vec!["--model", "llama2-7b", "--no-comm"],
            "predict needs communication times",
        ),
    ] {
        let mut a = vec![
            "predict",
            "--device",
            "h100",
            "--global-batch",
            "8",
            "--seq",
            "128",
        ];
        let no_comm = args.contains(&"--no-comm");
        a.extend(args.iter().filter(|x| **x != "--no-comm"));
        if !a.contains(&"--layout") {
            a.extend(["--layout", "dp=2"]);
        }
        if !no_comm {
            a.extend(["--topology", "topologies/dgx-h100.toml"]);
        }
        let r = solo(&a, T);
        assert_eq!(r.code, 2, "{a:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(want), "{a:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
}

#[test]
fn train_sim_runs_a_step_and_refuses_a_wrong_rank_count() {
    let args = [
        "train-sim",
        "--model",
        "tests/train-sim/tiny.toml",
        "--device",
        "a100",
        "--layout",
        "pp=2",
        "--global-batch",
        "4",
        "--seq",
        "64",
        "--device-step-time",
        "0.02",
        "--topology",
        "topologies/emu-2x2.toml",
        "--steps",
        "1",
    ];
    let out = tmp("train-sim.json");
    let mut with_json = args.to_vec();
    with_json.extend(["--json", out.to_str().unwrap()]);
    let r = mpirun(2, &with_json, &[], T);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("dp=1,tp=1,pp=2"), "{}", r.stdout);
    let j = read_json(&out);
    assert_eq!(j["kind"], "train-sim");
    assert_eq!(j["ranks"], 2);
    let scales = j["scales"].as_array().unwrap();
    assert_eq!(scales.len(), 1, "{j}");
    assert!(scales[0]["layout"]
        .as_str()
        .unwrap()
        .starts_with("dp=1,tp=1,pp=2"));
    let r = mpirun(3, &args, &[], T);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("needs 2 ranks; mpirun started 3"),
        "{}",
        r.stderr
    );
}
