//! The harness's reported time against the way the standard benchmarks measure, each in
//! a process of its own, and adaptive-mode sweep time. `cargo bench --bench
//! harness_overhead` compiles the reference (benches/osu_ref.c) with `mpicc -O2` into
//! target/, then launches MPI jobs of 2 ranks, then of 4 (oversubscribed, with
//! `mpi_yield_when_idle` where there are fewer cores than ranks).
//!
//! 1. MPI all_reduce (float, sum), out-of-place `time_us.avg` (`-a 1`) at 8 B … 4 MiB,
//!    against the reference: an OSU-style C program with nothing of the harness,
//!    initialized as OSU is (`MPI_Init`), timing (a) OSU's method: barrier; t0 =
//!    MPI_Wtime; call; t1; per call, and (b) nccl-tests': barrier; t0; n calls; t1;
//!    (t1 − t0) / n; each rank's mean averaged over ranks, with OSU's iteration counts.
//!    The harness runs in a job of its own (this bench, re-launched) as the binary does
//!    for `-b S -e S` (in-place row and the check included), `--timing per-call` against
//!    (a) and `--timing loop` against (b). Within a launch, each side measures every size
//!    and method on P buffer pairs (placements), each its own page-aligned mapping
//!    (mapped, used, unmapped; a hold keeps the next pair off its pages), the
//!    iterations divided among them, and reports the mean over the P: one launch no
//!    longer stands on one draw of where its pages land, which moves 1–4 MiB calls by
//!    5–18 %. Every round launches reference, harness, reference, each measuring every
//!    size with both methods (their order alternating by round and size, alike on both
//!    sides); reported are medians over rounds of the harness against the geometric mean
//!    of the two references around it (a drift of the host's speed cancels to first
//!    order), the second reference against the first as a control (the noise floor of
//!    two launches), and whether each row is within the bounds (3 % or 0.03 µs).
//!    `XCCL_BENCH_ROUNDS` sets the rounds, `XCCL_BENCH_PLACEMENTS` P (default 4),
//!    `XCCL_BENCH_SIZES` (byte counts, comma-separated) the sizes.
//! 2. (2 ranks) Wall time of a sweep 8 B–128 MiB with fixed `-n 20` against adaptive
//!    mode, with the precision each achieved (`XCCL_BENCH_SKIP_ADAPTIVE` skips it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use xccl_bench::backend::mpi::{HostBuf, MpiBackend};
use xccl_bench::backend::Timing;
use xccl_bench::coll::CollKind;
use xccl_bench::harness::{Adaptive, Average, Harness, Sweep};
use xccl_bench::output::Capture;
use xccl_bench::result::Row;
use xccl_bench::types::{DataType, ReduceOp};
use xccl_bench::world::{MpiWorld, World};

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

/// Buffer pairs (placements) each side measures every size and method on within one
/// launch: `XCCL_BENCH_PLACEMENTS`, default 4 (61 rounds then take about 10 minutes per
/// rank count at most on 2 cores, docs/PERFORMANCE.md).
fn placements() -> usize {
    match std::env::var("XCCL_BENCH_PLACEMENTS") {
        Err(_) => 4,
        Ok(s) => match s.trim().parse() {
            Ok(p) if p >= 1 => p,
            _ => {
                eprintln!("XCCL_BENCH_PLACEMENTS must be a whole number >= 1, not '{s}'");
                std::process::exit(2);
            }
        },
    }
}

/// The launch's number for one size and method from its placements' numbers: the mean.
/// With the iterations divided equally among the placements it is the mean per call
/// over all the measurement's calls, as one placement's number was (P = 1 is the
/// previous design), and it estimates the time averaged over where pages land, which
/// is what runs average to. A median of 4 would be the mean of the middle two, keeping
/// half of the draws; a host hiccup that spoils one launch is what the median over
/// rounds is for. osu_ref.c takes the same mean.
fn placement_mean(times: &[f64]) -> f64 {
    times.iter().sum::<f64>() / times.len() as f64
}

