//! `xccl-bench topo`: what a topology file or this job's detected topology says, whether
//! a file matches the job (`check`) or the fabric as measured (`validate`), what its model
//! expects (`model`), the emulated cluster's link plan (`emu-plan`) and the cables the
//! fabric reports (`wiring`), and Slurm's topology.conf (`import`, `export --slurm`,
//! `validate --slurm-out`). `show` without a file, `check` and `validate` need the job
//! (its hosts and ranks); the others read FILE alone.

pub mod slurm;
pub mod validate;
pub mod wiring;

use crate::backend::BackendKind;
use crate::cmd::parse::{parse_miswire, parse_slow_nic, parse_slow_node, parse_subnet24};
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::rules::ExitCode;
use crate::types::parse_size;
use crate::world::{job_layout, World};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use xccl_topo::{model, FabricKind, JobFacts, Placement, Topology};

#[derive(Subcommand, Debug)]
pub enum TopoCmd {
    /// Print the topology loaded from FILE, or detected from this job (hosts and ranks per
    /// host from MPI, NIC rates from sysfs) when no FILE is given, and then this host's NICs
    /// (rate, state, link layer) and each GPU/NPU's closest NICs by PCIe affinity, read from
    /// sysfs (XCCL_SYSFS_ROOT, default /sys).
    Show {
        file: Option<PathBuf>,
        /// Also write it as JSON to FILE (`topology`, and `host_nics` when detected).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Validate FILE against the running job: rank count, hosts, ranks per host against
    /// devices per node. Exit 0 when it matches, 1 otherwise.
    Check {
        file: PathBuf,
        /// Devices per node the job sees (GPUs/NPUs), checked against the file.
        #[arg(long)]
        devices_per_node: Option<usize>,
        /// The backend the job will use: its intra-node fabric (shm, NVLink, HCCS) is
        /// checked against the file's.
        #[arg(long, value_enum, default_value_t = BackendKind::Mpi)]
        backend: BackendKind,
    },
    /// Check by measurement (under mpirun, one rank per node carries the traffic) that the
    /// nodes sit under the leaf switches FILE declares: flows that slow each other down
    /// share an uplink. Then loads each declared uplink. Names each misplaced node and each
    /// uplink slower than declared (exit 4); exit 0 when all match.
    ///
    /// With --wired, no measurement and no job: every NIC FILE attaches to a leaf is
    /// compared with where WIRING (ibnetdiscover output or `lldpctl -f json`) says it is
    /// cabled; each difference is a finding (`miswired_nic`, …; exit 4).
    Validate {
        file: PathBuf,
        /// Write the tests, groups and findings to FILE (JSON).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// The wired truth to compare FILE with, instead of measuring (findings are
        /// printed; --json belongs to the measurement).
        #[arg(long, value_name = "WIRING", conflicts_with = "json")]
        wired: Option<PathBuf>,
        /// Write the findings (and the uplink load tests) as Prometheus metrics
        /// (node_exporter's textfile format) to FILE, replaced atomically.
        #[arg(long, value_name = "FILE")]
        metrics: Option<PathBuf>,
        /// Format of WIRING.
        #[arg(long = "wired-format", value_enum, default_value_t = wiring::WiringFormat::Auto)]
        wired_format: wiring::WiringFormat,
        /// The host of WIRING when it is one host's LLDP data.
        #[arg(long = "wired-host")]
        wired_host: Option<String>,
        /// Write a Slurm topology.conf (topology/tree) for the grouping measured: each
        /// misplaced node moved to the leaf of its measured group.
        #[arg(long = "slurm-out", value_name = "FILE", conflicts_with = "wired")]
        slurm_out: Option<PathBuf>,
    },
    /// Our topology file for Slurm's topology.conf CONF (topology/tree: SwitchName,
    /// Switches, Nodes with hostlists, LinkSpeed). topology.conf has no rates: the node type
    /// comes from --node and every uplink is written non-blocking. Exit 2 with one line
    /// naming the line of CONF that does not parse.
    Import {
        conf: PathBuf,
        /// A topology file whose [node] (devices, fabric, NICs) every node gets, e.g.
        /// topologies/dgx-h100.toml.
        #[arg(long, value_name = "PRESET")]
        node: PathBuf,
        /// The topology's name (default: CONF's file name without extension).
        #[arg(long)]
        name: Option<String>,
        /// Where to write it (`-`: standard output).
        #[arg(short, long, value_name = "OUT", default_value = "-")]
        output: PathBuf,
    },
    /// FILE's switch tree as a Slurm topology.conf (topology/tree), to OUT (`-`: standard
    /// output). Needs FILE's host names.
    Export {
        file: PathBuf,
        #[arg(long, value_name = "OUT", required = true)]
        slurm: PathBuf,
    },
    /// What the model of FILE expects for COLL at BYTES: busbw ceiling, bottleneck link,
    /// α–β time. Ranks are placed one per device on every node, or by NODE_OF_RANK
    /// (node index of each rank, e.g. `0 0 1 1`).
    Model {
        file: PathBuf,
        collective: CollKind,
        #[arg(value_parser = parse_size)]
        bytes: u64,
        node_of_rank: Vec<usize>,
    },
    /// Link rates and addresses for scripts/emu-cluster.sh, from FILE's `[emulation]`
    /// table; `--slow-node HOST:FRACTION` (or XCCL_EMU_SLOW) slows one node's NIC.
    EmuPlan {
        file: PathBuf,
        #[arg(long = "slow-node", value_name = "HOST:FRACTION", value_parser = parse_slow_node)]
        slow_node: Vec<(String, f64)>,
        /// Shape SWITCH's uplink to FRACTION of its declared rate (or XCCL_EMU_SLOW_UPLINK).
        #[arg(long = "slow-uplink", value_name = "SWITCH:FRACTION", value_parser = parse_slow_node)]
        slow_uplink: Vec<(String, f64)>,
        /// Shape one NIC (name or index) to FRACTION of its rate; files that attach NICs one
        /// by one (rails, `[[nic]]`).
        #[arg(long = "slow-nic", value_name = "HOST:NIC:FRACTION", value_parser = parse_slow_nic)]
        slow_nic: Vec<(String, String, f64)>,
        /// Cable one NIC to SWITCH instead of the leaf the file declares (the file keeps
        /// declaring its leaf).
        #[arg(long, value_name = "HOST:NIC:SWITCH", value_parser = parse_miswire)]
        miswire: Vec<(String, String, String)>,
    },
    /// The cables in FILE, as host, NIC, switch and port: `ibnetdiscover` output or
    /// `lldpctl -f json` (one host's; its name is --host, else FILE's name without
    /// extension). Exit 2 with one line naming FILE and line when FILE does not parse.
    Wiring {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = wiring::WiringFormat::Auto)]
        format: wiring::WiringFormat,
        /// The host of LLDP data.
        #[arg(long)]
        host: Option<String>,
    },
}

