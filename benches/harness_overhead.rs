//! Harness overhead and adaptive-mode sweep time, measured in one MPI job of 2 ranks.
//!
//! `cargo bench --bench harness_overhead` (re-launches itself under `mpirun -np 2`).
//!
//! 1. The time the harness reports for MPI all_reduce (float, sum) at 8 B and 1 MiB
//!    against a bare loop of the same MPI_Allreduce calls timed with MPI_Wtime,
//!    interleaved round by round so both see the same machine noise; medians of the
//!    rounds. Targets: within 0.5 µs at 8 B, within 2% at 1 MiB.
//! 2. Wall time of a sweep 8 B–128 MiB with fixed `-n 20` against adaptive mode
//!    (`--precision 1%`, `--time-budget 1`), with the precision each achieved.

use mpi::ffi;
use std::time::Instant;
use xccl_bench::backend::mpi::MpiBackend;
use xccl_bench::coll::CollKind;
use xccl_bench::error::Result;
use xccl_bench::harness::{Adaptive, Average, Harness, Sweep};
use xccl_bench::output::Sink;
use xccl_bench::result::{Row, RunMeta, Summary};
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

fn sweep(sizes: Vec<u64>, iters: usize, adaptive: Option<Adaptive>) -> Sweep {
    Sweep {
        coll: CollKind::AllReduce,
        sizes,
        dtypes: vec![xccl_bench::types::DataType::Float],
        ops: vec![xccl_bench::types::ReduceOp::Sum],
        roots: vec![0],
        iters,
        warmup: 5,
        check: 0,
        average: Average::Avg,
        adaptive,
        cycles: 1,
        corrupt_one: false,
    }
}

/// Mean seconds per call of a bare MPI_Allreduce loop, averaged over ranks.
/// Buffers come from the backend's allocator, so both sides use the same memory.
fn bare(world: &MpiWorld, backend: &mut MpiBackend, bytes: usize, iters: usize) -> f64 {
    use xccl_bench::backend::Backend;
    let n = bytes / 4;
    let mut send = backend.alloc(bytes).unwrap();
    let mut recv = backend.alloc(bytes).unwrap();
    // Touch every page as the harness's fill does: untouched zeroed pages all map to the
    // kernel's one zero page, which reads faster than real memory.
    backend.write(&mut send, 0, &vec![1u8; bytes]).unwrap();
    backend.write(&mut recv, 0, &vec![1u8; bytes]).unwrap();
    let call = |recv: &xccl_bench::backend::mpi::HostBuf| unsafe {
        ffi::MPI_Allreduce(
            send.as_mut_ptr() as *const _,
            recv.as_mut_ptr() as *mut _,
            n as i32,
            ffi::RSMPI_FLOAT,
            ffi::RSMPI_SUM,
            ffi::RSMPI_COMM_WORLD,
        );
    };
    for _ in 0..5 {
        call(&recv);
    }
    let mut total = 0.0;
    for _ in 0..iters {
        let t0 = unsafe { ffi::RSMPI_Wtime() };
        call(&recv);
        total += unsafe { ffi::RSMPI_Wtime() } - t0;
    }
    let mine = total / iters as f64;
    // Average across ranks, as the harness's default -a 1 does.
    let all = world.gather_bytes(&mine.to_le_bytes());
    let mut avg = [0u8; 8];
    if let Some(v) = all {
        let s: f64 = v
            .iter()
            .map(|b| f64::from_le_bytes(b[..8].try_into().unwrap()))
            .sum();
        avg = (s / v.len() as f64).to_le_bytes();
    }
    world.broadcast_bytes(0, &mut avg);
    f64::from_le_bytes(avg)
}

