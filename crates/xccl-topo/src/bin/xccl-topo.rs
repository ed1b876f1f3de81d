//! Small command-line front of the xccl-topo crate, for scripts and for people checking a
//! file without a job:
//!
//! ```text
//! xccl-topo show FILE                       # print the topology
//! xccl-topo emu-plan FILE [--slow-node HOST:FRACTION]...   # plan for scripts/emu-cluster.sh
//! xccl-topo model FILE COLL BYTES [NODES_PER_RANK...]      # expected busbw / time
//! ```
//!
//! `model` places ranks by node index (`0 0 1 1`); without indices, one rank per device on
//! every node. `XCCL_EMU_SLOW=HOST:FRACTION` is read by `emu-plan` as well.

use std::process::ExitCode;
use xccl_topo::{model, Coll, Placement, Topology};

fn usage() -> ExitCode {
    eprintln!(
        "usage: xccl-topo show FILE\n       xccl-topo emu-plan FILE [--slow-node HOST:FRACTION]...\n       xccl-topo model FILE COLL BYTES [NODE_OF_RANK...]"
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
        _ => return Ok(usage()),
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
