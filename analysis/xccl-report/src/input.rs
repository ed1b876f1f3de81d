//! Every file `xccl-bench report` takes: benchmark results (ours, or nccl-tests' and
//! hccl_test's outputs imported by `xccl_schema::import`), link matrices, predictions
//! and simulated training steps, told apart by `xccl_schema::read::kind_of` and read into
//! the types of the crates that define them. Reading is the only I/O of this crate: the
//! declared switch grouping of a link matrix is looked up here, in the topology file the
//! matrix was judged against, so that the HTML stays a pure function of the data.

use std::path::Path;
use xccl_diag::leaf::{ValidateReport, VALIDATE_SCHEMA_VERSION};
use xccl_diag::links::{LinksReport, LINKS_SCHEMA_VERSION};
use xccl_diag::rail_doc::RailLinksDoc;
use xccl_diag::rail_plan::{tri_index, RAIL_LINKS_SCHEMA_VERSION};
use xccl_diag::rails::{InterLink, IntraLink, Port};
use xccl_schema::health::{HealthReport, HEALTH_SCHEMA_VERSION};
use xccl_schema::read::{self, Kind, ReadError};
use xccl_schema::{Finding, Report};
use xccl_train::output::{
    PredictionReport, SearchReport, TrainSimReport, UtilisationReport,
    SCHEMA_VERSION as TRAIN_VERSION,
};

/// One benchmark result file.
pub struct Run {
    /// How the report names the run (the file name).
    pub name: String,
    pub report: Report,
}

/// A file's data and the name the report gives it (the file name).
#[derive(Clone, Debug)]
pub struct Named<T> {
    pub name: String,
    pub data: T,
}

/// Nodes on one leaf switch.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub switch: String,
    pub nodes: Vec<String>,
}

/// A link matrix with the switch grouping its topology declares for its hosts.
#[derive(Clone, Debug)]
pub struct LinksFile {
    pub name: String,
    pub report: LinksReport,
    /// The declared grouping, or why there is none (no topology, file not readable here).
    pub declared: Result<Vec<Group>, String>,
}

/// Efficiency (one way, measured over expected) and whether it is low, of one link.
pub type Judged = (f64, bool);

/// The links of a rail-links file judged against its topology, as `links` judged them
/// ([`xccl_diag::rails::judge`] at the file's threshold), from the rates the file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct RailJudged {
    /// Per rail, per node pair ([`tri_index`]); `None` where not measured.
    pub rails: Vec<Vec<Option<Judged>>>,
    /// In the order of the file's `cross`.
    pub cross: Vec<Judged>,
    /// In the order of the file's `intra`.
    pub intra: Vec<Judged>,
}

/// A rail-links file and its links judged, or why they are not (topology not readable).
#[derive(Clone, Debug)]
pub struct RailLinksFile {
    pub name: String,
    pub doc: RailLinksDoc,
    pub judged: Result<RailJudged, String>,
}

/// `links --screen --json` (written by the runtime as a bare object; read here).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct ScreenDoc {
    pub hosts: Vec<String>,
    pub rounds: usize,
    pub suspects: Vec<String>,
    pub wall_s: f64,
    pub log: Vec<String>,
    pub findings: Vec<Finding>,
}

/// What one report is built from.
#[derive(Default)]
pub struct Inputs {
    pub runs: Vec<Run>,
    pub links: Vec<LinksFile>,
    pub rail_links: Vec<RailLinksFile>,
    pub screens: Vec<Named<ScreenDoc>>,
    pub health: Vec<Named<HealthReport>>,
    pub predictions: Vec<Named<PredictionReport>>,
    pub utilisations: Vec<Named<UtilisationReport>>,
    pub searches: Vec<Named<SearchReport>>,
    pub sims: Vec<Named<TrainSimReport>>,
    pub validations: Vec<Named<ValidateReport>>,
}