fn quartiles(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |f: f64| s[((s.len() - 1) as f64 * f).round() as usize];
    (q(0.25), q(0.75))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if std::env::var("OMPI_COMM_WORLD_SIZE").is_err() && std::env::var("PMI_SIZE").is_err() {
        // cargo bench starts us alone: re-launch as a 2-rank MPI job.
        let me = std::env::current_exe().unwrap();
        // Every buffer of 128 KiB or more a fresh mmap: with glibc's default dynamic
        // threshold some buffers are fresh pages and some recycled heap, and on this VM
        // the same bare loop then runs up to 2.5x apart depending on which it got (the
        // bare-vs-bare control shows it), which swamps any harness overhead.
        let st = std::process::Command::new("mpirun")
            .env("MALLOC_MMAP_THRESHOLD_", "131072")
            .args([
                "--oversubscribe",
                "--allow-run-as-root",
                "-np",
                "2",
                "-x",
                "MALLOC_MMAP_THRESHOLD_",
            ])
            .arg(me)
            .args(std::env::args().skip(1))
            .status()
            .expect("mpirun");
        std::process::exit(st.code().unwrap_or(1));
    }
    let world = MpiWorld::new().expect("MPI");
    let mut backend = MpiBackend::new(&world).expect("backend");
    let rank = world.rank();
    let nranks = world.size();
    let rounds = 41;
    let iters = 200;
    let say = |s: String| {
        if rank == 0 {
            println!("{s}");
        }
    };
    say(format!("# harness overhead: all_reduce float sum, {nranks} ranks, {rounds} interleaved rounds of {iters} iterations, medians"));
    for bytes in [8usize, 1 << 20] {
        let (mut h_times, mut b_times, mut c_times) = (vec![], vec![], vec![]);
        for round in 0..rounds {
            // Alternate which side goes first, so neither always runs on a cache or
            // allocator state the other left behind.
            let harness_first = round % 2 == 0;
            if !harness_first {
                b_times.push(bare(&world, &mut backend, bytes, iters) * 1e6);
            }
            let mut sink = Collect::default();
            let mut h = Harness {
                world: &world,
                backend: &mut backend,
                rank,
                nranks,
            };
            h.run(&sweep(vec![bytes as u64], iters, None), &mut sink)
                .unwrap();
            let mut t = sink.0.first().map_or(0.0, |r| r.time_us.avg).to_le_bytes();
            world.broadcast_bytes(0, &mut t);
            h_times.push(f64::from_le_bytes(t));
            if harness_first {
                b_times.push(bare(&world, &mut backend, bytes, iters) * 1e6);
            }
            // Control: the bare loop once more, against itself: the noise floor.
            c_times.push(bare(&world, &mut backend, bytes, iters) * 1e6);
        }
        // Medians of each side, and the median of the per-round (paired) ratios, which
        // cancels drift in the machine's speed between rounds.
        let ratios: Vec<f64> = h_times.iter().zip(&b_times).map(|(h, b)| h / b).collect();
        let diffs: Vec<f64> = h_times.iter().zip(&b_times).map(|(h, b)| h - b).collect();
        let control: Vec<f64> = c_times.iter().zip(&b_times).map(|(c, b)| c / b).collect();
        let (h, b) = (median(h_times), median(b_times));
        let (rq1, rq3) = quartiles(&ratios);
        let (cq1, cq3) = quartiles(&control);
        say(format!(
            "size {bytes:>8} B: harness {h:9.3} us  bare loop {b:9.3} us  median paired difference {:+.3} us  median paired ratio {:.4} (quartiles {rq1:.3}..{rq3:.3}); control bare/bare {:.4} (quartiles {cq1:.3}..{cq3:.3})",
            median(diffs),
            median(ratios),
            median(control)
        ));
    }
    // Sweep wall time: fixed -n 20 against adaptive, 8 B – 128 MiB.
    let sizes: Vec<u64> = (3..=27).map(|p| 1u64 << p).collect();
    let adaptive = |p: f64| Adaptive {
        precision: Some(p),
        time_budget_s: Some(1.0),
        min_iters: 5,
        max_iters: 1000,
    };
    for (name, sw) in [
        ("fixed -n 20", sweep(sizes.clone(), 20, None)),
        (
            "adaptive --precision 5% --time-budget 1",
            sweep(sizes.clone(), 20, Some(adaptive(0.05))),
        ),
        (
            "adaptive --precision 1% --time-budget 1",
            sweep(sizes.clone(), 20, Some(adaptive(0.01))),
        ),
    ] {
        world.barrier();
        let t0 = Instant::now();
        let mut sink = Collect::default();
        let mut h = Harness {
            world: &world,
            backend: &mut backend,
            rank,
            nranks,
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
            let large: Vec<f64> = oop
                .iter()
                .filter(|r| r.size_bytes >= 1 << 20)
                .map(|r| r.precision * 100.0)
                .collect();
            let iters_large: usize = oop
                .iter()
                .filter(|r| r.size_bytes >= 1 << 20)
                .map(|r| r.iters)
                .sum();
            println!(
                "sweep {name:<42} wall {wall:7.2} s  precision median {:5.2}% worst {:6.2}%  (>=1 MiB: worst {:5.2}%, {} iterations)",
                median(precs.clone()),
                precs.iter().cloned().fold(0.0, f64::max),
                large.iter().cloned().fold(0.0, f64::max),
                iters_large
            );
        }
    }
}
