//! The pairwise phase of `links` (the default): every pair, in rounds.
#![cfg(feature = "mpi")]

use super::args::LinksArgs;
use crate::cmd::diagnosis::{everyone, mpi_info, status, with_metrics};
use crate::error::Result;
use crate::probe::{alone, both_ways, fabric_for, one_way, pingpong, Msgs};
use crate::world::share_from_0;
use crate::world::World;
use serde::{Deserialize, Serialize};
use xccl_diag::links::LinksReport;

/// One side's measurement of one pair.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Rec {
    intra: bool,
    round: usize,
    /// Endpoint indices (nodes for inter-node, (node, local) pairs packed for intra).
    a: usize,
    b: usize,
    is_a: bool,
    uni_s: f64,
    bi_s: f64,
    lat_us: f64,
}

/// What the screen ([`super::screen`]) hands to the pairwise test of its suspects.
pub struct ScreenRun {
    /// Nodes to measure pairwise (suspects and references), in order.
    pub nodes: Vec<usize>,
    pub rounds: usize,
    /// Rank 0: the screen's lines, printed before the matrix and kept in the JSON.
    pub log: Vec<String>,
    pub wall_s: f64,
}

/// Every pair measured, in rounds of disjoint pairs. Collective: every rank calls it.
pub fn run(world: &dyn World, a: &LinksArgs) -> Result<i32> {
    run_on(world, a, None)
}

