//! `xccl-bench links`: the pairwise link matrix (issue 8, item 3).
//!
//! A collective's busbw says that something is slow, not what. This command measures
//! every link alone, all disjoint pairs of a round at once (the circle method of
//! `xccl_diag::schedule`: N−1 rounds for even N instead of N(N−1)/2 one after the other):
//! between nodes, one rank per node (each node's local rank 0); within nodes, every device
//! pair, all nodes in parallel. Each pair measures latency (8-byte ping-pong), one
//! direction, then both directions at once; a world barrier starts every phase so that the
//! pairs of a round really overlap. After the rounds, every suspect's lowest links are
//! measured again alone, one after the other, three times each (median): a finding is
//! reported only when that confirms it (a loaded host once made one pair of a healthy
//! cluster look slow in its round). The decision (expected rates, attribution to a slow
//! node, uplink or link, confirmation) is `xccl_diag::links`, which knows nothing of MPI.

use crate::error::{BenchError, Result};
use crate::types::parse_size;
use crate::world::World;
use clap::Args;
#[cfg(feature = "mpi")]
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct LinksArgs {
    /// Expected rates from this topology file (NICs, switch uplinks and their
    /// oversubscription); without it each link is judged against the median of its class.
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
    /// The O(log N) screen instead of every pair: halves of the nodes run a ring at once,
    /// groups that fall short are halved again, suspects are confirmed pairwise (needs
    /// --topology). Prints the rounds used.
    #[arg(long)]
    pub screen: bool,
    /// Write the matrix and findings to FILE (JSON).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// What `--json` writes (typed in xccl-diag, so that `report` reads it back).
pub use xccl_diag::links::LinksReport;

/// One side's measurement of one pair.
#[cfg(feature = "mpi")]
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

#[cfg(not(feature = "mpi"))]
pub fn run(_world: &dyn World, _a: &LinksArgs) -> Result<i32> {
    Err(BenchError::Unsupported(
        "links: this binary was built without MPI (--no-default-features)".into(),
    ))
}

#[cfg(feature = "mpi")]
pub fn run(world: &dyn World, a: &LinksArgs) -> Result<i32> {
    if a.screen {
        return crate::screen::run(world, a);
    }
    use crate::world::{agree, MpiWorld};
    use std::time::Instant;
    use xccl_diag::links::{self as dl, Fabric, Link, Matrix};
    use xccl_schema::LinkClass;

    let mw = world
        .as_any()
        .downcast_ref::<MpiWorld>()
        .ok_or_else(|| BenchError::Launch("links needs an MPI world".into()))?;
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
        if a.size == 0 || a.iters == 0 {
            return Err(BenchError::Usage(
                "links: --size and --iters must be at least 1".into(),
            ));
        }
        if let Some(t) = a.threshold {
            if !(t > 0.0 && t <= 1.0) {
                return Err(BenchError::Usage(format!(
                    "links: --threshold {t} must be in (0, 1]"
                )));
            }
        }
        let Some(path) = &a.topology else {
            return Ok(None);
        };
        let t = xccl_topo::Topology::load(path).map_err(|e| BenchError::Usage(e.to_string()))?;
        fabric_for(&t, &hosts).map(Some)
    })();
    let fabric = agree(world, setup)?;

    // Schedules: inter-node rounds over nodes; intra-node rounds over local indices.
    let inter: Vec<Vec<(usize, usize)>> = if a.serial {
        (0..nn)
            .flat_map(|x| (x + 1..nn).map(move |y| vec![(x, y)]))
            .collect()
    } else {
        xccl_diag::schedule::circle(nn)
    };
    let max_local = ranks_on.iter().map(Vec::len).max().unwrap_or(0);
    let intra = xccl_diag::schedule::circle(max_local);
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
        if let (Some((q, is_a)), Some(r)) = (peer, rec.as_mut()) {
            r.uni_s = one_way(comm, q, is_a, &sbuf, &mut rbuf, a.iters);
        }
        world.barrier();
        if let (Some((q, _)), Some(r)) = (peer, rec.as_mut()) {
            r.bi_s = both_ways(comm, q, &sbuf, &mut rbuf_all, a.iters);
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
    let threshold = a
        .threshold
        .unwrap_or(xccl_schema::rules::BANDWIDTH_EFFICIENCY);
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
    let mut code = [0u8; 4];
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
        print!("{}", dl::render(&m));
        let serial_rounds = nn * nn.saturating_sub(1) / 2;
        println!(
            "# {} node pairs in {} rounds ({}; one pair at a time: {serial_rounds}), {} intra-node rounds, {wall_s:.2} s",
            serial_rounds,
            inter.len(),
            if a.serial { "serial" } else { "circle method" },
            intra.len()
        );
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
        let mut c = xccl_diag::exit_code(&rep.findings);
        if let Some(path) = &a.json {
            if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&rep).expect("json"))
            {
                eprintln!("xccl-bench: error: cannot write {}: {e}", path.display());
                c = 1;
            }
        }
        code = c.to_le_bytes();
    }
    world.broadcast_bytes(0, &mut code);
    Ok(i32::from_le_bytes(code))
}

/// Rank 0's `data` on every rank (length first, then the bytes).
#[cfg(feature = "mpi")]
fn share_from_0(world: &dyn World, mut data: Vec<u8>) -> Vec<u8> {
    let mut len = (data.len() as u64).to_le_bytes();
    world.broadcast_bytes(0, &mut len);
    data.resize(u64::from_le_bytes(len) as usize, 0);
    world.broadcast_bytes(0, &mut data);
    data
}

