//! `--split`: which link class limits a collective over several nodes.
//!
//! After the sweep, the same sizes run again on parts of the job and every part is
//! judged against the topology: the rule is `xccl_diag::split` (pure, unit-tested).
//!
//! Several ranks per node: the same collective runs on each node's ranks (SDMA alone;
//! every node at once, on a sub-communicator per node, the slowest node speaking for the
//! class) and on one rank per node (RDMA alone; the other ranks wait at a barrier). Each
//! part is judged as a job of its own: the topology placed with the part's ranks.
//!
//! One rank per node: there is no intra-node group and the inter-node group is the whole
//! job, so the RDMA part is a point-to-point probe of the same ranks: `sendrecv` to the
//! ring neighbour, all ranks at once, judged against what the model expects of it, i.e.
//! what the links can do for this job.
//!
//! Either way each class is weighed by its share of the whole's time at the rates its
//! part measured (the whole's flow model rerun with those rates, `split::weights`): a
//! class below 0.8 is the limit only when it alone keeps the whole below 0.8; a
//! collective below 0.8 of expected while its links, as measured, allow 0.8 is the
//! library's algorithm (`algorithm`); rows too small to reach bandwidth are
//! `small_messages`, never a slow link.

use crate::backend::Backend;
use crate::coll::CollKind;
use crate::error::{BenchError, Result};
use crate::harness::{Harness, Sweep};
use crate::output::verdict::Judge;
use crate::output::Capture;
use crate::result::{Placement, Row, RunMeta};
#[cfg(feature = "mpi")]
use crate::types::format_size;
use crate::world::World;
use xccl_diag::split::{self, Judged, Parts, WholeModel};
use xccl_schema::Class;
use xccl_schema::Finding;

/// A judged out-of-place row in the rule's terms.
pub fn judged(rows: &[Row]) -> Vec<Judged> {
    rows.iter()
        .filter(|r| r.placement == Placement::OutOfPlace)
        .filter_map(|r| {
            let v = r.verdict.as_ref()?;
            Some(Judged {
                size_bytes: r.size_bytes,
                root: r.root.max(0) as usize,
                busbw_gbs: r.busbw_gbs,
                expected_gbs: v.expected_busbw_gbs,
                bottleneck: v.bottleneck,
                latency_bound: v.class == Class::LatencyBound,
                time_ratio: v.time_ratio,
            })
        })
        .collect()
}

