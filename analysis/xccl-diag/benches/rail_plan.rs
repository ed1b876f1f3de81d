//! Speed of the rail plan and of its record for 1,024 nodes × 8 rails (issue 16: each
//! under 1 s).
//!
//! `cargo bench -p xccl-diag --bench rail_plan`: plans 1,024 × 8 (1,023 same-rail rounds,
//! 7 cross-rail rounds, 7 intra-node rounds; 4,190,208 same-rail pairs), fills a
//! `RailLinksReport` with a synthetic measurement of every pair of the plan, and writes its
//! JSON to a temporary file; each timed over a few runs, prints the median and the slowest.

use std::io::{BufWriter, Write};
use std::time::Instant;
use xccl_diag::rail_plan::{RailLinksReport, RailOptions, RailPlan};

fn median_slowest(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (t[t.len() / 2], t[t.len() - 1])
}

fn main() {
    let (nodes, rails) = (1024usize, 8usize);
    let map: Vec<usize> = (0..rails).collect();
    let mut times = Vec::new();
    let mut plan = None;
    for _ in 0..5 {
        let t0 = Instant::now();
        let p = RailPlan::new(nodes, &map, RailOptions::default()).expect("plan");
        times.push(t0.elapsed().as_secs_f64());
        plan = Some(p);
    }
    let plan = plan.unwrap();
    plan.check().expect("no rank twice in a round");
    let pairs = |r: &[Vec<(usize, usize)>]| r.iter().map(Vec::len).sum::<usize>();
    let (med, slow) = median_slowest(times);
    println!(
        "plan {nodes} nodes x {rails} rails: rounds rail {} cross {} intra {}, pairs rail {} cross {} intra {}: median {med:.4} s, slowest {slow:.4} s (target < 1 s)",
        plan.rail.len(),
        plan.cross.len(),
        plan.intra.len(),
        pairs(&plan.rail),
        pairs(&plan.cross),
        pairs(&plan.intra),
    );

    let mut rep = RailLinksReport::new(&plan, "nccl", 1 << 26, 20);
    for (phase, k, round) in plan.all_rounds() {
        for &(a, b) in round {
            // Synthetic, varied enough that the numbers do not print short.
            let x = ((a * 7919 + b * 104_729) % 1000) as f64 / 1000.0;
            rep.record(&plan, phase, k, (a, b), 45.0 + x, 44.0 + x, 2.5 + x / 10.0);
        }
    }
    let path = std::env::temp_dir().join(format!("xccl-rail-plan-{}.json", std::process::id()));
    let mut times = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        serde_json::to_writer(&mut w, &rep).unwrap();
        w.flush().unwrap();
        drop(w);
        times.push(t0.elapsed().as_secs_f64());
    }
    let bytes = std::fs::metadata(&path).unwrap().len();
    std::fs::remove_file(&path).unwrap();
    let (med, slow) = median_slowest(times);
    println!(
        "write JSON of {} same-rail links (3 dense integer triangles per rail) + {} cross + {} intra records, {:.1} MB: median {med:.4} s, slowest {slow:.4} s (target < 1 s)",
        pairs(&plan.rail),
        rep.cross.len(),
        rep.intra.len(),
        bytes as f64 / 1e6
    );

    // The cluster time of one full per-device validation (issue 16: under 15 minutes at
    // 1,024 × 8): DGX H100 SuperPOD figures (docs/SOURCES.md [dgx-superpod-h100]): 400 Gb/s
    // NICs (50 GB/s), rail leaves non-blocking to the spine (32 × 50 GB/s per leaf of an
    // SU), NVLink4 450 GB/s per GPU, 5 us per hop; `links` defaults (4 MiB × 4 + warm-up).
    let names: Vec<String> = (0..nodes).map(|i| format!("n{i}")).collect();
    let f = xccl_diag::rails::RailFabric::rail_optimised(names, rails, 50.0, 32.0 * 50.0, 450.0);
    let s = xccl_diag::rail_time::run_seconds(&plan, &f, 4 << 20, 4, 5.0);
    println!(
        "full per-device links on {nodes} x {rails} at nominal rates: {} rounds, {s:.1} s of cluster time (budget 900 s)",
        plan.rail.len() + plan.cross.len() + plan.intra.len()
    );
}
