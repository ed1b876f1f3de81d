//! What `links` per device writes: the JSON document (the compact
//! [`RailLinksReport`] flattened, plus hosts, the NIC of every device and how that is
//! known, the re-measurements and the findings) and the table (one matrix per rail, one
//! per node for its device pairs, the cross-rail samples summed up).
//!
//! Which NIC a pair used: the topology's device→NIC affinity (`device_nic`) names the
//! NIC of each device; xccl-bench does not ask the library which NIC it chose. What the
//! rank's environment binds (`NCCL_IB_HCA`, `UCX_NET_DEVICES`, Open MPI's
//! `btl_tcp_if_include`, ...) is recorded beside it, and a binding that names another
//! NIC is reported on stderr: then the measured NIC is not the one the finding names.
#![cfg(feature = "mpi")]

use crate::backend::BackendKind;
use crate::error::say;
use crate::world::{allgather_bytes, World};
use std::fmt::Write;
use xccl_diag::rail_plan::Phase;
use xccl_diag::rails::{Ends, RailFabric, RailMatrix};
use xccl_schema::Finding;

/// Environment variables by which a library is told which NIC(s) to use.
const BINDING_VARS: [&str; 6] = [
    "NCCL_IB_HCA",
    "NCCL_SOCKET_IFNAME",
    "HCCL_SOCKET_IFNAME",
    "UCX_NET_DEVICES",
    "OMPI_MCA_btl_tcp_if_include",
    "OMPI_MCA_btl_openib_if_include",
];

/// The document and its NIC records, defined in xccl-diag so that `report` reads them.
pub use xccl_diag::rail_doc::{NicUse, RailLinksDoc as Doc, NIC_FROM_TOPOLOGY};

/// Every rank's binding variables, on every rank (collective).
pub fn bindings(world: &dyn World, _backend: BackendKind) -> Vec<Vec<String>> {
    let mine: Vec<String> = BINDING_VARS
        .iter()
        .filter_map(|v| std::env::var(v).ok().map(|x| format!("{v}={x}")))
        .collect();
    allgather_bytes(world, &serde_json::to_vec(&mine).expect("json"))
        .iter()
        .map(|b| serde_json::from_slice(b).expect("bindings"))
        .collect()
}

/// The NIC of every (node, rail), with provenance; warns (rank 0) where a rank's binding
/// names none of its NIC's names.
/// `world_rank`: plan rank (node · devices + device) → world rank.
pub fn nic_uses(f: &RailFabric, world_rank: &[usize], bound: &[Vec<String>]) -> Vec<NicUse> {
    let per_node: usize = f
        .nic_devices
        .first()
        .map_or(0, |n| n.iter().map(Vec::len).sum());
    let mut out = vec![];
    for (n, host) in f.nodes.iter().enumerate() {
        for rail in 0..f.rails {
            let devices = f.nic_devices[n][rail].clone();
            let ranks: Vec<usize> = devices
                .iter()
                .map(|&d| world_rank[n * per_node + d])
                .collect();
            let nic = f.nic_names[n][rail].clone();
            let mut b: Vec<String> = ranks.iter().flat_map(|&r| bound[r].clone()).collect();
            b.sort();
            b.dedup();
            for v in &b {
                let value = v.split_once('=').map_or("", |x| x.1);
                // Interface or HCA names (`mlx5_0:1`, `=mlx5_0`, `eth0,eth1`); a subnet
                // (`10.1.0.0/24`) cannot be checked against a name here.
                let words: Vec<&str> = value
                    .split([',', ':', '^', '='])
                    .filter(|w| !w.is_empty())
                    .collect();
                let subnet = words.iter().any(|w| w.contains('/'));
                let names_it = words.iter().any(|&w| w == nic || nic.starts_with(w));
                if !names_it && !subnet {
                    say(&format!(
                        "links: warning: {host} rank(s) {ranks:?} bind {v} but --topology says \
                         their NIC is {nic}: the NIC measured may not be the one named"
                    ));
                }
            }
            out.push(NicUse {
                host: host.clone(),
                rail,
                nic,
                leaf: f.leaf_names[f.nic_leaf[n][rail]].clone(),
                devices,
                ranks,
                known_from: NIC_FROM_TOPOLOGY.into(),
                bound: b,
            });
        }
    }
    out
}

