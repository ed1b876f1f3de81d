//! `--split`: which link class limits a collective over several nodes (issue 8).
//!
//! After the sweep, the same sizes run again on parts of the job and every part is
//! judged against the topology: the rule is `xccl_diag::split` (pure, unit-tested). With
//! one rank per node there is no intra-node group and the inter-node group is the whole
//! job, so the RDMA part is a point-to-point probe of the same ranks: `sendrecv` to the
//! ring neighbour, all ranks at once, judged against what the model expects of it, i.e.
//! what the links can do for this job. A collective below 0.8 of expected while the
//! probe reaches 0.8 is the library's algorithm (`algorithm`); rows too small to reach
//! bandwidth are `small_messages`, never a slow link.

use crate::backend::Backend;
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::harness::Harness;
use crate::judge::Judge;
use crate::output::Sink;
use crate::result::{Placement, Row, RunMeta, Summary};
use crate::world::World;
use xccl_diag::split::{self, Judged, Parts};
use xccl_schema::Class;
use xccl_schema::Finding;

/// Keeps the rows it is given (rank 0).
#[derive(Default)]
pub struct Capture(pub Vec<Row>);

impl Sink for Capture {
    fn begin(&mut self, _m: &RunMeta) -> Result<()> {
        Ok(())
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        self.0.extend_from_slice(group);
        Ok(())
    }
    fn end(&mut self, _s: &Summary) -> Result<()> {
        Ok(())
    }
}

/// A judged out-of-place row in the rule's terms.
pub fn judged(rows: &[Row]) -> Vec<Judged> {
    rows.iter()
        .filter(|r| r.placement == Placement::OutOfPlace)
        .filter_map(|r| {
            let v = r.verdict.as_ref()?;
            Some(Judged {
                size_bytes: r.size_bytes,
                busbw_gbs: r.busbw_gbs,
                expected_gbs: v.expected_busbw_gbs,
                bottleneck: v.bottleneck,
                latency_bound: v.class == Class::LatencyBound,
                time_ratio: v.time_ratio,
            })
        })
        .collect()
}

/// Runs the parts of `coll` and returns (text lines for the terminal, findings), on
/// rank 0; `whole` are the sweep's judged rows (rank 0; empty elsewhere). Collective:
/// every rank calls it.
#[allow(clippy::too_many_arguments)]
pub fn run<B: Backend>(
    world: &dyn World,
    backend: &mut B,
    coll: CollKind,
    args: &crate::cli::BenchArgs,
    judge: &mut Judge<Capture>,
    whole: &[Row],
    ranks_per_host: &[usize],
    threshold: f64,
) -> Result<(Vec<String>, Vec<Finding>)> {
    let nranks = world.size();
    if ranks_per_host.iter().any(|&n| n != 1) {
        return Err(BenchError::Unsupported(
            "--split with several ranks per node (intra-node and inter-node sub-communicators) is not implemented yet; run one rank per node".into(),
        ));
    }
    // The probe: sendrecv to the ring neighbour, same sizes, same timing settings.
    let mut sw = args.sweep(CollKind::Sendrecv, nranks)?;
    sw.check = 0;
    sw.cycles = 1;
    let mut h = Harness {
        world,
        backend,
        rank: world.rank(),
        nranks,
    };
    h.run(&sw, judge)?;
    if world.rank() != 0 {
        return Ok((vec![], vec![]));
    }
    let parts = Parts {
        whole: judged(whole),
        inter: judged(&judge.inner_mut().0),
        intra: vec![],
    };
    let mut lines = vec![format!(
        "split: {coll} against its RDMA links alone (sendrecv to the ring neighbour on the same {nranks} ranks, one per node; no intra-node group)"
    )];
    for (size, lim) in split::limits(&parts, threshold) {
        let eff = |rows: &[Judged]| {
            rows.iter()
                .find(|r| r.size_bytes == size)
                .map_or("-".to_string(), |r| format!("{:.2}", r.efficiency()))
        };
        lines.push(format!(
            "split: {size:>12} B  whole {}  RDMA {}  limit: {}",
            eff(&parts.whole),
            eff(&parts.inter),
            lim.describe()
        ));
    }
    Ok((lines, split::findings(coll, &parts, threshold)))
}
