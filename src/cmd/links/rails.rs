//! `links` per device on a cluster with several NICs per node (rails): one rank per
//! device, the rounds of [`xccl_diag::rail_plan::RailPlan`] (same-rail pairs of every
//! rail at once, cross-rail samples, intra-node pairs on all nodes at once), each pair
//! measured by the chosen backend's [`Probe`] (MPI on host memory, or NCCL/HCCL on device
//! memory with device events): latency, one direction, both directions, a world barrier
//! before each phase of a round so that its pairs overlap. The rules of
//! [`xccl_diag::rails`] name the part to replace; every suspect is measured again alone
//! ([`xccl_diag::links::CONFIRM_REPEATS`] times, median) and only what that confirms is a
//! finding.
#![cfg(feature = "mpi")]

use super::args::LinksArgs;
use super::rail_out::{self, Doc};
use crate::backend::BackendKind;
use crate::cmd::diagnosis::{everyone, status};
use crate::error::{BenchError, Result};
use crate::probe::pair::{alone, Probe};
use crate::world::{agree, job_layout, share_from_0, World};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use xccl_diag::rail_plan::{Phase, RailLinksReport, RailOptions, RailPlan};
use xccl_diag::rails::{self, Ends, InterLink, IntraLink, Port, RailFabric};

/// One end's measurement of one planned pair (plan ranks `a < b`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Rec {
    phase: Phase,
    round: usize,
    a: usize,
    b: usize,
    is_a: bool,
    lat_us: f64,
    uni_s: f64,
    bi_s: f64,
}

/// What every rank agrees on before measuring.
pub(super) struct Setup {
    pub fabric: RailFabric,
    pub plan: RailPlan,
    /// Plan rank (node · R + device) → world rank.
    pub world_rank: Vec<usize>,
    pub topology: String,
    /// The NICs' one-hop latency, µs (the fixed cost of a round).
    pub alpha_us: f64,
}

/// Whether `links` runs per device: a topology that attaches NICs one by one (rails,
/// `[[nic]]`) or has several NICs per node, or a device backend.
pub fn wanted(a: &LinksArgs) -> Result<bool> {
    let Some(path) = &a.topology else {
        if a.backend != BackendKind::Mpi {
            return Err(BenchError::Usage(format!(
                "links --backend {}: the per-device plan needs --topology FILE (devices, NICs, rails)",
                a.backend.name()
            )));
        }
        return Ok(false);
    };
    let t = xccl_topo::Topology::load(path)?;
    Ok(a.backend != BackendKind::Mpi || !t.nic_leaf.is_empty() || t.nics.count > 1)
}

impl Setup {
    /// The same job measured on `nodes` only (a screen's suspects): their fabric, a plan
    /// of those nodes, their ranks; every other rank waits at the barriers.
    pub(super) fn restrict(&self, nodes: &[usize]) -> Setup {
        let r = self.plan.devices();
        let plan = RailPlan::new(
            nodes.len(),
            &self.plan.rail_of_device,
            RailOptions::default(),
        )
        .expect("a permutation already");
        Setup {
            fabric: self.fabric.subset(nodes),
            plan,
            world_rank: nodes
                .iter()
                .flat_map(|&n| (0..r).map(move |d| n * r + d))
                .map(|p| self.world_rank[p])
                .collect(),
            topology: self.topology.clone(),
            alpha_us: self.alpha_us,
        }
    }
}

