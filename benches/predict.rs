//! Speed of `predict` for a 16,384-device layout (issue 9: under 1 s).
//!
//! `cargo bench --bench predict`: gpt3-175b, dp=64,tp=8,pp=32 on H100 nodes of
//! topologies/dgx-h100.toml (communication from the topology model), the prediction and
//! its linearity table (every scale from one device to 2,048 nodes), timed over a few
//! runs; prints the median and the slowest.

use std::time::Instant;
use xccl_train::flops::FlopsForm;
use xccl_train::layout::{Dims, Layout, Recompute};
use xccl_train::model::{preset_device, preset_model, Precision};
use xccl_train::predict::{linearity, predict, ComputeSource, Job};
use xccl_train::timer::FromTopology;

fn main() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/dgx-h100.toml");
    let timer = FromTopology::load(file).expect("topology");
    let job = Job {
        model: preset_model("gpt3-175b").unwrap(),
        device: preset_device("h100").unwrap(),
        precision: Precision::Bf16,
        layout: Layout {
            sequence_parallel: true,
            zero: 1,
            recompute: Recompute::Selective,
            grad_bytes: 4,
            ..Layout::new(Dims::parse("dp=64,tp=8,pp=32").unwrap(), 2048, 2048)
        },
        form: FlopsForm::Exact,
        compute: ComputeSource::Peak { efficiency: 0.5 },
    };
    let mut times = Vec::new();
    let mut step = 0.0;
    for _ in 0..5 {
        let t0 = Instant::now();
        let p = predict(&job, &timer).expect("predict");
        let l = linearity(&job, &timer).expect("linearity");
        times.push(t0.elapsed().as_secs_f64());
        assert!(l.points.len() > 2);
        step = p.step_time_s;
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "predict gpt3-175b dp=64,tp=8,pp=32 (16384 devices) + linearity: median {:.4} s, slowest {:.4} s (target < 1 s); predicted step {:.3} s",
        times[times.len() / 2],
        times[times.len() - 1],
        step
    );
}