/// Refuses, on every rank and before the sweep, a job `--split` cannot take apart: one
/// node (there is no inter-node part), or nodes with different numbers of ranks (the
/// intra-node parts would not be the same job on every node).
pub fn check(meta: &RunMeta) -> Result<()> {
    let per = &meta.ranks_per_host;
    if per.iter().any(|&n| n > 1) {
        if per.len() < 2 {
            return Err(BenchError::Usage(format!(
                "--split needs a job over several nodes; all {} ranks run on {}",
                meta.nranks, meta.hosts[0]
            )));
        }
        if per.iter().any(|&n| n != per[0]) {
            return Err(BenchError::Usage(format!(
                "--split needs the same number of ranks on every node; this job has {}",
                meta.hosts
                    .iter()
                    .zip(per)
                    .map(|(h, n)| format!("{h}:{n}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        }
    }
    Ok(())
}

/// Runs the parts of `coll` and returns (text lines for the terminal, findings), on
/// rank 0; `whole` are the sweep's judged rows (rank 0; empty elsewhere). Collective:
/// every rank calls it.
#[allow(clippy::too_many_arguments)]
pub fn run<B: Backend>(
    world: &dyn World,
    backend: &mut B,
    sweep: &Sweep,
    topology: &str,
    judge: &mut Judge<Capture>,
    whole: &[Row],
    meta: &RunMeta,
    threshold: f64,
) -> Result<(Vec<String>, Vec<Finding>)> {
    let nranks = world.size();
    let coll = sweep.coll;
    // The whole's model, to weigh each class by its share of the whole's time.
    let model = judge.model().map(|(topo, placement)| WholeModel {
        topo: topo.clone(),
        placement: placement.clone(),
        collective: coll,
    });
    if meta.ranks_per_host.iter().any(|&n| n != 1) {
        return by_parts(world, sweep, topology, whole, meta, threshold, model);
    }
    // The probe: sendrecv to the ring neighbour, same sizes, same timing settings.
    let sw = part_sweep(sweep, CollKind::Sendrecv, nranks);
    let mut h = Harness::on(world, backend);
    h.run(&sw, judge)?;
    if world.rank() != 0 {
        return Ok((vec![], vec![]));
    }
    let parts = Parts {
        whole: judged(whole),
        inter: judged(&judge.inner_mut().0),
        intra: vec![],
        model,
    };
    let mut lines = vec![format!(
        "split: {coll} against its RDMA links alone (sendrecv to the ring neighbour on the same {nranks} ranks, one per node; no intra-node group)"
    )];
    for lim in split::decide(&parts, threshold) {
        let size = lim.size_bytes;
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

/// A part's sweep: the whole's sizes, dtypes and ops on `n` ranks; roots the part does
/// not have are dropped (root 0 when none is left); no data check, one cycle.
fn part_sweep(whole: &Sweep, coll: CollKind, n: usize) -> Sweep {
    let mut sw = whole.clone();
    sw.coll = coll;
    sw.roots.retain(|&r| r < n);
    if sw.roots.is_empty() {
        sw.roots.push(0);
    }
    sw.check = 0;
    sw.cycles = 1;
    sw
}

/// Several ranks per node: the sweep on each node's ranks (all nodes at once), then on
/// one rank per node, each on its own sub-communicator with its own MPI backend; rank 0
/// judges every part with the topology placed for the part's ranks.
#[cfg(feature = "mpi")]
fn by_parts(
    world: &dyn World,
    sweep: &Sweep,
    spec: &str,
    whole: &[Row],
    meta: &RunMeta,
    threshold: f64,
    model: Option<WholeModel>,
) -> Result<(Vec<String>, Vec<Finding>)> {
    use crate::world::{agree, MpiWorld, SubWorld};
    let coll = sweep.coll;
    let mpi_world = world.as_any().downcast_ref::<MpiWorld>().ok_or_else(|| {
        BenchError::Unsupported("--split with several ranks per node needs an MPI world".into())
    })?;
    let rank = world.rank();
    let host_of = |r: usize| meta.ranks[r].host.as_str();
    let node = meta
        .hosts
        .iter()
        .position(|h| h == host_of(rank))
        .expect("every rank's host is in the job's hosts");
    // The node's first rank (in world order) carries the inter-node part.
    let first = (0..rank).all(|r| host_of(r) != host_of(rank));

    // One part on this rank's group (None: not in it). Returns the group root's rows
    // as JSON (empty elsewhere); agreed over the world so a failure ends every rank.
    let part = |color: Option<i32>, one_per_node: bool| -> Result<Vec<u8>> {
        let sub = SubWorld::split(mpi_world, color, rank as i32, one_per_node);
        let r = match &sub {
            None => Ok(vec![]),
            Some(sub) => run_part(world, sub, sweep),
        };
        // Ranks outside the part wait here for it to end.
        agree(world, r)
    };
    let intra = part(Some(node as i32), false)?;
    let intra = world.gather_bytes(&intra);
    let inter = part(first.then_some(0), true)?;
    if rank != 0 {
        return Ok((vec![], vec![]));
    }
    let intra = intra.expect("rank 0 gathers");

    // Judge each part as a job of its own: the topology placed with its ranks.
    let judge_part = |hosts: Vec<String>, blob: &[u8]| -> Result<Vec<Judged>> {
        let rows: Vec<Row> = serde_json::from_slice(blob)
            .map_err(|e| BenchError::Backend(format!("--split: a part's rows: {e}")))?;
        let facts = xccl_topo::JobFacts {
            hostnames: hosts,
            devices_per_node: None,
            fabric: Some(xccl_topo::FabricKind::for_backend(&meta.backend.name)),
        };
        let j = Judge::new(
            Some(crate::output::verdict::topology_for(spec, &facts)?),
            threshold,
            Capture::default(),
        );
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|mut r| {
                r.verdict = j.judge(&r);
                r
            })
            .collect();
        Ok(judged(&rows))
    };
    // Each node's rows came from its first rank (rank 0 of the node's group).
    let mut groups = vec![];
    for h in &meta.hosts {
        let r0 = (0..meta.nranks)
            .find(|&r| host_of(r) == h)
            .expect("a host has ranks");
        let hosts = (0..meta.nranks)
            .filter(|&r| host_of(r) == h)
            .map(|_| h.clone())
            .collect();
        groups.push(judge_part(hosts, &intra[r0])?);
    }
    let slow = split::slowest(&groups);
    let parts = Parts {
        whole: judged(whole),
        intra: slow.iter().map(|(r, _)| r.clone()).collect(),
        inter: judge_part(meta.hosts.clone(), &inter)?,
        model,
    };
    let per = meta.ranks_per_host[0];
    let nodes = meta.hosts.len();
    let effs = |rows: &[Judged], who: &dyn Fn(u64) -> String| {
        parts
            .whole
            .iter()
            .map(|w| {
                let e = rows
                    .iter()
                    .find(|r| r.size_bytes == w.size_bytes)
                    .map_or("-".to_string(), |r| format!("{:.2}", r.efficiency()));
                format!("{} {e}{}", format_size(w.size_bytes), who(w.size_bytes))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let none = |_: u64| String::new();
    let slowest_host = |size: u64| {
        slow.iter()
            .find(|(r, _)| r.size_bytes == size)
            .map_or(String::new(), |(_, g)| format!(" ({})", meta.hosts[*g]))
    };
    let mut lines = vec![
        format!(
            "split: whole {coll} ({} ranks, {nodes} nodes x {per}): {}",
            meta.nranks,
            effs(&parts.whole, &none)
        ),
        format!(
            "split: SDMA part: each node's {per} ranks alone, {nodes} nodes at once (the slowest node): {}",
            effs(&parts.intra, &slowest_host)
        ),
        format!(
            "split: RDMA part: one rank per node alone ({nodes} ranks): {}",
            effs(&parts.inter, &none)
        ),
    ];
    for lim in split::decide(&parts, threshold) {
        lines.push(format!(
            "split: {:>12} B  limit: {}",
            lim.size_bytes,
            lim.describe()
        ));
    }
    Ok((lines, split::findings(coll, &parts, threshold)))
}

/// The sweep on one part (`sub`), with its own MPI backend; the part's rank 0 returns
/// its rows as JSON, the others nothing.
#[cfg(feature = "mpi")]
fn run_part(world: &dyn World, sub: &crate::world::SubWorld, whole: &Sweep) -> Result<Vec<u8>> {
    use crate::world::agree;
    let mut b = agree(
        sub,
        crate::backend::mpi::MpiBackend::with_comm(sub.raw(), sub),
    )?;
    let sw = part_sweep(whole, whole.coll, sub.size());
    let mut h = Harness::on(sub, &mut b);
    agree(sub, h.validate(&sw))?;
    let mut cap = Capture::default();
    if let Err(e) = h.run(&sw, &mut cap) {
        // As in the whole sweep: this rank alone may have failed, inside a collective
        // its peers are still in; say so and end every rank.
        crate::error::say(&format!(
            "xccl-bench: error: --split part, rank {} ({}): {e}",
            world.rank(),
            world.hostname()
        ));
        world.aborter().abort(e.exit_code());
    }
    Ok(if sub.rank() == 0 {
        serde_json::to_vec(&cap.0).expect("rows serialize")
    } else {
        vec![]
    })
}

#[cfg(not(feature = "mpi"))]
fn by_parts(
    _world: &dyn World,
    _sweep: &Sweep,
    _spec: &str,
    _whole: &[Row],
    _meta: &RunMeta,
    _threshold: f64,
    _model: Option<WholeModel>,
) -> Result<(Vec<String>, Vec<Finding>)> {
    Err(BenchError::Unsupported(
        "--split with several ranks per node: this binary was built without MPI".into(),
    ))
}
