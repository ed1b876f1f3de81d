//! Every file `xccl-bench report` takes: benchmark results (ours, or nccl-tests' and
//! hccl_test's outputs imported by `xccl_schema::import`), link matrices, predictions
//! and simulated training steps, told apart by `xccl_schema::read::kind_of` and read into
//! the types of the crates that define them. Reading is the only I/O of this crate: the
//! declared switch grouping of a link matrix is looked up here, in the topology file the
//! matrix was judged against, so that the HTML stays a pure function of the data.

use std::path::Path;
use xccl_diag::leaf::{ValidateReport, VALIDATE_SCHEMA_VERSION};
use xccl_diag::links::{LinksReport, LINKS_SCHEMA_VERSION};
use xccl_schema::read::{self, Kind, ReadError};
use xccl_schema::Report;
use xccl_train::output::{PredictionReport, TrainSimReport, SCHEMA_VERSION as TRAIN_VERSION};

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

/// What one report is built from.
#[derive(Default)]
pub struct Inputs {
    pub runs: Vec<Run>,
    pub links: Vec<LinksFile>,
    pub predictions: Vec<Named<PredictionReport>>,
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
        }
        Ok(kind)
    }
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
