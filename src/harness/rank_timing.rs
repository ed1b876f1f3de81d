//! Each row's per-rank timing from the per-call entry and exit stamps every rank recorded
//! on a clock aligned to rank 0 ([`crate::clock`]); the rules that read it (wait, sync and
//! transit ratios, the slow-rank vote) are `xccl_diag::ranks`.

use crate::result::RankTiming;
use xccl_diag::ranks::analyze_row;

/// One row's analysis from every rank's gathered stamps (`[residual, e0, x0, e1, x1, …]`
/// in seconds on the aligned clock). `None` unless every rank recorded the same calls
/// and there are at least two ranks.
pub fn ranks_timing(per_rank: &[Vec<f64>]) -> Option<RankTiming> {
    let len = per_rank.first()?.len();
    if per_rank.len() < 2 || len < 3 || len % 2 == 0 || per_rank.iter().any(|v| v.len() != len) {
        return None;
    }
    let calls = (len - 1) / 2;
    let residual_us = per_rank.iter().map(|v| v[0]).fold(0.0, f64::max) * 1e6;
    // µs from the first entry: small numbers keep their precision.
    let base = per_rank[0][1];
    let us = |v: f64| (v - base) * 1e6;
    let enter: Vec<Vec<f64>> = (0..calls)
        .map(|c| per_rank.iter().map(|v| us(v[1 + 2 * c])).collect())
        .collect();
    let exit: Vec<Vec<f64>> = (0..calls)
        .map(|c| per_rank.iter().map(|v| us(v[2 + 2 * c])).collect())
        .collect();
    Some(analyze_row(&enter, &exit, residual_us).timing(residual_us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_shape() {
        // Two ranks, two calls; rank 1 enters 2 ms late both times (seconds).
        let r0 = vec![1e-6, 0.0, 0.003, 0.010, 0.013];
        let r1 = vec![2e-6, 0.002, 0.003, 0.012, 0.013];
        let t = ranks_timing(&[r0.clone(), r1]).unwrap();
        assert_eq!(t.calls, 2);
        assert!((t.clock_residual_us - 2.0).abs() < 1e-9);
        // Rank 0's sync: 2000 µs per call; transit: min(x − L) = 1000 µs.
        assert!((t.sync_us[0] - 2000.0).abs() < 1e-6, "{t:?}");
        assert!((t.transit_us - 1000.0).abs() < 1e-6, "{t:?}");
        // Mismatched call counts or one rank: no analysis.
        assert!(ranks_timing(&[r0.clone(), vec![0.0, 0.0, 1.0]]).is_none());
        assert!(ranks_timing(&[r0]).is_none());
    }
}
