//! The subcommands, one room each: its arguments, its `run`, and whether it needs an MPI
//! job. This module holds the one [`Cmd`] enum, the parser (a benchmark subcommand per
//! collective of the vocabulary, the others from [`Cmd`]) and the one dispatch, [`run`].
//!
//! | command | room |
//! |---|---|
//! | `all_reduce` … `scatter` (the sweep, `--split`) | [`bench`] |
//! | `links` (`--screen`) | [`links`] |
//! | `topo show/check/validate/model/emu-plan` | [`topo`] |
//! | `judge` | [`judge`] |
//! | `report`, `compare` | [`report`] |
//! | `predict` | [`predict`] (the job it describes: [`job`]) |
//! | `train-sim` | [`train_sim`] |
//! | `list` | [`list`] |
//!
//! Commands receive parsed arguments and build their own plans; nothing below this
//! module (harness, probes, output, backends) knows the command line.

pub mod bench;
pub mod diagnosis;
pub mod job;
pub mod judge;
pub mod links;
pub mod list;
pub mod parse;
pub mod predict;
pub mod report;
pub mod topo;
pub mod train_sim;

use crate::coll::CollKind;
use crate::error::Result;
use crate::world::World;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// The busbw explanation under every benchmark's `--help`, built from the vocabulary so
/// that each factor is written once (in its collective's module).
pub fn busbw_help() -> String {
    let factors: Vec<String> = CollKind::ALL
        .iter()
        .map(|k| format!("{} {}", k, k.imp().bus_factor_formula()))
        .collect();
    format!(
        "algbw = bytes / time. busbw = algbw × a per-collective factor ({}),\n\
         so busbw is comparable across rank counts and against one link's peak bandwidth, as in nccl-tests.",
        factors.join(", ")
    )
}

/// Subcommands other than the benchmarks; those are added by [`command`], one per
/// collective of the vocabulary.
#[derive(Parser, Debug)]
#[command(name = "xccl-bench", version, about = "Collective-communication benchmark for training clusters (MPI, NCCL, HCCL), nccl-tests compatible", after_help = busbw_help())]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Show collectives, data types, reduction ops and which backends are usable here.
    List,
    /// Show the detected or a loaded topology, check a topology file against this job, or
    /// ask its model.
    #[command(subcommand)]
    Topo(topo::TopoCmd),
    /// Judge a saved result (--json file) against a topology, offline: the verdict each
    /// row would have had with --topology during the run.
    Judge(judge::JudgeArgs),
    /// Build one self-contained HTML report (inline SVG plots, no network needed) from
    /// saved results (--json files).
    Report(report::ReportArgs),
    /// Compare two saved results row by row; exit 5 when a row got slower than the
    /// threshold and beyond the noise the two files record (for CI).
    Compare(report::CompareArgs),
    /// The pairwise link matrix: every pair of nodes in rounds of disjoint pairs (N−1 for
    /// even N), every device pair within each node; low links attributed to a slow node,
    /// uplink or link. On rails (several NICs per node): every device, every rail at once,
    /// cross-rail samples → slow NIC, node, device link, miswired NIC, uplink or link.
    /// Exit 0 no finding, 4 findings.
    Links(links::LinksArgs),
    /// Predict a training job from measured communication: step time, MFU/HFU,
    /// throughput, linearity (offline; see docs/PREDICT.md).
    Predict(Box<predict::PredictArgs>),
    /// Run one model's training-step communication for real under mpirun and print the
    /// measured step time beside the prediction (`--backend mpi|nccl|hccl`; compute
    /// phases are calibrated host-side waits on every backend).
    #[command(name = "train-sim")]
    TrainSim(Box<train_sim::TrainSimArgs>),
}

#[derive(Debug)]
pub enum Invocation {
    Bench(CollKind, Box<bench::BenchArgs>),
    Other(Cmd),
}

/// The whole command line: [`Cli`] plus one benchmark subcommand per collective.
pub fn command() -> clap::Command {
    let mut c = Cli::command();
    for k in CollKind::ALL {
        let imp = k.imp();
        let mut sub = clap::Command::new(k.name())
            .about(format!(
                "Sweep {k} over message sizes (busbw factor {}{}{})",
                imp.bus_factor_formula(),
                if imp.has_op() { "; -o op" } else { "" },
                if imp.has_root() { "; -r root" } else { "" },
            ))
            .after_help(busbw_help());
        if let Some((first, rest)) = k.aliases().split_first() {
            sub = sub.visible_alias(*first).aliases(rest.iter().copied());
        }
        c = c.subcommand(bench::BenchArgs::augment_args(sub));
    }
    c
}

/// Parses `args` (program name first).
pub fn parse_from<I, T>(args: I) -> std::result::Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let m = command().try_get_matches_from(args)?;
    if let Some((name, sub)) = m.subcommand() {
        if let Ok(k) = name.parse::<CollKind>() {
            return Ok(Invocation::Bench(
                k,
                Box::new(bench::BenchArgs::from_arg_matches(sub)?),
            ));
        }
    }
    Cmd::from_arg_matches(&m).map(Invocation::Other)
}

impl Invocation {
    /// Whether the command needs an MPI job (the job's ranks and hosts, or traffic); the
    /// others work on files alone and run without MPI.
    pub fn needs_job(&self) -> bool {
        match self {
            Invocation::Bench(..) => true,
            Invocation::Other(cmd) => match cmd {
                Cmd::List | Cmd::Judge(_) | Cmd::Report(_) | Cmd::Compare(_) | Cmd::Predict(_) => {
                    false
                }
                Cmd::Links(_) | Cmd::TrainSim(_) => true,
                Cmd::Topo(t) => t.needs_job(),
            },
        }
    }

    /// Whether a `-T` watchdog thread will abort the job from its own thread (MPI must
    /// then be initialized for it: see [`crate::world::init`]).
    pub fn watchdog(&self) -> bool {
        matches!(self, Invocation::Bench(_, a) if a.timeout > 0.0)
    }
}

/// Runs the command in `world` (a world of one process for the commands that need no
/// job); returns the exit status.
pub fn run(world: &dyn World, inv: Invocation) -> Result<i32> {
    match inv {
        Invocation::Bench(coll, a) => bench::run(world, coll, &a),
        Invocation::Other(cmd) => match cmd {
            Cmd::List => list::run(),
            Cmd::Topo(t) => topo::run(world, &t),
            Cmd::Judge(a) => judge::run(&a),
            Cmd::Report(a) => report::report(&a),
            Cmd::Compare(a) => report::compare(&a),
            Cmd::Links(a) => links::run(world, &a),
            Cmd::Predict(a) => predict::run(&a),
            Cmd::TrainSim(a) => train_sim::run(world, &a),
        },
    }
}