/// Memory as large as the buffer pair a placement just unmapped, mapped and written
/// right after it, and kept until the measurement's placements are done. The kernel hands
/// the pages freed last out first (Linux's mm/page_alloc.c: `__rmqueue_pcplist` takes the
/// first entry of the per-CPU free list, where freed pages go), so without it every pair
/// of a measurement lands on the same physical pages as the one before. Seen on this VM
/// in /proc/self/pagemap, 2 ranks under mpirun: osu_ref's pairs at 256 KiB, 1 MiB and
/// 4 MiB, and a pair mapped after each harness run at 1 MiB, shared all their pages with
/// the pair before; with a hold in between, none. osu_ref.c holds the same.
fn hold(bytes: usize) -> [HostBuf; 2] {
    let buf = || {
        let b = HostBuf::new(bytes).expect("hold mapping");
        // SAFETY: `bytes` bytes of the mapping just made, written so that its pages are
        // taken now.
        unsafe { std::ptr::write_bytes(b.as_mut_ptr(), 1, bytes) };
        b
    };
    [buf(), buf()]
}

/// One size to measure, passed alike to both sides as `SIZE:ITERS:WARMUP`, iterations
/// and warm-up per placement (the reference's command line, benches/osu_ref.c).
#[derive(Clone, Copy)]
struct Spec {
    size: u64,
    iters: usize,
    warmup: usize,
}

impl Spec {
    fn arg(&self) -> String {
        format!("{}:{}:{}", self.size, self.iters, self.warmup)
    }
    fn parse(arg: &str) -> Spec {
        let v: Vec<usize> = arg
            .split(':')
            .map(|x| x.parse().expect("SIZE:ITERS:WARMUP"))
            .collect();
        Spec {
            size: v[0] as u64,
            iters: v[1],
            warmup: v[2],
        }
    }
}

/// The two timing methods compared, each harness side against its own reference.
#[derive(Clone, Copy, PartialEq)]
enum Method {
    /// `--timing per-call` against reference (a), OSU's.
    PerCall,
    /// `--timing loop` against reference (b), nccl-tests'.
    Loop,
}

impl Method {
    /// As both sides print it.
    fn name(self) -> &'static str {
        match self {
            Method::PerCall => "per-call",
            Method::Loop => "loop",
        }
    }
    /// The order of the two methods at the `j`-th size of round `round` (osu_ref.c
    /// follows the same rule).
    fn order(round: usize, j: usize) -> [Method; 2] {
        if (round + j).is_multiple_of(2) {
            [Method::PerCall, Method::Loop]
        } else {
            [Method::Loop, Method::PerCall]
        }
    }
}

/// The lines `SIZE METHOD MICROSECONDS` a side printed, one per size and method of
/// `specs`, as times[method][size index].
fn parse_times(out: &str, specs: &[Spec]) -> [Vec<f64>; 2] {
    let mut times = [vec![f64::NAN; specs.len()], vec![f64::NAN; specs.len()]];
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(size), Some(m), Some(us)) = (f.first(), f.get(1), f.get(2)) else {
            continue;
        };
        let m = [Method::PerCall, Method::Loop]
            .into_iter()
            .find(|x| x.name() == *m);
        let j = specs.iter().position(|s| size.parse() == Ok(s.size));
        if let (Some(m), Some(j), Ok(us)) = (m, j, us.parse()) {
            times[m as usize][j] = us;
        }
    }
    assert!(
        times.iter().flatten().all(|t| t.is_finite()),
        "a measurement is missing from the output:\n{out}"
    );
    times
}

