//! Statistics of timed iterations: per-rank means and percentiles, every rank's samples
//! merged into one histogram, and the confidence of the mean.

use crate::result::Average;
use hdrhistogram::Histogram;

/// Every rank's samples combined (times in microseconds).
pub(crate) struct Aggregated {
    /// Every iteration of every rank.
    pub merged: Histogram<u64>,
    pub means: Vec<f64>,
    pub p50s: Vec<f64>,
    pub p99s: Vec<f64>,
    /// Fastest and slowest single iteration (f64::MAX and 0 when there are none).
    pub tmin: f64,
    pub tmax: f64,
    /// Worst rank's precision.
    pub prec: f64,
    /// Per-rank means combined as `average` says.
    pub avg: f64,
}

/// Combines per-rank samples (seconds), one slice per rank in rank order.
pub(crate) fn aggregate<'a>(
    ranks: impl Iterator<Item = &'a [f64]>,
    average: Average,
) -> Aggregated {
    let mut merged = new_hist();
    let (mut means, mut p50s, mut p99s) = (vec![], vec![], vec![]);
    let (mut tmin, mut tmax) = (f64::MAX, 0.0f64);
    let mut prec: f64 = 0.0;
    for secs in ranks {
        let us: Vec<f64> = secs.iter().map(|s| s * 1e6).collect();
        let mut h = new_hist();
        for &t in &us {
            let ns = (t * 1000.0).round().max(1.0) as u64;
            h.saturating_record(ns);
            merged.saturating_record(ns);
            tmin = tmin.min(t);
            tmax = tmax.max(t);
        }
        means.push(mean(&us));
        p50s.push(h.value_at_quantile(0.5) as f64 / 1000.0);
        p99s.push(h.value_at_quantile(0.99) as f64 / 1000.0);
        prec = prec.max(precision(&us));
    }
    let avg = match average {
        Average::Rank0 => means[0],
        Average::Avg => mean(&means),
        Average::Min => means.iter().cloned().fold(f64::MAX, f64::min),
        Average::Max => means.iter().cloned().fold(0.0, f64::max),
    };
    Aggregated {
        merged,
        means,
        p50s,
        p99s,
        tmin,
        tmax,
        prec,
        avg,
    }
}

fn new_hist() -> Histogram<u64> {
    // 1 ns to 1 hour at 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("histogram bounds")
}

pub(crate) fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Relative half-width of the 95% confidence interval of the mean (normal approximation).
pub fn precision(samples: &[f64]) -> f64 {
    let k = samples.len();
    if k < 2 {
        return f64::INFINITY;
    }
    let m = mean(samples);
    let var = samples.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (k - 1) as f64;
    if m <= 0.0 {
        return 0.0;
    }
    1.96 * var.sqrt() / (k as f64).sqrt() / m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_shrinks_with_samples() {
        let a: Vec<f64> = (0..10).map(|i| 1.0 + (i % 2) as f64 * 0.1).collect();
        let b: Vec<f64> = (0..1000).map(|i| 1.0 + (i % 2) as f64 * 0.1).collect();
        assert!(precision(&b) < precision(&a) / 5.0);
        assert!(precision(&[1.0]).is_infinite());
    }

    #[test]
    fn ranks_combine_as_average_says() {
        let r0 = [1e-6, 3e-6];
        let r1 = [5e-6, 7e-6, 9e-6];
        let ranks = || [&r0[..], &r1[..]].into_iter();
        let a = aggregate(ranks(), Average::Avg);
        assert!((a.means[0] - 2.0).abs() < 1e-9 && (a.means[1] - 7.0).abs() < 1e-9);
        assert!((a.avg - 4.5).abs() < 1e-9);
        assert!((a.tmin - 1.0).abs() < 1e-9 && (a.tmax - 9.0).abs() < 1e-9);
        assert_eq!(a.merged.len(), 5);
        assert!((a.merged.value_at_quantile(0.5) as f64 / 1000.0 - 5.0).abs() < 0.01);
        assert!((aggregate(ranks(), Average::Rank0).avg - 2.0).abs() < 1e-9);
        assert!((aggregate(ranks(), Average::Min).avg - 2.0).abs() < 1e-9);
        assert!((aggregate(ranks(), Average::Max).avg - 7.0).abs() < 1e-9);
    }
}
