//! Diagnosis of issue 7 §2 (harness time vs OSU): each candidate cause as a variant of
//! a raw-FFI MPI_Allreduce loop, interleaved in one run with the harness, as ratios to
//! OSU's method. `cargo bench --bench timing_diag` (re-launches itself under mpirun;
//! NP=4 for 4 ranks). `THREADS=single|multiple` instead runs OSU's loop alone under MPI
//! initialized at that thread level (run the two alternately and compare). `BACKEND=1`
//! runs only the variants that split the harness's cost from the backend's (its
//! `run_timed` alone, OSU's loop on its buffers); `SIZES=8,512` and `ITERS=N` choose
//! the sizes and iterations.
//! Figures and conclusions: docs/PERFORMANCE.md.

use mpi::ffi;
use std::os::raw::c_void;
use xccl_bench::backend::mpi::MpiBackend;
use xccl_bench::coll::CollKind;
use xccl_bench::harness::{Average, Harness, Sweep};
use xccl_bench::output::Capture;
use xccl_bench::world::{MpiWorld, World};

struct Pair {
    s: *mut u8,
    r: *mut u8,
    len: usize,
}
impl Pair {
    fn new(len: usize) -> Pair {
        let mut s = std::ptr::null_mut();
        let mut r = std::ptr::null_mut();
        unsafe {
            libc::posix_memalign(&mut s, 4096, len);
            libc::posix_memalign(&mut r, 4096, len);
            std::ptr::write_bytes(s as *mut u8, 1, len);
            std::ptr::write_bytes(r as *mut u8, 1, len);
        }
        Pair {
            s: s as *mut u8,
            r: r as *mut u8,
            len,
        }
    }
}
impl Drop for Pair {
    fn drop(&mut self) {
        unsafe {
            libc::free(self.s as *mut c_void);
            libc::free(self.r as *mut c_void);
        }
    }
}

fn wt() -> f64 {
    unsafe { ffi::RSMPI_Wtime() }
}
fn bar() {
    unsafe { ffi::MPI_Barrier(ffi::RSMPI_COMM_WORLD) };
}
fn ar(s: *mut u8, r: *mut u8, n: usize) {
    unsafe {
        ffi::MPI_Allreduce(
            s as *const c_void,
            r as *mut c_void,
            n as i32,
            ffi::RSMPI_FLOAT,
            ffi::RSMPI_SUM,
            ffi::RSMPI_COMM_WORLD,
        )
    };
}
fn avg_ranks(x: f64) -> f64 {
    let mut out = 0.0f64;
    let mut n = 0i32;
    unsafe {
        ffi::MPI_Allreduce(
            &x as *const f64 as *const c_void,
            &mut out as *mut f64 as *mut c_void,
            1,
            ffi::RSMPI_DOUBLE,
            ffi::RSMPI_SUM,
            ffi::RSMPI_COMM_WORLD,
        );
        ffi::MPI_Comm_size(ffi::RSMPI_COMM_WORLD, &mut n);
    }
    out / n as f64
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum V {
    Harness,
    HarnessDefault,
    OsuStd,
    OsuN20,
    OsuRef,
    LoopRef,
    B2b,
    B2bBarrier,
    B2bBook,
    OsuFresh,
    OsuUnaligned,
    OsuAfterInPlace,
    BackendPerCall,
    BackendLoop,
    OsuHostBuf,
}
const ALL: [V; 15] = [
    V::Harness,
    V::HarnessDefault,
    V::OsuStd,
    V::OsuN20,
    V::OsuRef,
    V::LoopRef,
    V::B2b,
    V::B2bBarrier,
    V::B2bBook,
    V::OsuFresh,
    V::OsuUnaligned,
    V::OsuAfterInPlace,
    V::BackendPerCall,
    V::BackendLoop,
    V::OsuHostBuf,
];
fn name(v: V) -> &'static str {
    match v {
        V::Harness => "harness",
        V::HarnessDefault => "harness -n20 -w5 -c1",
        V::OsuStd => "osu std iters",
        V::OsuN20 => "osu 20 iters 5 warm",
        V::OsuRef => "osu ref",
        V::LoopRef => "loop ref",
        V::B2b => "b2b no barrier",
        V::B2bBarrier => "b2b + barrier first",
        V::B2bBook => "b2b + tick/push",
        V::OsuFresh => "osu, fresh bufs",
        V::OsuUnaligned => "osu, +8 B offset",
        V::OsuAfterInPlace => "osu, after in-place",
        V::BackendPerCall => "backend run_timed per-call",
        V::BackendLoop => "backend run_timed loop",
        V::OsuHostBuf => "osu on backend bufs",
    }
}