impl Inputs {
    /// Benchmark results only.
    pub fn runs(runs: Vec<Run>) -> Inputs {
        Inputs {
            runs,
            ..Inputs::default()
        }
    }

    /// Reads `path`, whatever xccl-bench file it is, and adds it; the kind read.
    pub fn add_file(&mut self, path: &Path) -> Result<Kind, ReadError> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        );
        let v = match read::read_file(path)? {
            read::Loaded::Json(v) => v,
            read::Loaded::Imported(report) => {
                self.runs.push(Run {
                    name,
                    report: *report,
                });
                return Ok(Kind::Result);
            }
        };
        let kind = read::kind_of(&v, path)?;
        match kind {
            Kind::Result => self.runs.push(Run {
                name,
                report: read::report_from_value(v, path)?,
            }),
            Kind::Links => {
                let report: LinksReport = read::parse_kind(v, path, kind, LINKS_SCHEMA_VERSION)?;
                let declared = declared_grouping(&report);
                self.links.push(LinksFile {
                    name,
                    report,
                    declared,
                })
            }
            Kind::Prediction => self.predictions.push(Named {
                name,
                data: read::parse_kind(v, path, kind, TRAIN_VERSION)?,
            }),
            Kind::TrainSim => self.sims.push(Named {
                name,
                data: read::parse_kind(v, path, kind, TRAIN_VERSION)?,
            }),
            Kind::TopoValidate => self.validations.push(Named {
                name,
                data: read::parse_kind(v, path, kind, VALIDATE_SCHEMA_VERSION)?,
            }),
            Kind::RailLinks => {
                let doc: RailLinksDoc = read::parse_kind(v, path, kind, RAIL_LINKS_SCHEMA_VERSION)?;
                let judged = xccl_topo::Topology::load(Path::new(&doc.topology))
                    .map_err(|e| format!("the topology of the links cannot be read here: {e}"))
                    .and_then(|t| judge_rails(&doc, &t));
                self.rail_links.push(RailLinksFile { name, doc, judged })
            }
            Kind::LinksScreen => self.screens.push(Named {
                name,
                data: read::parse_kind(v, path, kind, 1)?,
            }),
            Kind::Health => self.health.push(Named {
                name,
                data: read::parse_kind(v, path, kind, HEALTH_SCHEMA_VERSION)?,
            }),
            Kind::Utilisation => self.utilisations.push(Named {
                name,
                data: read::parse_kind(v, path, kind, TRAIN_VERSION)?,
            }),
            Kind::LayoutSearch => self.searches.push(Named {
                name,
                data: read::parse_kind(v, path, kind, TRAIN_VERSION)?,
            }),
        }
        Ok(kind)
    }
}

