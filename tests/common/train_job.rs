//! The small training job that the `predict` and `train-sim` tests share, so that a test
//! comparing the two describes one job once.

/// `--model MODEL --device a100 --layout LAYOUT --global-batch BATCH --seq 64
/// --device-step-time 0.02 --topology topologies/dgx-a100.toml`, then `extra`.
pub fn job<'a>(model: &'a str, layout: &'a str, batch: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
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
        "--topology",
        "topologies/dgx-a100.toml",
    ];
    v.extend_from_slice(extra);
    v
}

/// The tiny dense model (tests/train-sim/tiny.toml).
pub const TINY: &str = "tests/train-sim/tiny.toml";
/// The tiny MoE model (tests/train-sim/tiny-moe.toml).
pub const TINY_MOE: &str = "tests/train-sim/tiny-moe.toml";