/// The plan for this job: its hosts must be in the file, each with one rank per device.
pub(super) fn setup(a: &LinksArgs, all: &[(String, usize)], hosts: &[String]) -> Result<Setup> {
    a.check()?;
    if a.serial {
        return Err(BenchError::Usage(
            "links: --serial is not available per device (rails); drop it".into(),
        ));
    }
    let path = a.topology.as_ref().expect("wanted() checked --topology");
    let t = xccl_topo::Topology::load(path)?;
    let names: Vec<&str> = all.iter().map(|x| x.0.as_str()).collect();
    let placed = t.place(&names)?;
    let per_node = t.devices_per_node;
    let mut world_rank = vec![usize::MAX; hosts.len() * per_node];
    let mut nodes = vec![];
    for (n, h) in hosts.iter().enumerate() {
        let ranks: Vec<usize> = (0..all.len()).filter(|&r| all[r].0 == *h).collect();
        if ranks.len() != per_node {
            return Err(BenchError::Usage(format!(
                "links: {} rank(s) on host `{h}` but --topology {} has {per_node} devices per \
                 node: run one rank per device ({} hosts × {per_node} = {} ranks)",
                ranks.len(),
                t.name,
                hosts.len(),
                hosts.len() * per_node
            )));
        }
        nodes.push(placed.node_of_rank[ranks[0]]);
        // Device d of a host: its d-th rank by world rank, i.e. local rank d (the device
        // the NCCL/HCCL backends open).
        for (d, &r) in ranks.iter().enumerate() {
            world_rank[n * per_node + d] = r;
        }
    }
    let (fabric, rail_of_device) =
        xccl_diag::rail_topo::rail_fabric(&t, &nodes).map_err(BenchError::Usage)?;
    let plan = RailPlan::new(hosts.len(), &rail_of_device, RailOptions::default())
        .map_err(|e| BenchError::Usage(format!("--topology {}: {e}", t.name)))?;
    Ok(Setup {
        fabric,
        plan,
        world_rank,
        topology: path.display().to_string(),
        alpha_us: t.nics.latency_us,
    })
}

/// The probe of `--backend`, on every rank (collective).
pub(super) fn probe<'w>(world: &'w dyn World, a: &LinksArgs) -> Result<Box<dyn Probe + 'w>> {
    use crate::probe::pair::{DeviceProbe, MpiProbe};
    let (size, iters) = (a.size as usize, a.iters);
    let opts = crate::backend::DeviceOpts::default();
    Ok(match a.backend {
        BackendKind::Mpi => {
            let mw = crate::world::MpiWorld::of(world, "links")?;
            Box::new(MpiProbe::new(mw.comm(), size, iters))
        }
        BackendKind::Nccl => {
            let b = crate::backend::nccl::NcclBackend::new(world, &opts)?;
            Box::new(DeviceProbe::new(world, b, "nccl", size, iters)?)
        }
        BackendKind::Hccl => {
            let b = crate::backend::hccl::HcclBackend::new(world, &opts)?;
            Box::new(DeviceProbe::new(world, b, "hccl", size, iters)?)
        }
    })
}

/// Every planned round, this rank's pair in it (if any) measured; its records.
fn measure(world: &dyn World, s: &Setup, probe: &mut dyn Probe) -> Result<Vec<Rec>> {
    let me = world.rank();
    // None: a rank of a node the plan leaves out (a screen's), at the barriers only.
    let me_p = s.world_rank.iter().position(|&r| r == me);
    let mut recs = vec![];
    let mut failed: Option<BenchError> = None;
    for (phase, round, pairs) in s.plan.all_rounds() {
        let mine = pairs
            .iter()
            .find(|p| Some(p.0) == me_p || Some(p.1) == me_p)
            .copied();
        let mut rec = mine.map(|(x, y)| Rec {
            phase,
            round,
            a: x,
            b: y,
            is_a: Some(x) == me_p,
            lat_us: 0.0,
            uni_s: 0.0,
            bi_s: 0.0,
        });
        let peer = mine.map(|(x, y)| s.world_rank[if Some(x) == me_p { y } else { x }]);
        for step in 0..3 {
            world.barrier();
            let (Some(r), Some(q), None) = (rec.as_mut(), peer, failed.as_ref()) else {
                continue;
            };
            let got = match step {
                0 => probe.latency_us(q, r.is_a).map(|v| r.lat_us = v),
                1 => probe.one_way(q, r.is_a).map(|v| r.uni_s = v),
                _ => probe.both_ways(q).map(|v| r.bi_s = v),
            };
            if let Err(e) = got {
                failed = Some(e);
            }
        }
        recs.extend(rec);
    }
    agree(world, failed.map_or(Ok(()), Err))?;
    Ok(recs)
}

