//! The sweep command (`all_reduce`, `all_gather`, … one subcommand per collective): builds
//! the plan from its arguments, agrees on errors across ranks, assembles run metadata,
//! wires the exporters and verdict sinks, runs the harness, and with `--split` runs the
//! collective's parts ([`split`]).

mod args;
pub mod split;

pub use args::BenchArgs;

use crate::backend::hccl::HcclBackend;
use crate::backend::nccl::NcclBackend;
use crate::backend::{Backend, BackendKind, Timing};
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::harness::{Average, Harness, Sweep};
use crate::output::hccl_test::HcclTestSink;
use crate::output::metrics::{self, sink::MetricsSink};
use crate::output::rank_diag::RankDiag;
use crate::output::verdict::{topology_for, Judge};
use crate::output::Capture;
use crate::output::{
    csv::CsvSink, json::JsonSink, markdown::MarkdownSink, progress, table::TableSink, OutputFormat,
    Sink, Tee,
};
use crate::result::{RankInfo, RunMeta, Settings, Summary, TimingMethod, SCHEMA_VERSION};
use crate::rules::{ExitCode, BANDWIDTH_EFFICIENCY};
use crate::world::{agree, allgather_bytes, World};
use std::time::Duration;
use xccl_topo::{FabricKind, JobFacts};

/// Runs one collective's sweep on the backend `args` names.
pub fn run(world: &dyn World, coll: CollKind, args: &BenchArgs) -> Result<i32> {
    match args.backend {
        #[cfg(feature = "mpi")]
        BackendKind::Mpi => {
            let mpi_world = crate::world::MpiWorld::of(world, "the MPI backend")?;
            let mut b = agree(world, crate::backend::mpi::MpiBackend::new(mpi_world))?;
            b.set_delay(args.delay);
            run_bench(world, &mut b, coll, args, world.rank(), world.size())
        }
        #[cfg(not(feature = "mpi"))]
        BackendKind::Mpi => Err(BenchError::Unsupported(
            "--backend mpi: this binary was built without MPI (--no-default-features); use --backend nccl or hccl".into(),
        )),
        BackendKind::Nccl => {
            let mut b = NcclBackend::new(world, &args.device_opts())?;
            let (rank, nranks) = (b.rank(), b.nranks());
            run_bench(world, &mut b, coll, args, rank, nranks)
        }
        BackendKind::Hccl => {
            let mut b = HcclBackend::new(world, &args.device_opts())?;
            run_bench(world, &mut b, coll, args, world.rank(), world.size())
        }
    }
}

fn settings(a: &BenchArgs) -> Settings {
    Settings {
        min_bytes: a.min_bytes,
        max_bytes: a.max_bytes,
        step_factor: if a.step_bytes.is_some() {
            None
        } else {
            Some(a.step_factor.unwrap_or(2.0))
        },
        step_bytes: a.step_bytes,
        iters: a.iters,
        warmup_iters: a.warmup,
        check_iters: a.check,
        // -a was validated when the sweep was built.
        average: Average::from_flag(a.average).unwrap_or(Average::Avg),
        blocking: a.blocking != 0,
        precision: a.precision,
        time_budget_s: a.time_budget,
        timeout_s: a.timeout,
        timing: Some(match (a.backend, a.timing) {
            (BackendKind::Mpi, Timing::PerCall) => TimingMethod::PerCall,
            (BackendKind::Mpi, Timing::Loop) => TimingMethod::Loop,
            _ => TimingMethod::DeviceEvents,
        }),
    }
}

