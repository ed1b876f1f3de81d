//! The binary's edge: parse, set up the world and backend, run, and turn any error into
//! one line and an exit status, on every rank, without leaving a rank behind.

#[cfg(feature = "mpi")]
use anyhow::Context;
use clap::Parser;
use std::io::IsTerminal;
use xccl_bench::backend::{hccl::HcclBackend, nccl::NcclBackend};
use xccl_bench::cli::{BackendKind, BenchArgs, Cli, Cmd};
use xccl_bench::coll::CollKind;
use xccl_bench::error::BenchError;
use xccl_bench::world::{self, World};
use xccl_bench::{app, types::DataType, types::ReduceOp};

fn main() {
    // MPI's thread level is chosen before MPI starts: MPI_THREAD_MULTIPLE only when the
    // -T watchdog runs, since it slows every call. Errors are reported after init.
    let watchdog = Cli::try_parse()
        .ok()
        .and_then(|c| c.cmd.bench().map(|(_, a)| a.timeout > 0.0))
        .unwrap_or(false);
    let world = match world::init(watchdog) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("xccl-bench: error: {e}");
            std::process::exit(e.exit_code());
        }
    };
    let code = run(&*world);
    drop(world); // MPI_Finalize before exiting
    std::process::exit(code);
}

fn run(world: &dyn World) -> i32 {
    let rank0 = world.rank() == 0;
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Every rank parses the same arguments; only rank 0 speaks.
            if rank0 {
                let _ = e.print();
            }
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match &cli.cmd {
        Cmd::List => {
            if rank0 {
                print_list();
            }
            0
        }
        Cmd::Topo(t) => match app::topo(world, t) {
            Ok(code) => code,
            Err(e) => {
                if rank0 {
                    eprintln!("xccl-bench: error: {e}");
                }
                e.exit_code()
            }
        },
        cmd => {
            let (coll, args) = cmd.bench().expect("bench subcommand");
            match bench(world, coll, args) {
                Ok(code) => code,
                Err(e) => {
                    let code = e.downcast_ref::<BenchError>().map_or(1, |b| b.exit_code());
                    if rank0 {
                        eprintln!("xccl-bench: error: {e:#}");
                    }
                    code
                }
            }
        }
    }
}

fn bench(world: &dyn World, coll: CollKind, args: &BenchArgs) -> anyhow::Result<i32> {
    let progress = std::io::stderr().is_terminal();
    match args.backend {
        #[cfg(feature = "mpi")]
        BackendKind::Mpi => {
            let mpi_world = world
                .as_any()
                .downcast_ref::<world::MpiWorld>()
                .context("the MPI backend needs an MPI world")?;
            let mut b = app::agree(world, xccl_bench::backend::mpi::MpiBackend::new(mpi_world))?;
            app::run_bench(world, &mut b, coll, args, progress, world.rank(), world.size())
        }
        #[cfg(not(feature = "mpi"))]
        BackendKind::Mpi => Err(BenchError::Unsupported(
            "--backend mpi: this binary was built without MPI (--no-default-features); use --backend nccl or hccl".into(),
        )
        .into()),
        BackendKind::Nccl => {
            let mut b = NcclBackend::new(world, &args.device_opts())?;
            let (rank, nranks) = (b.rank(), b.nranks());
            app::run_bench(world, &mut b, coll, args, progress, rank, nranks)
        }
        BackendKind::Hccl => {
            let mut b = HcclBackend::new(world, &args.device_opts())?;
            app::run_bench(world, &mut b, coll, args, progress, world.rank(), world.size())
        }
    }
}

fn print_list() {
    println!("collectives:");
    for c in CollKind::ALL {
        let i = c.imp();
        println!(
            "  {:<15} busbw factor {:<9} {}{}",
            c.name(),
            match c {
                CollKind::AllReduce => "2(n-1)/n",
                CollKind::Broadcast | CollKind::Reduce | CollKind::Sendrecv => "1",
                _ => "(n-1)/n",
            },
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
    for (name, status) in app::backend_status() {
        println!("  {name:<5} {status}");
    }
}