/// Judges the links of `doc` against topology `t` with the rule `links` applies
/// ([`xccl_diag::rails::judge`]: expected from the slower NIC and, between leaves, the
/// uplinks shared in the link's round), from the rates the file holds (same-rail links
/// rounded to 1 MB/s there: a link within that of the threshold may be judged otherwise).
pub fn judge_rails(doc: &RailLinksDoc, t: &xccl_topo::Topology) -> Result<RailJudged, String> {
    let r = &doc.report;
    let nodes: Vec<usize> = doc
        .hosts
        .iter()
        .map(|h| {
            t.nodes
                .iter()
                .position(|n| n == h)
                .ok_or_else(|| format!("host `{h}` is not in topology {}", t.name))
        })
        .collect::<Result<_, _>>()?;
    let (fabric, _) = xccl_diag::rail_topo::rail_fabric(t, &nodes)?;
    if fabric.rails != r.rails.len() || nodes.len() != r.nodes {
        return Err(format!(
            "topology {} has {} rail(s) for {} node(s); the file {} for {}",
            t.name,
            fabric.rails,
            nodes.len(),
            r.rails.len(),
            r.nodes
        ));
    }
    let n = r.nodes;
    let devices = r.rail_of_device.len().max(1);
    let mut inter = vec![];
    let mut at = vec![]; // (rail, triangle index) of each same-rail link
    for m in &r.rails {
        for a in 0..n {
            for b in a + 1..n {
                let i = tri_index(n, a, b);
                if let Some(mb) = m.uni_mb_per_s.get(i).copied().flatten() {
                    inter.push(InterLink {
                        a: Port {
                            node: a,
                            rail: m.rail,
                        },
                        b: Port {
                            node: b,
                            rail: m.rail,
                        },
                        round: xccl_diag::schedule::circle_round_of(n, a, b),
                        gbs: f64::from(mb) / 1000.0,
                    });
                    at.push((m.rail, i));
                }
            }
        }
    }
    let same = inter.len();
    for l in &r.cross {
        inter.push(InterLink {
            a: Port {
                node: l.node_a,
                rail: l.rail_a,
            },
            b: Port {
                node: l.node_b,
                rail: l.rail_b,
            },
            round: l.round + r.rounds.rail,
            gbs: l.uni_gbs,
        });
    }
    let intra: Vec<IntraLink> = r
        .intra
        .iter()
        .map(|l| IntraLink {
            node: l.node_a,
            i: l.a % devices,
            j: l.b % devices,
            gbs: l.uni_gbs,
        })
        .collect();
    let m = xccl_diag::rails::judge(&fabric, &inter, &intra, doc.threshold);
    let j: Vec<Judged> = m
        .matrix
        .links
        .iter()
        .map(|l| (l.efficiency, l.low))
        .collect();
    let pairs = n * n.saturating_sub(1) / 2;
    let mut rails = vec![vec![None; pairs]; r.rails.len()];
    for (k, &(rail, i)) in at.iter().enumerate() {
        if let Some(row) = rails.get_mut(rail) {
            row[i] = Some(j[k]);
        }
    }
    Ok(RailJudged {
        rails,
        cross: j[same..inter.len()].to_vec(),
        intra: j[inter.len()..].to_vec(),
    })
}

/// The leaf switch of each host of `l`, from the topology file its matrix was judged
/// against (`matrix.expected_from` = "topology FILE"), grouped by switch in the file's
/// order; hosts on no declared switch form a group named "(no switch declared)".
pub fn declared_grouping(l: &LinksReport) -> Result<Vec<Group>, String> {
    let Some(file) = l.matrix.expected_from.strip_prefix("topology ") else {
        return Err(format!(
            "no topology was given to `links` (expected rates from: {})",
            if l.matrix.expected_from.is_empty() {
                "?"
            } else {
                &l.matrix.expected_from
            }
        ));
    };
    let t = xccl_topo::Topology::load(Path::new(file))
        .map_err(|e| format!("the topology of the matrix cannot be read here: {e}"))?;
    Ok(group_hosts(&t, &l.hosts))
}

/// `hosts` by the leaf switch `t` declares for each.
pub fn group_hosts(t: &xccl_topo::Topology, hosts: &[String]) -> Vec<Group> {
    let mut groups: Vec<Group> = vec![];
    let mut push = |sw: String, h: &String| match groups.iter_mut().find(|g| g.switch == sw) {
        Some(g) => g.nodes.push(h.clone()),
        None => groups.push(Group {
            switch: sw,
            nodes: vec![h.clone()],
        }),
    };
    for h in hosts {
        let leaf = t
            .nodes
            .iter()
            .position(|n| n == h)
            .and_then(|i| t.leaf_of_node.get(i).copied().flatten())
            .map(|s| t.switches[s].name.clone());
        push(leaf.unwrap_or_else(|| "(no switch declared)".into()), h);
    }
    groups
}

/// The grouping inferred from a link matrix alone: none, since `links` measures one pair
/// per uplink direction at a time and so never loads an uplink with several flows. The
/// inference by contention is `topo validate`'s ([`xccl_diag::leaf`]); its file gets its
/// own section of the report.
pub fn inferred_grouping(_l: &LinksReport) -> Option<Vec<Group>> {
    None
}
