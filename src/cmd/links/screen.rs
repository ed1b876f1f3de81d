//! `xccl-bench links --screen`: the O(log N) screen (issue 8, item 4).
//!
//! The pairwise test needs N−1 rounds; most clusters are healthy, and one slow node among
//! many should not cost N−1 rounds to find. The screen runs a ring of flows (each node
//! sends to the next of its group and receives from the previous one, all messages posted
//! at once) in the two halves of the nodes at once. A group's efficiency is its slowest
//! rank's rate over the expected rate of its flows (the topology's NICs and uplinks,
//! shared among all the flows of the round); it falls short below the threshold × the
//! best group's efficiency of the same round. Relative, not absolute: a ring sends and
//! receives on every node at once, and on the emulated cluster (2 shared cores) that
//! measured 0.45 of the NIC rate on healthy links — the hosts' CPU, as the both-ways
//! phase of `links` shows — so an absolute 0.8 would fail every group. A fault that
//! slows every group alike is the pairwise test's to find. Groups that fall short are
//! halved again (`xccl_diag::schedule::Screen`); nodes of failing groups of ≤ 3 nodes
//! are suspects, each then confirmed by the pairwise test against a node of a group that
//! passed: both directions alone, three times each (median), as `links` confirms its
//! suspects (`crate::probe::alone`). A confirmed suspect is `slow_node`.

use super::args::LinksArgs;
use crate::cmd::diagnosis::{everyone, mpi_info, status, with_metrics};
use crate::error::{BenchError, Result};
use crate::world::World;

pub fn run(world: &dyn World, a: &LinksArgs) -> Result<i32> {
    use crate::world::{agree, job_layout, MpiWorld};
    use std::collections::BTreeMap;
    use xccl_diag::schedule::Screen;
    use xccl_schema::finding::{Finding, FindingKind, Subject};

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
        (|| -> Result<xccl_diag::links::Fabric> {
            let Some(path) = &a.topology else {
                return Err(BenchError::Usage(
                    "links --screen needs --topology FILE: a group is judged against what its links should give".into(),
                ));
            };
            if a.size == 0 || a.iters == 0 {
                return Err(BenchError::Usage(
                    "links: --size and --iters must be at least 1".into(),
                ));
            }
            let t = xccl_topo::Topology::load(path)?;
            crate::probe::fabric_for(&t, &hosts)
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
            let exp = fabric.expected(&flows);
            let round = screen.rounds() + 1;
            // (rate, expected) per group: its slowest rank, its flows' least expectation.
            let judged: Vec<(f64, f64)> = groups
                .iter()
                .map(|g| {
                    let worst = g.iter().map(|&x| times[leader[x]]).fold(0.0, f64::max);
                    let rate = if worst > 0.0 {
                        bytes / worst / 1e9
                    } else {
                        0.0
                    };
                    let e = flows
                        .iter()
                        .zip(&exp)
                        .filter(|((x, _), _)| g.contains(x))
                        .map(|(_, e)| *e)
                        .fold(f64::INFINITY, f64::min);
                    (rate, e)
                })
                .collect();
            let best = judged.iter().map(|(r, e)| r / e).fold(0.0, f64::max);
            for (k, g) in groups.iter().enumerate() {
                let (rate, e) = judged[k];
                short[k] = g.len() >= 2 && rate / e < threshold * best;
                let names: Vec<&str> = g.iter().map(|&x| hosts[x].as_str()).collect();
                log.push(format!(
                    "# screen round {round}: [{}] ring {rate:.4} GB/s, expected {e:.4}: {:.2}, {:.2} of the best group{}",
                    names.join(" "),
                    rate / e,
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
    // Confirm each suspect against a reference node that passed.
    let suspects = screen.suspects().to_vec();
    let reference = (0..nn).find(|n| !suspects.contains(n));
    let mut confirmed: Vec<(usize, f64)> = vec![];
    if let Some(r) = reference {
        for &s in &suspects {
            // Each direction alone, CONFIRM_REPEATS times, the median judged (as `links`
            // confirms its suspects); the lower direction counts.
            let mut eff = f64::INFINITY;
            for (x, y) in [(s, r), (r, s)] {
                let times = crate::probe::alone(
                    world,
                    comm,
                    leader[x],
                    leader[y],
                    &sbuf,
                    &mut rbuf,
                    a.iters,
                    xccl_diag::links::CONFIRM_REPEATS,
                );
                let rates: Vec<f64> = times.iter().map(|t| bytes / t / 1e9).collect();
                let rate = xccl_diag::stats::median(&rates);
                eff = eff.min(rate / fabric.expected(&[(x, y)])[0]);
            }
            if me == 0 {
                log.push(format!(
                    "# confirm {} with {} alone (each direction, median of {}): {:.2} of expected{}",
                    hosts[s],
                    hosts[r],
                    xccl_diag::links::CONFIRM_REPEATS,
                    eff,
                    if eff < threshold { " LOW" } else { "" }
                ));
            }
            if eff < threshold {
                confirmed.push((s, eff));
            }
        }
    }
    let wall_s = start.elapsed().as_secs_f64();
    let mut code = 0;
    if me == 0 {
        let findings: Vec<Finding> = confirmed
            .iter()
            .map(|&(s, eff)| {
                let mut metrics = BTreeMap::new();
                metrics.insert("efficiency".into(), eff);
                metrics.insert("screen_rounds".into(), screen.rounds() as f64);
                Finding {
                    kind: FindingKind::SlowNode,
                    subject: Subject::Host {
                        host: hosts[s].clone(),
                    },
                    evidence: format!(
                        "its group fell short in the screen ({} round(s)); confirmed alone: \
                         {eff:.2} of expected with {} (the lower direction, median of {} runs; \
                         threshold {threshold})",
                        screen.rounds(),
                        reference.map_or("-", |r| hosts[r].as_str()),
                        xccl_diag::links::CONFIRM_REPEATS
                    ),
                    metrics,
                }
            })
            .collect();
        for l in &log {
            println!("{l}");
        }
        let names: Vec<&str> = suspects.iter().map(|&s| hosts[s].as_str()).collect();
        println!(
            "# screen: {} round(s) (pairwise test of every pair: {}), suspects [{}], {wall_s:.2} s",
            screen.rounds(),
            xccl_diag::schedule::circle_rounds(nn),
            names.join(" ")
        );
        if findings.is_empty() {
            println!("# no finding");
        }
        for f in &findings {
            println!("finding: {f}");
        }
        code = status(&findings, a.json.as_deref(), || {
            serde_json::json!({"tool": "xccl-bench", "kind": "links-screen",
                "hosts": hosts, "rounds": screen.rounds(), "suspects": names,
                "wall_s": wall_s, "log": log, "findings": findings})
        });
        code = with_metrics(code, a.metrics.as_deref(), || {
            use crate::output::metrics::{families, MetricSet};
            let mut set = MetricSet::new();
            families::run_info(&mut set, "links", Some(&mpi_info(world)));
            families::findings(&mut set, &[], &findings);
            set
        });
    }
    Ok(everyone(world, code))
}
