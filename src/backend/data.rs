//! Test data: the values each rank sends, the pattern that fills a buffer with them, and
//! the check of a collective's output against what it must be.

use crate::backend::Call;
use crate::coll::Source;
use crate::types::{DataType, ReduceOp};

/// Test value of element `i` on `rank`: small integers, so every reduction is exact in
/// every type (integer overflow wraps identically in the check), and non-reducing
/// collectives see values that differ by rank and position.
pub fn value(dtype: DataType, op: Option<ReduceOp>, nranks: usize, rank: usize, i: usize) -> f64 {
    match op {
        None => ((rank * 31 + i * 7) % copy_modulus(dtype) + 1) as f64,
        Some(ReduceOp::Prod) => {
            if i.is_multiple_of(3) && rank == i % nranks {
                2.0
            } else {
                1.0
            }
        }
        Some(ReduceOp::Sum | ReduceOp::Avg) => {
            // Keep the sum within the float type's exact-integer range where possible.
            let k = dtype
                .exact_integer_limit()
                .map(|l| ((l as usize) / nranks).clamp(1, 4))
                .unwrap_or(4);
            ((i * 7 + rank * 3) % k + 1) as f64
        }
        Some(ReduceOp::Max | ReduceOp::Min) => ((i * 7 + rank * 3) % 5 + 1) as f64,
    }
}

/// Distinct values for data-movement checks: 113 (prime), or fewer where the type holds
/// fewer integers exactly (fp8).
fn copy_modulus(dtype: DataType) -> usize {
    dtype
        .exact_integer_limit()
        .map_or(113, |l| (l as usize).min(113))
}

/// `value(t, op, n, r, i)` equals `value(t, op, n, r, i + value_period(t, op, n))`.
pub fn value_period(dtype: DataType, op: Option<ReduceOp>, nranks: usize) -> usize {
    match op {
        None => copy_modulus(dtype),
        Some(ReduceOp::Prod) => 3 * nranks,
        Some(ReduceOp::Sum | ReduceOp::Avg) => 12,
        Some(ReduceOp::Max | ReduceOp::Min) => 5,
    }
}

pub(crate) fn tolerance(dtype: DataType, op: ReduceOp, nranks: usize, expected: f64) -> f64 {
    let eps = match dtype {
        DataType::Half => 2f64.powi(-10),
        DataType::Bfloat16 => 2f64.powi(-7),
        DataType::Float => 2f64.powi(-23),
        DataType::Double => 2f64.powi(-52),
        _ => return 0.0,
    };
    let beyond_exact = dtype
        .exact_integer_limit()
        .is_some_and(|l| 4.0 * nranks as f64 > l && matches!(op, ReduceOp::Sum | ReduceOp::Avg));
    if op == ReduceOp::Avg || beyond_exact {
        expected.abs() * eps * nranks.max(2) as f64
    } else {
        0.0
    }
}

/// The input of `call` on `rank`: one period of [`value`] encoded, then tiled.
/// `corrupt`: make the first element wrong on the root rank (test-only).
pub(crate) fn input(call: &Call, nranks: usize, rank: usize, corrupt: bool) -> Vec<u8> {
    let e = call.dtype.size();
    let op = call.coll.imp().has_op().then_some(call.op);
    let period = value_period(call.dtype, op, nranks);
    let mut pattern = vec![0u8; period * e];
    for (i, chunk) in pattern.chunks_exact_mut(e).enumerate() {
        call.dtype
            .encode(value(call.dtype, op, nranks, rank, i), chunk);
    }
    let mut data = vec![0u8; call.counts.send * e];
    for chunk in data.chunks_mut(pattern.len()) {
        chunk.copy_from_slice(&pattern[..chunk.len()]);
    }
    if corrupt && rank == call.root && call.counts.send > 0 {
        // Far enough off that the reduction's result must change.
        let v = value(call.dtype, op, nranks, rank, 0);
        let bad = if op == Some(ReduceOp::Min) {
            0.0
        } else {
            v + 17.0
        };
        call.dtype.encode(bad, &mut data[..e]);
    }
    data
}

/// Elements of `out` (this rank's output of `call`) that differ from what they must be.
pub(crate) fn count_wrong(call: &Call, nranks: usize, rank: usize, out: &[u8]) -> u64 {
    let imp = call.coll.imp();
    let e = call.dtype.size();
    let op = imp.has_op().then_some(call.op);
    let n = nranks;
    let t = call.dtype;
    // Expected values depend on the index only modulo value()'s period: tabulate
    // one period per source rank, and the reduction over all ranks.
    let period = value_period(t, op, n);
    let copies: Vec<Vec<f64>> = (0..n)
        .map(|r| {
            (0..period)
                .map(|i| t.round_trip(value(t, op, n, r, i)))
                .collect()
        })
        .collect();
    let reduced: Vec<f64> = if op.is_some() {
        (0..period)
            .map(|i| call.op.reduce(t, (0..n).map(|r| value(t, op, n, r, i))))
            .collect()
    } else {
        vec![]
    };
    let mut wrong = 0;
    for (j, b) in out.chunks_exact(e).enumerate() {
        let expected = match imp.source(rank, n, call.root, call.counts, j) {
            Source::Unchecked => continue,
            Source::Copy { rank, index } => copies[rank][index % period],
            Source::Reduce { index } => reduced[index % period],
        };
        let got = t.decode(b);
        let tol = op.map_or(0.0, |o| tolerance(t, o, n, expected));
        // False for NaN (e.g. the poison pattern), which is therefore wrong.
        let within = (got - expected).abs() <= tol;
        if !within {
            wrong += 1;
        }
    }
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_values_keep_reductions_exact() {
        for t in DataType::ALL {
            for n in 1..=8 {
                for i in 0..64 {
                    let vals: Vec<f64> = (0..n)
                        .map(|r| value(t, Some(ReduceOp::Sum), n, r, i))
                        .collect();
                    let s: f64 = vals.iter().sum();
                    assert_eq!(ReduceOp::Sum.reduce(t, vals.into_iter()), t.round_trip(s));
                    assert_eq!(t.round_trip(s), s, "{t} n={n}: sum {s} not exact");
                }
            }
        }
    }

    #[test]
    fn values_repeat_with_their_period() {
        for t in DataType::ALL {
            for op in [
                None,
                Some(ReduceOp::Sum),
                Some(ReduceOp::Prod),
                Some(ReduceOp::Max),
            ] {
                for n in 1..=9 {
                    let p = value_period(t, op, n);
                    for r in 0..n {
                        for i in 0..3 * p {
                            assert_eq!(
                                value(t, op, n, r, i),
                                value(t, op, n, r, i + p),
                                "{t} {op:?} n={n}"
                            );
                        }
                    }
                }
            }
        }
    }
}
