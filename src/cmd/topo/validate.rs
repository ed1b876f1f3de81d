//! `xccl-bench topo validate FILE`: do the nodes sit under the leaf switches the file
//! declares? Measured by contention (the rule and its limits: `xccl_diag::leaf`): every
//! ordered pair of nodes sends alone first (one after the other), then every two disjoint
//! flows run at once; flows that slow each other down share an uplink. Nodes are then
//! grouped by "never contends" and compared with the file: `misplaced_node` per node that
//! sits elsewhere than declared. Then every declared uplink is loaded with several flows
//! at once in each direction (`xccl_diag::uplink`: the aggregate against the topology's
//! flow model, judged at 0.8, and blamed only when the same nodes' flows inside their own
//! leaf are fine): `slow_uplink` per uplink slower than declared. One rank per node
//! carries the traffic (local rank 0).

#[cfg(feature = "mpi")]
use crate::cmd::diagnosis::{everyone, mpi_info, status, with_metrics};
use crate::error::{BenchError, Result};
#[cfg(feature = "mpi")]
use crate::rules::BANDWIDTH_EFFICIENCY;
use crate::world::World;
use std::path::Path;

/// Bytes per message and messages per flow: 2 MiB × 4 reaches the emulated links' rate.
pub const SIZE: usize = 2 << 20;
pub const ITERS: usize = 4;
/// Each contention test runs this many times; the best rate of each flow counts (a busy
/// host slows a flow now and then; an uplink shared by two flows slows it every time).
pub const REPS: usize = 2;
/// Messages per flow of an uplink load test (2 MiB each, after one warm-up message).
pub const UPLINK_ITERS: usize = 4;
/// An uplink test runs up to this many times, until one run reaches the threshold; the
/// run with the best aggregate counts (host load only ever slows a run down; a slow
/// uplink is slow every time).
pub const UPLINK_REPS: usize = 3;

#[cfg(not(feature = "mpi"))]
pub fn run(
    _world: &dyn World,
    _file: &Path,
    _json: Option<&Path>,
    _metrics: Option<&Path>,
    _slurm_out: Option<&Path>,
) -> Result<i32> {
    Err(BenchError::Unsupported(
        "topo validate: this binary was built without MPI".into(),
    ))
}

