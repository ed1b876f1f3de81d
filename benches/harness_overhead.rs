//! The harness's reported time against the way the standard benchmarks measure, and
//! adaptive-mode sweep time. `cargo bench --bench harness_overhead` re-launches itself
//! as an MPI job of 2 ranks, then of 4 (oversubscribed).
//!
//! 1. MPI all_reduce (float, sum), out-of-place `time_us.avg` (`-a 1`) at 8 B … 4 MiB,
//!    against two reference loops written here with raw `mpi::ffi` calls and nothing of
//!    the harness: one page-aligned buffer pair allocated once per measurement, then
//!    (a) OSU's method: barrier; t0 = MPI_Wtime; call; t1; per call; and
//!    (b) nccl-tests' method: barrier; t0; n calls; t1; (t1 − t0) / n;
//!    each rank's mean averaged over ranks, with OSU's iteration counts. The harness runs
//!    as the binary does for `-b S -e S` (in-place row and the check included) with
//!    `--timing per-call` against (a) and `--timing loop` against (b). Every round
//!    measures, per size and method, reference, harness, reference, back to back (the
//!    method order alternating by round and size); reported are medians over rounds of
//!    the harness against the geometric mean of the two references around it (a drift of
//!    the host's speed cancels to first order), and the second reference against the
//!    first as a control (the noise floor of two measurements). `XCCL_BENCH_ROUNDS` sets
//!    the rounds, `XCCL_BENCH_SIZES` (byte counts, comma-separated) the sizes.
//! 2. (2 ranks) Wall time of a sweep 8 B–128 MiB with fixed `-n 20` against adaptive
//!    mode, with the precision each achieved.

use mpi::ffi;
use std::os::raw::c_void;
use std::time::Instant;
use xccl_bench::backend::mpi::{HostBuf, MpiBackend};
use xccl_bench::backend::Timing;
use xccl_bench::coll::CollKind;
use xccl_bench::error::Result;
use xccl_bench::harness::{Adaptive, Average, Harness, Sweep};
use xccl_bench::output::Sink;
use xccl_bench::result::{Row, RunMeta, Summary};
use xccl_bench::types::{DataType, ReduceOp};
use xccl_bench::world::{MpiWorld, World};

#[derive(Default)]
struct Collect(Vec<Row>);

impl Sink for Collect {
    fn begin(&mut self, _: &RunMeta) -> Result<()> {
        Ok(())
    }
    fn rows(&mut self, g: &[Row]) -> Result<()> {
        self.0.extend_from_slice(g);
        Ok(())
    }
    fn end(&mut self, _: &Summary) -> Result<()> {
        Ok(())
    }
}

fn sweep(sizes: Vec<u64>, iters: usize, adaptive: Option<Adaptive>, timing: Timing) -> Sweep {
    let warmup = warmup_for(iters);
    Sweep {
        coll: CollKind::AllReduce,
        sizes,
        dtypes: vec![DataType::Float],
        ops: vec![ReduceOp::Sum],
        roots: vec![0],
        iters,
        warmup,
        check: 1,
        average: Average::Avg,
        adaptive,
        cycles: 1,
        corrupt_one: false,
        timing,
    }
}

/// Sizes measured, and iterations per measurement as OSU counts them: many where calls
/// are short (a one-off hiccup of the host then moves the mean little), fewer where they
/// are long. At 4 ranks (oversubscribed, every call ~10x longer) a fifth as many.
const SIZES: [u64; 8] = [8, 64, 512, 4 << 10, 32 << 10, 256 << 10, 1 << 20, 4 << 20];

/// `SIZES`, or the byte counts listed in `XCCL_BENCH_SIZES` (comma-separated) to look
/// closer at a few.
fn sizes() -> Vec<u64> {
    std::env::var("XCCL_BENCH_SIZES").map_or(SIZES.to_vec(), |s| {
        s.split(',')
            .map(|x| x.trim().parse().expect("XCCL_BENCH_SIZES: byte counts"))
            .collect()
    })
}

fn iters_for(size: u64, nranks: usize) -> usize {
    let base = if size <= 32 << 10 { 10_000 } else { 100 };
    if nranks > 2 {
        base / 5
    } else {
        base
    }
}