fn osu(s: *mut u8, r: *mut u8, n: usize, iters: usize) -> f64 {
    osu_w(s, r, n, iters, 5)
}
fn osu_w(s: *mut u8, r: *mut u8, n: usize, iters: usize, warm: usize) -> f64 {
    for _ in 0..warm {
        ar(s, r, n);
    }
    bar();
    let mut tot = 0.0;
    for _ in 0..iters {
        bar();
        let t0 = wt();
        ar(s, r, n);
        tot += wt() - t0;
    }
    tot / iters as f64
}

fn run_variant(
    v: V,
    p: &Pair,
    bytes: usize,
    iters: usize,
    world: &MpiWorld,
    backend: &mut MpiBackend,
) -> f64 {
    let n = bytes / 4;
    let (s, r) = (p.s, p.r);
    match v {
        V::OsuStd => {
            if bytes <= 8192 {
                osu_w(s, r, n, 1000, 200)
            } else {
                osu_w(s, r, n, 100, 10)
            }
        }
        V::OsuN20 => osu_w(s, r, n, 20, 5),
        V::Harness | V::HarnessDefault => {
            let d = v == V::HarnessDefault;
            let sw = Sweep {
                coll: CollKind::AllReduce,
                sizes: vec![bytes as u64],
                dtypes: vec![xccl_bench::types::DataType::Float],
                ops: vec![xccl_bench::types::ReduceOp::Sum],
                roots: vec![0],
                iters: if d { 20 } else { iters },
                warmup: 5,
                check: usize::from(d),
                average: Average::Avg,
                adaptive: None,
                cycles: 1,
                corrupt_one: false,
                timing: xccl_bench::backend::Timing::PerCall,
            };
            let mut sink = Capture::default();
            let mut h = Harness::on(world, backend);
            h.run(&sw, &mut sink).unwrap();
            let mut t = sink.0.first().map_or(0.0, |r| r.time_us.avg).to_le_bytes();
            world.broadcast_bytes(0, &mut t);
            f64::from_le_bytes(t) * 1e-6
        }
        V::OsuRef => osu(s, r, n, iters),
        V::LoopRef => {
            for _ in 0..5 {
                ar(s, r, n);
            }
            bar();
            let t0 = wt();
            for _ in 0..iters {
                ar(s, r, n);
            }
            (wt() - t0) / iters as f64
        }
        V::B2b | V::B2bBarrier | V::B2bBook => {
            for _ in 0..5 {
                ar(s, r, n);
            }
            if v == V::B2bBarrier {
                bar();
            }
            let mut times = Vec::with_capacity(if v == V::B2bBook { 0 } else { iters });
            for _ in 0..iters {
                let t0 = wt();
                ar(s, r, n);
                let t1 = wt();
                times.push(t1 - t0);
                if v == V::B2bBook {
                    xccl_bench::watchdog::tick();
                }
            }
            times.iter().sum::<f64>() / iters as f64
        }
        V::OsuFresh => {
            let f = Pair::new(bytes.max(8));
            osu(f.s, f.r, n, iters)
        }
        V::OsuUnaligned => unsafe { osu(s.add(8), r.add(8), n, iters) },
        V::BackendPerCall | V::BackendLoop | V::OsuHostBuf => {
            // The backend's own loop (no sweep, fill or check around it) on a pair of its
            // buffers, or OSU's loop on those buffers: splits harness from backend cost.
            use xccl_bench::backend::{Backend, Bufs, Call, Timed, Timing};
            let mut sb = backend.alloc(bytes.max(8)).unwrap();
            let mut rb = backend.alloc(bytes.max(8)).unwrap();
            backend.write(&mut sb, 0, &vec![1u8; bytes.max(8)]).unwrap();
            backend.write(&mut rb, 0, &vec![1u8; bytes.max(8)]).unwrap();
            if v == V::OsuHostBuf {
                return osu(sb.as_mut_ptr(), rb.as_mut_ptr(), n, iters);
            }
            let call = Call {
                coll: CollKind::AllReduce,
                counts: xccl_bench::coll::Counts {
                    count: n,
                    send: n,
                    recv: n,
                },
                dtype: xccl_bench::types::DataType::Float,
                op: xccl_bench::types::ReduceOp::Sum,
                root: 0,
                in_place: false,
            };
            let timing = if v == V::BackendLoop {
                Timing::Loop
            } else {
                Timing::PerCall
            };
            let mut run = |k: usize| {
                let bufs = Bufs::Separate {
                    send: &mut sb,
                    recv: &mut rb,
                };
                let run = Timed {
                    call: &call,
                    iters: k,
                    timing,
                };
                backend.run_timed(run, bufs).unwrap()
            };
            run(5);
            let t = run(iters);
            t.iter().sum::<f64>() / t.len() as f64
        }
        V::OsuAfterInPlace => {
            let ip = unsafe { xccl_in_place() };
            for _ in 0..iters.min(50) {
                unsafe {
                    ffi::MPI_Allreduce(
                        ip,
                        r as *mut c_void,
                        n as i32,
                        ffi::RSMPI_FLOAT,
                        ffi::RSMPI_SUM,
                        ffi::RSMPI_COMM_WORLD,
                    )
                };
            }
            osu(s, r, n, iters)
        }
    }
}

