//! Outlier tests for "which rank is late".
//!
//! In a collective every rank leaves at about the same time, so the rank that *entered
//! last* spends the *shortest* time in the call. msprof-analyze's slow-rank recipe
//! (`cluster_analyse/recipes/slow_rank/` of msprof-analyze, docs/SOURCES.md
//! [msprof-analyze]) therefore tests each operation's per-rank times for a *low* outlier:
//! - n ≤ 100: Dixon's Q at 99.5 % confidence, with the ratio variant switching at n = 7,
//!   10 and 13 (r10, r11, r21, r22: Dixon 1950/1951; critical values as tabulated by
//!   msprof-analyze's `dixon_table.py`, which follow Rorabacher 1991 / Verma &
//!   Quiroz-Ruiz 2006);
//! - n > 100: msprof uses mean − 3σ; σ is itself inflated by the outlier, so here the
//!   median absolute deviation (Iglewicz & Hoaglin 1993: modified z below −3.5) decides,
//!   with 3σ as the fallback when more than half the values are equal (MAD = 0).
//!
//! One deviation from msprof: it refuses samples with ≤ 3 distinct values (so never tests
//! 3 ranks); here only a zero denominator is refused.

/// Critical values of Dixon's ratio at 99.5 %, index n − 3 for n = 3..=100.
pub const DIXON_995: [f64; 98] = [
    0.994, 0.920, 0.823, 0.744, 0.680, 0.723, 0.676, 0.638, 0.707, 0.675, // 3..12
    0.649, 0.672, 0.649, 0.629, 0.611, 0.595, 0.580, 0.568, 0.556, 0.545, // 13..22
    0.536, 0.526, 0.519, 0.510, 0.503, 0.496, 0.489, 0.484, 0.478, 0.473, // 23..32
    0.468, 0.463, 0.458, 0.454, 0.450, 0.446, 0.442, 0.439, 0.435, 0.432, // 33..42
    0.429, 0.425, 0.423, 0.420, 0.417, 0.414, 0.412, 0.409, 0.407, 0.405, // 43..52
    0.402, 0.400, 0.398, 0.396, 0.394, 0.392, 0.391, 0.388, 0.387, 0.385, // 53..62
    0.383, 0.382, 0.380, 0.379, 0.377, 0.376, 0.374, 0.372, 0.371, 0.370, // 63..72
    0.368, 0.368, 0.366, 0.365, 0.364, 0.363, 0.361, 0.360, 0.359, 0.358, // 73..82
    0.356, 0.356, 0.355, 0.353, 0.352, 0.352, 0.351, 0.350, 0.349, 0.348, // 83..92
    0.347, 0.346, 0.345, 0.344, 0.344, 0.343, 0.341, 0.341, // 93..100
];

/// Largest sample Dixon's test is used for.
pub const MAX_DIXON: usize = 100;
/// Modified z-score below which a value is a low outlier (Iglewicz & Hoaglin).
pub const MAD_Z: f64 = 3.5;

/// Which test judged a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    Dixon,
    Mad,
    ThreeSigma,
}

/// Dixon's ratio for the smallest value of sorted `x` (n ≥ 3), with msprof's variants.
pub fn dixon_ratio(x: &[f64]) -> Option<f64> {
    let n = x.len();
    if !(3..=MAX_DIXON).contains(&n) {
        return None;
    }
    let (num, den) = if n <= 7 {
        (x[1] - x[0], x[n - 1] - x[0]) // r10
    } else if n <= 10 {
        (x[1] - x[0], x[n - 2] - x[0]) // r11
    } else if n <= 13 {
        (x[2] - x[0], x[n - 2] - x[0]) // r21
    } else {
        (x[2] - x[0], x[n - 3] - x[0]) // r22
    };
    (den > 0.0).then(|| num / den)
}

