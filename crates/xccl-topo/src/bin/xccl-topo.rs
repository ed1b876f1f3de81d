//! Small command-line front of the xccl-topo crate, for scripts and for people checking a
//! file without a job:
//!
//! ```text
//! xccl-topo show FILE                       # print the topology
//! xccl-topo emu-plan FILE [--slow-node HOST:FRACTION]...   # plan for scripts/emu-cluster.sh
//! xccl-topo model FILE COLL BYTES [NODES_PER_RANK...]      # expected busbw / time
//! xccl-topo judge FILE REPORT.json [--min-efficiency X] [--write OUT.json]
//! ```
//!
//! `judge` re-reads an `xccl-bench --json` report (rows with `collective`, `size_bytes`,
//! `root`, `busbw_gbs`, `time_us.avg`; ranks' hosts in `meta.ranks[].host`), prints each
//! row's verdict and exits 1 when a large row falls below `--min-efficiency`: the
//! offline form of what the harness does during a run. `--write` saves the report with a
//! `verdict` object added to every row.
//!
//! `model` places ranks by node index (`0 0 1 1`); without indices, one rank per device on
//! every node. `XCCL_EMU_SLOW=HOST:FRACTION` is read by `emu-plan` as well.

use std::process::ExitCode;
use xccl_topo::{health, model, verdict, Coll, JudgeOptions, Placement, Topology};

fn usage() -> ExitCode {
    eprintln!(
        "usage: xccl-topo show FILE\n       xccl-topo emu-plan FILE [--slow-node HOST:FRACTION]...\n       xccl-topo model FILE COLL BYTES [NODE_OF_RANK...]\n       xccl-topo judge FILE REPORT.json [--min-efficiency X] [--write OUT.json]"
    );
    ExitCode::from(2)
}

fn parse_slow(s: &str) -> Result<(String, f64), String> {
    let (h, f) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("`{s}`: expected HOST:FRACTION"))?;
    let f: f64 = f.parse().map_err(|_| format!("`{s}`: bad fraction"))?;
    Ok((h.to_string(), f))
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let (Some(cmd), Some(file)) = (args.first(), args.get(1)) else {
        return Ok(usage());
    };
    let topo = Topology::load(file).map_err(|e| e.to_string())?;
    match cmd.as_str() {
        "show" => print!("{topo}"),
        "emu-plan" => {
            let mut slow = Vec::new();
            if let Ok(v) = std::env::var("XCCL_EMU_SLOW") {
                for s in v.split([',', ' ']).filter(|s| !s.is_empty()) {
                    slow.push(parse_slow(s)?);
                }
            }
            let mut it = args[2..].iter();
            while let Some(a) = it.next() {
                let v = match a.as_str() {
                    "--slow-node" => it.next().ok_or("--slow-node needs HOST:FRACTION")?.clone(),
                    x if x.starts_with("--slow-node=") => x["--slow-node=".len()..].to_string(),
                    x => return Err(format!("unknown argument `{x}`")),
                };
                slow.push(parse_slow(&v)?);
            }
            print!(
                "{}",
                xccl_topo::emu::plan(&topo, &slow).map_err(|e| e.to_string())?
            );
        }
        "model" => {
            let coll: Coll = args.get(2).ok_or("missing COLL")?.parse()?;
            let bytes: u64 = args
                .get(3)
                .ok_or("missing BYTES")?
                .parse()
                .map_err(|_| "BYTES must be an integer")?;
            let pl = if args.len() > 4 {
                let nodes: Vec<usize> = args[4..]
                    .iter()
                    .map(|x| x.parse().map_err(|_| format!("bad node index `{x}`")))
                    .collect::<Result<_, _>>()?;
                if let Some(n) = nodes
                    .iter()
                    .find(|n| **n >= topo.node_count() && !topo.open_ended)
                {
                    return Err(format!("node index {n} out of range"));
                }
                Placement::new(nodes)
            } else {
                Placement::block(topo.node_count(), topo.devices_per_node)
            };
            let e = model::expected(&topo, &pl, coll, bytes);
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
        "judge" => return judge(&topo, &args[2..]),
        _ => return Ok(usage()),
    }
    Ok(ExitCode::SUCCESS)
}

fn judge(topo: &Topology, args: &[String]) -> Result<ExitCode, String> {
    let path = args.first().ok_or("missing REPORT.json")?;
    let (mut min_eff, mut write) = (None, None);
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--min-efficiency" => {
                let v = it.next().ok_or("--min-efficiency needs a value")?;
                min_eff = Some(v.parse::<f64>().map_err(|_| "bad --min-efficiency")?);
            }
            "--write" => write = Some(it.next().ok_or("--write needs a path")?.clone()),
            x => return Err(format!("unknown argument `{x}`")),
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut report: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let hosts: Vec<String> = report["meta"]["ranks"]
        .as_array()
        .ok_or("report has no meta.ranks")?
        .iter()
        .map(|r| r["host"].as_str().unwrap_or("").to_string())
        .collect();
    let placement = topo.place(&hosts).map_err(|e| e.to_string())?;
    let opts = JudgeOptions::with_threshold(min_eff.unwrap_or(verdict::DEFAULT_THRESHOLD));
    let mut judged = Vec::new();
    println!(
        "{:>12} {:>13} {:>10} {:>10} {:>width$}  note",
        "size(B)",
        "placement",
        "busbw",
        "expected",
        verdict::CELL_HEADER,
        width = verdict::CELL_WIDTH
    );
    let rows = report["rows"].as_array_mut().ok_or("report has no rows")?;
    for row in rows.iter_mut() {
        let coll: Coll = row["collective"].as_str().unwrap_or("").parse()?;
        let bytes = row["size_bytes"].as_u64().ok_or("row without size_bytes")?;
        let root = row["root"].as_i64().unwrap_or(0).max(0) as usize;
        let busbw = row["busbw_gbs"].as_f64().unwrap_or(0.0);
        let time = row["time_us"]["avg"].as_f64().unwrap_or(0.0);
        let place = row["placement"].as_str().unwrap_or("").to_string();
        let e = model::expected_rooted(topo, &placement, coll, bytes, root);
        let v = verdict::judge(&e, busbw, time, &opts);
        println!(
            "{bytes:>12} {place:>13} {busbw:>10.4} {:>10.4} {:>width$}  {}",
            v.expected_busbw_gbs,
            v.cell(),
            v.note,
            width = verdict::CELL_WIDTH
        );
        row["verdict"] = serde_json::to_value(&v).map_err(|e| e.to_string())?;
        judged.push((format!("{coll} {bytes} B {place}"), v));
    }
    if let Some(w) = write {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(&w, text).map_err(|e| format!("{w}: {e}"))?;
    }
    if let Some(m) = min_eff {
        let short = health::shortfalls(judged.iter().map(|(l, v)| (l, v)), m);
        if !short.is_empty() {
            eprint!("{}", health::summary(&short, m));
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xccl-topo: {e}");
            ExitCode::FAILURE
        }
    }
}
