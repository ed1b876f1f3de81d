//! Commands that work on files alone and need no MPI job: `list`, `judge`, and the
//! topology questions `topo show FILE`, `topo model`, `topo emu-plan`. They read results
//! through xccl-schema's versioned reader and ask xccl-topo, exactly as the runtime does.

use crate::app::HEALTH_CHECK_FAILED;
use crate::cli::{Cmd, JudgeArgs, TopoCmd};
use crate::coll::CollKind;
use crate::error::BenchError;
use crate::types::{DataType, ReduceOp};
use anyhow::Result;
use xccl_topo::{health, model, verdict, JudgeOptions, Placement, Topology};

pub fn run(cmd: &Cmd) -> Result<i32> {
    match cmd {
        Cmd::List => {
            print_list();
            Ok(0)
        }
        Cmd::Judge(a) => judge(a),
        Cmd::Report(a) => crate::reports::report(a),
        Cmd::Compare(a) => crate::reports::compare(a),
        Cmd::Topo(t) => topo(t),
        Cmd::Links(_) => unreachable!("runs under the job's launcher (links::run)"),
        Cmd::Predict(a) => crate::predict_cmd::run(a),
        Cmd::TrainSim(_) => unreachable!("runs under mpirun (train_sim)"),
    }
}

fn load(f: &std::path::Path) -> Result<Topology> {
    Topology::load(f).map_err(|e| BenchError::Usage(e.to_string()).into())
}

fn topo(cmd: &TopoCmd) -> Result<i32> {
    match cmd {
        TopoCmd::Show { file: Some(f) } => print!("{}", load(f)?),
        TopoCmd::Model {
            file,
            collective,
            bytes,
            node_of_rank,
        } => {
            let topo = load(file)?;
            let placement = if node_of_rank.is_empty() {
                Placement::block(topo.node_count(), topo.devices_per_node)
            } else {
                if let Some(n) = node_of_rank
                    .iter()
                    .find(|n| **n >= topo.node_count() && !topo.open_ended)
                {
                    return Err(BenchError::Usage(format!(
                        "node index {n} is out of range: {} has {} nodes",
                        file.display(),
                        topo.node_count()
                    ))
                    .into());
                }
                Placement::new(node_of_rank.clone())
            };
            print_model(&model::expected(&topo, &placement, *collective, *bytes));
        }
        TopoCmd::EmuPlan {
            file,
            slow_node,
            slow_uplink,
        } => {
            let topo = load(file)?;
            let mut slow = slow_node.clone();
            if let Ok(v) = std::env::var("XCCL_EMU_SLOW") {
                for s in v.split([',', ' ']).filter(|s| !s.is_empty()) {
                    slow.push(crate::cli::parse_slow_node(s).map_err(BenchError::Usage)?);
                }
            }
            let mut slow_up = slow_uplink.clone();
            if let Ok(v) = std::env::var("XCCL_EMU_SLOW_UPLINK") {
                for s in v.split([',', ' ']).filter(|s| !s.is_empty()) {
                    slow_up.push(crate::cli::parse_slow_node(s).map_err(BenchError::Usage)?);
                }
            }
            let plan = xccl_topo::emu::plan_with_uplinks(&topo, &slow, &slow_up)
                .map_err(|e| BenchError::Usage(e.to_string()))?;
            print!("{plan}");
        }
        TopoCmd::Show { file: None } | TopoCmd::Check { .. } | TopoCmd::Validate { .. } => {
            unreachable!("runs under the job's launcher (app::topo)")
        }
    }
    Ok(0)
}

fn print_model(e: &model::Expectation) {
    match e.busbw_gbs {
        Some(b) => println!("expected busbw {b:.4} GB/s"),
        None => println!(
            "expected busbw n/a ({})",
            e.unknown.clone().unwrap_or_default()
        ),
    }
    println!(
        "algorithm {}  bottleneck {} ({})\nbusiest rank: SDMA {:.0} B, RDMA {:.0} B\nSDMA {:.1} us, RDMA {:.1} us; α {:.1} us + β {:.1} us = {:.1} us (best {:.1} us)",
        e.algorithm,
        e.bottleneck,
        e.bottleneck_link,
        e.sdma_bytes,
        e.rdma_bytes,
        e.sdma_time_us,
        e.rdma_time_us,
        e.alpha_time_us,
        e.beta_time_us,
        e.time_us,
        e.best_time_us
    );
}

/// `xccl-bench judge`: the verdicts a saved result would have had with `--topology`.
fn judge(a: &JudgeArgs) -> Result<i32> {
    let mut report =
        xccl_schema::read_report(&a.report).map_err(|e| BenchError::Usage(e.to_string()))?;
    let topo = load(&a.topology)?;
    let hosts: Vec<&str> = report.meta.ranks.iter().map(|r| r.host.as_str()).collect();
    let placement = topo
        .place(&hosts)
        .map_err(|e| BenchError::Usage(format!("{}: {e}", a.report.display())))?;
    let threshold = a
        .threshold
        .or(a.min_efficiency)
        .unwrap_or(xccl_schema::rules::BANDWIDTH_EFFICIENCY);
    let opts = JudgeOptions::with_threshold(threshold);
    println!(
        "{:>12} {:>13} {:>10} {:>10} {:>width$}  note",
        "size(B)",
        "placement",
        "busbw",
        "expected",
        verdict::CELL_HEADER,
        width = verdict::CELL_WIDTH
    );
    let mut judged = Vec::with_capacity(report.rows.len());
    for row in &mut report.rows {
        let v = verdict::judge_row(&topo, &placement, row, &opts);
        println!(
            "{:>12} {:>13} {:>10.4} {:>10.4} {:>width$}  {}",
            row.size_bytes,
            row.placement,
            row.busbw_gbs,
            v.expected_busbw_gbs,
            v.cell(),
            v.note,
            width = verdict::CELL_WIDTH
        );
        judged.push((row.label(), v.clone()));
        row.verdict = Some(v);
    }
    if !report.summary.complete {
        eprintln!(
            "xccl-bench: note: {} is from a run that did not finish: {} row(s) judged",
            a.report.display(),
            report.rows.len()
        );
    }
    if let Some(w) = &a.write {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(w, text).map_err(|e| BenchError::Usage(format!("{}: {e}", w.display())))?;
    }
    if let Some(m) = a.min_efficiency {
        let short = health::shortfalls(judged.iter().map(|(l, v)| (l, v)), m);
        if !short.is_empty() {
            eprint!("{}", health::summary(&short, m));
            return Ok(HEALTH_CHECK_FAILED);
        }
    }
    Ok(0)
}

fn print_list() {
    println!("collectives:");
    for c in CollKind::ALL {
        let i = c.imp();
        println!(
            "  {:<15} busbw factor {:<9} {}{}",
            c.name(),
            i.bus_factor_formula(),
            if i.has_op() { "op " } else { "" },
            if i.has_root() { "root" } else { "" }
        );
    }
    let types: Vec<String> = DataType::ALL
        .iter()
        .map(|t| format!("{} ({})", t.name(), t.aliases().join("/")))
        .collect();
    println!("types: {}", types.join(", "));
    let ops: Vec<&str> = ReduceOp::ALL.iter().map(|o| o.name()).collect();
    println!("ops: {} (mpi: avg as sum then scale)", ops.join(", "));
    println!("backends:");
    for (name, status) in crate::backend::status() {
        println!("  {name:<5} {status}");
    }
}