/// Runs `program args` as an MPI job of `np` ranks and returns its standard output (its
/// standard error passes through); a failed job ends the bench.
fn mpirun(np: usize, program: &Path, args: &[String]) -> String {
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "--oversubscribe",
        "--allow-run-as-root",
        "-np",
        &np.to_string(),
    ]);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if np > cores {
        // Ranks that wait spinning would take the cores from those that compute.
        cmd.args(["--mca", "mpi_yield_when_idle", "1"]);
    }
    // No allocator tuning: the harness must match the reference with glibc as users run
    // it (its buffers are their own mappings).
    let out = cmd
        .arg(program)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("mpirun");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
        std::process::exit(out.status.code().unwrap_or(1));
    }
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Compiles benches/osu_ref.c into target/ (next to this bench's directory).
fn build_reference() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/osu_ref.c");
    let exe = std::env::current_exe().unwrap();
    let out = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .join("osu_ref");
    let st = Command::new("mpicc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("mpicc");
    assert!(st.success(), "mpicc {} failed", src.display());
    out
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
    /// The reference against itself two launches apart: the noise floor.
    fn control(&self) -> f64 {
        self.ref_after / self.ref_before
    }
}

/// The bounds of issue 15: within 3 % of the reference, or within 0.03 µs.
fn within_bounds(ratio: f64, diff_us: f64) -> bool {
    (ratio - 1.0).abs() <= 0.03 || diff_us.abs() <= 0.03
}

/// Out-of-place `time_us.avg` of one size from one harness run (as `-b S -e S` runs).
fn harness_time(world: &MpiWorld, backend: &mut MpiBackend, timing: Timing, spec: Spec) -> f64 {
    let mut sink = Capture::default();
    let mut h = Harness::on(world, backend);
    let sw = Sweep {
        warmup: spec.warmup,
        ..sweep(vec![spec.size], spec.iters, None, timing)
    };
    h.run(&sw, &mut sink).unwrap();
    // Rows live on rank 0, which alone reports; the others return 0.
    sink.0
        .iter()
        .find(|r| r.placement == xccl_bench::result::Placement::OutOfPlace)
        .map_or(0.0, |r| r.time_us.avg)
}

/// The harness side of one round, in its own MPI job: every size of `specs`, both
/// methods, each as `placements` harness runs (each its own buffer pair, a hold between
/// them), their mean printed as osu_ref.c prints it.
fn harness_side(round: usize, placements: usize, specs: &[Spec]) {
    let world = MpiWorld::new().expect("MPI");
    let mut backend = MpiBackend::new(&world).expect("backend");
    for (j, &spec) in specs.iter().enumerate() {
        for m in Method::order(round, j) {
            let timing = match m {
                Method::PerCall => Timing::PerCall,
                Method::Loop => Timing::Loop,
            };
            let mut holds = Vec::with_capacity(placements);
            let times: Vec<f64> = (0..placements)
                .map(|k| {
                    let us = harness_time(&world, &mut backend, timing, spec);
                    if k + 1 < placements {
                        holds.push(hold(spec.size as usize));
                    }
                    us
                })
                .collect();
            drop(holds);
            let us = placement_mean(&times);
            if world.rank() == 0 {
                println!("{} {} {us:.6}", spec.size, m.name());
            }
        }
    }
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

/// Iterations per placement: OSU's count for the size divided among the placements.
fn iters_per_placement(size: u64, nranks: usize, placements: usize) -> usize {
    iters_for(size, nranks).div_ceil(placements)
}

/// Part 1 at `np` ranks: `rounds` rounds of reference, harness, reference launches.
fn overhead(np: usize, rounds: usize, placements: usize, reference: &Path, me: &Path) {
    let specs: Vec<Spec> = sizes()
        .into_iter()
        .map(|size| {
            let iters = iters_per_placement(size, np, placements);
            Spec {
                size,
                iters,
                warmup: warmup_for(iters),
            }
        })
        .collect();
    let spec_args: Vec<String> = specs.iter().map(Spec::arg).collect();
    let t0 = Instant::now();
    // triples[method][size], one per round.
    let mut triples = vec![vec![Vec::with_capacity(rounds); specs.len()]; 2];
    for round in 0..rounds {
        let args: Vec<String> = [round.to_string(), placements.to_string()]
            .into_iter()
            .chain(spec_args.iter().cloned())
            .collect();
        let before = parse_times(&mpirun(np, reference, &args), &specs);
        let harness_args: Vec<String> = std::iter::once("harness".to_string())
            .chain(args.iter().cloned())
            .collect();
        let harness = parse_times(&mpirun(np, me, &harness_args), &specs);
        let after = parse_times(&mpirun(np, reference, &args), &specs);
        for (m, per_size) in triples.iter_mut().enumerate() {
            for (j, t) in per_size.iter_mut().enumerate() {
                t.push(Triple {
                    ref_before: before[m][j],
                    harness: harness[m][j],
                    ref_after: after[m][j],
                });
            }
        }
    }
    let warm = |size| warmup_for(iters_per_placement(size, np, placements));
    println!(
        "# {np} ranks, {rounds} rounds ({:.0} s); each round launches reference (benches/osu_ref.c), harness, reference, each measuring every size with both methods",
        t0.elapsed().as_secs_f64(),
    );
    println!(
        "# per size and method each launch reports the mean over P = {placements} placements (buffer pairs, each its own mapping, a hold keeping the next off its pages) of {} iterations + {} warm-up each (<= 32 KiB), {} + {} (larger)",
        iters_per_placement(8, np, placements),
        warm(8),
        iters_per_placement(1 << 20, np, placements),
        warm(1 << 20),
    );
    println!("# ratio: median over rounds of harness / geometric mean of the two references around it (quartiles); diff: median of harness - their mean; control: median of second reference / first; ok: within 3 % or 0.03 us");
    println!("# per-call: harness --timing per-call against reference (a) OSU; loop: harness --timing loop against reference (b) nccl-tests");
    println!(
        "{:>8} {:>10} {:>10} | {:>24} {:>10} {:>24} {:>3} | {:>24} {:>10} {:>24} {:>3}",
        "size",
        "ref a us",
        "ref b us",
        "per-call ratio (q1..q3)",
        "diff us",
        "control a/a (q1..q3)",
        "ok",
        "loop ratio (q1..q3)",
        "diff us",
        "control b/b (q1..q3)",
        "ok",
    );
    let mut outside = 0;
    for (j, spec) in specs.iter().enumerate() {
        let mut line = format!("{:>8}", xccl_bench::types::format_size(spec.size));
        for t in &triples {
            let refs = t[j].iter().map(|t| (t.ref_before + t.ref_after) / 2.0);
            line += &format!(" {:>10.3}", median(refs.collect()));
        }
        for t in &triples {
            let t = &t[j];
            let (r, q1, q3) = spread(t.iter().map(Triple::ratio).collect());
            let (c, c1, c3) = spread(t.iter().map(Triple::control).collect());
            let d = median(t.iter().map(Triple::diff).collect());
            let ok = within_bounds(r, d);
            outside += usize::from(!ok);
            line += &format!(
                " | {r:>7.4} ({q1:.3}..{q3:.3}) {d:>+10.3} {c:>7.4} ({c1:.3}..{c3:.3}) {:>3}",
                if ok { "yes" } else { "NO" }
            );
        }
        println!("{line}");
    }
    println!(
        "# {np} ranks: {} of {} rows within the bounds",
        2 * specs.len() - outside,
        2 * specs.len()
    );
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
        let mut sink = Capture::default();
        let mut h = Harness::on(world, backend);
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
    // A job this bench launched: the harness side of a round, or the adaptive sweeps.
    // (Started by cargo, the first argument is `--bench`.)
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("harness") => {
            let round = args[1].parse().expect("round");
            let placements = args[2].parse().expect("placements");
            let specs: Vec<Spec> = args[3..].iter().map(|a| Spec::parse(a)).collect();
            return harness_side(round, placements, &specs);
        }
        Some("adaptive") => {
            let world = MpiWorld::new().expect("MPI");
            let mut backend = MpiBackend::new(&world).expect("backend");
            return adaptive_sweeps(&world, &mut backend);
        }
        _ => {}
    }
    let env = |k: &str| std::env::var(k).ok();
    let reference = build_reference();
    let me = std::env::current_exe().unwrap();
    let placements = placements();
    for np in [2, 4] {
        let rounds = env("XCCL_BENCH_ROUNDS")
            .and_then(|s| s.parse().ok())
            .unwrap_or(if np > 2 { 11 } else { 15 });
        overhead(np, rounds, placements, &reference, &me);
        if np == 2 && env("XCCL_BENCH_SKIP_ADAPTIVE").is_none() {
            print!("{}", mpirun(2, &me, &["adaptive".to_string()]));
        }
    }
}