impl TopoCmd {
    /// Whether the question needs the job's hosts and ranks (else FILE alone answers).
    pub fn needs_job(&self) -> bool {
        matches!(
            self,
            TopoCmd::Check { .. }
                | TopoCmd::Show { file: None, .. }
                | TopoCmd::Validate { wired: None, .. }
        )
    }
}

/// Answers `cmd`; in `world` when it needs the job.
pub fn run(world: &dyn World, cmd: &TopoCmd) -> Result<i32> {
    match cmd {
        TopoCmd::Show {
            file: Some(f),
            json,
        } => {
            let topo = load(f)?;
            print!("{topo}");
            write_json(json.as_deref(), &serde_json::json!({ "topology": topo }))?;
            Ok(ExitCode::Ok.code())
        }
        TopoCmd::Show { file: None, json } => show_detected(world, json.as_deref()),
        TopoCmd::Check {
            file,
            devices_per_node,
            backend,
        } => check(world, file, *devices_per_node, *backend),
        TopoCmd::Validate {
            file,
            wired: Some(w),
            wired_format,
            wired_host,
            metrics,
            ..
        } => wiring::against(
            file,
            w,
            *wired_format,
            wired_host.as_deref(),
            metrics.as_deref(),
        ),
        TopoCmd::Validate {
            file,
            json,
            metrics,
            slurm_out,
            ..
        } => validate::run(
            world,
            file,
            json.as_deref(),
            metrics.as_deref(),
            slurm_out.as_deref(),
        ),
        TopoCmd::Import {
            conf,
            node,
            name,
            output,
        } => slurm::import(conf, node, name.as_deref(), output),
        TopoCmd::Export { file, slurm } => slurm::export(file, slurm),
        TopoCmd::Model {
            file,
            collective,
            bytes,
            node_of_rank,
        } => print_expected(file, *collective, *bytes, node_of_rank),
        TopoCmd::EmuPlan {
            file,
            slow_node,
            slow_uplink,
            slow_nic,
            miswire,
        } => emu_plan(
            file,
            xccl_topo::emu::Faults {
                slow_node: slow_node.clone(),
                slow_uplink: slow_uplink.clone(),
                slow_nic: slow_nic.clone(),
                miswire: miswire.clone(),
                subnet: None,
            },
        ),
        TopoCmd::Wiring { file, format, host } => wiring::run(file, *format, host.as_deref()),
    }
}