/// Ranks `x` → `y` one way, alone (every other rank waits at the barrier), `repeats`
/// times; each run's seconds (x's, with y's acknowledgement), on every rank. Collective:
/// every rank calls it.
#[cfg(feature = "mpi")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn alone(
    world: &dyn World,
    comm: &mpi::topology::SimpleCommunicator,
    x: usize,
    y: usize,
    sbuf: &[u8],
    rbuf: &mut [u8],
    iters: usize,
    repeats: usize,
) -> Vec<f64> {
    let me = world.rank();
    let size = sbuf.len();
    (0..repeats)
        .map(|_| {
            world.barrier();
            let mut t = 0.0;
            if me == x {
                t = one_way(comm, y, true, sbuf, &mut rbuf[..size], iters);
            } else if me == y {
                one_way(comm, x, false, sbuf, &mut rbuf[..size], iters);
            }
            let mut tb = t.to_le_bytes();
            world.broadcast_bytes(x, &mut tb);
            f64::from_le_bytes(tb)
        })
        .collect()
}

/// The topology's fabric indexed like `hosts` (the job's nodes).
pub fn fabric_for(t: &xccl_topo::Topology, hosts: &[String]) -> Result<xccl_diag::links::Fabric> {
    let mut f = xccl_diag::links::Fabric::from_topology(t);
    let idx: Vec<usize> = hosts
        .iter()
        .map(|h| {
            t.nodes.iter().position(|n| n == h).ok_or_else(|| {
                BenchError::Usage(format!(
                    "--topology {}: host `{h}` of this job is not among its hosts ({})",
                    t.name,
                    t.nodes.join(", ")
                ))
            })
        })
        .collect::<Result<_>>()?;
    f.nic_gbs = idx.iter().map(|&i| f.nic_gbs[i]).collect();
    f.leaf = idx.iter().map(|&i| f.leaf[i]).collect();
    Ok(f)
}

#[cfg(feature = "mpi")]
fn pingpong(comm: &mpi::topology::SimpleCommunicator, peer: usize, is_a: bool) -> f64 {
    use mpi::point_to_point::{Destination, Source};
    use mpi::topology::Communicator;
    const REPS: usize = 10;
    let p = comm.process_at_rank(peer as i32);
    let mut b = [0u8; 8];
    // The first exchanges open the connection; then average half round trips.
    for _ in 0..2 {
        if is_a {
            p.send(&b[..]);
            p.receive_into(&mut b[..]);
        } else {
            p.receive_into(&mut b[..]);
            p.send(&b[..]);
        }
    }
    let t1 = std::time::Instant::now();
    for _ in 0..REPS {
        if is_a {
            p.send(&b[..]);
            p.receive_into(&mut b[..]);
        } else {
            p.receive_into(&mut b[..]);
            p.send(&b[..]);
        }
    }
    t1.elapsed().as_secs_f64() * 1e6 / (2 * REPS) as f64
}

/// a sends `iters` messages to b after one warm-up; b acknowledges the last one. The
/// time is a's (the sender's), acknowledgement included.
#[cfg(feature = "mpi")]
pub(crate) fn one_way(
    comm: &mpi::topology::SimpleCommunicator,
    peer: usize,
    is_a: bool,
    sbuf: &[u8],
    rbuf: &mut [u8],
    iters: usize,
) -> f64 {
    use mpi::point_to_point::{Destination, Source};
    use mpi::topology::Communicator;
    let p = comm.process_at_rank(peer as i32);
    let mut ack = [0u8; 1];
    let mut t = 0.0;
    for k in 0..2 {
        let n = if k == 0 { 1 } else { iters };
        let t0 = std::time::Instant::now();
        if is_a {
            for _ in 0..n {
                p.send(sbuf);
            }
            p.receive_into(&mut ack[..]);
        } else {
            for _ in 0..n {
                p.receive_into(&mut *rbuf);
            }
            p.send(&ack[..]);
        }
        t = t0.elapsed().as_secs_f64();
    }
    t
}

/// Both send and receive `iters` messages at once with `peer`; this side's time.
#[cfg(feature = "mpi")]
fn both_ways(
    comm: &mpi::topology::SimpleCommunicator,
    peer: usize,
    sbuf: &[u8],
    rbuf: &mut [u8],
    iters: usize,
) -> f64 {
    exchange(comm, peer, peer, sbuf, rbuf, iters)
}

/// Sends `iters` messages to `to` and receives as many from `from`, every message posted
/// up front so that the rendezvous handshakes of the next message do not wait for the
/// previous one (waiting per message halved the rate on the emulated links), after one
/// warm-up exchange; this rank's time for the timed ones. `links` runs it with one peer
/// both ways, the screen around a ring.
#[cfg(feature = "mpi")]
pub(crate) fn exchange(
    comm: &mpi::topology::SimpleCommunicator,
    to: usize,
    from: usize,
    sbuf: &[u8],
    rbuf: &mut [u8],
    iters: usize,
) -> f64 {
    use mpi::point_to_point::{Destination, Source};
    use mpi::request::{scope, WaitGuard};
    use mpi::topology::Communicator;
    let (pt, pf) = (
        comm.process_at_rank(to as i32),
        comm.process_at_rank(from as i32),
    );
    let size = sbuf.len();
    let mut t = 0.0;
    for n in [1, iters] {
        let t0 = std::time::Instant::now();
        scope(|s| {
            let mut guards = Vec::with_capacity(2 * n);
            for chunk in rbuf[..n * size].chunks_mut(size) {
                guards.push(WaitGuard::from(pf.immediate_receive_into(s, chunk)));
            }
            for _ in 0..n {
                guards.push(WaitGuard::from(pt.immediate_send(s, sbuf)));
            }
        });
        t = t0.elapsed().as_secs_f64();
    }
    t
}
