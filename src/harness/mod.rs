//! The one harness every collective and backend shares: buffers, fill, warm-up, timed
//! iterations, correctness check, cross-rank aggregation. Measurement only; formatting
//! belongs to the exporters in [`crate::output`].

use crate::backend::{Backend, Bufs, Call, OpImpl};
use crate::coll::{CollKind, Source};
use crate::error::{BenchError, Result};
use crate::output::Sink;
use crate::result::{PerRank, Row, Summary, TimeStats};
use crate::types::{DataType, ReduceOp};
use crate::watchdog;
use crate::world::World;
use hdrhistogram::Histogram;
use std::time::Instant;

/// How per-rank times combine into the reported time (nccl-tests `-a`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Average {
    Rank0,
    Avg,
    Min,
    Max,
}

impl Average {
    pub fn from_flag(a: u8) -> Result<Self> {
        match a {
            0 => Ok(Average::Rank0),
            1 => Ok(Average::Avg),
            2 => Ok(Average::Min),
            3 => Ok(Average::Max),
            _ => Err(BenchError::Usage(format!(
                "-a {a}: average mode must be 0 (rank 0), 1 (avg), 2 (min) or 3 (max)"
            ))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Average::Rank0 => "rank0",
            Average::Avg => "avg",
            Average::Min => "min",
            Average::Max => "max",
        }
    }
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

fn tolerance(dtype: DataType, op: ReduceOp, nranks: usize, expected: f64) -> f64 {
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

/// One placement's measurement on this rank.
struct Measured {
    samples: Vec<f64>,
    wrong: Option<u64>,
}

struct RowSpec {
    call: Call,
    op_impl: Option<OpImpl>,
    size: u64,
}

pub struct Harness<'a, B: Backend> {
    pub world: &'a dyn World,
    pub backend: &'a mut B,
    pub rank: usize,
    pub nranks: usize,
}

impl<'a, B: Backend> Harness<'a, B> {
    /// Validates what the sweep asks of this backend before anything runs, so bad input
    /// fails the same way on every rank.
    pub fn validate(&self, sw: &Sweep) -> Result<()> {
        let imp = sw.coll.imp();
        for &r in &sw.roots {
            if imp.has_root() && r >= self.nranks {
                return Err(BenchError::Usage(format!(
                    "root {r} (-r) is out of range for {} ranks (0..{})",
                    self.nranks,
                    self.nranks - 1
                )));
            }
        }
        if sw.dtypes.len() == 1 && sw.ops.len() == 1 {
            self.backend.support(sw.coll, sw.dtypes[0], sw.ops[0])?;
        }
        // Largest per-rank allocation of the sweep against what this rank may use.
        let need = sw
            .sizes
            .iter()
            .flat_map(|&s| sw.dtypes.iter().map(move |&t| (s, t)))
            .map(|(s, t)| {
                let c = imp.counts(s as usize, t.size(), self.nranks);
                ((c.send + c.recv) * t.size()) as u64
            })
            .max()
            .unwrap_or(0);
        if let Some(avail) = self.backend.memory_available() {
            if need > avail {
                return Err(BenchError::Memory(format!(
                    "the largest size (-e {}) needs {:.2} GiB per rank for {} buffers, but only {:.2} GiB is available per rank on {}",
                    crate::types::format_size(*sw.sizes.last().unwrap_or(&0)),
                    need as f64 / (1u64 << 30) as f64,
                    sw.coll,
                    avail as f64 / (1u64 << 30) as f64,
                    self.world.hostname()
                )));
            }
        }
        Ok(())
    }

    /// Runs the whole sweep, handing each measured row group to `sink` as soon as it
    /// exists.
    pub fn run(&mut self, sw: &Sweep, sink: &mut dyn Sink) -> Result<Summary> {
        let imp = sw.coll.imp();
        let mut summary = Summary {
            check_ok: true,
            ..Default::default()
        };
        let mut busbw_sum = 0.0;
        let mut busbw_n = 0usize;
        let mut cycle = 0;
        while sw.cycles == 0 || cycle < sw.cycles {
            cycle += 1;
            for &dtype in &sw.dtypes {
                let ops: &[ReduceOp] = if imp.has_op() { &sw.ops } else { &sw.ops[..1] };
                for &op in ops {
                    let op_impl = match self.backend.support(sw.coll, dtype, op) {
                        Ok(i) => imp.has_op().then_some(i),
                        Err(e) if sw.dtypes.len() > 1 || sw.ops.len() > 1 => {
                            sink.note(&format!("skipping {dtype}/{op}: {e}"));
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    let roots: &[usize] = if imp.has_root() { &sw.roots } else { &[0] };
                    for &root in roots {
                        for &size in &sw.sizes {
                            let counts = imp.counts(size as usize, dtype.size(), self.nranks);
                            let mut call = Call {
                                coll: sw.coll,
                                counts,
                                dtype,
                                op,
                                root,
                                in_place: false,
                            };
                            let mut group = vec![];
                            for in_place in [false, true] {
                                if in_place && !imp.in_place() {
                                    continue;
                                }
                                call.in_place = in_place;
                                let spec = RowSpec {
                                    call,
                                    op_impl,
                                    size: imp.algbw_bytes(counts, dtype.size(), self.nranks) as u64,
                                };
                                let m = self.measure(&spec, sw)?;
                                if let Some(row) = self.aggregate(&spec, m, sw)? {
                                    if let Some(w) = row.wrong {
                                        summary.wrong_total += w;
                                        summary.check_ok &= w == 0;
                                    }
                                    busbw_sum += row.busbw_gbs;
                                    busbw_n += 1;
                                    group.push(row);
                                }
                            }
                            if self.rank == 0 {
                                sink.rows(&group)?;
                            }
                        }
                    }
                }
            }
        }
        summary.avg_busbw_gbs = if busbw_n > 0 {
            busbw_sum / busbw_n as f64
        } else {
            0.0
        };
        summary.complete = true;
        Ok(summary)
    }

    /// The buffers of one call: (send or shared buffer, separate receive buffer if
    /// out-of-place, input offset, output offset) in elements.
    #[allow(clippy::type_complexity)]
    fn buffers(&mut self, call: &Call) -> Result<(B::Buf, Option<B::Buf>, usize, usize)> {
        let e = call.dtype.size();
        let c = call.counts;
        if call.in_place {
            let (so, ro) = self.backend.in_place_offsets(call, self.rank);
            let len = (so + c.send).max(ro + c.recv);
            Ok((self.backend.alloc(len * e)?, None, so, ro))
        } else {
            let send = self.backend.alloc(c.send * e)?;
            let recv = self.backend.alloc(c.recv * e)?;
            Ok((send, Some(recv), 0, 0))
        }
    }

    fn fill(
        &mut self,
        call: &Call,
        buf: &mut B::Buf,
        elem_off: usize,
        corrupt: bool,
    ) -> Result<()> {
        let e = call.dtype.size();
        let op = call.coll.imp().has_op().then_some(call.op);
        // value() repeats with a short period: encode one period, then tile it.
        let period = value_period(call.dtype, op, self.nranks);
        let mut pattern = vec![0u8; period * e];
        for (i, chunk) in pattern.chunks_exact_mut(e).enumerate() {
            call.dtype
                .encode(value(call.dtype, op, self.nranks, self.rank, i), chunk);
        }
        let mut data = vec![0u8; call.counts.send * e];
        for chunk in data.chunks_mut(pattern.len()) {
            chunk.copy_from_slice(&pattern[..chunk.len()]);
        }
        if corrupt && self.rank == call.root && call.counts.send > 0 {
            // Far enough off that the reduction's result must change.
            let v = value(call.dtype, op, self.nranks, self.rank, 0);
            let bad = if op == Some(ReduceOp::Min) {
                0.0
            } else {
                v + 17.0
            };
            call.dtype.encode(bad, &mut data[..e]);
        }
        self.backend.write(buf, elem_off * e, &data)
    }

    fn run_iters(
        &mut self,
        call: &Call,
        send: &mut B::Buf,
        recv: Option<&mut B::Buf>,
        n: usize,
    ) -> Result<Vec<f64>> {
        let bufs = match recv {
            Some(recv) => Bufs::Separate { send, recv },
            None => Bufs::InPlace(send),
        };
        self.backend.run_timed(call, bufs, n)
    }

    fn measure(&mut self, spec: &RowSpec, sw: &Sweep) -> Result<Measured> {
        let call = spec.call;
        watchdog::arm(Some(format!(
            "{} ({}) of {} bytes, {}",
            call.coll,
            if call.in_place {
                "in-place"
            } else {
                "out-of-place"
            },
            spec.size,
            call.dtype
        )));
        if test_hang(self.rank, spec.size) {
            // Test-only: stand in for a rank stuck in a collective.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        let (mut send, mut recv, so, ro) = self.buffers(&call)?;
        self.fill(&call, &mut send, so, false)?;
        self.run_iters(&call, &mut send, recv.as_mut(), sw.warmup)?;
        let samples = match sw.adaptive {
            None => self.run_iters(&call, &mut send, recv.as_mut(), sw.iters)?,
            Some(a) => self.adaptive(&call, &mut send, recv.as_mut(), a)?,
        };
        let mut wrong = None;
        for _ in 0..sw.check {
            // Poison the output so a stale correct result cannot pass, then refill input.
            let e = call.dtype.size();
            let out_len = call.counts.recv * e;
            match recv.as_mut() {
                Some(r) => self.backend.write(r, 0, &vec![0xFF; out_len])?,
                None => self
                    .backend
                    .write(&mut send, ro * e, &vec![0xFF; out_len])?,
            }
            self.fill(&call, &mut send, so, sw.corrupt_one)?;
            self.run_iters(&call, &mut send, recv.as_mut(), 1)?;
            self.backend.synchronize()?;
            let mut out = vec![0u8; out_len];
            match recv.as_ref() {
                Some(r) => self.backend.read(r, 0, &mut out)?,
                None => self.backend.read(&send, ro * e, &mut out)?,
            }
            let w = self.count_wrong(&call, &out);
            wrong = Some(wrong.unwrap_or(0u64).max(w));
        }
        watchdog::arm(None);
        Ok(Measured { samples, wrong })
    }

    fn adaptive(
        &mut self,
        call: &Call,
        send: &mut B::Buf,
        mut recv: Option<&mut B::Buf>,
        a: Adaptive,
    ) -> Result<Vec<f64>> {
        let start = Instant::now();
        let mut samples = self.run_iters(call, send, recv.as_deref_mut(), a.min_iters)?;
        loop {
            let prec = self.world.allreduce_max(precision(&samples));
            let elapsed = self.world.allreduce_max(start.elapsed().as_secs_f64());
            let k = samples.len();
            let target = a.precision.unwrap_or(0.0);
            let over_budget = a.time_budget_s.is_some_and(|b| elapsed >= b);
            if prec <= target || k >= a.max_iters || over_budget {
                return Ok(samples);
            }
            // Iterations the observed variance says are needed (CI ∝ 1/√k), at most
            // doubling per round, within the iteration cap and the time left.
            let needed = if target > 0.0 {
                (k as f64 * (prec / target).powi(2)).ceil() as usize
            } else {
                2 * k
            };
            let mut batch = needed.saturating_sub(k).clamp(1, k).min(a.max_iters - k);
            if let Some(b) = a.time_budget_s {
                let per_iter = elapsed / k as f64;
                let left = ((b - elapsed) / per_iter.max(1e-9)).ceil() as usize;
                batch = batch.min(left.max(1));
            }
            samples.extend(self.run_iters(call, send, recv.as_deref_mut(), batch)?);
        }
    }

    fn count_wrong(&self, call: &Call, out: &[u8]) -> u64 {
        let imp = call.coll.imp();
        let e = call.dtype.size();
        let op = imp.has_op().then_some(call.op);
        let n = self.nranks;
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
            let expected = match imp.source(self.rank, n, call.root, call.counts, j) {
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

    /// Gathers every rank's samples to rank 0 and builds the row there.
    fn aggregate(&self, spec: &RowSpec, m: Measured, sw: &Sweep) -> Result<Option<Row>> {
        let mut blob = Vec::with_capacity(8 * (m.samples.len() + 1));
        blob.extend_from_slice(&m.wrong.map_or(u64::MAX, |w| w).to_le_bytes());
        for s in &m.samples {
            blob.extend_from_slice(&s.to_le_bytes());
        }
        let Some(all) = self.world.gather_bytes(&blob) else {
            return Ok(None);
        };
        let mut merged = new_hist();
        let (mut means, mut p50s, mut p99s) = (vec![], vec![], vec![]);
        let mut wrong: Option<u64> = None;
        let (mut tmin, mut tmax) = (f64::MAX, 0.0f64);
        let mut prec: f64 = 0.0;
        for b in &all {
            let w = u64::from_le_bytes(b[..8].try_into().unwrap());
            if w != u64::MAX {
                wrong = Some(wrong.unwrap_or(0) + w);
            }
            let us: Vec<f64> = b[8..]
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()) * 1e6)
                .collect();
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
        let avg = match sw.average {
            Average::Rank0 => means[0],
            Average::Avg => mean(&means),
            Average::Min => means.iter().cloned().fold(f64::MAX, f64::min),
            Average::Max => means.iter().cloned().fold(0.0, f64::max),
        };
        let call = spec.call;
        let imp = call.coll.imp();
        let algbw = if avg > 0.0 {
            spec.size as f64 / (avg * 1e-6) / 1e9
        } else {
            0.0
        };
        let samples = m.samples.len();
        Ok(Some(Row {
            collective: call.coll.name().into(),
            size_bytes: spec.size,
            count: call.counts.count as u64,
            dtype: call.dtype.name().into(),
            op: if imp.has_op() {
                call.op.name().into()
            } else {
                "none".into()
            },
            op_impl: spec.op_impl,
            root: if imp.has_root() { call.root as i64 } else { -1 },
            placement: if call.in_place {
                "in-place"
            } else {
                "out-of-place"
            }
            .into(),
            iters: samples,
            time_us: TimeStats {
                avg,
                min: if tmin == f64::MAX { 0.0 } else { tmin },
                max: tmax,
                // Histogram buckets round; keep percentiles inside the observed range.
                p50: (merged.value_at_quantile(0.5) as f64 / 1000.0).clamp(tmin.min(tmax), tmax),
                p99: (merged.value_at_quantile(0.99) as f64 / 1000.0).clamp(tmin.min(tmax), tmax),
            },
            algbw_gbs: algbw,
            busbw_gbs: algbw * imp.bus_factor(self.nranks),
            wrong,
            precision: prec,
            per_rank: PerRank {
                mean_us: means,
                p50_us: p50s,
                p99_us: p99s,
            },
            verdict: None,
        }))
    }
}

/// Test-only hook: XCCL_TEST_HANG_RANK=r (and optionally XCCL_TEST_HANG_FROM_BYTES=s)
/// makes rank r stop responding, as a rank stuck in a collective would.
fn test_hang(rank: usize, size: u64) -> bool {
    let var = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<u64>().ok());
    var("XCCL_TEST_HANG_RANK") == Some(rank as u64)
        && size >= var("XCCL_TEST_HANG_FROM_BYTES").unwrap_or(0)
}

fn new_hist() -> Histogram<u64> {
    // 1 ns to 1 hour at 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("histogram bounds")
}

fn mean(v: &[f64]) -> f64 {
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

    #[test]
    fn precision_shrinks_with_samples() {
        let a: Vec<f64> = (0..10).map(|i| 1.0 + (i % 2) as f64 * 0.1).collect();
        let b: Vec<f64> = (0..1000).map(|i| 1.0 + (i % 2) as f64 * 0.1).collect();
        assert!(precision(&b) < precision(&a) / 5.0);
        assert!(precision(&[1.0]).is_infinite());
    }
}
