//! `links --screen` per device on rail topologies (issue 16): the rings of
//! [`xccl_diag::rail_screen`] (rail rings of every rail and group at once, cross-rail rings
//! that climb every leaf uplink, one round of rings within each node), each rank sending
//! to the next of its ring while receiving from the previous through the backend's
//! [`crate::probe::pair::Probe::ring`] (MPI, or `ncclSend`/`ncclRecv` in one group). Rank 0 judges each round
//! against the topology ([`xccl_diag::rail_screen::judge`]) and the screen halves what
//! fell short; its suspects, sample and references then go to the per-device test
//! ([`super::rails::run_on`] on those nodes: rounds, rules, confirmation alone), so the
//! findings are that test's. Nothing short: no finding, and no pairwise round at all.
#![cfg(feature = "mpi")]

use super::args::LinksArgs;
use super::rail_out::ScreenDone as Done;
use super::rails;
use crate::cmd::diagnosis::{everyone, status};
use crate::error::Result;
use crate::world::{agree, job_layout, World};
use std::time::Instant;
use xccl_diag::rail_screen::{judge, RailScreen, Ring, Unit};
use xccl_diag::rails::{Port, RailFabric};

/// Rings of a round listed one per line up to this many; beyond, the short ones and a sum.
const LIST_RINGS: usize = 32;

/// One line per ring of a round (rank 0).
fn lines(
    f: &RailFabric,
    round: usize,
    units: &[Unit],
    res: &[xccl_diag::rail_screen::UnitResult],
) -> Vec<String> {
    let name = |u: &Unit| {
        let hosts: Vec<&str> = u.nodes.iter().map(|&n| f.nodes[n].as_str()).collect();
        match u.ring {
            Ring::Rail { rail } => format!("rail {rail} [{}]", hosts.join(" ")),
            Ring::Cross => format!("cross-rail [{}]", hosts.join(" ")),
            Ring::Intra => format!("intra [{}]", hosts.join(" ")),
        }
    };
    let mut out = vec![];
    for (u, r) in units.iter().zip(res) {
        if units.len() <= LIST_RINGS || r.short {
            out.push(format!(
                "# screen round {round}: {} ring {:.4} GB/s, expected {:.4}: {:.2}{}",
                name(u),
                r.gbs,
                r.expected_gbs,
                r.efficiency,
                if r.short { " SHORT" } else { "" }
            ));
        }
    }
    if units.len() > LIST_RINGS {
        let short = res.iter().filter(|r| r.short).count();
        out.push(format!(
            "# screen round {round}: {} rings, {short} short",
            units.len()
        ));
    }
    out
}

pub fn run(world: &dyn World, a: &LinksArgs) -> Result<i32> {
    let (all, hosts) = job_layout(world);
    let s = agree(world, rails::setup(a, &all, &hosts))?;
    crate::cmd::diagnosis::check_metrics(world, a.metrics.as_deref())?;
    let mut probe = rails::probe(world, a)?;
    let threshold = a.threshold.unwrap_or(crate::rules::BANDWIDTH_EFFICIENCY);
    let me = world.rank();
    let plan = &s.plan;
    let world_of = |p: Port| s.world_rank[plan.rank_on_rail(p.node, p.rail)];
    let mut screen = RailScreen::new(hosts.len(), plan.devices());
    let mut log = vec![];
    let mut failed = None;
    let start = Instant::now();
    while !screen.units().is_empty() {
        let units = screen.units().to_vec();
        let flows = screen.flows();
        let to = flows
            .iter()
            .find(|f| world_of(f.1) == me)
            .map(|f| world_of(f.2));
        let from = flows
            .iter()
            .find(|f| world_of(f.2) == me)
            .map(|f| world_of(f.1));
        world.barrier();
        let mut t = 0.0;
        if let (Some(to), Some(from), None) = (to, from, failed.as_ref()) {
            match probe.ring(to, from) {
                Ok(x) => t = x,
                Err(e) => failed = Some(e),
            }
        }
        let mut short = vec![0u8; units.len()];
        if let Some(g) = world.gather_bytes(&t.to_le_bytes()) {
            let times: Vec<f64> = g
                .iter()
                .map(|b| f64::from_le_bytes(b[..8].try_into().expect("8 bytes")))
                .collect();
            let res = judge(
                &s.fabric,
                &units,
                &|p| times[world_of(p)],
                probe.bytes(),
                threshold,
            );
            log.extend(lines(&s.fabric, screen.rounds() + 1, &units, &res));
            short = res.iter().map(|r| u8::from(r.short)).collect();
        }
        // Every rank needs the same decision: one byte per ring from rank 0.
        world.broadcast_bytes(0, &mut short);
        screen.report(&short.iter().map(|&b| b != 0).collect::<Vec<_>>());
    }
    agree(world, failed.map_or(Ok(()), Err))?;
    let nodes = screen.confirm_nodes();
    let names = |v: &[usize]| -> Vec<String> { v.iter().map(|&n| hosts[n].clone()).collect() };
    let done = Done {
        log,
        rounds: screen.rounds(),
        full_rounds: plan.round_count(),
        hosts: hosts.clone(),
        suspects: names(screen.suspects()),
        sample: names(screen.sample()),
        confirmed_on: names(&nodes),
        wall_s: start.elapsed().as_secs_f64(),
    };
    if !nodes.is_empty() {
        let sub = s.restrict(&nodes);
        return rails::run_on(world, a, &sub, &names(&nodes), probe.as_mut(), Some(done));
    }
    let mut code = 0;
    if me == 0 {
        done.print_log();
        println!("# screen: no ring fell short: no suspect, no finding");
        done.print_summary(0, 0.0);
        code = status(&[], a.json.as_deref(), || done.json(0, &[], None));
        code = crate::cmd::diagnosis::with_metrics(code, a.metrics.as_deref(), || {
            use crate::output::metrics::{families, MetricSet};
            let mut set = MetricSet::new();
            let info = crate::cmd::diagnosis::backend_info(world, a.backend);
            families::run_info(&mut set, "links", Some(&info));
            families::findings(&mut set, &[], &[]);
            set
        });
    }
    Ok(everyone(world, code))
}
