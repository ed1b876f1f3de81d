//! Speed of `predict --search` (issue 17: llama2-70b on 1,024 H100s in under 5 s; and
//! 16,384 devices).
//!
//! `cargo bench -p xccl-train --bench search`: llama2-70b, global batch 1024 × 4096 tokens, on DGX
//! H100 nodes of topologies/dgx-h100.toml (communication from the topology model), every
//! dp/tp/pp/micro-batch/recompute/ZeRO layout enumerated, the ones that fit predicted
//! and ranked; timed over a few runs, prints the median and the slowest per size.

use std::time::Instant;
use xccl_train::flops::FlopsForm;
use xccl_train::layout::{Dims, Layout};
use xccl_train::model::{preset_device, preset_model, Precision};
use xccl_train::predict::{ComputeSource, Job};
use xccl_train::search::{search, Space};
use xccl_train::timer::FromTopology;

fn main() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../topologies/dgx-h100.toml"
    );
    let timer = FromTopology::load(file).expect("topology");
    let job = Job {
        model: preset_model("llama2-70b").unwrap(),
        device: preset_device("h100").unwrap(),
        precision: Precision::Bf16,
        layout: Layout::new(Dims::parse("dp=1").unwrap(), 1024, 4096),
        form: FlopsForm::Exact,
        compute: ComputeSource::Peak { efficiency: 0.5 },
    };
    for devices in [1024u64, 16384] {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            let t0 = Instant::now();
            let r = search(&job, &Space::new(devices), &timer).expect("search");
            times.push(t0.elapsed().as_secs_f64());
            last = Some(r);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let r = last.unwrap();
        let best = &r.ranked[0];
        println!(
            "search llama2-70b on {devices} H100s: {} layouts tried, {} fit; median {:.3} s, slowest {:.3} s (target < 5 s); best {} recompute {:?} ZeRO-{}: {:.3} s/step, {:.1} GiB",
            r.tried,
            r.fit,
            times[times.len() / 2],
            times[times.len() - 1],
            best.layout,
            best.recompute,
            best.zero,
            best.step_time_s,
            best.memory.total_bytes / (1u64 << 30) as f64
        );
    }
}
