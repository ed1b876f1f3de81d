//! The one harness every collective and backend shares: buffers, fill, warm-up, timed
//! iterations, correctness check, cross-rank aggregation. Measurement only; formatting
//! belongs to the exporters in [`crate::output`].

use crate::backend::{data, Backend, Bufs, Call, OpImpl, Timed};
use crate::error::{BenchError, Result};
use crate::output::Sink;
use crate::result::{PerRank, Placement, Row, Summary, TimeStats};
use crate::types::ReduceOp;
use crate::watchdog;
use crate::world::World;
use std::time::Instant;

mod rank_timing;
mod stats;
mod sweep;

pub use stats::precision;
pub use sweep::{average_from_flag, sizes, Adaptive, Average, Sweep};

/// One placement's measurement on this rank.
struct Measured {
    samples: Vec<f64>,
    wrong: Option<u64>,
    /// (entry, exit) per timed call on the aligned clock, and its residual (s).
    stamps: Option<(Vec<(f64, f64)>, f64)>,
}

struct RowSpec {
    call: Call,
    op_impl: Option<OpImpl>,
    size: u64,
}

/// The sweep's one buffer pair, allocated once and reused by every row, as the standard
/// benchmarks do: a fresh allocation per row made times depend on whether the allocator
/// handed out fresh pages or recycled ones. Out-of-place, the larger side of a call
/// uses `big`; in-place uses `big` alone.
struct Pair<Buf> {
    big: Buf,
    small: Buf,
}

pub struct Harness<'a, B: Backend> {
    pub world: &'a dyn World,
    pub backend: &'a mut B,
    pub rank: usize,
    pub nranks: usize,
}

impl<'a, B: Backend> Harness<'a, B> {
    /// The harness on every rank of `world`, each rank its world rank (the NCCL backend
    /// with `-g` numbers its ranks itself and builds the struct).
    pub fn on(world: &'a dyn World, backend: &'a mut B) -> Self {
        Harness {
            world,
            backend,
            rank: world.rank(),
            nranks: world.size(),
        }
    }

    /// Bytes of the sweep's buffer pair (big, small): the largest row's needs.
    fn pair_bytes(&self, sw: &Sweep) -> (usize, usize) {
        let imp = sw.coll.imp();
        let (mut big, mut small) = (0, 0);
        for &t in &sw.dtypes {
            for &s in &sw.sizes {
                let counts = imp.counts(s as usize, t.size(), self.nranks);
                let call = Call {
                    coll: sw.coll,
                    counts,
                    dtype: t,
                    op: sw.ops[0],
                    root: 0,
                    in_place: true,
                };
                let (so, ro) = self.backend.in_place_offsets(&call, self.rank);
                let in_place = if imp.in_place() {
                    (so + counts.send).max(ro + counts.recv)
                } else {
                    0
                };
                big = big.max(counts.send.max(counts.recv).max(in_place) * t.size());
                small = small.max(counts.send.min(counts.recv) * t.size());
            }
        }
        (big, small)
    }

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
        // The sweep's buffer pair against what this rank may use.
        let (big, small) = self.pair_bytes(sw);
        let need = (big + small) as u64;
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
        let (big, small) = self.pair_bytes(sw);
        let mut pair = Pair {
            big: self.backend.alloc(big)?,
            small: self.backend.alloc(small)?,
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
                                let m = self.measure(&spec, sw, &mut pair)?;
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

    /// The call's buffers out of the pair: (send or shared buffer, separate receive
    /// buffer if out-of-place, input offset, output offset) in elements.
    #[allow(clippy::type_complexity)]
    fn buffers<'p>(
        &self,
        call: &Call,
        pair: &'p mut Pair<B::Buf>,
    ) -> (&'p mut B::Buf, Option<&'p mut B::Buf>, usize, usize) {
        if call.in_place {
            let (so, ro) = self.backend.in_place_offsets(call, self.rank);
            (&mut pair.big, None, so, ro)
        } else if call.counts.send >= call.counts.recv {
            (&mut pair.big, Some(&mut pair.small), 0, 0)
        } else {
            (&mut pair.small, Some(&mut pair.big), 0, 0)
        }
    }

    fn fill(
        &mut self,
        call: &Call,
        buf: &mut B::Buf,
        elem_off: usize,
        corrupt: bool,
    ) -> Result<()> {
        let data = data::input(call, self.nranks, self.rank, corrupt);
        self.backend.write(buf, elem_off * call.dtype.size(), &data)
    }

    fn run_iters(
        &mut self,
        call: &Call,
        send: &mut B::Buf,
        recv: Option<&mut B::Buf>,
        n: usize,
        sw: &Sweep,
    ) -> Result<Vec<f64>> {
        let bufs = match recv {
            Some(recv) => Bufs::Separate { send, recv },
            None => Bufs::InPlace(send),
        };
        self.backend.run_timed(
            Timed {
                call,
                iters: n,
                timing: sw.timing,
            },
            bufs,
        )
    }