/// Warm-up calls before each measurement (OSU skips 1/10 of its iteration count).
fn warmup_for(iters: usize) -> usize {
    (iters / 10).max(5)
}

/// The reference loops' buffers: one page-aligned pair, allocated once for a measurement
/// and every page written, as OSU allocates its pair once when it runs one size
/// (`-m S:S`). Each measurement maps a pair of its own, as the harness's `-b S -e S`
/// does: where a pair lands in physical memory moved a run's 1–4 MiB times by 5–18 %
/// on the reference VM, in either direction, and one pair kept for a whole run would
/// turn that one draw into a bias of every round (docs/PERFORMANCE.md).
///
/// The same mapping as the harness's buffers (`HostBuf`), so the two sides differ only
/// in how they call and time.
struct RefBufs {
    send: HostBuf,
    recv: HostBuf,
}

impl RefBufs {
    fn new(len: usize) -> RefBufs {
        let alloc = || {
            let b = HostBuf::new(len).expect("the reference buffers");
            // SAFETY: the mapping holds `len` bytes.
            unsafe { std::ptr::write_bytes(b.as_mut_ptr(), 1, len) };
            b
        };
        RefBufs {
            send: alloc(),
            recv: alloc(),
        }
    }

    fn allreduce(&self, bytes: usize) {
        // SAFETY: both buffers hold `bytes`; MPI is initialized.
        unsafe {
            ffi::MPI_Allreduce(
                self.send.as_mut_ptr() as *const c_void,
                self.recv.as_mut_ptr() as *mut c_void,
                (bytes / 4) as i32,
                ffi::RSMPI_FLOAT,
                ffi::RSMPI_SUM,
                ffi::RSMPI_COMM_WORLD,
            )
        };
    }

    /// (a) OSU: a barrier before each call, MPI_Wtime around the call alone.
    fn per_call(&self, bytes: usize, iters: usize) -> f64 {
        barrier();
        for _ in 0..warmup_for(iters) {
            self.allreduce(bytes);
        }
        let mut total = 0.0;
        for _ in 0..iters {
            barrier();
            let t0 = wtime();
            self.allreduce(bytes);
            total += wtime() - t0;
        }
        mean_over_ranks(total / iters as f64)
    }

    /// (b) nccl-tests: a barrier, then the loop timed as a whole.
    fn loop_timed(&self, bytes: usize, iters: usize) -> f64 {
        barrier();
        for _ in 0..warmup_for(iters) {
            self.allreduce(bytes);
        }
        barrier();
        let t0 = wtime();
        for _ in 0..iters {
            self.allreduce(bytes);
        }
        mean_over_ranks((wtime() - t0) / iters as f64)
    }
}

fn wtime() -> f64 {
    // SAFETY: MPI is initialized.
    unsafe { ffi::RSMPI_Wtime() }
}

fn barrier() {
    // SAFETY: MPI is initialized.
    unsafe { ffi::MPI_Barrier(ffi::RSMPI_COMM_WORLD) };
}

/// Microseconds, this rank's mean averaged over ranks.
fn mean_over_ranks(secs: f64) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0i32);
    // SAFETY: one double each way; MPI is initialized.
    unsafe {
        ffi::MPI_Allreduce(
            &secs as *const f64 as *const c_void,
            &mut sum as *mut f64 as *mut c_void,
            1,
            ffi::RSMPI_DOUBLE,
            ffi::RSMPI_SUM,
            ffi::RSMPI_COMM_WORLD,
        );
        ffi::MPI_Comm_size(ffi::RSMPI_COMM_WORLD, &mut n);
    }
    sum / n as f64 * 1e6
}

/// The two timing methods compared, each harness side against its own reference loop.
#[derive(Clone, Copy, PartialEq)]
enum Method {
    /// `--timing per-call` against reference (a), OSU's.
    PerCall,
    /// `--timing loop` against reference (b), nccl-tests'.
    Loop,
}

/// One measurement triple: reference, harness, reference again (in µs).
#[derive(Clone, Copy)]
struct Triple {
    ref_before: f64,
    harness: f64,
    ref_after: f64,
}