/// Index of the low outlier of `times` (the late rank), if any, and the test used.
/// `scratch` is reused between calls (sorting buffer).
pub fn low_outlier(times: &[f64], scratch: &mut Vec<f64>) -> (Option<usize>, Test) {
    let n = times.len();
    scratch.clear();
    scratch.extend_from_slice(times);
    let argmin = || {
        times
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
    };
    if n <= MAX_DIXON {
        scratch.sort_unstable_by(f64::total_cmp);
        let hit = dixon_ratio(scratch).is_some_and(|q| q > DIXON_995[n - 3]);
        return (if hit { argmin() } else { None }, Test::Dixon);
    }
    let mid = n / 2;
    let median = *scratch.select_nth_unstable_by(mid, f64::total_cmp).1;
    for v in scratch.iter_mut() {
        *v = (*v - median).abs();
    }
    let mad = *scratch.select_nth_unstable_by(mid, f64::total_cmp).1;
    let i = argmin().expect("n > 100");
    if mad > 0.0 {
        let z = 0.6745 * (times[i] - median) / mad;
        return ((z < -MAD_Z).then_some(i), Test::Mad);
    }
    let mean = times.iter().sum::<f64>() / n as f64;
    let sd = (times.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    (
        (sd > 0.0 && times[i] < mean - 3.0 * sd).then_some(i),
        Test::ThreeSigma,
    )
}

/// Median of `v` (sorts a copy); NaN when empty.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len().is_multiple_of(2) {
        (s[m - 1] + s[m]) / 2.0
    } else {
        s[m]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dixon_by_hand() {
        let mut s = vec![];
        // n=4, r10: (10.0−1.0)/(10.4−1.0) = 9/9.4 = 0.957 > 0.920 → index 2 (the 1.0).
        assert_eq!(low_outlier(&[10.0, 10.2, 1.0, 10.4], &mut s).0, Some(2));
        // (10.0−6.0)/(10.4−6.0) = 0.909 < 0.920 → none.
        assert_eq!(low_outlier(&[10.0, 10.2, 6.0, 10.4], &mut s).0, None);
        // n=8, r11 ignores the largest: (10−1)/(10.6−1) = 0.9375 > 0.723 although the
        // largest (100) would hide it under r10 (9/99 = 0.09).
        let x = [10.0, 10.2, 10.4, 10.6, 10.1, 10.3, 1.0, 100.0];
        assert_eq!(low_outlier(&x, &mut s).0, Some(6));
        // All equal: no denominator, no outlier.
        assert_eq!(low_outlier(&[5.0; 6], &mut s).0, None);
        // n=14, r22: x3−x1 over x(n−2)−x1; two low values hide each other under r10 but
        // not under r22: sorted 1, 1.1, 10.0 .. 11.1; (10−1)/(x12=10.9 − 1) = 0.91 > 0.672.
        let mut y: Vec<f64> = (0..12).map(|i| 10.0 + i as f64 * 0.1).collect();
        y.push(1.0);
        y.push(1.1);
        assert_eq!(low_outlier(&y, &mut s), (Some(12), Test::Dixon));
    }

    #[test]
    fn mad_above_100() {
        let mut s = vec![];
        // 200 ranks at 100 ± 1, one at 50: MAD = 1, modified z = 0.6745·(−50)/1 ≪ −3.5.
        let mut t: Vec<f64> = (0..200).map(|i| 99.0 + (i % 3) as f64).collect();
        t[137] = 50.0;
        assert_eq!(low_outlier(&t, &mut s), (Some(137), Test::Mad));
        // Without the outlier: the minimum (99) has z = 0.6745·(−1)/1 > −3.5.
        t[137] = 100.0;
        assert_eq!(low_outlier(&t, &mut s).0, None);
    }

    #[test]
    fn table_matches_its_ends() {
        assert_eq!(DIXON_995[0], 0.994);
        assert_eq!(DIXON_995[100 - 3], 0.341);
        assert_eq!(DIXON_995[7 - 3], 0.680);
        assert_eq!(DIXON_995[8 - 3], 0.723);
    }
}