/// With `--backend mpi`, a finding that names a NIC no rank was bound to says so: MPI on
/// host memory picks its own interface, so the NIC is the one the device should use,
/// not one known to have carried the bytes.
pub fn caveat_unbound(findings: &mut [Finding], nics: &[NicUse], backend: &str) {
    if backend != "mpi" {
        return;
    }
    for f in findings {
        if let xccl_schema::finding::Subject::Nic { host, nic, .. } = &f.subject {
            let unbound = nics
                .iter()
                .any(|u| u.host == *host && u.nic == *nic && u.bound.is_empty());
            if unbound {
                f.evidence.push_str(
                    "; the NIC is named from the topology's device_nic only: MPI was not bound \
                     to it (btl_tcp_if_include / UCX_NET_DEVICES per rank) and may have used \
                     another interface",
                );
            }
        }
    }
}

/// Matrices are printed up to this many nodes; larger clusters get one line per rail.
const MATRIX_NODES: usize = 16;

/// `uni GB/s` and a `*` when low, for link `i` of `m`.
fn cell(m: &RailMatrix, i: usize) -> String {
    let l = &m.matrix.links[i];
    format!("{:.3}{}", l.uni_gbs, if l.low { "*" } else { "" })
}

fn summary(m: &RailMatrix, idx: &[usize]) -> String {
    let mut e: Vec<f64> = idx.iter().map(|&i| m.matrix.links[i].efficiency).collect();
    e.sort_by(f64::total_cmp);
    let low = idx.iter().filter(|&&i| m.matrix.links[i].low).count();
    match (e.first(), e.get(e.len() / 2)) {
        (Some(lo), Some(mid)) => format!(
            "{} links, efficiency min {lo:.2} median {mid:.2}, {low} low",
            idx.len()
        ),
        _ => "no links".into(),
    }
}

/// A square table: `rows` labels, `at(r, c)` the cell (empty: not measured).
fn square(out: &mut String, labels: &[String], at: impl Fn(usize, usize) -> Option<String>) {
    let w = labels.iter().map(String::len).max().unwrap_or(0).max(8);
    let _ = write!(out, "  {:w$}", "");
    for l in labels {
        let _ = write!(out, " {l:>w$}");
    }
    out.push('\n');
    for (r, l) in labels.iter().enumerate() {
        let _ = write!(out, "  {l:w$}");
        for c in 0..labels.len() {
            let _ = write!(out, " {:>w$}", at(r, c).unwrap_or_else(|| "-".into()));
        }
        out.push('\n');
    }
}

/// The table: per rail a node × node matrix of one-way GB/s (row sends), per node its
/// device pairs, the cross-rail samples summed up, then confirmation and findings.
pub fn render(doc: &Doc, f: &RailFabric, m: &RailMatrix, inter_phase: &[Phase]) -> String {
    let mut out = String::new();
    let r = &doc.report;
    let _ = writeln!(
        out,
        "# links per device ({}): {} nodes × {} devices, one-way GB/s (row sends), * below {:.2} of expected; NIC of each device: {NIC_FROM_TOPOLOGY}",
        r.backend, r.nodes, f.rails, doc.threshold
    );
    let by_phase = |p: Phase| -> Vec<usize> {
        (0..inter_phase.len())
            .filter(|&i| inter_phase[i] == p)
            .collect()
    };
    let rail_links = by_phase(Phase::Rail);
    for rail in 0..f.rails {
        let idx: Vec<usize> = rail_links
            .iter()
            .copied()
            .filter(|&i| matches!(m.ends[i], Ends::Inter(a, _) if a.rail == rail))
            .collect();
        let nic = &f.nic_names[0][rail];
        let _ = writeln!(out, "## rail {rail} ({nic}): {}", summary(m, &idx));
        if r.nodes <= MATRIX_NODES && !idx.is_empty() {
            square(&mut out, &f.nodes, |a, b| {
                idx.iter().copied().find_map(|i| match m.ends[i] {
                    Ends::Inter(x, y) if x.node == a && y.node == b => Some(cell(m, i)),
                    _ => None,
                })
            });
        }
    }
    let cross = by_phase(Phase::Cross);
    if !cross.is_empty() {
        let _ = writeln!(out, "## cross-rail samples: {}", summary(m, &cross));
    }
    let intra: Vec<usize> = (inter_phase.len()..m.ends.len()).collect();
    if !intra.is_empty() {
        let _ = writeln!(out, "## intra-node device pairs: {}", summary(m, &intra));
        if r.nodes <= MATRIX_NODES {
            let labels: Vec<String> = (0..f.rails).map(|d| format!("dev{d}")).collect();
            for (n, host) in f.nodes.iter().enumerate() {
                let _ = writeln!(out, "### {host}");
                square(&mut out, &labels, |a, b| {
                    intra.iter().copied().find_map(|i| match m.ends[i] {
                        Ends::Intra { node, i: x, j: y } if node == n && x == a && y == b => {
                            Some(cell(m, i))
                        }
                        _ => None,
                    })
                });
            }
        }
    }
    let _ = writeln!(
        out,
        "# rounds: {} same-rail (circle method, all rails at once), {} cross-rail, {} intra-node; {:.2} s",
        r.rounds.rail, r.rounds.cross, r.rounds.intra, doc.wall_s
    );
    if !doc.rechecks.is_empty() {
        let _ = writeln!(
            out,
            "# confirmation: {} link(s) measured again alone, {} times each (median), {:.2} s",
            doc.rechecks.len(),
            xccl_diag::links::CONFIRM_REPEATS,
            doc.confirm_s
        );
    }
    for c in &doc.rechecks {
        let _ = writeln!(out, "# confirm {c}");
    }
    for u in &doc.unconfirmed {
        let _ = writeln!(out, "# not confirmed (no finding): {u}");
    }
    if doc.findings.is_empty() {
        let _ = writeln!(out, "# no finding");
    }
    for x in &doc.findings {
        let _ = writeln!(out, "finding: {x}");
    }
    out
}

