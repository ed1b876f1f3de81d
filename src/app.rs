//! Glue between the command line and the harness: builds the sweep, agrees on errors
//! across ranks, assembles run metadata, wires the exporters, runs.

use crate::backend::Backend;
use crate::cli::{BenchArgs, OutputFormat};
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::harness::{Average, Harness};
use crate::judge::{topology_for, Judge};
use crate::output::hccl_test::HcclTestSink;
use crate::output::{
    csv::CsvSink, json::JsonSink, markdown::MarkdownSink, progress, table::TableSink, Sink, Tee,
};
use crate::result::{RankInfo, RunMeta, Settings, Summary, TimingMethod, SCHEMA_VERSION};
use crate::world::{agree, allgather_bytes, World};
use std::time::Duration;
use xccl_topo::{FabricKind, JobFacts};

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
            (crate::cli::BackendKind::Mpi, crate::backend::Timing::PerCall) => {
                TimingMethod::PerCall
            }
            (crate::cli::BackendKind::Mpi, crate::backend::Timing::Loop) => TimingMethod::Loop,
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
fn sinks(args: &BenchArgs, sweep: &crate::harness::Sweep, rank0: bool) -> Tee {
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
    if let Some(t) = rank0.then(|| progress::choose(args.progress)).flatten() {
        v.push(Box::new(progress::Progress::new(t, sweep)));
    }
    Tee(v)
}

/// Exit status when a large-message row falls below --min-efficiency.
pub const HEALTH_CHECK_FAILED: i32 = 4;

/// What the topology check needs to know about the running job.
pub fn job_facts(meta: &RunMeta) -> JobFacts {
    JobFacts {
        hostnames: meta.ranks.iter().map(|r| r.host.clone()).collect(),
        devices_per_node: None,
        fabric: Some(FabricKind::for_backend(&meta.backend.name)),
    }
}

/// Runs one collective's sweep; returns the exit status (1 when any element was wrong).
pub fn run_bench<B: Backend>(
    world: &dyn World,
    backend: &mut B,
    coll: CollKind,
    args: &BenchArgs,
    rank: usize,
    nranks: usize,
) -> anyhow::Result<i32> {
    let sweep = args.sweep(coll, nranks)?;
    let mut h = Harness {
        world,
        backend,
        rank,
        nranks,
    };
    agree(world, h.validate(&sweep))?;
    let meta = meta(world, &*h.backend, coll, args);
    if args.split {
        // Every rank has the same meta: every rank refuses, before the sweep runs.
        crate::split::check(&meta)?;
    }
    let model = match (&args.topology, rank) {
        (Some(spec), 0) => agree(world, topology_for(spec, &job_facts(&meta)).map(Some))?,
        (Some(_), _) => agree(world, Ok(None))?,
        (None, _) => None,
    };
    let threshold = args.threshold.or(args.min_efficiency).unwrap_or(0.8);
    // --split judges the sweep's rows and its parts' rows against the same model.
    let mut split_judge = args
        .split
        .then(|| Judge::new(model.clone(), threshold, crate::split::Capture::default()));
    let mut sink =
        crate::diag::RankDiag::new(Judge::new(model, threshold, sinks(args, &sweep, rank == 0)));
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
                    crate::split::run(
                        world,
                        &mut *h.backend,
                        coll,
                        args,
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
            if rank == 0 {
                sink.findings(&findings)?;
                sink.end(&summary)?;
            }
            // Rank 0 alone holds the rows and verdicts: it decides the exit status for
            // every rank (wrong elements first, then the health check and findings).
            let mut code = [0u8];
            if rank == 0 {
                let short = args
                    .min_efficiency
                    .and_then(|min| sink.inner.shortfalls(min));
                if let Some(text) = &short {
                    eprint!("{text}");
                }
                code[0] = if !summary.check_ok {
                    1
                } else if short.is_some() || !findings.is_empty() {
                    HEALTH_CHECK_FAILED as u8
                } else {
                    0
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

/// `xccl-bench topo show` (detected) and `topo check FILE`, run under the job's launcher
/// so the hosts and ranks per host are the job's own. Rank 0 prints. The other `topo`
/// commands read files only ([`crate::offline`]).
pub fn topo(world: &dyn World, cmd: &crate::cli::TopoCmd) -> Result<i32> {
    use crate::cli::TopoCmd;
    use xccl_topo::Topology;
    let hostnames: Vec<String> = allgather_bytes(world, world.hostname().as_bytes())
        .into_iter()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    let load =
        |f: &std::path::Path| Topology::load(f).map_err(|e| BenchError::Usage(e.to_string()));
    if world.rank() != 0 {
        return Ok(0);
    }
    match cmd {
        TopoCmd::Show { file: None } => {
            let facts = JobFacts {
                hostnames,
                devices_per_node: None,
                fabric: Some(FabricKind::for_backend("mpi")),
            };
            print!("{}", Topology::detect(&facts, std::path::Path::new("/sys")));
            Ok(0)
        }
        TopoCmd::Check {
            file,
            devices_per_node,
            backend,
        } => {
            let topo = load(file)?;
            let name = format!("{backend:?}").to_lowercase();
            let facts = JobFacts {
                hostnames,
                devices_per_node: *devices_per_node,
                fabric: Some(FabricKind::for_backend(&name)),
            };
            let report = topo.validate(&facts);
            print!("{report}");
            Ok(if report.is_ok() { 0 } else { 1 })
        }
        _ => unreachable!("offline topo commands run in crate::offline"),
    }
}