/// Rank 0's reading of the rounds: the record, the links the rules judge (inter then
/// intra, with the phase of each inter link) and the judged matrix.
struct Read {
    report: RailLinksReport,
    inter_phase: Vec<Phase>,
    m: rails::RailMatrix,
}

fn read(s: &Setup, a: &LinksArgs, probe: &dyn Probe, recs: &[Rec], threshold: f64) -> Read {
    let plan = &s.plan;
    let bytes = probe.bytes();
    let mut report = RailLinksReport::new(plan, probe.name(), a.size, a.iters);
    let (mut inter, mut inter_phase, mut intra) = (vec![], vec![], vec![]);
    let port = |r: usize| Port {
        node: plan.node_of(r),
        rail: plan.rail_of(r),
    };
    for r in recs.iter().filter(|r| r.is_a) {
        let other = recs
            .iter()
            .find(|o| !o.is_a && o.phase == r.phase && o.round == r.round && o.a == r.a);
        let uni = bytes / r.uni_s / 1e9;
        let bi = bytes / other.map_or(r.bi_s, |o| o.bi_s.max(r.bi_s)) / 1e9;
        report.record(plan, r.phase, r.round, (r.a, r.b), uni, bi, r.lat_us);
        match r.phase {
            Phase::Rail | Phase::Cross => {
                let round = r.round
                    + if r.phase == Phase::Cross {
                        plan.rail.len()
                    } else {
                        0
                    };
                inter.push(InterLink {
                    a: port(r.a),
                    b: port(r.b),
                    round,
                    gbs: uni,
                });
                inter_phase.push(r.phase);
            }
            Phase::Intra => intra.push(IntraLink {
                node: plan.node_of(r.a),
                i: plan.device_of(r.a),
                j: plan.device_of(r.b),
                gbs: uni,
            }),
        }
    }
    let m = rails::judge(&s.fabric, &inter, &intra, threshold);
    for (i, l) in m.matrix.links.iter().enumerate().take(inter.len()) {
        if l.low && inter_phase[i] == Phase::Rail {
            if let Ends::Inter(pa, pb) = m.ends[i] {
                report
                    .outliers
                    .extend(report.same_rail(plan, pa.rail, pa.node, pb.node));
            }
        }
    }
    Read {
        report,
        inter_phase,
        m,
    }
}

/// The world ranks at the two ends of link `i` of the judged matrix, sender first.
fn ends_ranks(s: &Setup, m: &rails::RailMatrix, i: usize) -> (usize, usize) {
    let p = &s.plan;
    let (x, y) = match m.ends[i] {
        Ends::Inter(a, b) => (
            p.rank_on_rail(a.node, a.rail),
            p.rank_on_rail(b.node, b.rail),
        ),
        Ends::Intra { node, i, j } => (node * p.devices() + i, node * p.devices() + j),
    };
    (s.world_rank[x], s.world_rank[y])
}

/// `links` per device. Collective: every rank calls it.
pub fn run(world: &dyn World, a: &LinksArgs) -> Result<i32> {
    let (all, hosts) = job_layout(world);
    let s = agree(world, setup(a, &all, &hosts))?;
    crate::cmd::diagnosis::check_metrics(world, a.metrics.as_deref())?;
    let mut probe = probe(world, a)?;
    run_on(world, a, &s, &hosts, probe.as_mut(), None)
}

