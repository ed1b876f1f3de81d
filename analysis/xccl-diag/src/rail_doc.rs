//! The document `links` per device writes (`kind` "rail-links"): the compact
//! [`RailLinksReport`] flattened, plus the hosts, the NIC of every device and how that is
//! known, the re-measurements and the findings. Defined here, beside the record it
//! extends, so that readers (`xccl-bench report`) take it without the runtime.

use crate::links::Recheck;
use crate::rail_plan::RailLinksReport;
use serde::{Deserialize, Serialize};
use xccl_schema::Finding;

/// How the NIC of each device is known.
pub const NIC_FROM_TOPOLOGY: &str = "topology affinity (device_nic)";

/// One NIC of one node: which devices (ranks) use it, by what the topology says, and
/// what their environment binds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NicUse {
    pub host: String,
    pub rail: usize,
    pub nic: String,
    pub leaf: String,
    pub devices: Vec<usize>,
    pub ranks: Vec<usize>,
    pub known_from: String,
    /// `VAR=value` of the NIC binding variables set in those ranks' environment.
    pub bound: Vec<String>,
}

/// The JSON of `links` per device (`kind` "rail-links").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RailLinksDoc {
    #[serde(flatten)]
    pub report: RailLinksReport,
    /// The topology file the links were judged against, as given to `links`.
    pub topology: String,
    pub hosts: Vec<String>,
    pub nics: Vec<NicUse>,
    /// Fraction of expected below which a link is low.
    pub threshold: f64,
    pub wall_s: f64,
    pub confirm_s: f64,
    pub rechecks: Vec<Recheck>,
    pub unconfirmed: Vec<Finding>,
    pub findings: Vec<Finding>,
}