/// What `links --screen` per device ([`super::rail_screen`]) hands to the per-device test
/// of its suspects ([`super::rails::run_on`]), and writes around it (rank 0's lines).
pub struct ScreenDone {
    pub log: Vec<String>,
    pub rounds: usize,
    /// Rounds of the full per-device plan of every node.
    pub full_rounds: usize,
    pub hosts: Vec<String>,
    pub suspects: Vec<String>,
    pub sample: Vec<String>,
    pub confirmed_on: Vec<String>,
    pub wall_s: f64,
}

impl ScreenDone {
    pub fn print_log(&self) {
        for l in &self.log {
            println!("{l}");
        }
    }

    /// The rounds: the screen's, the full plan's, the confirmation's (`rounds` of it).
    pub fn print_summary(&self, rounds: usize, confirm_s: f64) {
        println!(
            "# screen: {} round(s) (full per-device plan: {}), then {rounds} round(s) of the per-device test of [{}], {:.2} s",
            self.rounds,
            self.full_rounds,
            self.confirmed_on.join(" "),
            self.wall_s + confirm_s
        );
    }

    /// The JSON (`kind` "links-screen", `per_device` true); `confirmation`: the
    /// "rail-links" document of the per-device test of the suspects.
    pub fn json(
        &self,
        rounds: usize,
        findings: &[Finding],
        confirmation: Option<&Doc>,
    ) -> serde_json::Value {
        serde_json::json!({
            "tool": "xccl-bench", "kind": "links-screen", "per_device": true,
            "hosts": self.hosts, "rounds": self.rounds, "full_plan_rounds": self.full_rounds,
            "confirmation_rounds": rounds, "suspects": self.suspects, "sample": self.sample,
            "confirmed_on": self.confirmed_on, "wall_s": self.wall_s, "log": self.log,
            "findings": findings, "confirmation": confirmation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xccl_schema::finding::{FindingKind, Subject};

    fn nic(host: &str, nic: &str, bound: &[&str]) -> NicUse {
        NicUse {
            host: host.into(),
            rail: 0,
            nic: nic.into(),
            leaf: "rail0".into(),
            devices: vec![0],
            ranks: vec![0],
            known_from: NIC_FROM_TOPOLOGY.into(),
            bound: bound.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn slow_nic(host: &str, n: &str) -> Finding {
        Finding {
            kind: FindingKind::SlowNic,
            subject: Subject::Nic {
                host: host.into(),
                nic: n.into(),
                rail: 0,
                devices: vec!["dev0".into()],
                behaves_as_rail: None,
            },
            evidence: "low".into(),
            metrics: Default::default(),
        }
    }

    #[test]
    fn an_unbound_nic_under_mpi_is_named_with_its_caveat_only() {
        let nics = [
            nic("a", "eth0", &[]),
            nic("b", "eth0", &["OMPI_MCA_btl_tcp_if_include=eth0"]),
        ];
        let mut f = vec![slow_nic("a", "eth0"), slow_nic("b", "eth0")];
        caveat_unbound(&mut f, &nics, "mpi");
        assert!(f[0].evidence.contains("may have used another interface"));
        assert_eq!(f[1].evidence, "low", "bound: no caveat");
        let mut g = vec![slow_nic("a", "eth0")];
        caveat_unbound(&mut g, &nics, "nccl");
        assert_eq!(g[0].evidence, "low", "the library chooses by affinity");
    }
}