impl Triple {
    /// The harness against the geometric mean of the references on either side of it: a
    /// drift of the host's speed across the triple cancels to first order.
    fn ratio(&self) -> f64 {
        self.harness / (self.ref_before * self.ref_after).sqrt()
    }
    fn diff(&self) -> f64 {
        self.harness - (self.ref_before + self.ref_after) / 2.0
    }
    /// The reference against itself two measurements apart: the noise floor.
    fn control(&self) -> f64 {
        self.ref_after / self.ref_before
    }
}

/// Out-of-place `time_us.avg` of one size from one harness run (as `-b S -e S` runs).
fn harness_time(world: &MpiWorld, backend: &mut MpiBackend, timing: Timing, size: u64) -> f64 {
    let mut sink = Collect::default();
    let mut h = Harness {
        world,
        backend,
        rank: world.rank(),
        nranks: world.size(),
    };
    let iters = iters_for(size, world.size());
    h.run(&sweep(vec![size], iters, None, timing), &mut sink)
        .unwrap();
    // Rows live on rank 0, which alone reports; the others return 0.
    sink.0
        .iter()
        .find(|r| r.placement == xccl_bench::result::Placement::OutOfPlace)
        .map_or(0.0, |r| r.time_us.avg)
}

fn median(v: Vec<f64>) -> f64 {
    spread(v).0
}

/// Median and quartiles.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
    (q(0.5), q(0.25), q(0.75))
}

fn overhead(world: &MpiWorld, backend: &mut MpiBackend, rounds: usize) {
    let rank = world.rank();
    let sizes = sizes();
    let reference = |m: Method, size: u64, iters: usize| {
        let bufs = RefBufs::new(size as usize);
        match m {
            Method::PerCall => bufs.per_call(size as usize, iters),
            Method::Loop => bufs.loop_timed(size as usize, iters),
        }
    };
    // triples[method][size], one per round: per size, each method as reference, harness,
    // reference, so every harness number sits between two reference numbers measured
    // next to it; the order of the two methods alternates by round and size.
    let mut triples = vec![vec![Vec::with_capacity(rounds); sizes.len()]; 2];
    for round in 0..rounds {
        for (j, &size) in sizes.iter().enumerate() {
            let iters = iters_for(size, world.size());
            let order = if (round + j) % 2 == 0 {
                [Method::PerCall, Method::Loop]
            } else {
                [Method::Loop, Method::PerCall]
            };
            for m in order {
                let timing = match m {
                    Method::PerCall => Timing::PerCall,
                    Method::Loop => Timing::Loop,
                };
                let ref_before = reference(m, size, iters);
                let harness = harness_time(world, backend, timing, size);
                let ref_after = reference(m, size, iters);
                triples[m as usize][j].push(Triple {
                    ref_before,
                    harness,
                    ref_after,
                });
            }
        }
    }
    if rank != 0 {
        return;
    }
    println!(
        "# {} ranks, {rounds} rounds; iterations per measurement: {} (<= 32 KiB), {} (larger); per size and method, each round measures reference, harness, reference",
        world.size(),
        iters_for(8, world.size()),
        iters_for(1 << 20, world.size())
    );
    println!("# ratio: median over rounds of harness / geometric mean of the two references around it (quartiles); diff: median of harness - their mean; control: median of second reference / first");
    println!("# per-call: harness --timing per-call against reference (a) OSU; loop: harness --timing loop against reference (b) nccl-tests");
    println!(
        "{:>8} {:>10} {:>10} | {:>24} {:>10} {:>24} | {:>24} {:>10} {:>24}",
        "size",
        "ref a us",
        "ref b us",
        "per-call ratio (q1..q3)",
        "diff us",
        "control a/a (q1..q3)",
        "loop ratio (q1..q3)",
        "diff us",
        "control b/b (q1..q3)",
    );
    for (j, &size) in sizes.iter().enumerate() {
        let mut line = format!("{:>8}", xccl_bench::types::format_size(size));
        for m in [Method::PerCall, Method::Loop] {
            let t = &triples[m as usize][j];
            line += &format!(
                " {:>10.3}",
                median(
                    t.iter()
                        .map(|t| (t.ref_before + t.ref_after) / 2.0)
                        .collect()
                )
            );
        }
        for m in [Method::PerCall, Method::Loop] {
            let t = &triples[m as usize][j];
            let (r, q1, q3) = spread(t.iter().map(Triple::ratio).collect());
            let (c, c1, c3) = spread(t.iter().map(Triple::control).collect());
            let d = median(t.iter().map(Triple::diff).collect());
            line +=
                &format!(" | {r:>7.4} ({q1:.3}..{q3:.3}) {d:>+10.3} {c:>7.4} ({c1:.3}..{c3:.3})");
        }
        println!("{line}");
    }
}

