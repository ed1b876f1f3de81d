//! The binary's edge: parse, set up the world and backend, run, and turn any error into
//! one line and an exit status, on every rank, without leaving a rank behind. Offline
//! commands (reading files only) run without MPI.

#[cfg(feature = "mpi")]
use anyhow::Context;
use xccl_bench::backend::{hccl::HcclBackend, nccl::NcclBackend};
use xccl_bench::cli::{self, BackendKind, BenchArgs, Cmd, Invocation};
use xccl_bench::coll::CollKind;
use xccl_bench::error::BenchError;
use xccl_bench::world::{self, World};
use xccl_bench::{app, offline};

fn main() {
    let parsed = cli::parse_from(std::env::args_os());
    if let Ok(Invocation::Other(cmd)) = &parsed {
        if cmd.is_offline() {
            // Launched N times by mpirun, an offline command answers once.
            if world::launcher_rank().unwrap_or(0) != 0 {
                std::process::exit(0);
            }
            std::process::exit(report_error(offline::run(cmd), true));
        }
    }
    // MPI's thread level is chosen before MPI starts: MPI_THREAD_MULTIPLE only when the
    // -T watchdog runs, since it slows every call. Parse errors are reported after init.
    let watchdog = matches!(&parsed, Ok(Invocation::Bench(_, a)) if a.timeout > 0.0);
    let world = match world::init(watchdog) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("xccl-bench: error: {e}");
            std::process::exit(e.exit_code());
        }
    };
    let code = run(&*world, parsed);
    drop(world); // MPI_Finalize before exiting
    std::process::exit(code);
}

/// The exit status of `r`, printing its error as one line when `speak`.
fn report_error(r: anyhow::Result<i32>, speak: bool) -> i32 {
    match r {
        Ok(code) => code,
        Err(e) => {
            let code = e.downcast_ref::<BenchError>().map_or(1, |b| b.exit_code());
            if speak {
                eprintln!("xccl-bench: error: {e:#}");
            }
            code
        }
    }
}

fn run(world: &dyn World, parsed: Result<Invocation, clap::Error>) -> i32 {
    let rank0 = world.rank() == 0;
    let inv = match parsed {
        Ok(i) => i,
        Err(e) => {
            // Every rank parses the same arguments; only rank 0 speaks.
            if rank0 {
                let _ = e.print();
            }
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match inv {
        Invocation::Other(Cmd::Topo(cli::TopoCmd::Validate { file, json })) => report_error(
            xccl_bench::validate::run(world, &file, json.as_deref()).map_err(Into::into),
            rank0,
        ),
        Invocation::Other(Cmd::Topo(t)) => {
            report_error(app::topo(world, &t).map_err(Into::into), rank0)
        }
        Invocation::Other(Cmd::Links(a)) => {
            report_error(xccl_bench::links::run(world, &a).map_err(Into::into), rank0)
        }
        Invocation::Other(Cmd::TrainSim(a)) => report_error(train_sim(world, &a), rank0),
        Invocation::Other(cmd) => report_error(offline::run(&cmd), rank0),
        Invocation::Bench(coll, args) => report_error(bench(world, coll, &args), rank0),
    }
}

fn train_sim(world: &dyn World, a: &xccl_bench::predict_cmd::TrainSimArgs) -> anyhow::Result<i32> {
    #[cfg(feature = "mpi")]
    {
        let mpi_world = world
            .as_any()
            .downcast_ref::<world::MpiWorld>()
            .context("train-sim needs an MPI world")?;
        xccl_bench::train_sim::run(mpi_world, a)
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = (world, a);
        Err(BenchError::Unsupported("train-sim: this binary was built without MPI".into()).into())
    }
}

fn bench(world: &dyn World, coll: CollKind, args: &BenchArgs) -> anyhow::Result<i32> {
    match args.backend {
        #[cfg(feature = "mpi")]
        BackendKind::Mpi => {
            let mpi_world = world
                .as_any()
                .downcast_ref::<world::MpiWorld>()
                .context("the MPI backend needs an MPI world")?;
            let mut b =
                world::agree(world, xccl_bench::backend::mpi::MpiBackend::new(mpi_world))?;
            b.set_delay(args.delay);
            app::run_bench(world, &mut b, coll, args, world.rank(), world.size())
        }
        #[cfg(not(feature = "mpi"))]
        BackendKind::Mpi => Err(BenchError::Unsupported(
            "--backend mpi: this binary was built without MPI (--no-default-features); use --backend nccl or hccl".into(),
        )
        .into()),
        BackendKind::Nccl => {
            let mut b = NcclBackend::new(world, &args.device_opts())?;
            let (rank, nranks) = (b.rank(), b.nranks());
            app::run_bench(world, &mut b, coll, args, rank, nranks)
        }
        BackendKind::Hccl => {
            let mut b = HcclBackend::new(world, &args.device_opts())?;
            app::run_bench(world, &mut b, coll, args, world.rank(), world.size())
        }
    }
}
