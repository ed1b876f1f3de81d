//! The binary's edge: parse, set up the world the command needs, run it, and turn any
//! error into one line and an exit status, on every rank, without leaving a rank behind.
//! Commands that need no job (reading files only) run without MPI.

use xccl_bench::cmd::{self, Invocation};
use xccl_bench::error::{say, BenchError};
use xccl_bench::rules::ExitCode;
use xccl_bench::world::{self, SoloWorld, World};

fn main() {
    let parsed = cmd::parse_from(std::env::args_os());
    if let Ok(inv) = &parsed {
        if !inv.needs_job() {
            // Launched N times by mpirun, a command on files answers once.
            if world::launcher_rank().unwrap_or(0) != 0 {
                std::process::exit(ExitCode::Ok.code());
            }
        }
    }
    let world: anyhow::Result<Box<dyn World>> = match &parsed {
        Ok(inv) if !inv.needs_job() => Ok(Box::new(SoloWorld::for_files())),
        // MPI's thread level is chosen before MPI starts (see world::init). Parse errors
        // are reported after init, by rank 0 alone.
        Ok(inv) => world::init(inv.watchdog()).map_err(Into::into),
        Err(_) => world::init(false).map_err(Into::into),
    };
    let world = match world {
        Ok(w) => w,
        Err(e) => {
            say(&format!("xccl-bench: error: {e:#}"));
            std::process::exit(exit_code(&e));
        }
    };
    let code = run(&*world, parsed);
    drop(world); // MPI_Finalize before exiting
    std::process::exit(code);
}

/// The exit status an error carries ([`ExitCode::Failed`] for anything not the
/// runtime's own).
fn exit_code(e: &anyhow::Error) -> i32 {
    e.downcast_ref::<BenchError>()
        .map_or(ExitCode::Failed.code(), |b| b.exit_code())
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
            return if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Ok
            }
            .code();
        }
    };
    match cmd::run(world, inv).map_err(anyhow::Error::from) {
        Ok(code) => code,
        Err(e) => {
            if rank0 {
                say(&format!("xccl-bench: error: {e:#}"));
            }
            exit_code(&e)
        }
    }
}