fn meta<B: Backend>(world: &dyn World, backend: &B, coll: CollKind, args: &BenchArgs) -> RunMeta {
    let info = backend.info();
    let me = RankInfo {
        rank: world.rank(),
        host: world.hostname().to_string(),
        pid: std::process::id(),
        local_rank: world.local_rank(),
        device: info.device.clone(),
    };
    let ranks: Vec<RankInfo> = allgather_bytes(world, &serde_json::to_vec(&me).expect("json"))
        .iter()
        .map(|b| serde_json::from_slice(b).expect("rank info"))
        .collect();
    let mut hosts: Vec<String> = vec![];
    let mut per_host: Vec<usize> = vec![];
    for r in &ranks {
        match hosts.iter().position(|h| h == &r.host) {
            Some(i) => per_host[i] += 1,
            None => {
                hosts.push(r.host.clone());
                per_host.push(1);
            }
        }
    }
    RunMeta {
        schema_version: SCHEMA_VERSION,
        tool: "xccl-bench".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        started_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        collective: coll,
        backend: info,
        mpi_library: world.mpi_library(),
        nranks: world.size(),
        hosts,
        ranks_per_host: per_host,
        ranks,
        args: std::env::args().collect(),
        settings: settings(args),
    }
}

/// Rank 0's exporters: the table on stdout, plus JSON/CSV/Markdown files when asked, and
/// progress on stderr (see [`crate::output::progress`]).
fn sinks(args: &BenchArgs, sweep: &Sweep, rank0: bool) -> Tee {
    let adaptive = args.precision.is_some() || args.time_budget.is_some();
    let mut v: Vec<Box<dyn Sink>> = match args.format {
        OutputFormat::Nccl => vec![Box::new(TableSink::new(
            Box::new(std::io::stdout()),
            adaptive,
            args.topology.is_some(),
        ))],
        OutputFormat::HcclTest => vec![Box::new(HcclTestSink::new(Box::new(std::io::stdout())))],
    };
    if let Some(p) = &args.json {
        v.push(Box::new(JsonSink::new(p.clone())));
    }
    if let Some(p) = &args.csv {
        v.push(Box::new(CsvSink::new(p.clone())));
    }
    if let Some(p) = &args.markdown {
        v.push(Box::new(MarkdownSink::new(p.clone())));
    }
    // Last: a metrics file that cannot be written leaves the others written.
    if let Some(p) = &args.metrics {
        v.push(Box::new(MetricsSink::new(p.clone())));
    }
    if let Some(t) = rank0.then(|| progress::choose(args.progress)).flatten() {
        let layout = progress::Layout {
            coll: sweep.coll,
            sizes: &sweep.sizes,
            dtypes: &sweep.dtypes,
            ops: &sweep.ops,
            roots: &sweep.roots,
            cycles: sweep.cycles,
        };
        v.push(Box::new(progress::Progress::new(t, &layout)));
    }
    Tee(v)
}

/// What the topology check needs to know about the running job.
pub fn job_facts(meta: &RunMeta) -> JobFacts {
    JobFacts {
        hostnames: meta.ranks.iter().map(|r| r.host.clone()).collect(),
        devices_per_node: None,
        fabric: Some(FabricKind::for_backend(&meta.backend.name)),
    }
}

