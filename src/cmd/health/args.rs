//! The arguments of `health`.

use crate::backend::BackendKind;
use crate::cmd::parse::parse_unit_fraction;
use crate::types::parse_size;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct HealthArgs {
    /// The topology whose nominal rates set every floor (a file; required: a health check
    /// needs to know what healthy is).
    #[arg(long, value_name = "FILE")]
    pub topology: PathBuf,
    /// Backend of the all_reduce sweep.
    #[arg(long, value_enum, default_value_t = BackendKind::Mpi)]
    pub backend: BackendKind,
    /// Smallest all_reduce size of the sweep.
    #[arg(short = 'b', long = "minbytes", default_value = "1M", value_parser = parse_size)]
    pub min_bytes: u64,
    /// Largest all_reduce size of the sweep (the floor is judged on the rows large enough
    /// to be bandwidth-bound).
    #[arg(short = 'e', long = "maxbytes", default_value = "64M", value_parser = parse_size)]
    pub max_bytes: u64,
    /// Timed all_reduce calls per size.
    #[arg(short = 'n', long = "iters", default_value_t = 20)]
    pub iters: usize,
    /// Floor of the all_reduce check: fraction of the topology's expected busbw
    /// (default 0.8).
    #[arg(long = "sweep-floor", value_parser = parse_unit_fraction)]
    pub sweep_floor: Option<f64>,
    /// Floor of the links check: fraction of each link's expected bandwidth (default 0.8).
    #[arg(long = "links-floor", value_parser = parse_unit_fraction)]
    pub links_floor: Option<f64>,
    /// Bytes per message of the links check.
    #[arg(long = "links-size", default_value = "4M", value_parser = parse_size)]
    pub links_size: u64,
    /// Messages per direction and phase of the links check.
    #[arg(long = "links-iters", default_value_t = 4)]
    pub links_iters: usize,
    /// Keep each check's own JSON (sweep.json, links.json) in DIR; by default they go to a
    /// temporary folder that is removed at the end.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write the health result (checks, findings, durations) to FILE (JSON).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the health result to FILE (Markdown).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the health result as a Prometheus textfile (node_exporter's textfile
    /// collector): whether healthy, each check's status, duration and floor, the sweep's
    /// rows and every finding.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}
