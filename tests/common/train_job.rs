//! The small training job that the `predict` and `train-sim` tests share, so that a test
//! comparing the two describes one job once, and the messages they list per step.

use serde_json::Value;
use std::collections::BTreeMap;

/// `--model MODEL --device a100 --layout LAYOUT --global-batch BATCH --seq 64
/// --device-step-time 0.02`, then `extra`.
pub fn job_on<'a>(
    model: &'a str,
    layout: &'a str,
    batch: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut v = vec![
        "--model",
        model,
        "--device",
        "a100",
        "--layout",
        layout,
        "--global-batch",
        batch,
        "--seq",
        "64",
        "--device-step-time",
        "0.02",
    ];
    v.extend_from_slice(extra);
    v
}

/// [`job_on`] with `--topology topologies/dgx-a100.toml` before `extra`.
pub fn job<'a>(model: &'a str, layout: &'a str, batch: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let topology = ["--topology", "topologies/dgx-a100.toml"];
    job_on(model, layout, batch, &[&topology[..], extra].concat())
}

/// The tiny dense model (tests/train-sim/tiny.toml).
pub const TINY: &str = "tests/train-sim/tiny.toml";
/// The tiny MoE model (tests/train-sim/tiny-moe.toml).
pub const TINY_MOE: &str = "tests/train-sim/tiny-moe.toml";

/// (dim, collective, bytes, ranks) → messages per step.
pub type Msgs = BTreeMap<(String, String, u64, u64), u64>;

/// A key of [`Msgs`].
pub fn k(dim: &str, coll: &str, bytes: u64, n: u64) -> (String, String, u64, u64) {
    (dim.to_string(), coll.to_string(), bytes, n)
}

/// The messages a train-sim JSON file says were issued per step.
pub fn issued(sim: &Value) -> Msgs {
    per_step(&sim["messages"], |x| &x["nranks"])
}

/// The messages a predict JSON file lists per step.
pub fn listed(prediction: &Value) -> Msgs {
    per_step(&prediction["comm"], |x| &x["group"]["nranks"])
}

fn per_step(list: &Value, nranks: impl Fn(&Value) -> &Value) -> Msgs {
    let mut m = Msgs::new();
    for x in list.as_array().expect("a list of messages") {
        let key = k(
            x["dim"].as_str().unwrap(),
            x["collective"].as_str().unwrap(),
            x["bytes"].as_u64().unwrap(),
            nranks(x).as_u64().unwrap(),
        );
        *m.entry(key).or_default() += x["count"].as_u64().unwrap();
    }
    m
}

/// What rank 0 issues per step for tiny-test on dp=2,pp=2 with ZeRO-1 or 2: 3 + 1
/// gradient buckets reduce-scattered, one all-gather, and `pp` pipeline messages
/// (derived in tests/predict_cli.rs).
pub fn dp2_pp2_sharded(pp: u64) -> Msgs {
    Msgs::from([
        (k("dp", "reduce_scatter", 1048576, 2), 3),
        (k("dp", "reduce_scatter", 512000, 2), 1),
        (k("dp", "all_gather", 3657728, 2), 1),
        (k("pp", "sendrecv", 32768, 2), pp),
    ])
}