#[cfg(feature = "mpi")]
pub fn run(
    world: &dyn World,
    file: &Path,
    json: Option<&Path>,
    metrics: Option<&Path>,
    slurm_out: Option<&Path>,
) -> Result<i32> {
    use crate::probe::{one_way, Msgs};
    use crate::world::{agree, MpiWorld};
    use xccl_diag::{leaf, uplink};
    let mw = MpiWorld::of(world, "topo validate")?;
    let comm = mw.comm();
    let me = world.rank();
    let (all, hosts) = crate::world::job_layout(world);
    let leader: Vec<usize> = hosts
        .iter()
        .map(|h| all.iter().position(|(x, _)| x == h).expect("host"))
        .collect();
    let n = hosts.len();
    let declared = agree(
        world,
        (|| -> Result<Vec<String>> {
            let t = xccl_topo::Topology::load(file)?;
            let f = crate::probe::fabric_for(&t, &hosts)?;
            if n < 4 {
                return Err(BenchError::Usage(format!(
                    "topo validate: {n} node(s); telling leaves apart by contention needs two disjoint pairs, i.e. at least 4 nodes"
                )));
            }
            Ok(f.leaf
                .iter()
                .map(|l| l.map_or("-".into(), |s| t.switches[s].name.clone()))
                .collect())
        })(),
    )?;
    crate::cmd::diagnosis::check_metrics(world, metrics)?;
    let sbuf = vec![0x5au8; SIZE];
    let mut rbuf = vec![0u8; SIZE];
    // One phase: flows (from, to) at once; returns each flow's GB/s on its sender, on
    // rank 0 (gathered as f64 per rank: the rate of the flow it sent, else 0).
    let mut phase = |flows: &[(usize, usize)], iters: usize| -> Vec<f64> {
        world.barrier();
        let mut rate = 0.0;
        for &(a, b) in flows {
            if me == leader[a] {
                let (send, recv) = (&sbuf[..], &mut rbuf[..]);
                let s = one_way(comm, leader[b], true, Msgs { send, recv, iters });
                rate = (SIZE * iters) as f64 / s / 1e9;
            } else if me == leader[b] {
                let (send, recv) = (&sbuf[..], &mut rbuf[..]);
                one_way(comm, leader[a], false, Msgs { send, recv, iters });
            }
        }
        let g = world.gather_bytes(&rate.to_le_bytes());
        let per_rank: Vec<f64> = g
            .unwrap_or_default()
            .iter()
            .map(|b| f64::from_le_bytes(b[..8].try_into().expect("8 bytes")))
            .collect();
        flows
            .iter()
            .map(|&(a, _)| per_rank.get(leader[a]).copied().unwrap_or(0.0))
            .collect()
    };
    let start = std::time::Instant::now();
    // The tests, chosen with the declared leaves (every pair of disjoint flows up to a few
    // nodes, then O(N × leaves²): `leaf::plan_for`); each of their node pairs runs alone
    // first, in both directions (0: not run).
    let plan = leaf::plan_for(&declared);
    let mut used = vec![vec![false; n]; n];
    for &(a, b, c, d) in &plan {
        for (x, y) in [(a, b), (c, d)] {
            (used[x][y], used[y][x]) = (true, true);
        }
    }
    let flows_alone = used.iter().flatten().filter(|&&u| u).count();
    let mut alone = vec![vec![0.0; n]; n];
    for (a, row) in alone.iter_mut().enumerate() {
        for (b, rate) in row.iter_mut().enumerate() {
            if used[a][b] {
                *rate = phase(&[(a, b)], ITERS)[0];
            }
        }
    }
    // Best rate of each flow without contention (alone, or beside a flow it did not
    // contend with): the own-leaf check of the uplink rule.
    let mut best_rate = alone.clone();
    if me == 0 {
        // Say up front what the wait will be, from the pace of the flows just measured
        // (a test is REPS phases of two flows).
        let per_phase = start.elapsed().as_secs_f64() / flows_alone.max(1) as f64;
        crate::error::say(&format!(
            "xccl-bench: topo validate: {} contention tests of two flows at once x{REPS} next, about {:.0} s at the pace of the flows alone ({} with every pair of disjoint flows)",
            plan.len(),
            plan.len() as f64 * REPS as f64 * per_phase,
            leaf::exhaustive_count(n)
        ));
    }
    let mut tests = vec![];
    for &(a, b, c, d) in &plan {
        let mut best = (0.0f64, 0.0f64);
        for _ in 0..REPS {
            let r = phase(&[(a, b), (c, d)], ITERS);
            best = (best.0.max(r[0]), best.1.max(r[1]));
        }
        let t = leaf::Test {
            a,
            b,
            c,
            d,
            ab_share: best.0 / alone[a][b],
            cd_share: best.1 / alone[c][d],
        };
        if !t.contended() {
            best_rate[a][b] = best_rate[a][b].max(best.0);
            best_rate[c][d] = best_rate[c][d].max(best.1);
        }
        tests.push(t);
    }
    let contention_s = start.elapsed().as_secs_f64();
    let topo = xccl_topo::Topology::load(file)?;
    let topo_idx: Vec<usize> = hosts
        .iter()
        .map(|h| {
            topo.nodes
                .iter()
                .position(|x| x == h)
                .expect("checked above")
        })
        .collect();
    // Which flows can testify: best rate without contention over the model's rate alone.
    let alone_eff = leaf::alone_efficiency(&topo, &topo_idx, &best_rate);
    // Uplink load tests, planned on the declared topology.
    let up_tests = uplink::plan(&topo, &topo_idx);
    let mut up_measured = vec![];
    for ut in &up_tests {
        let mut best = uplink::Measured {
            aggregate_gbs: -1.0,
            flow_gbs: vec![],
        };
        for _ in 0..UPLINK_REPS {
            // Rates are known on rank 0 only: it decides for every rank.
            let mut done = [u8::from(
                best.aggregate_gbs >= crate::rules::BANDWIDTH_EFFICIENCY * ut.expected_gbs,
            )];
            world.broadcast_bytes(0, &mut done);
            if done[0] == 1 {
                break;
            }
            let r = phase(&ut.flows, UPLINK_ITERS);
            // All flows carry the same bytes: all bytes over the slowest flow's time.
            let agg = r.len() as f64 * r.iter().copied().fold(f64::INFINITY, f64::min);
            if agg > best.aggregate_gbs {
                best = uplink::Measured {
                    aggregate_gbs: agg,
                    flow_gbs: r,
                };
            }
        }
        up_measured.push(best);
    }
    let wall_s = start.elapsed().as_secs_f64();
    let mut code = 0;
    if me == 0 {
        let inference = leaf::infer(n, &tests, &alone_eff);
        let groups = &inference.groups;
        // Placements are judged only between leaves a test can tell apart by the file's
        // own rates (a non-blocking uplink never contends).
        let classes = leaf::leaf_classes(&topo, &topo_idx, &declared);
        let mut findings = leaf::compare(groups, &classes, &hosts);
        for f in findings.iter_mut() {
            if let xccl_diag::Subject::Placement {
                host, declared: d, ..
            } = &mut f.subject
            {
                if let Some(k) = hosts.iter().position(|h| h == host) {
                    d.clone_from(&declared[k]);
                }
            }
        }
        let mut merged: Vec<String> = classes
            .iter()
            .filter(|c| c.contains('+'))
            .cloned()
            .collect();
        merged.sort();
        merged.dedup();
        findings.extend(leaf::undetermined_findings(&inference.undetermined, &hosts));
        let misplaced: Vec<bool> = hosts
            .iter()
            .map(|h| {
                findings.iter().any(|f| {
                    matches!(&f.subject, xccl_diag::Subject::Placement { host, .. } if host == h)
                })
            })
            .collect();
        let own = uplink::own_leaf(&topo, &topo_idx, &best_rate);
        let (up_judged, up_findings) = uplink::diagnose(
            &topo,
            &topo_idx,
            &hosts,
            &up_tests,
            &up_measured,
            &own,
            &misplaced,
            crate::rules::BANDWIDTH_EFFICIENCY,
        );
        findings.extend(up_findings);
        println!(
            "# contention tests ({} flows alone, {} pairs of flows at once x{REPS}, {:.1} s); share = rate together / rate alone",
            flows_alone,
            plan.len(),
            contention_s
        );
        for t in &tests {
            println!(
                "  {} -> {} with {} -> {}: {:.2} {:.2}{}",
                hosts[t.a],
                hosts[t.b],
                hosts[t.c],
                hosts[t.d],
                t.ab_share,
                t.cd_share,
                if t.contended() { "  shared uplink" } else { "" }
            );
        }
        for g in groups {
            let names: Vec<&str> = g.iter().map(|&i| hosts[i].as_str()).collect();
            let decl: Vec<&str> = g.iter().map(|&i| declared[i].as_str()).collect();
            println!(
                "# measured leaf group: {} (declared: {})",
                names.join(", "),
                decl.join(", ")
            );
        }
        for u in &inference.undetermined {
            println!("# {}", leaf::undetermined_note(u, &hosts));
        }
        for m in &merged {
            println!(
                "# leaves {m}: by the file's rates two crossing flows do not slow each other down there (an uplink of 1.5 NICs or more), so contention cannot tell these leaves apart and a node placed wrongly among them is not detected"
            );
        }
        if !up_tests.is_empty() {
            println!(
                "# uplink load tests ({} MiB per flow, best of up to {UPLINK_REPS} runs, {:.1} s); aggregate GB/s over what the declared rates allow",
                (SIZE * UPLINK_ITERS) >> 20,
                wall_s - contention_s
            );
            print!(
                "{}",
                uplink::render(&topo, &hosts, &up_tests, &up_measured, &up_judged)
            );
        }
        if findings.is_empty() && !inference.undetermined.is_empty() {
            println!(
                "# no finding, but the placement of {} node(s) is not determinable (above)",
                inference.undetermined.len()
            );
        } else if findings.is_empty() {
            println!(
                "# no finding: every node sits where {} declares it{} and every uplink tested reaches {BANDWIDTH_EFFICIENCY} of its declared rate",
                file.display(),
                if merged.is_empty() { "" } else { " (among the leaves contention tells apart)" }
            );
        }
        for f in &findings {
            println!("finding: {f}");
        }
        // Rank 0 alone gets here: an error is said and becomes the exit status of every rank.
        let corrected = slurm_out.map(|out| {
            let groups = &inference.groups;
            super::slurm::write_corrected(&topo, file, &hosts, groups, &misplaced, out)
        });
        let doc = || {
            let name = |i: usize| hosts[i].clone();
            let doc = leaf::ValidateReport {
                tool: "xccl-bench".into(),
                kind: "topo-validate".into(),
                schema_version: leaf::VALIDATE_SCHEMA_VERSION,
                file: file.display().to_string(),
                hosts: hosts.clone(),
                declared: declared.clone(),
                wall_s,
                tests: tests
                    .iter()
                    .map(|t| leaf::TestRecord {
                        a: name(t.a),
                        b: name(t.b),
                        c: name(t.c),
                        d: name(t.d),
                        ab_share: t.ab_share,
                        cd_share: t.cd_share,
                        contended: t.contended(),
                    })
                    .collect(),
                groups: groups
                    .iter()
                    .map(|g| g.iter().map(|&i| name(i)).collect())
                    .collect(),
                undetermined: inference
                    .undetermined
                    .iter()
                    .map(|u| leaf::UndeterminedRecord {
                        host: name(u.node),
                        best_alone: u.best_alone,
                        note: leaf::undetermined_note(u, &hosts),
                    })
                    .collect(),
                uplinks: uplink::records(&topo, &hosts, &up_tests, &up_measured, &up_judged),
                indistinguishable: merged
                    .iter()
                    .map(|m| m.split('+').map(str::to_string).collect())
                    .collect(),
                findings: findings.clone(),
            };
            doc
        };
        code = status(&findings, json, doc);
        code = with_metrics(code, metrics, || {
            use crate::output::metrics::{analysis, families, MetricSet};
            let mut set = MetricSet::new();
            families::run_info(&mut set, "topo validate", Some(&mpi_info(world)));
            analysis::validate(&mut set, &[], &doc());
            set
        });
        if let Some(Err(e)) = corrected {
            crate::error::say(&format!("xccl-bench: error: --slurm-out: {e}"));
            code = crate::rules::ExitCode::Usage.code();
        }
    }
    Ok(everyone(world, code))
}
