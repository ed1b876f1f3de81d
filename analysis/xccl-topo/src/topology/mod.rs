//! The validated topology: what a cluster's links are, in the units the model uses.
//!
//! A [`Topology`] is only built by [`Topology::load`] / [`Topology::from_toml_str`] (which
//! check the file's internal consistency and point at the offending line) or by
//! [`Topology::detect`] (which builds one from the running job). Checking a file against the
//! running job — rank count, hostnames, devices — is [`Topology::validate`], the function
//! behind `xccl-bench topo check FILE`.
//!
//! Units: bandwidths of the intra-node fabric are GB/s (1e9 bytes/s) one direction per
//! device, as vendors quote NVLink/HCCS; NIC and uplink rates are Gbit/s line rate one
//! direction, as NICs and switch ports are sold. [`Nics::node_gbs`] converts.

mod build;
mod display;
mod placement;
mod types;

pub use placement::{CheckReport, JobFacts, Placement};
pub use types::{
    DeviceNic, Emulation, Fabric, FabricKind, Nics, RailGroup, Route, RouteKind, RouteLink, Switch,
    Topology, Transport, MAX_DEVICES_PER_NODE, MAX_NICS_PER_NODE, MAX_NODES,
};
