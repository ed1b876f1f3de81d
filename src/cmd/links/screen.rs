//! `xccl-bench links --screen`: the O(log N) screen (issue 8, item 4; issue 16).
//!
//! The pairwise test needs N−1 rounds; most clusters are healthy, and one slow node among
//! many should not cost N−1 rounds to find. The screen runs a ring of flows (each node
//! sends to the next of its group and receives from the previous one, all messages posted
//! at once) in the two halves of the nodes at once. A group's efficiency is its slowest
//! rank's rate over the expected rate of its flows (the topology's NICs and uplinks,
//! shared among all the flows of the round). The decision is
//! `xccl_diag::schedule::screen_short`: a group falls short below the threshold of that
//! expectation (so that a fault present in every group is still seen: issue 16 found a
//! slow NIC on each half hidden when groups were judged only against each other) or below
//! the threshold × the best group's efficiency. Without --topology only the relative rule
//! applies. Groups that fall short are halved again (`xccl_diag::schedule::Screen`); nodes
//! of failing groups of ≤ 3 nodes are suspects. The suspects and up to two references are
//! then measured by the pairwise test ([`super::pairwise::run_on`]: rounds, confirmation
//! alone, the rules of `xccl_diag::links`), so the findings are the pairwise test's.
//! Hosts that cannot drive a ring at the links' rate (the emulated cluster's 2 shared
//! cores: 0.45 of the NIC rate on healthy links) fail every group: the screen then ends
//! in the pairwise test of every node, correct but no cheaper — it says so in its lines.
#![cfg(feature = "mpi")]

use super::args::LinksArgs;
use crate::error::Result;
use crate::world::World;

pub fn run(world: &dyn World, a: &LinksArgs) -> Result<i32> {
    use crate::world::{agree, job_layout, MpiWorld};
    use xccl_diag::schedule::Screen;

    let mw = MpiWorld::of(world, "links --screen")?;
    let comm = mw.comm();
    let me = world.rank();
    let (all, hosts) = job_layout(world);
    let all: Vec<String> = all.into_iter().map(|(h, _)| h).collect();
    let leader: Vec<usize> = hosts
        .iter()
        .map(|h| all.iter().position(|x| x == h).expect("host"))
        .collect();
    let nn = hosts.len();
    let threshold = a.threshold.unwrap_or(crate::rules::BANDWIDTH_EFFICIENCY);
    let fabric = agree(
        world,
        (|| -> Result<Option<xccl_diag::links::Fabric>> {
            a.check()?;
            let Some(path) = &a.topology else {
                return Ok(None);
            };
            let t = xccl_topo::Topology::load(path)?;
            crate::probe::fabric_for(&t, &hosts).map(Some)
        })(),
    )?;
    crate::cmd::diagnosis::check_metrics(world, a.metrics.as_deref())?;
    let size = a.size as usize;
    let sbuf = vec![0x5au8; size];
    let mut rbuf = vec![0u8; size * a.iters];
    let bytes = (size * a.iters) as f64;
    let start = std::time::Instant::now();
    let mut screen = Screen::new(nn);
    let mut log: Vec<String> = vec![];
    while !screen.groups().is_empty() {
        let groups = screen.groups().to_vec();
        // Ring flows of every group, all at once.
        let mut flows = vec![];
        for g in &groups {
            for (i, &x) in g.iter().enumerate() {
                let y = g[(i + 1) % g.len()];
                if x != y {
                    flows.push((x, y));
                }
            }
        }
        let mine = groups.iter().find_map(|g| {
            let i = g.iter().position(|&x| leader[x] == me)?;
            (g.len() >= 2).then(|| {
                (
                    leader[g[(i + 1) % g.len()]],
                    leader[g[(i + g.len() - 1) % g.len()]],
                )
            })
        });
        world.barrier();
        let t = match mine {
            Some((next, prev)) => crate::probe::exchange(
                comm,
                next,
                prev,
                crate::probe::Msgs {
                    send: &sbuf,
                    recv: &mut rbuf,
                    iters: a.iters,
                },
            ),
            None => 0.0,
        };
        let times: Vec<f64> = world
            .gather_bytes(&t.to_le_bytes())
            .unwrap_or_default()
            .iter()
            .map(|b| f64::from_le_bytes(b[..8].try_into().expect("8 bytes")))
            .collect();
        let mut short = vec![false; groups.len()];
        if me == 0 {
            let exp = fabric.as_ref().map(|f| f.expected(&flows));
            let round = screen.rounds() + 1;
            // (rate, expected) per group: its slowest rank, its flows' least expectation
            // (1 without a topology: the bare rate, judged only against the others).
            let judged: Vec<(f64, f64)> = groups
                .iter()
                .map(|g| {
                    let worst = g.iter().map(|&x| times[leader[x]]).fold(0.0, f64::max);
                    let rate = if worst > 0.0 {
                        bytes / worst / 1e9
                    } else {
                        0.0
                    };
                    let e = exp.as_ref().map_or(1.0, |exp| {
                        flows
                            .iter()
                            .zip(exp)
                            .filter(|((x, _), _)| g.contains(x))
                            .map(|(_, e)| *e)
                            .fold(f64::INFINITY, f64::min)
                    });
                    (rate, e)
                })
                .collect();
            let eff: Vec<Option<f64>> = groups
                .iter()
                .zip(&judged)
                .map(|(g, (r, e))| (g.len() >= 2).then_some(r / e))
                .collect();
            short = xccl_diag::schedule::screen_short(&eff, fabric.is_some(), threshold);
            let best = eff.iter().flatten().fold(0.0, |a: f64, &b| a.max(b));
            for (k, g) in groups.iter().enumerate() {
                let (rate, e) = judged[k];
                let names: Vec<&str> = g.iter().map(|&x| hosts[x].as_str()).collect();
                let of = if fabric.is_some() {
                    format!("expected {e:.4}: {:.2}, ", rate / e)
                } else {
                    String::new()
                };
                log.push(format!(
                    "# screen round {round}: [{}] ring {rate:.4} GB/s, {of}{:.2} of the best group{}",
                    names.join(" "),
                    rate / e / best,
                    if short[k] { " SHORT" } else { "" }
                ));
            }
        }
        // Every rank needs the same decision: one byte per group from rank 0.
        let mut all_flags = short.iter().map(|&s| s as u8).collect::<Vec<u8>>();
        world.broadcast_bytes(0, &mut all_flags);
        let short: Vec<bool> = all_flags.iter().map(|&b| b != 0).collect();
        screen.report(&short);
    }
    // The suspects and up to two references, pairwise, judged by the rules of `links`.
    let nodes = screen.confirm_nodes(nn);
    if nn >= 4 && nodes.len() == nn {
        log.push(
            "# screen: every node is a suspect (every group fell short, or too few passed): \
             the pairwise test of every node follows"
                .into(),
        );
    }
    super::pairwise::run_on(
        world,
        a,
        Some(super::pairwise::ScreenRun {
            nodes,
            rounds: screen.rounds(),
            log,
            wall_s: start.elapsed().as_secs_f64(),
        }),
    )
}