fn adaptive_sweeps(world: &MpiWorld, backend: &mut MpiBackend) {
    let rank = world.rank();
    let sizes: Vec<u64> = (3..=27).map(|p| 1u64 << p).collect();
    let adaptive = |p: f64| Adaptive {
        precision: Some(p),
        time_budget_s: Some(1.0),
        min_iters: 5,
        max_iters: 1000,
    };
    for (name, sw) in [
        (
            "fixed -n 20",
            sweep(sizes.clone(), 20, None, Timing::PerCall),
        ),
        (
            "adaptive --precision 5% --time-budget 1",
            sweep(sizes.clone(), 20, Some(adaptive(0.05)), Timing::PerCall),
        ),
        (
            "adaptive --precision 1% --time-budget 1",
            sweep(sizes.clone(), 20, Some(adaptive(0.01)), Timing::PerCall),
        ),
    ] {
        world.barrier();
        let t0 = Instant::now();
        let mut sink = Collect::default();
        let mut h = Harness {
            world,
            backend,
            rank,
            nranks: world.size(),
        };
        h.run(&sw, &mut sink).unwrap();
        world.barrier();
        let wall = t0.elapsed().as_secs_f64();
        if rank == 0 {
            let oop: Vec<&Row> = sink
                .0
                .iter()
                .filter(|r| r.placement == xccl_bench::result::Placement::OutOfPlace)
                .collect();
            let precs: Vec<f64> = oop.iter().map(|r| r.precision * 100.0).collect();
            let large: Vec<&&Row> = oop.iter().filter(|r| r.size_bytes >= 1 << 20).collect();
            println!(
                "sweep {name:<42} wall {wall:7.2} s  precision median {:5.2}% worst {:6.2}%  (>=1 MiB: worst {:5.2}%, {} iterations)",
                median(precs.clone()),
                precs.iter().cloned().fold(0.0, f64::max),
                large.iter().map(|r| r.precision * 100.0).fold(0.0, f64::max),
                large.iter().map(|r| r.iters).sum::<usize>()
            );
        }
    }
}

fn main() {
    let env = |k: &str| std::env::var(k).ok();
    if env("OMPI_COMM_WORLD_SIZE").is_none() && env("PMI_SIZE").is_none() {
        // cargo bench starts us alone: re-launch as MPI jobs of 2 and 4 ranks.
        let me = std::env::current_exe().unwrap();
        for np in ["2", "4"] {
            // No allocator tuning: the harness must match the reference loops with
            // glibc as users run it (its buffers are their own mappings).
            let st = std::process::Command::new("mpirun")
                .args(["--oversubscribe", "--allow-run-as-root", "-np", np])
                .arg(&me)
                .args(std::env::args().skip(1))
                .status()
                .expect("mpirun");
            if !st.success() {
                std::process::exit(st.code().unwrap_or(1));
            }
        }
        return;
    }
    let world = MpiWorld::new().expect("MPI");
    let mut backend = MpiBackend::new(&world).expect("backend");
    let nranks = world.size();
    let rounds = env("XCCL_BENCH_ROUNDS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(if nranks > 2 { 11 } else { 15 });
    overhead(&world, &mut backend, rounds);
    if nranks == 2 && env("XCCL_BENCH_SKIP_ADAPTIVE").is_none() {
        adaptive_sweeps(&world, &mut backend);
    }
}