/// With `screen`: only the pairs of its nodes, no intra-node rounds, the screen's lines
/// and rounds in the output, and the JSON of kind `links-screen` (the matrix of the
/// confirmation inside): the same rules, so the same findings as the full test.
pub fn run_on(world: &dyn World, a: &LinksArgs, screen: Option<ScreenRun>) -> Result<i32> {
    use crate::world::{agree, MpiWorld};
    use std::time::Instant;
    use xccl_diag::links::{self as dl, Fabric, Link, Matrix};
    use xccl_schema::LinkClass;

    let mw = MpiWorld::of(world, "links")?;
    let comm = mw.comm();
    let me = world.rank();
    // Who is where.
    let (all, hosts) = crate::world::job_layout(world);
    let node_of = |r: usize| hosts.iter().position(|h| *h == all[r].0).expect("host");
    let ranks_on: Vec<Vec<usize>> = (0..hosts.len())
        .map(|n| (0..all.len()).filter(|&r| node_of(r) == n).collect())
        .collect();
    let nn = hosts.len();
    // Topology and arguments: the same error on every rank.
    let setup = (|| -> Result<Option<Fabric>> {
        a.check()?;
        let Some(path) = &a.topology else {
            return Ok(None);
        };
        let t = xccl_topo::Topology::load(path)?;
        fabric_for(&t, &hosts).map(Some)
    })();
    let fabric = agree(world, setup)?;
    crate::cmd::diagnosis::check_metrics(world, a.metrics.as_deref())?;

    // Schedules: inter-node rounds over nodes; intra-node rounds over local indices.
    let inter: Vec<Vec<(usize, usize)>> = if let Some(sc) = &screen {
        xccl_diag::schedule::circle(sc.nodes.len())
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|(x, y)| (sc.nodes[x], sc.nodes[y]))
                    .collect()
            })
            .collect()
    } else if a.serial {
        (0..nn)
            .flat_map(|x| (x + 1..nn).map(move |y| vec![(x, y)]))
            .collect()
    } else {
        xccl_diag::schedule::circle(nn)
    };
    let max_local = ranks_on.iter().map(Vec::len).max().unwrap_or(0);
    let intra = if screen.is_some() {
        vec![]
    } else {
        xccl_diag::schedule::circle(max_local)
    };
    let size = a.size as usize;
    let sbuf = vec![0x5au8; size];
    let mut rbuf = vec![0u8; size];
    // Every message of the both-ways phase lands in its own slice.
    let mut rbuf_all = vec![0u8; size * a.iters];
    let mut recs: Vec<Rec> = vec![];
    let start = Instant::now();
    let mut run_round = |pairs: Vec<(usize, usize, usize, usize)>, intra: bool, round: usize| {
        // pairs: (endpoint a, endpoint b, rank of a, rank of b)
        let mine = pairs.iter().find(|p| p.2 == me || p.3 == me).copied();
        let peer = mine.map(|p| if p.2 == me { (p.3, true) } else { (p.2, false) });
        let mut rec = mine.map(|p| Rec {
            intra,
            round,
            a: p.0,
            b: p.1,
            is_a: p.2 == me,
            uni_s: 0.0,
            bi_s: 0.0,
            lat_us: 0.0,
        });
        world.barrier();
        if let (Some((q, is_a)), Some(r)) = (peer, rec.as_mut()) {
            r.lat_us = pingpong(comm, q, is_a);
        }
        world.barrier();
        let msgs = |recv| Msgs {
            send: &sbuf,
            recv,
            iters: a.iters,
        };
        if let (Some((q, is_a)), Some(r)) = (peer, rec.as_mut()) {
            r.uni_s = one_way(comm, q, is_a, msgs(&mut rbuf));
        }
        world.barrier();
        if let (Some((q, _)), Some(r)) = (peer, rec.as_mut()) {
            r.bi_s = both_ways(comm, q, msgs(&mut rbuf_all));
        }
        if let Some(r) = rec {
            recs.push(r);
        }
    };
    for (round, pairs) in inter.iter().enumerate() {
        let p = pairs
            .iter()
            .map(|&(x, y)| (x, y, ranks_on[x][0], ranks_on[y][0]))
            .collect();
        run_round(p, false, round);
    }
    for (round, pairs) in intra.iter().enumerate() {
        let mut p = vec![];
        for (n, on) in ranks_on.iter().enumerate() {
            for &(x, y) in pairs {
                if y < on.len() {
                    p.push((n * max_local + x, n * max_local + y, on[x], on[y]));
                }
            }
        }
        run_round(p, true, round);
    }
    world.barrier();
    let wall_s = start.elapsed().as_secs_f64();
    let threshold = a.threshold.unwrap_or(crate::rules::BANDWIDTH_EFFICIENCY);
    let gathered = world.gather_bytes(&serde_json::to_vec(&recs).expect("json"));
    // Rank 0: the matrix of the rounds, judged, its suspects, and the links to measure
    // again (as the ranks of their two ends).
    let mut built: Option<(Matrix, Vec<dl::Suspect>, Vec<usize>)> = None;
    let mut plan_ranks: Vec<(usize, usize)> = vec![];
    if let Some(g) = gathered {
        let recs: Vec<Rec> = g
            .iter()
            .flat_map(|b| serde_json::from_slice::<Vec<Rec>>(b).expect("records"))
            .collect();
        let bytes = (a.size as f64) * a.iters as f64;
        let mut names = hosts.clone();
        let mut intra_name = std::collections::BTreeMap::new();
        let mut links: Vec<Link> = vec![];
        // The ranks at the two ends of each link.
        let mut link_ranks: Vec<(usize, usize)> = vec![];
        for r in recs.iter().filter(|r| r.is_a) {
            let other = recs.iter().find(|o| {
                !o.is_a && o.intra == r.intra && o.round == r.round && (o.a, o.b) == (r.a, r.b)
            });
            let bi_s = other.map_or(r.bi_s, |o| o.bi_s.max(r.bi_s));
            let (ea, eb) = if r.intra {
                let mut idx = |e: usize| {
                    *intra_name.entry(e).or_insert_with(|| {
                        names.push(format!("{}/{}", hosts[e / max_local], e % max_local));
                        names.len() - 1
                    })
                };
                link_ranks.push((
                    ranks_on[r.a / max_local][r.a % max_local],
                    ranks_on[r.b / max_local][r.b % max_local],
                ));
                (idx(r.a), idx(r.b))
            } else {
                link_ranks.push((ranks_on[r.a][0], ranks_on[r.b][0]));
                (r.a, r.b)
            };
            links.push(Link {
                a: ea,
                b: eb,
                class: if r.intra {
                    LinkClass::Sdma
                } else {
                    LinkClass::Rdma
                },
                round: r.round + if r.intra { inter.len() } else { 0 },
                uni_gbs: bytes / r.uni_s / 1e9,
                bi_gbs: bytes / bi_s / 1e9,
                latency_us: r.lat_us,
                expected_gbs: 0.0,
                efficiency: 0.0,
                bi_efficiency: 0.0,
                low: false,
            });
        }
        let mut m = Matrix {
            names,
            links,
            expected_from: String::new(),
        };
        dl::judge(&mut m, fabric.as_ref(), threshold);
        if fabric.is_some() {
            m.expected_from = format!(
                "topology {}",
                a.topology
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            );
        }
        let sus = dl::suspects(&m, fabric.as_ref());
        let plan = dl::recheck_plan(&sus);
        plan_ranks = plan.iter().map(|&i| link_ranks[i]).collect();
        built = Some((m, sus, plan));
    }
    // Every suspect link again, alone, one after the other (a round measures a pair once,
    // and a loaded host has made one pair of a healthy cluster look slow).
    let blob = share_from_0(world, serde_json::to_vec(&plan_ranks).expect("json"));
    let plan_ranks: Vec<(usize, usize)> = serde_json::from_slice(&blob).expect("plan");
    let t_confirm = Instant::now();
    let times: Vec<Vec<f64>> = plan_ranks
        .iter()
        .map(|&(x, y)| {
            alone(
                world,
                comm,
                x,
                y,
                &sbuf,
                &mut rbuf,
                a.iters,
                dl::CONFIRM_REPEATS,
            )
        })
        .collect();
    let confirm_s = t_confirm.elapsed().as_secs_f64();
    let mut code = 0;
    if let Some((m, sus, plan)) = built {
        let bytes = (a.size as f64) * a.iters as f64;
        let rechecks: Vec<dl::Recheck> = plan
            .iter()
            .zip(&times)
            .map(|(&i, t)| {
                let rates = t.iter().map(|s| bytes / s / 1e9).collect();
                dl::recheck(&m, i, fabric.as_ref(), rates, threshold)
            })
            .collect();
        let (findings, unconfirmed) = dl::confirm(&m, sus, &rechecks);
        let serial_rounds = nn * nn.saturating_sub(1) / 2;
        if let Some(sc) = &screen {
            for l in &sc.log {
                println!("{l}");
            }
            let names: Vec<&str> = sc.nodes.iter().map(|&x| hosts[x].as_str()).collect();
            if !names.is_empty() {
                print!("{}", dl::render(&m));
            }
            println!(
                "# screen: {} round(s) (pairwise test of every pair: {}), then {} round(s) of the pairwise test of [{}], {:.2} s",
                sc.rounds,
                xccl_diag::schedule::circle_rounds(nn),
                inter.len(),
                names.join(" "),
                sc.wall_s + wall_s + confirm_s
            );
        } else {
            print!("{}", dl::render(&m));
            println!(
            "# {} node pairs in {} rounds ({}; one pair at a time: {serial_rounds}), {} intra-node rounds, {wall_s:.2} s",
            serial_rounds,
            inter.len(),
            if a.serial { "serial" } else { "circle method" },
            intra.len()
        );
        }
        if !rechecks.is_empty() {
            println!(
                "# confirmation: {} suspect link(s) measured again alone, one after the other, {} times each (median), {confirm_s:.2} s",
                rechecks.len(),
                dl::CONFIRM_REPEATS
            );
        }
        for r in &rechecks {
            println!("# confirm {r}");
        }
        for f in &unconfirmed {
            println!("# not confirmed (no finding): {f}");
        }
        if findings.is_empty() {
            println!(
                "# no finding: every link at or above {threshold:.2} of expected{}",
                if unconfirmed.is_empty() { "" } else { " alone" }
            );
        }
        for f in &findings {
            println!("finding: {f}");
        }
        let rep = LinksReport {
            tool: "xccl-bench".into(),
            kind: xccl_diag::links::LINKS_KIND.into(),
            schema_version: xccl_diag::links::LINKS_SCHEMA_VERSION,
            hosts: hosts.clone(),
            size_bytes: a.size,
            iters: a.iters,
            schedule: if a.serial { "serial" } else { "circle" }.into(),
            rounds: inter.len(),
            serial_rounds,
            wall_s,
            matrix: m,
            findings,
            rechecks,
            unconfirmed,
        };
        code = match &screen {
            None => status(&rep.findings, a.json.as_deref(), || &rep),
            Some(sc) => status(&rep.findings, a.json.as_deref(), || {
                let names: Vec<&str> = sc.nodes.iter().map(|&x| hosts[x].as_str()).collect();
                serde_json::json!({"tool": "xccl-bench", "kind": "links-screen",
                    "hosts": hosts, "rounds": sc.rounds, "confirmed_on": names,
                    "wall_s": sc.wall_s + wall_s + confirm_s, "log": sc.log,
                    "findings": rep.findings, "confirmation": rep})
            }),
        };
        code = with_metrics(code, a.metrics.as_deref(), || {
            use crate::output::metrics::{families, MetricSet};
            let mut set = MetricSet::new();
            families::run_info(&mut set, "links", Some(&mpi_info(world)));
            families::links(&mut set, &[], &rep.matrix, |_| vec![]);
            families::findings(&mut set, &[], &rep.findings);
            set
        });
    }
    Ok(everyone(world, code))
}
