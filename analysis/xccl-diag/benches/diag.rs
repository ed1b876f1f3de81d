//! Speed and schedule figures of the diagnosis (one run, printed; not a timed test):
//! - circle rounds for every N up to 1024 are N−1 (even) / N (odd), every pair once;
//! - slow-rank analysis of 16,384 ranks × 100 calls (synthetic, one rank late) must take
//!   under a second.
//!
//! `cargo bench -p xccl-diag --bench diag`

use std::time::Instant;
use xccl_diag::{ranks, schedule};

fn main() {
    let t = Instant::now();
    for n in 2..=1024usize {
        let r = schedule::circle(n);
        let want = if n % 2 == 0 { n - 1 } else { n };
        assert_eq!(r.len(), want, "rounds for {n}");
        let pairs: usize = r.iter().map(Vec::len).sum();
        assert_eq!(pairs, n * (n - 1) / 2, "pairs for {n}");
    }
    println!(
        "circle: N = 2..1024 checked (N−1 rounds for even N, N for odd, every pair once) in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let (n, calls, late) = (16_384usize, 100usize, 4_321usize);
    let mut enter = Vec::with_capacity(calls);
    let mut exit = Vec::with_capacity(calls);
    for c in 0..calls {
        let base = c as f64 * 1e5;
        let e: Vec<f64> = (0..n)
            .map(|r| base + ((r * 31 + c * 7) % 13) as f64 + if r == late { 5_000.0 } else { 0.0 })
            .collect();
        let last = e.iter().copied().fold(f64::MIN, f64::max);
        let x: Vec<f64> = (0..n)
            .map(|r| last + 2_000.0 + ((r + c) % 5) as f64)
            .collect();
        enter.push(e);
        exit.push(x);
    }
    let t = Instant::now();
    let a = ranks::analyze_row(&enter, &exit, 2.0);
    let s = t.elapsed().as_secs_f64();
    assert_eq!(a.slow_rank, Some(late));
    println!(
        "ranks: {n} ranks x {calls} calls analysed in {s:.3} s (target < 1 s): slow rank {late} found, {} votes",
        a.ranks[late].votes
    );
}