fn load(f: &Path) -> Result<Topology> {
    Ok(Topology::load(f)?)
}

/// The job's host of every rank, on every rank.
fn job_hostnames(world: &dyn World) -> Vec<String> {
    job_layout(world).0.into_iter().map(|(h, _)| h).collect()
}

/// `topo show` without FILE: the topology detected from the job (its hosts and ranks per
/// host) and sysfs (NIC rates), then rank 0's host's NICs and device↔NIC affinity. Rank 0
/// prints; a JSON file that cannot be written is its error, said before every rank exits 2.
fn show_detected(world: &dyn World, json: Option<&Path>) -> Result<i32> {
    let hostnames = job_hostnames(world);
    let mut code = ExitCode::Ok.code();
    if world.rank() == 0 {
        let facts = JobFacts {
            hostnames,
            devices_per_node: None,
            fabric: Some(FabricKind::for_backend("mpi")),
        };
        let root = xccl_topo::detect::sysfs_root();
        let topo = Topology::detect(&facts, &root);
        let nics = xccl_topo::host_nics::host_nics(&root);
        print!("{topo}{nics}");
        let doc = serde_json::json!({ "topology": topo, "host_nics": nics });
        if let Err(e) = write_json(json, &doc) {
            crate::error::say(&format!("xccl-bench: error: {e}"));
            code = ExitCode::Usage.code();
        }
    }
    let mut c = code.to_le_bytes();
    world.broadcast_bytes(0, &mut c);
    Ok(i32::from_le_bytes(c))
}

/// Writes `doc` to `path` (pretty JSON) when a path is given.
fn write_json(path: Option<&Path>, doc: &serde_json::Value) -> Result<()> {
    let Some(p) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(doc).expect("JSON values serialize");
    std::fs::write(p, text + "\n")
        .map_err(|e| BenchError::Usage(format!("cannot write {}: {e}", p.display())))
}

/// `topo check FILE`: FILE against the running job (rank count, hosts, ranks per host,
/// devices per node, the backend's intra-node fabric). Rank 0 prints and decides.
fn check(
    world: &dyn World,
    file: &Path,
    devices_per_node: Option<usize>,
    backend: BackendKind,
) -> Result<i32> {
    let hostnames = job_hostnames(world);
    if world.rank() != 0 {
        return Ok(ExitCode::Ok.code());
    }
    let topo = load(file)?;
    let name = format!("{backend:?}").to_lowercase();
    let facts = JobFacts {
        hostnames,
        devices_per_node,
        fabric: Some(FabricKind::for_backend(&name)),
    };
    let report = topo.validate(&facts);
    print!("{report}");
    Ok(if report.is_ok() {
        ExitCode::Ok
    } else {
        ExitCode::Failed
    }
    .code())
}

/// `topo model`: what FILE's model expects for `collective` at `bytes`.
fn print_expected(
    file: &Path,
    collective: CollKind,
    bytes: u64,
    node_of_rank: &[usize],
) -> Result<i32> {
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
            )));
        }
        Placement::new(node_of_rank.to_vec())
    };
    print_model(&model::expected(&topo, &placement, collective, bytes));
    Ok(ExitCode::Ok.code())
}

/// `topo emu-plan`: link rates and addresses for scripts/emu-cluster.sh; XCCL_EMU_SLOW,
/// XCCL_EMU_SLOW_UPLINK add faults and XCCL_EMU_SUBNET replaces the file's subnet.
fn emu_plan(file: &Path, mut faults: xccl_topo::emu::Faults) -> Result<i32> {
    let topo = load(file)?;
    let from_env = |var: &str, all: &mut Vec<(String, f64)>| -> Result<()> {
        if let Ok(v) = std::env::var(var) {
            for s in v.split([',', ' ']).filter(|s| !s.is_empty()) {
                all.push(parse_slow_node(s).map_err(BenchError::Usage)?);
            }
        }
        Ok(())
    };
    from_env("XCCL_EMU_SLOW", &mut faults.slow_node)?;
    from_env("XCCL_EMU_SLOW_UPLINK", &mut faults.slow_uplink)?;
    if let Some(v) = std::env::var("XCCL_EMU_SUBNET")
        .ok()
        .filter(|v| !v.is_empty())
    {
        faults.subnet = Some(
            parse_subnet24(&v).map_err(|e| BenchError::Usage(format!("XCCL_EMU_SUBNET={e}")))?,
        );
    }
    let plan = xccl_topo::emu::plan_faults(&topo, &faults)
        .map_err(|e| BenchError::Usage(e.to_string()))?;
    print!("{plan}");
    Ok(ExitCode::Ok.code())
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
