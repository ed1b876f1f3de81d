//! The checks of `health`, run one after the other in this job, and their reduction.

use super::args::HealthArgs;
use super::estimate::{links_seconds, sweep_seconds};
use super::outcome::{self, Check, HealthReport, Status};
use crate::cmd::bench::{self, BenchArgs};
use crate::cmd::diagnosis::everyone;
use crate::cmd::links::{self, LinksArgs};
use crate::coll::CollKind;
use crate::error::{say, BenchError, Result};
use crate::output::verdict::topology_for;
use crate::rules::{ExitCode, BANDWIDTH_EFFICIENCY};
use crate::world::{agree, job_layout, share_from_0, World};
use clap::{Args, FromArgMatches};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xccl_schema::health::{HEALTH_KIND, HEALTH_SCHEMA_VERSION};
use xccl_schema::Finding;
use xccl_topo::{FabricKind, JobFacts};

/// One check about to run: its name, its command line, floor and expected seconds.
struct Planned {
    name: &'static str,
    argv: Vec<String>,
    floor: f64,
    expected_s: f64,
}

/// Parses `argv` (command name first) as the arguments `A` of one subcommand.
fn parse<A: Args + FromArgMatches>(argv: &[String]) -> Result<A> {
    let c = A::augment_args(clap::Command::new("xccl-bench"));
    c.try_get_matches_from(argv)
        .and_then(|m| A::from_arg_matches(&m))
        .map_err(|e| BenchError::Usage(format!("health: {}", e.to_string().trim())))
}