/// Every planned pair of `s` (whose nodes are `hosts`) measured, judged and confirmed;
/// with `screen`, the screen's lines and record around it. Collective.
pub(super) fn run_on(
    world: &dyn World,
    a: &LinksArgs,
    s: &Setup,
    hosts: &[String],
    probe: &mut dyn Probe,
    screen: Option<rail_out::ScreenDone>,
) -> Result<i32> {
    let bound = rail_out::bindings(world, a.backend);
    if world.rank() == 0 {
        println!(
            "# links per device: {} ranks, {} rounds ({} same-rail, {} cross-rail, {} intra-node), expected {:.1} s at the topology's nominal rates (a round's pairs at once; confirming suspects adds a few pairs alone)",
            s.plan.ranks(),
            s.plan.round_count(),
            s.plan.rail.len(),
            s.plan.cross.len(),
            s.plan.intra.len(),
            xccl_diag::rail_time::run_seconds(&s.plan, &s.fabric, a.size, a.iters, s.alpha_us)
        );
    }
    let threshold = a.threshold.unwrap_or(crate::rules::BANDWIDTH_EFFICIENCY);
    let start = Instant::now();
    let recs = measure(world, s, probe)?;
    world.barrier();
    let wall_s = start.elapsed().as_secs_f64();
    let gathered = world.gather_bytes(&serde_json::to_vec(&recs)?);
    // Rank 0 reads and attributes; every suspect's links are then measured alone.
    let mut built = None;
    let mut again: Vec<(usize, usize)> = vec![];
    if let Some(g) = gathered {
        let recs: Vec<Rec> = g
            .iter()
            .map(|b| serde_json::from_slice::<Vec<Rec>>(b))
            .collect::<std::result::Result<Vec<_>, _>>()?
            .concat();
        let r = read(s, a, probe, &recs, threshold);
        let sus = rails::suspects(&r.m, &s.fabric);
        let links = rails::plan_rechecks(&sus);
        again = links.iter().map(|&i| ends_ranks(s, &r.m, i)).collect();
        built = Some((r, sus, links));
    }
    let again: Vec<(usize, usize)> =
        serde_json::from_slice(&share_from_0(world, serde_json::to_vec(&again)?))?;
    let t_confirm = Instant::now();
    let mut times = vec![];
    for &(x, y) in &again {
        times.push(alone(
            world,
            probe,
            x,
            y,
            xccl_diag::links::CONFIRM_REPEATS,
        )?);
    }
    let confirm_s = t_confirm.elapsed().as_secs_f64();
    let mut code = 0;
    if let Some((r, sus, links)) = built {
        let bytes = probe.bytes();
        let rechecks: Vec<_> = links
            .iter()
            .zip(&times)
            .map(|(&i, t)| {
                let rates = t.iter().map(|s| bytes / s / 1e9).collect();
                rails::recheck(&r.m, &s.fabric, i, rates, threshold)
            })
            .collect();
        let (mut findings, unconfirmed) = rails::confirm(&r.m, sus, &rechecks);
        let nics = rail_out::nic_uses(&s.fabric, &s.world_rank, &bound);
        rail_out::caveat_unbound(&mut findings, &nics, probe.name());
        let doc = Doc {
            report: r.report,
            topology: s.topology.clone(),
            hosts: hosts.to_vec(),
            nics,
            threshold,
            wall_s,
            confirm_s,
            rechecks,
            unconfirmed,
            findings,
        };
        if let Some(sc) = &screen {
            sc.print_log();
        }
        print!(
            "{}",
            rail_out::render(&doc, &s.fabric, &r.m, &r.inter_phase)
        );
        code = match &screen {
            None => status(&doc.findings, a.json.as_deref(), || &doc),
            Some(sc) => {
                let rounds = s.plan.round_count();
                sc.print_summary(rounds, wall_s + confirm_s);
                status(&doc.findings, a.json.as_deref(), || {
                    sc.json(rounds, &doc.findings, Some(&doc))
                })
            }
        };
        code = crate::cmd::diagnosis::with_metrics(code, a.metrics.as_deref(), || {
            use crate::output::metrics::{families, MetricSet};
            let mut set = MetricSet::new();
            let info = crate::cmd::diagnosis::backend_info(world, a.backend);
            families::run_info(&mut set, "links", Some(&info));
            families::links(
                &mut set,
                &[],
                &r.m.matrix,
                families::rail_ends(&r.m, &s.fabric),
            );
            families::findings(&mut set, &[], &doc.findings);
            set
        });
    }
    Ok(everyone(world, code))
}

#[cfg(test)]
#[path = "rails_tests.rs"]
mod tests;
