//! What a run sweeps: sizes, types, ops, roots, iteration counts, and how per-rank times
//! combine.

use crate::backend::Timing;
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::types::{DataType, ReduceOp};

pub use crate::result::Average;

/// `-a N` as nccl-tests numbers it.
pub fn average_from_flag(a: u8) -> Result<Average> {
    Average::from_flag(a).ok_or_else(|| {
        BenchError::Usage(format!(
            "-a {a}: average mode must be 0 (rank 0), 1 (avg), 2 (min) or 3 (max)"
        ))
    })
}

/// Adaptive iteration count: stop a row once the 95% confidence interval of the mean is
/// within `precision` of it (on every rank), or its time budget is spent.
#[derive(Clone, Copy, Debug)]
pub struct Adaptive {
    pub precision: Option<f64>,
    pub time_budget_s: Option<f64>,
    pub min_iters: usize,
    pub max_iters: usize,
}

#[derive(Clone, Debug)]
pub struct Sweep {
    pub coll: CollKind,
    pub sizes: Vec<u64>,
    pub dtypes: Vec<DataType>,
    pub ops: Vec<ReduceOp>,
    pub roots: Vec<usize>,
    pub iters: usize,
    pub warmup: usize,
    pub check: usize,
    pub average: Average,
    pub adaptive: Option<Adaptive>,
    /// Whole-sweep repetitions (-N); 0 repeats until interrupted.
    pub cycles: usize,
    /// Test-only: corrupt one input element on the root rank before each check.
    pub corrupt_one: bool,
    /// How host-timed backends time their calls (`--timing`).
    pub timing: Timing,
}

/// The byte sizes of a sweep, as nccl-tests steps them.
pub fn sizes(min: u64, max: u64, factor: Option<f64>, step: Option<u64>) -> Result<Vec<u64>> {
    use crate::types::format_size;
    if min > max {
        return Err(BenchError::Usage(format!(
            "minimum size {} (-b) is larger than maximum size {} (-e)",
            format_size(min),
            format_size(max)
        )));
    }
    let mut v = vec![];
    let mut s = min;
    match (factor, step) {
        (Some(_), Some(_)) => {
            return Err(BenchError::Usage(
                "give either -f (factor) or -i (increment), not both".into(),
            ))
        }
        (_, Some(0)) if min < max => {
            return Err(BenchError::Usage(
                "-i 0: the increment must be positive".into(),
            ))
        }
        (_, Some(i)) => {
            while s <= max {
                v.push(s);
                if i == 0 {
                    break;
                }
                s += i;
            }
        }
        (f, None) => {
            let f = f.unwrap_or(2.0);
            if (f.is_nan() || f <= 1.0) && min < max {
                return Err(BenchError::Usage(format!(
                    "-f {f}: the step factor must be greater than 1"
                )));
            }
            loop {
                v.push(s);
                let next = (s as f64 * f) as u64;
                if next > max || next <= s {
                    break;
                }
                s = next;
            }
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_sizes_like_nccl_tests() {
        assert_eq!(sizes(8, 64, Some(2.0), None).unwrap(), vec![8, 16, 32, 64]);
        assert_eq!(sizes(8, 8, None, None).unwrap(), vec![8]);
        assert_eq!(
            sizes(100, 300, None, Some(100)).unwrap(),
            vec![100, 200, 300]
        );
        assert!(sizes(64, 8, None, None)
            .unwrap_err()
            .to_string()
            .contains("larger than maximum"));
        assert!(sizes(8, 64, Some(1.0), None).is_err());
    }
}