extern "C" {
    fn xccl_mpi_in_place() -> *mut c_void;
}
unsafe fn xccl_in_place() -> *mut c_void {
    xccl_mpi_in_place()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if std::env::var("OMPI_COMM_WORLD_SIZE").is_err() {
        let np = std::env::var("NP").unwrap_or("2".into());
        let st = std::process::Command::new("mpirun")
            .args(["--oversubscribe", "--allow-run-as-root", "-np", &np])
            .arg(std::env::current_exe().unwrap())
            .status()
            .expect("mpirun");
        std::process::exit(st.code().unwrap_or(1));
    }
    if let Ok(level) = std::env::var("THREADS") {
        threads(&level);
        return;
    }
    let world = MpiWorld::new().expect("MPI");
    let mut backend = MpiBackend::new(&world).expect("backend");
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let sizes: Vec<usize> = std::env::var("SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![8, 512, 32 << 10, 256 << 10]);
    let pair = Pair::new(*sizes.last().unwrap() + 64);
    let _ = pair.len;
    if world.rank() == 0 {
        println!(
            "# {} ranks, {rounds} rounds; median over rounds of (variant / osu ref) and osu ref us",
            world.size()
        );
    }
    // BACKEND=1: only the variants that split the harness's cost from the backend's.
    let active: Vec<V> = if std::env::var_os("BACKEND").is_some() {
        vec![
            V::OsuRef,
            V::LoopRef,
            V::Harness,
            V::BackendPerCall,
            V::BackendLoop,
            V::OsuHostBuf,
        ]
    } else {
        ALL.to_vec()
    };
    for &bytes in &sizes {
        let iters = std::env::var("ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if bytes >= 1 << 20 { 40 } else { 200 });
        let mut t: Vec<Vec<f64>> = vec![vec![]; active.len()];
        for round in 0..rounds {
            for k in 0..active.len() {
                let i = (k + round) % active.len();
                t[i].push(run_variant(
                    active[i],
                    &pair,
                    bytes,
                    iters,
                    &world,
                    &mut backend,
                ));
            }
        }
        for x in t.iter_mut() {
            for v in x.iter_mut() {
                *v = avg_ranks(*v) * 1e6;
            }
        }
        if world.rank() == 0 {
            let osu = &t[active.iter().position(|&v| v == V::OsuRef).unwrap()];
            let mut line = format!("{bytes:>8} B osu {:9.3} us |", median(osu.clone()));
            for (i, v) in active.iter().enumerate() {
                let r: Vec<f64> = t[i].iter().zip(osu).map(|(a, b)| a / b).collect();
                line += &format!(" {} {:.3};", name(*v), median(r));
            }
            println!("{line}");
        }
    }
}

/// The reference loops alone, under MPI initialized at the given thread level.
fn threads(level: &str) {
    let want = if level == "multiple" { 3 } else { 0 };
    let mut got = 0;
    unsafe {
        ffi::MPI_Init_thread(std::ptr::null_mut(), std::ptr::null_mut(), want, &mut got);
    }
    let mut rank = 0;
    unsafe { ffi::MPI_Comm_rank(ffi::RSMPI_COMM_WORLD, &mut rank) };
    let sizes = [8usize, 512, 32 << 10, 256 << 10, 2 << 20];
    let pair = Pair::new(*sizes.last().unwrap());
    let mut line = format!("{level:>8} (provided {got}):");
    for &b in &sizes {
        let iters = if b >= 1 << 20 {
            50
        } else if b > 8192 {
            200
        } else {
            2000
        };
        let o = avg_ranks(osu_w(pair.s, pair.r, b / 4, iters, 100)) * 1e6;
        line += &format!(" {b}B {o:.3}");
    }
    if rank == 0 {
        println!("{line}");
    }
    unsafe { ffi::MPI_Finalize() };
}
