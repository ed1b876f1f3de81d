//! `predict` from the command line (offline) and `train-sim` under mpirun: JSON keys,
//! Korthikanti's measured step, bad input, one simulated step on 2 ranks, and ZeRO-1/3
//! steps on 4 whose messages are the ones predict lists.

mod common;
use common::train_job::{self, dp2_pp2_sharded, issued, k, listed, Msgs};
use common::*;
use serde_json::Value;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

#[test]
fn predict_writes_json_with_the_measured_step_utilisation() {
    let out = tmp("predict-175b.json");
    let line = "predict --model megatron-175b --device a100 --layout dp=1,tp=8,pp=8 \
        --global-batch 64 --seq 2048 --recompute selective --sequence-parallel \
        --flops-form megatron --topology topologies/dgx-a100.toml --step-time 13.75 --json {}";
    let r = solo(&argv(line, &[&out]), T);
    r.assert_code(0);
    r.assert_stdout_has("megatron (Korthikanti");
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
    for (line, want) in [
        ("--model nope", "unknown model 'nope'"),
        (
            "--model llama2-7b --layout dp=3",
            "not a multiple of dp × mb",
        ),
        (
            "--model llama2-7b --no-comm",
            "predict needs communication times",
        ),
    ] {
        let args = argv(line, &[]);
        let mut a = argv("predict --device h100 --global-batch 8 --seq 128", &[]);
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
    let mut args = vec!["train-sim"];
    args.extend(train_job::job_on(
        train_job::TINY,
        "pp=2",
        "4",
        &["--topology", "topologies/emu-2x2.toml", "--steps", "1"],
    ));
    let out = tmp("train-sim.json");
    let mut with_json = args.clone();
    with_json.extend(["--json", out.to_str().unwrap()]);
    let r = mpirun(2, &with_json, &[], T);
    r.assert_code(0);
    r.assert_stdout_has("dp=1,tp=1,pp=2");
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
    r.assert_code(2);
    r.assert_stderr_has("needs 2 ranks; mpirun started 3");
}

/// The messages of the 4-rank DP group: (collective, bytes, how many).
fn dp4(msgs: &[(&str, u64, u64)]) -> Msgs {
    msgs.iter()
        .map(|&(c, b, n)| (k("dp", c, b, 4), n))
        .collect()
}

/// `train-sim JOB --steps 1 --json` on `np` ranks and `predict JOB --json`, each
/// asserted to succeed (JSON in NAME files): train-sim's stdout and both JSON documents.
fn sim_and_predict(np: usize, job: &[&str], name: &str) -> (String, Value, Value) {
    let (sim, pred) = (
        tmp(&format!("train-sim-{name}.json")),
        tmp(&format!("predict-{name}.json")),
    );
    let mut a = vec!["train-sim"];
    a.extend(job);
    a.extend(argv("--steps 1 --json {}", &[&sim]));
    let r = mpirun(np, &a, &[], T);
    r.assert_code(0);
    let mut a = vec!["predict"];
    a.extend(job);
    a.extend(argv("--json {}", &[&pred]));
    let p = solo(&a, T);
    p.assert_code(0);
    (r.stdout, read_json(&sim), read_json(&pred))
}

#[test]
fn train_sim_runs_zero_stages_with_the_messages_predict_lists() {
    // tiny-test on dp=4 (tp = pp = 1): each rank holds 4 layers × (4·256² + 2·256·1024 =
    // 786432) + 1000·256 = 3401728 parameters; bf16 gradients 6803456 B = 6 buckets of
    // 1 MiB (1048576 B) + a last one of 6803456 − 6·1048576 = 512000 B, each reduce-scattered
    // over the 4 DP ranks; then the bf16 parameters all-gathered (6803456 B output) once
    // after the optimizer (ZeRO-1).
    let dp4_zero1 = dp4(&[
        ("reduce_scatter", 1048576, 6),
        ("reduce_scatter", 512000, 1),
        ("all_gather", 6803456, 1),
    ]);
    // ZeRO-3 layer by layer: 1 micro-batch; layer 0 with the embedding is
    // (786432 + 256000) × 2 B = 2084864 B, the 3 others 1572864 B; each gathered
    // before its forward and its backward, its gradients reduce-scattered once.
    let dp4_zero3 = dp4(&[
        ("all_gather", 2084864, 2),
        ("all_gather", 1572864, 6),
        ("reduce_scatter", 2084864, 1),
        ("reduce_scatter", 1572864, 3),
    ]);
    // On dp=2,pp=2 (ZeRO-2), rank 0 is the first stage: 2 layers × 786432 + 256000 =
    // 1828864 parameters, 3657728 B of gradients = 3 buckets of 1 MiB + 512000 B over the
    // 2 DP ranks, one 3657728 B all-gather; 4 / 2 = 2 micro-batches, each sending its
    // 64·256·2 = 32768 B activations forward and receiving as much gradient: 4 messages.
    for (layout, zero, want) in [
        ("dp=4", "1", dp4_zero1),
        ("dp=4", "3", dp4_zero3),
        ("dp=2,pp=2", "2", dp2_pp2_sharded(4)),
        (
            // Interleaved: rank 0 holds chunks 0 and 2 (layers 0 and 2), the same 2 layers +
            // embedding as above. 2 micro-batches over 2 stages (m = pp: all warm-up);
            // per micro-batch rank 0 sends chunk 0's and chunk 2's activations, receives
            // chunk 2's input from stage 1, and the same for gradients backward:
            // 2 · (2·2 − 1) = 6 messages, 12 per step (Σ over both stages: 2·2·(2·2 − 1)·2
            // = 24, the 3 chunk boundaries each way per micro-batch, a send + a receive).
            "dp=2,pp=2,vp=2",
            "1",
            dp2_pp2_sharded(12),
        ),
    ] {
        let job = train_job::job(
            train_job::TINY,
            layout,
            "4",
            &["--bucket-size", "1M", "--zero", zero],
        );
        let name = format!("zero{zero}-{}", layout.len());
        let (out, j, p) = sim_and_predict(4, &job, &name);
        assert!(out.contains(&format!("ZeRO-{zero}")), "{out}");
        assert!(out.contains("predicted(s)"), "{out}");
        let s = &j["scales"][0];
        let ran = s["layout"].as_str().unwrap();
        assert!(
            layout.split(',').all(|d| ran.split(',').any(|r| r == d)),
            "{s}"
        );
        assert!(s["measured_step_s"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["predicted_step_s"].as_f64().unwrap() > 0.0, "{s}");
        let issued = issued(&j);
        assert_eq!(issued, want, "{layout} zero {zero}: {}", j["messages"]);
        // The same job through predict: the same list.
        assert_eq!(listed(&p), issued, "{layout} zero {zero}");
    }
    // The interleaved schedule needs the micro-batches to be a multiple of pp
    // (Megatron's rule): 3 on 2 stages is refused in one line, on every rank.
    let mut a = vec!["train-sim"];
    a.extend(train_job::job(train_job::TINY, "pp=2,vp=2", "3", &[]));
    let r = mpirun(2, &a, &[], T);
    r.assert_code(2);
    r.assert_stderr_has("3 micro-batches is not a multiple of pp=2");
}

#[test]
fn train_sim_runs_the_interleaved_schedule_with_the_messages_predict_counts() {
    // pp=2, vp=2 on 2 ranks, 8 micro-batches (warm-up 4 on stage 0, 2 on stage 1, then
    // the steady state): per micro-batch rank 0 sends 2 activations, receives 1, receives
    // 2 gradients and sends 1: 6 × 8 = 48 messages of 64·256·2 = 32768 B.
    let job = train_job::job(train_job::TINY, "pp=2,vp=2", "8", &[]);
    let (out, j, p) = sim_and_predict(2, &job, "vp2");
    assert!(out.contains("pp=2,vp=2"), "{out}");
    let issued = issued(&j);
    let want = Msgs::from([(k("pp", "sendrecv", 32768, 2), 48)]);
    assert_eq!(issued, want, "{}", j["messages"]);
    assert_eq!(listed(&p), issued);
    // Narayanan et al.'s bubble: (p − 1)/(v·m) = 1/16 of the ideal time, i.e.
    // bubble / (step − bubble) with no DP here.
    let b = &p["breakdown"];
    let bubble = b["bubble_s"].as_f64().unwrap();
    let step = p["step_time_s"].as_f64().unwrap();
    assert!((bubble / (step - bubble) - 1.0 / 16.0).abs() < 1e-9, "{b}");
}

#[test]
fn train_sim_runs_expert_parallel_alltoalls_as_predict_lists_them() {
    // tiny-moe-test on dp=4,ep=2 (hand count in tests/train_sim_standin.rs): 16 EP
    // alltoalls of 65536 B per step over 2 ranks; every message train-sim issues, DP
    // buckets on the dense and the expert DP groups included, is in predict's list.
    let job = train_job::job(
        train_job::TINY_MOE,
        "dp=4,ep=2",
        "4",
        &["--bucket-size", "1M"],
    );
    let (_, j, p) = sim_and_predict(4, &job, "moe");
    let issued = issued(&j);
    let ep = k("ep", "alltoall", 65536, 2);
    assert_eq!(issued.get(&ep), Some(&16), "{issued:?}");
    assert_eq!(listed(&p), issued);
}