pub fn run(world: &dyn World, a: &HealthArgs) -> Result<i32> {
    let start = Instant::now();
    let rank0 = world.rank() == 0;
    let (all, hosts) = job_layout(world);
    let per_host: Vec<usize> = hosts
        .iter()
        .map(|h| all.iter().filter(|(x, _)| x == h).count())
        .collect();
    // --split judges the intra-node part on its own; it needs several nodes of the same,
    // several, ranks.
    let split = hosts.len() > 1 && per_host.iter().all(|&n| n == per_host[0] && n > 1);
    let dir = agree(
        world,
        if rank0 {
            out_dir(a)
        } else {
            Ok(PathBuf::new())
        },
    )?;
    let dir = PathBuf::from(
        String::from_utf8(share_from_0(
            world,
            dir.to_string_lossy().into_owned().into_bytes(),
        ))
        .expect("utf-8 path"),
    );
    let sweep_floor = a.sweep_floor.unwrap_or(BANDWIDTH_EFFICIENCY);
    let links_floor = a.links_floor.unwrap_or(BANDWIDTH_EFFICIENCY);
    let topo = a.topology.to_string_lossy().into_owned();
    let backend = a.backend.name().to_string();
    let mut sweep_argv: Vec<String> = [
        "all_reduce",
        "-b",
        &a.min_bytes.to_string(),
        "-e",
        &a.max_bytes.to_string(),
        "-f",
        "2",
        "-n",
        &a.iters.to_string(),
        "--backend",
        &backend,
        "--topology",
        &topo,
        "--min-efficiency",
        &sweep_floor.to_string(),
        "--json",
        &dir.join("sweep.json").to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if split {
        sweep_argv.push("--split".into());
    }
    let links_argv: Vec<String> = [
        "links",
        "--backend",
        &backend,
        "--topology",
        &topo,
        "--size",
        &a.links_size.to_string(),
        "-n",
        &a.links_iters.to_string(),
        "--threshold",
        &links_floor.to_string(),
        "--json",
        &dir.join("links.json").to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let bench_args: BenchArgs = agree(world, parse(&sweep_argv))?;
    let links_args: LinksArgs = agree(world, parse(&links_argv))?;

    // What will run and how long it takes at nominal rates (every rank computes it: the
    // same files, the same answer, and the same error when the topology does not fit).
    let plan = agree(
        world,
        (|| -> Result<Vec<Planned>> {
            let facts = JobFacts {
                hostnames: all.iter().map(|(h, _)| h.clone()).collect(),
                devices_per_node: None,
                fabric: Some(FabricKind::for_backend(&backend)),
            };
            for (flag, path) in [("--json", &a.json), ("--markdown", &a.markdown)] {
                check_writable(flag, path.as_deref())?;
            }
            if let Some(p) = &a.metrics {
                crate::output::metrics::check_target(p)?;
            }
            let (t, placement) = topology_for(&topo, &facts)?;
            let sweep = bench_args.sweep(CollKind::AllReduce, world.size())?;
            // Each size is an out-of-place and an in-place row; each warms up, times
            // and checks.
            let calls = 2 * (bench_args.warmup + bench_args.iters + bench_args.check);
            let sweep_s = sweep_seconds(
                &t,
                &placement,
                &sweep.sizes,
                calls,
                if split { 3 } else { 1 },
            );
            let fabric = crate::probe::fabric_for(&t, &hosts)?;
            let inter = xccl_diag::schedule::circle(hosts.len());
            let max_local = per_host.iter().copied().max().unwrap_or(1);
            let intra = xccl_diag::schedule::circle_rounds(max_local);
            let bytes = (a.links_size * (a.links_iters as u64 + 1)) as f64;
            let links_s = links_seconds(&fabric, &inter, intra, t.fabric.bw_gbs, bytes);
            Ok(vec![
                Planned {
                    name: "all_reduce sweep",
                    argv: sweep_argv.clone(),
                    floor: sweep_floor,
                    expected_s: sweep_s,
                },
                Planned {
                    name: "links",
                    argv: links_argv.clone(),
                    floor: links_floor,
                    expected_s: links_s,
                },
            ])
        })(),
    )?;
    let expected_s: f64 = plan.iter().map(|p| p.expected_s).sum();
    if rank0 {
        println!(
            "# health: {} checks, {} ranks on {} host(s), topology {topo}; expected {expected_s:.1} s at its nominal rates (slower links take longer; confirming a suspect adds a few measurements alone)",
            plan.len(),
            world.size(),
            hosts.len()
        );
    }
    let mut checks: Vec<Check> = vec![];
    let mut findings: Vec<Finding> = vec![];
    for (i, p) in plan.iter().enumerate() {
        if rank0 {
            println!(
                "# health [{}/{}] {}: xccl-bench {} (expected {:.1} s)",
                i + 1,
                plan.len(),
                p.name,
                p.argv.join(" "),
                p.expected_s
            );
        }
        let t = Instant::now();
        let code = if i == 0 {
            bench::run(world, CollKind::AllReduce, &bench_args)?
        } else {
            links::run(world, &links_args)?
        };
        let wall_s = t.elapsed().as_secs_f64();
        if rank0 {
            let json = Path::new(
                if i == 0 {
                    &bench_args.json
                } else {
                    &links_args.json
                }
                .as_deref()
                .expect("health always asks for JSON"),
            )
            .to_path_buf();
            let (status, detail, found) = if i == 0 {
                sweep_outcome(code, &json, p.floor)
            } else {
                links_outcome(code, &json)
            };
            println!(
                "# health [{}/{}] {}: {:?} in {wall_s:.1} s",
                i + 1,
                plan.len(),
                p.name,
                status
            );
            outcome::merge_findings(&mut findings, found);
            checks.push(Check {
                name: p.name.into(),
                command: format!("xccl-bench {}", p.argv.join(" ")),
                floor: p.floor,
                status,
                exit_code: code,
                expected_s: p.expected_s,
                wall_s,
                detail,
            });
        }
    }
    let mut code = ExitCode::Ok.code();
    if rank0 {
        let exit = outcome::exit_code(&checks);
        let mut r = HealthReport {
            tool: "xccl-bench".into(),
            kind: HEALTH_KIND.into(),
            schema_version: HEALTH_SCHEMA_VERSION,
            topology: topo.clone(),
            hosts: hosts.clone(),
            nranks: world.size(),
            healthy: exit == ExitCode::Ok,
            exit_code: exit.code(),
            expected_s,
            wall_s: start.elapsed().as_secs_f64(),
            checks,
            findings,
        };
        code = write_outputs(a, &r, &dir);
        r.exit_code = r.exit_code.max(code);
        print!("{}", outcome::summary(&r));
        code = r.exit_code;
        if a.out.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(everyone(world, code))
}

/// Where the checks write their JSON: `--out`, created, or a new temporary folder.
fn out_dir(a: &HealthArgs) -> Result<PathBuf> {
    match &a.out {
        Some(d) => std::fs::create_dir_all(d)
            .map(|_| d.clone())
            .map_err(|e| BenchError::Usage(format!("health: --out {}: {e}", d.display()))),
        None => {
            let d = std::env::temp_dir().join(format!("xccl-health-{}", std::process::id()));
            std::fs::create_dir_all(&d)
                .map(|_| d.clone())
                .map_err(|source| BenchError::Io {
                    what: format!("health: {}", d.display()),
                    source,
                })
        }
    }
}

/// Refuses, before anything is measured, an output file whose folder does not exist.
fn check_writable(flag: &str, path: Option<&Path>) -> Result<()> {
    let Some(p) = path else { return Ok(()) };
    let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
    match parent {
        Some(d) if !d.is_dir() => Err(BenchError::Usage(format!(
            "health: {flag} {}: folder {} does not exist",
            p.display(),
            d.display()
        ))),
        _ => Ok(()),
    }
}

/// The sweep's status, its reasons and findings, from its exit status and JSON.
fn sweep_outcome(code: i32, json: &Path, floor: f64) -> (Status, Vec<String>, Vec<Finding>) {
    let report = match xccl_schema::read::read_report(json) {
        Ok(r) => r,
        Err(e) => return (Status::Error, vec![format!("cannot read {e}")], vec![]),
    };
    let mut detail: Vec<String> = xccl_topo::health::shortfalls(
        report
            .rows
            .iter()
            .filter_map(|r| r.verdict.as_ref().map(|v| (r.label(), v))),
        floor,
    )
    .iter()
    .map(|s| {
        format!(
            "{}: busbw {:.2} GB/s, {:.2} of the {:.2} GB/s expected ({} bound)",
            s.label, s.measured_busbw_gbs, s.efficiency, s.expected_busbw_gbs, s.bottleneck
        )
    })
    .collect();
    if report.summary.wrong_total > 0 {
        detail.push(format!(
            "{} wrong element(s): the data is corrupted",
            report.summary.wrong_total
        ));
    }
    let status = match code {
        0 => Status::Pass,
        4 => Status::Fail,
        1 if report.summary.wrong_total > 0 => Status::Fail,
        _ => Status::Error,
    };
    (status, detail, report.findings)
}

/// The links check's status and findings, from its exit status and JSON.
fn links_outcome(code: i32, json: &Path) -> (Status, Vec<String>, Vec<Finding>) {
    let found = std::fs::read_to_string(json)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
        .and_then(|v| {
            serde_json::from_value::<Vec<Finding>>(v["findings"].clone()).map_err(|e| e.to_string())
        });
    match (code, found) {
        (0, Ok(f)) => (Status::Pass, vec![], f),
        (4, Ok(f)) => (Status::Fail, vec![], f),
        (c, Ok(f)) => (Status::Error, vec![format!("links exited {c}")], f),
        (_, Err(e)) => (
            Status::Error,
            vec![format!("cannot read {}: {e}", json.display())],
            vec![],
        ),
    }
}

/// Writes `--json`, `--markdown` and `--metrics` (the sweep's rows read back from its
/// JSON in `dir`); the exit status 1 when one cannot be written.
fn write_outputs(a: &HealthArgs, r: &HealthReport, dir: &Path) -> i32 {
    let mut code = ExitCode::Ok.code();
    let outputs = [
        (
            a.json.as_ref(),
            serde_json::to_string_pretty(r).expect("typed"),
        ),
        (a.markdown.as_ref(), outcome::markdown(r)),
    ];
    for (path, text) in outputs {
        if let Some(p) = path {
            if let Err(e) = std::fs::write(p, text) {
                say(&format!(
                    "xccl-bench: error: cannot write {}: {e}",
                    p.display()
                ));
                code = ExitCode::Failed.code();
            }
        }
    }
    if let Some(p) = &a.metrics {
        let sweep = xccl_schema::read::read_report(dir.join("sweep.json")).ok();
        if let Err(e) = crate::output::metrics::write(p, &outcome::metrics(r, sweep.as_ref())) {
            say(&format!("xccl-bench: error: {e}"));
            code = ExitCode::Failed.code();
        }
    }
    code
}