/// Runs one collective's sweep; returns the exit status (1 when any element was wrong).
fn run_bench<B: Backend>(
    world: &dyn World,
    backend: &mut B,
    coll: CollKind,
    args: &BenchArgs,
    rank: usize,
    nranks: usize,
) -> Result<i32> {
    let sweep = args.sweep(coll, nranks)?;
    let mut h = Harness {
        world,
        backend,
        rank,
        nranks,
    };
    agree(world, h.validate(&sweep))?;
    let meta = meta(world, &*h.backend, coll, args);
    // Rank 0 writes the files: its view of the metrics directory counts, before any row.
    agree(
        world,
        match (&args.metrics, rank) {
            (Some(p), 0) => metrics::check_target(p),
            _ => Ok(()),
        },
    )?;
    if args.split {
        // Every rank has the same meta: every rank refuses, before the sweep runs.
        split::check(&meta)?;
    }
    let model = match (&args.topology, rank) {
        (Some(spec), 0) => agree(world, topology_for(spec, &job_facts(&meta)).map(Some))?,
        (Some(_), _) => agree(world, Ok(None))?,
        (None, _) => None,
    };
    if rank == 0 && args.topology.as_deref() == Some("detect") {
        // What detection saw of this host's NICs, as comment lines above the table.
        let nics = xccl_topo::host_nics::host_nics(&xccl_topo::detect::sysfs_root());
        for l in nics.to_string().lines() {
            println!("# {l}");
        }
    }
    let threshold = args
        .threshold
        .or(args.min_efficiency)
        .unwrap_or(BANDWIDTH_EFFICIENCY);
    // --split judges the sweep's rows and its parts' rows against the same model.
    let mut split_judge = args
        .split
        .then(|| Judge::new(model.clone(), threshold, Capture::default()));
    let mut sink = RankDiag::new(Judge::new(model, threshold, sinks(args, &sweep, rank == 0)));
    if args.split {
        sink.seen = Some(vec![]);
    }
    agree(world, if rank == 0 { sink.begin(&meta) } else { Ok(()) })?;
    crate::watchdog::start(Duration::from_secs_f64(args.timeout), rank, world.aborter());
    match h.run(&sweep, &mut sink) {
        Ok(summary) => {
            // Diagnosis of the whole run (slow ranks, voted over its rows), then the end.
            let mut findings = if rank == 0 {
                sink.run_findings()
            } else {
                vec![]
            };
            if let Some(sj) = &mut split_judge {
                let whole: Vec<_> = sink
                    .seen
                    .take()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|mut r| {
                        r.verdict = sj.judge(&r);
                        r
                    })
                    .collect();
                let (lines, f) = agree(
                    world,
                    split::run(
                        world,
                        &mut *h.backend,
                        &sweep,
                        args.topology.as_deref().unwrap_or_default(),
                        sj,
                        &whole,
                        &meta,
                        threshold,
                    ),
                )?;
                for l in &lines {
                    sink.note(l);
                }
                findings.extend(f);
            }
            // An exporter that fails (a metrics directory gone during the run) is rank 0's
            // alone: it says so and the status carries it, so every rank still ends here.
            let ended = if rank == 0 {
                sink.findings(&findings).and_then(|()| sink.end(&summary))
            } else {
                Ok(())
            };
            // Rank 0 alone holds the rows and verdicts: it decides the exit status for
            // every rank (wrong elements first, then the health check and findings).
            let mut code = [0u8];
            if rank == 0 {
                let short = args
                    .min_efficiency
                    .and_then(|min| sink.inner.shortfalls(min));
                if let Some(text) = &short {
                    crate::error::say_block(text);
                }
                code[0] = if let Err(e) = &ended {
                    crate::error::say(&format!("xccl-bench: error: {e}"));
                    e.exit_code() as u8
                } else if !summary.check_ok {
                    ExitCode::Failed as u8
                } else if short.is_some() || !findings.is_empty() {
                    ExitCode::Findings as u8
                } else {
                    ExitCode::Ok as u8
                };
            }
            world.broadcast_bytes(0, &mut code);
            Ok(i32::from(code[0]))
        }
        Err(e) => {
            // Only this rank may have failed: say so here, keep what was measured, and
            // end every rank rather than leave peers waiting in a collective.
            // Library errors already name the rank and host; others get them here.
            match e {
                BenchError::Backend(_) => crate::error::say(&format!("xccl-bench: error: {e}")),
                _ => crate::error::say(&format!(
                    "xccl-bench: error: rank {rank} ({}): {e}",
                    world.hostname()
                )),
            }
            if rank == 0 {
                let s = Summary {
                    error: Some(e.to_string()),
                    ..Default::default()
                };
                let _ = sink.end(&s);
            }
            if nranks > 1 {
                world.aborter().abort(e.exit_code());
            }
            std::process::exit(e.exit_code());
        }
    }
}
