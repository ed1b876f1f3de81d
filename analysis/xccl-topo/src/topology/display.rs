//! What `xccl-bench topo show` and `topo check` print.

use super::placement::{some_names, CheckReport};
use super::types::{FabricKind, Topology};
use std::fmt;

impl fmt::Display for FabricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if let Some(p) = &self.placement {
            writeln!(
                f,
                "ok: {} ranks on {} nodes",
                p.nranks(),
                p.nodes_used().len()
            )?;
        }
        Ok(())
    }
}

/// The device → NIC map with runs of devices on one NIC as ranges (`0-3→0 4-7→1`): one
/// short line even for 1024 devices.
fn device_nic_runs(map: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut start = 0;
    for d in 1..=map.len() {
        if d == map.len() || map[d] != map[start] {
            parts.push(if d - 1 == start {
                format!("{start}→{}", map[start])
            } else {
                format!("{start}-{}→{}", d - 1, map[start])
            });
            start = d;
        }
    }
    parts.join(" ")
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match (&self.source, self.detected) {
            (Some(p), _) => format!("file {}", p.display()),
            (None, true) => "detected from the running job".into(),
            (None, false) => "inline".into(),
        };
        writeln!(
            f,
            "topology `{}` ({origin}, format v{})",
            self.name, self.version
        )?;
        if !self.description.is_empty() {
            writeln!(f, "  {}", self.description)?;
        }
        let hosts = if self.named_hosts {
            self.nodes.join(", ")
        } else {
            "any hostnames".into()
        };
        let count = if self.open_ended {
            "any number".to_string()
        } else {
            self.nodes.len().to_string()
        };
        writeln!(
            f,
            "  nodes     {count} × {} devices ({hosts})",
            self.devices_per_node
        )?;
        let fb = &self.fabric;
        write!(
            f,
            "  SDMA      {}: {} GB/s per device one direction, α {} us",
            fb.kind,
            fmt_num(fb.bw_gbs),
            fmt_num(fb.latency_us)
        )?;
        if let Some(l) = fb.link_gbs {
            write!(f, ", {} GB/s per link", fmt_num(l))?;
        }
        if fb.in_network_reduction {
            write!(f, ", in-switch reduction (NVLS)")?;
        }
        writeln!(f)?;
        let n = &self.nics;
        if n.count == 0 {
            writeln!(f, "  RDMA      no NICs")?;
        } else {
            write!(
                f,
                "  RDMA      {} × {} Gbit/s {} per node = {} GB/s one direction, α {} us",
                n.count,
                fmt_num(n.rate_gbps),
                n.transport.name(),
                fmt_num(n.node_gbs()),
                fmt_num(n.latency_us)
            )?;
            if n.in_network_reduction {
                write!(f, ", in-network reduction (SHARP)")?;
            }
            writeln!(f)?;
            writeln!(f, "  dev→NIC   {}", device_nic_runs(&n.device_nic))?;
            if self.version >= 2 {
                writeln!(f, "  NICs      {}", some_names(n.names.iter()))?;
            }
        }
        for g in &self.rail_groups {
            let first = g
                .leaves
                .first()
                .map_or("", |l| self.switches[*l].name.as_str());
            let last = g
                .leaves
                .last()
                .map_or("", |l| self.switches[*l].name.as_str());
            writeln!(
                f,
                "  rails     {} rails × {} nodes: NIC i of each node on rail leaf i ({first} .. {last})",
                g.leaves.len(),
                g.nodes.len()
            )?;
        }
        if self.switches.is_empty() && (self.nodes.len() > 1 || self.open_ended) {
            writeln!(f, "  switches  one non-blocking switch (none declared)")?;
        }
        for s in &self.switches {
            write!(f, "  switch    {} (tier {})", s.name, s.tier)?;
            if !s.nodes.is_empty() {
                let h: Vec<&str> = s.nodes.iter().map(|n| self.nodes[*n].as_str()).collect();
                write!(f, ": {}", h.join(", "))?;
            }
            if let Some((_, first)) = s.nics.first() {
                if s.nics.iter().all(|(_, i)| i == first) {
                    let name = self.nics.name(*first);
                    write!(f, ": {name} of {} nodes", s.nics.len())?;
                } else {
                    let ports = s
                        .nics
                        .iter()
                        .map(|(n, i)| format!("{}/{}", self.node_name(*n), self.nics.name(*i)));
                    write!(f, ": {} NICs ({})", s.nics.len(), some_names(ports))?;
                }
            }
            if let (Some(p), Some(u)) = (s.parent, s.uplink_gbps) {
                write!(
                    f,
                    "; uplink to {} {} Gbit/s ({}:1 oversubscribed)",
                    self.switches[p].name,
                    fmt_num(u),
                    fmt_num(s.oversubscription().unwrap_or(1.0))
                )?;
            }
            writeln!(f)?;
        }
        if let Some(e) = &self.emulation {
            writeln!(
                f,
                "  emulation subnet {}.{}.{}.0/24",
                e.subnet[0], e.subnet[1], e.subnet[2]
            )?;
        }
        for note in &self.notes {
            writeln!(f, "  note      {note}")?;
        }
        Ok(())
    }
}