    fn measure(&mut self, spec: &RowSpec, sw: &Sweep, pair: &mut Pair<B::Buf>) -> Result<Measured> {
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
        let (send, mut recv, so, ro) = self.buffers(&call, pair);
        self.fill(&call, send, so, false)?;
        self.run_iters(&call, send, recv.as_deref_mut(), sw.warmup, sw)?;
        // Entry/exit stamps of the timed calls only (not warm-up, not check).
        let _ = self.backend.take_stamps();
        let samples = match sw.adaptive {
            None => self.run_iters(&call, send, recv.as_deref_mut(), sw.iters, sw)?,
            Some(a) => self.adaptive(&call, send, recv.as_deref_mut(), a, sw)?,
        };
        let stamps = self.backend.take_stamps();
        let mut wrong = None;
        for _ in 0..sw.check {
            // Poison the output so a stale correct result cannot pass, then refill input.
            let e = call.dtype.size();
            let out_len = call.counts.recv * e;
            match recv.as_deref_mut() {
                Some(r) => self.backend.write(r, 0, &vec![0xFF; out_len])?,
                None => self.backend.write(send, ro * e, &vec![0xFF; out_len])?,
            }
            self.fill(&call, send, so, sw.corrupt_one)?;
            self.run_iters(&call, send, recv.as_deref_mut(), 1, sw)?;
            self.backend.synchronize()?;
            let mut out = vec![0u8; out_len];
            match recv.as_deref() {
                Some(r) => self.backend.read(r, 0, &mut out)?,
                None => self.backend.read(send, ro * e, &mut out)?,
            }
            let w = data::count_wrong(&call, self.nranks, self.rank, &out);
            wrong = Some(wrong.unwrap_or(0u64).max(w));
        }
        watchdog::arm(None);
        Ok(Measured {
            samples,
            wrong,
            stamps,
        })
    }

    fn adaptive(
        &mut self,
        call: &Call,
        send: &mut B::Buf,
        mut recv: Option<&mut B::Buf>,
        a: Adaptive,
        sw: &Sweep,
    ) -> Result<Vec<f64>> {
        let start = Instant::now();
        let mut samples = self.run_iters(call, send, recv.as_deref_mut(), a.min_iters, sw)?;
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
            samples.extend(self.run_iters(call, send, recv.as_deref_mut(), batch, sw)?);
        }
    }

    /// Gathers every rank's samples to rank 0 and builds the row there.
    fn aggregate(&self, spec: &RowSpec, m: Measured, sw: &Sweep) -> Result<Option<Row>> {
        // wrong | n | n samples | [residual | n (entry, exit)]
        let n_st = m.stamps.as_ref().map_or(0, |s| 1 + 2 * s.0.len());
        let mut blob = Vec::with_capacity(8 * (m.samples.len() + 2 + n_st));
        blob.extend_from_slice(&m.wrong.map_or(u64::MAX, |w| w).to_le_bytes());
        blob.extend_from_slice(&(m.samples.len() as u64).to_le_bytes());
        for s in &m.samples {
            blob.extend_from_slice(&s.to_le_bytes());
        }
        if let Some((st, residual)) = &m.stamps {
            blob.extend_from_slice(&residual.to_le_bytes());
            for (e, x) in st {
                blob.extend_from_slice(&e.to_le_bytes());
                blob.extend_from_slice(&x.to_le_bytes());
            }
        }
        let Some(all) = self.world.gather_bytes(&blob) else {
            return Ok(None);
        };
        let mut wrong: Option<u64> = None;
        let mut per_rank = vec![];
        let mut stamps: Vec<Vec<f64>> = vec![];
        for b in &all {
            let w = u64::from_le_bytes(b[..8].try_into().unwrap());
            if w != u64::MAX {
                wrong = Some(wrong.unwrap_or(0) + w);
            }
            let n = u64::from_le_bytes(b[8..16].try_into().unwrap()) as usize;
            let f64s = |b: &[u8]| -> Vec<f64> {
                b.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .collect()
            };
            per_rank.push(f64s(&b[16..16 + 8 * n]));
            stamps.push(f64s(&b[16 + 8 * n..]));
        }
        let ranks_timing = rank_timing::ranks_timing(&stamps);
        let agg = stats::aggregate(per_rank.iter().map(Vec::as_slice), sw.average);
        let (avg, tmin, tmax) = (agg.avg, agg.tmin, agg.tmax);
        let call = spec.call;
        let imp = call.coll.imp();
        let algbw = if avg > 0.0 {
            spec.size as f64 / (avg * 1e-6) / 1e9
        } else {
            0.0
        };
        let samples = m.samples.len();
        Ok(Some(Row {
            collective: call.coll,
            size_bytes: spec.size,
            count: call.counts.count as u64,
            dtype: call.dtype,
            op: imp.has_op().then_some(call.op),
            op_impl: spec.op_impl,
            root: if imp.has_root() { call.root as i64 } else { -1 },
            placement: if call.in_place {
                Placement::InPlace
            } else {
                Placement::OutOfPlace
            },
            iters: samples,
            time_us: TimeStats {
                avg,
                min: if tmin == f64::MAX { 0.0 } else { tmin },
                max: tmax,
                // Histogram buckets round; keep percentiles inside the observed range.
                p50: (agg.merged.value_at_quantile(0.5) as f64 / 1000.0)
                    .clamp(tmin.min(tmax), tmax),
                p99: (agg.merged.value_at_quantile(0.99) as f64 / 1000.0)
                    .clamp(tmin.min(tmax), tmax),
            },
            algbw_gbs: algbw,
            busbw_gbs: algbw * imp.bus_factor(self.nranks),
            wrong,
            precision: agg.prec,
            per_rank: PerRank {
                mean_us: agg.means,
                p50_us: agg.p50s,
                p99_us: agg.p99s,
            },
            verdict: None,
            ranks_timing,
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
