//! The arguments of `links` (the pairwise matrix and its screen).

use crate::types::parse_size;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct LinksArgs {
    /// Expected rates from this topology file (NICs, switch uplinks and their
    /// oversubscription); without it each link is judged against the median of its class.
    /// Several NICs per node (rails): every device is measured, one rank per device.
    #[arg(long, value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// Bytes per message (K/M/G suffixes); large enough to reach bandwidth.
    #[arg(long, default_value = "4M", value_parser = parse_size)]
    pub size: u64,
    /// Messages per direction and phase (after one warm-up message).
    #[arg(short = 'n', long = "iters", default_value_t = 4)]
    pub iters: usize,
    /// Fraction of the expected bandwidth below which a link is low (default 0.8).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Measure every node pair alone, one after the other (N(N−1)/2 rounds): the serial
    /// baseline the round schedule is compared with.
    #[arg(long)]
    pub serial: bool,
    /// The O(log N) screen instead of every pair: halves of the nodes run a ring at once;
    /// a group falls short below the threshold of what the --topology expects of its ring,
    /// or of the best group's (without --topology only the latter: a fault in every group
    /// is then not seen); short groups are halved again; the suspects (and two references)
    /// get the pairwise test, so its findings. Prints the rounds used and the time.
    #[arg(long)]
    pub screen: bool,
    /// mpi (host memory), nccl or hccl (device memory, ncclSend/ncclRecv or
    /// HcclSend/HcclRecv, device events): per device, one rank each, with --topology.
    #[arg(long, value_enum, default_value = "mpi", hide_possible_values = true)]
    pub backend: crate::backend::BackendKind,
    /// Write the matrix and findings to FILE (JSON).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write per-link bandwidth and efficiency, findings and run info as Prometheus
    /// metrics (node_exporter's textfile format) to FILE, replaced atomically.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}

impl LinksArgs {
    /// The values no links run can use: one line, the same on every rank.
    pub fn check(&self) -> crate::error::Result<()> {
        use crate::error::BenchError;
        if self.size == 0 || self.iters == 0 {
            return Err(BenchError::Usage(
                "links: --size and --iters must be at least 1".into(),
            ));
        }
        if let Some(t) = self.threshold {
            if !(t > 0.0 && t <= 1.0) {
                return Err(BenchError::Usage(format!(
                    "links: --threshold {t} must be in (0, 1]"
                )));
            }
        }
        Ok(())
    }
}
