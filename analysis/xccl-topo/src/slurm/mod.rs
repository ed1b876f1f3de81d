//! Slurm's topology.conf (the topology/tree plugin) to and from our topology files.
//!
//! Slurm places jobs by the switch tree in topology.conf (docs/SOURCES.md
//! [slurm-topology-conf]:
//! `SwitchName=s0 Nodes=dev[0-5]`, `SwitchName=s3 Switches=s[0-2]`). A wrong line there is a
//! misplaced node for the scheduler, so `topo import` reads it ([`parse`], [`SlurmTopology::
//! to_toml`]), `topo export --slurm` writes it from a topology file ([`SlurmTopology::
//! from_topology`]) and `topo validate --slurm-out` writes it from the grouping that
//! contention measured ([`corrected`]). topology.conf carries no rates, devices or NICs:
//! import takes the node type from a preset and assumes non-blocking uplinks, and says so
//! in the file it writes.

mod conf;
pub mod hostlist;
mod types;

pub use conf::{parse, render};
pub use types::{SlurmError, SlurmSwitch, SlurmTopology};

use crate::topology::{Fabric, Nics, Topology};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// The tree a [`SlurmTopology`] describes, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmTree {
    /// Parent of each switch (index into `switches`), `None` for the top one.
    pub parent: Vec<Option<usize>>,
    /// Tier of each switch: 1 for a switch with nodes, else 1 + its highest child's.
    pub tier: Vec<u32>,
    /// Every node in order of first appearance, with its switch.
    pub nodes: Vec<(String, usize)>,
}

impl SlurmTopology {
    /// Checks that the switches form one tree, as our format needs: names unique, every
    /// child switch defined and under one parent, no cycle, one top switch, every node on
    /// one switch. `file` names the file in errors, which name the line.
    pub fn check(&self, file: &str) -> Result<SlurmTree, SlurmError> {
        let at = |s: &SlurmSwitch, msg: String| SlurmError::Line {
            file: file.to_string(),
            line: s.line,
            msg,
        };
        let sw = &self.switches;
        if sw.is_empty() {
            return Err(SlurmError::Topology(format!("{file}: no SwitchName= line")));
        }
        let mut index = HashMap::new();
        for (i, s) in sw.iter().enumerate() {
            if let Some(j) = index.insert(s.name.as_str(), i) {
                let first = sw[j].line;
                return Err(at(
                    s,
                    format!("switch `{}` again (first on line {first})", s.name),
                ));
            }
        }
        let mut parent = vec![None; sw.len()];
        let mut node_at: HashMap<&str, usize> = HashMap::new();
        let mut nodes = Vec::new();
        for (i, s) in sw.iter().enumerate() {
            for c in &s.switches {
                let &j = index.get(c.as_str()).ok_or_else(|| {
                    at(
                        s,
                        format!("Switches=: switch `{c}` has no SwitchName= line"),
                    )
                })?;
                if let Some(p) = parent[j] {
                    let other: &SlurmSwitch = &sw[p];
                    return Err(at(
                        s,
                        format!(
                            "switch `{c}` is under `{}` too (line {}): a switch has one parent",
                            other.name, other.line
                        ),
                    ));
                }
                parent[j] = Some(i);
            }
            for n in &s.nodes {
                if let Some(&j) = node_at.get(n.as_str()) {
                    let first = &sw[j];
                    return Err(at(
                        s,
                        format!(
                            "node `{n}` is on switch `{}` too (line {}): a node hangs on one switch",
                            first.name, first.line
                        ),
                    ));
                }
                node_at.insert(n, i);
                nodes.push((n.clone(), i));
            }
        }
        let tops: Vec<&str> = (0..sw.len())
            .filter(|&i| parent[i].is_none())
            .map(|i| sw[i].name.as_str())
            .collect();
        if tops.len() != 1 {
            return Err(SlurmError::Topology(format!(
                "{file}: {} switches have no parent ({}): Slurm allows separate trees, but a topology here is one tree; add a line `SwitchName=top Switches={}`",
                tops.len(),
                tops.join(", "),
                tops.join(",")
            )));
        }
        // Tiers bottom-up; a cycle never settles (it also leaves no top, caught above for
        // a whole-tree cycle; a cycle beside the tree is caught here).
        let mut tier = vec![0u32; sw.len()];
        for _ in 0..=sw.len() {
            for (i, s) in sw.iter().enumerate() {
                tier[i] = if s.switches.is_empty() {
                    1
                } else {
                    1 + s
                        .switches
                        .iter()
                        .map(|c| tier[index[c.as_str()]])
                        .max()
                        .unwrap_or(0)
                };
            }
        }
        if let Some(i) = (0..sw.len()).find(|&i| tier[i] as usize > sw.len()) {
            return Err(at(
                &sw[i],
                format!("switch `{}` is below itself (a cycle)", sw[i].name),
            ));
        }
        Ok(SlurmTree {
            parent,
            tier,
            nodes,
        })
    }

    /// Our topology file (format version 1) for this tree: the node type (`[node]`) of
    /// `node_type`, one `[[switch]]` per SwitchName line, every uplink non-blocking
    /// (topology.conf has no rates), LinkSpeed kept as a comment. `source` is the file
    /// read, `node_source` the preset, both named in the header.
    pub fn to_toml(
        &self,
        source: &str,
        name: &str,
        node_type: &Topology,
        node_source: &str,
    ) -> Result<String, SlurmError> {
        let tree = self.check(source)?;
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let list = |v: &mut dyn Iterator<Item = &str>| v.map(q).collect::<Vec<_>>().join(", ");
        let mut o = String::new();
        let _ = writeln!(o, "# Imported by `xccl-bench topo import` from {source} (Slurm topology.conf, topology/tree).");
        let _ = writeln!(
            o,
            "# topology.conf names switches and nodes only: the node type is {node_source}'s,"
        );
        let _ = writeln!(
            o,
            "# and every uplink is assumed non-blocking (oversubscription = 1.0): give"
        );
        let _ = writeln!(o, "# uplink_gbps where an uplink is slower.");
        let _ = writeln!(o, "version = 1\nname = {}", q(name));
        let _ = writeln!(o, "description = {}", q(&format!("imported from {source}")));
        let _ = writeln!(
            o,
            "hosts = [{}]\n",
            list(&mut tree.nodes.iter().map(|(n, _)| n.as_str()))
        );
        write_node(
            &mut o,
            node_type.devices_per_node,
            &node_type.fabric,
            &node_type.nics,
        );
        for (i, s) in self.switches.iter().enumerate() {
            let _ = writeln!(
                o,
                "\n[[switch]]\nname = {}\ntier = {}",
                q(&s.name),
                tree.tier[i]
            );
            if !s.nodes.is_empty() {
                let _ = writeln!(
                    o,
                    "hosts = [{}]",
                    list(&mut s.nodes.iter().map(String::as_str))
                );
            }
            if let Some(p) = tree.parent[i] {
                let _ = writeln!(
                    o,
                    "parent = {}\noversubscription = 1.0",
                    q(&self.switches[p].name)
                );
            }
            if let Some(l) = s.link_speed {
                let _ = writeln!(
                    o,
                    "# LinkSpeed={l} in {source} (arbitrary units, not used by Slurm or here)"
                );
            }
        }
        Ok(o)
    }

    /// The Slurm tree of `t`: one SwitchName line per switch that has nodes below it. A
    /// node whose NICs hang on leaves one by one (rails) goes on the lowest switch common
    /// to all its NICs (the spine of a rail group: every node of the group is one hop from
    /// the others there), and rail leaves that then hold no node are left out. A switch
    /// holding nodes and child switches (our format allows it, Slurm does not) gets its
    /// nodes on a leaf `NAME-nodes` under it. Needs host names (`hosts = [...]`).
    pub fn from_topology(t: &Topology) -> Result<SlurmTopology, SlurmError> {
        let what = t
            .source
            .as_ref()
            .map_or(t.name.clone(), |p| p.display().to_string());
        if !t.named_hosts || t.open_ended {
            return Err(SlurmError::Topology(format!(
                "{what} has no host names (`hosts = [...]`): topology.conf names nodes"
            )));
        }
        if t.switches.is_empty() {
            let nodes = t.nodes.clone();
            return Ok(SlurmTopology {
                switches: vec![SlurmSwitch {
                    nodes,
                    ..SlurmSwitch::leaf("top", &[])
                }],
            });
        }
        // The switch each node sits on, for Slurm.
        let mut on: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (n, host) in t.nodes.iter().enumerate() {
            let s = match t.leaf_of_node.get(n).copied().flatten() {
                Some(s) => s,
                None => lowest_common(t, n).ok_or_else(|| {
                    SlurmError::Topology(format!("{what}: node `{host}` hangs on no switch"))
                })?,
            };
            on.entry(s).or_default().push(host.clone());
        }
        let children =
            |s: usize| (0..t.switches.len()).filter(move |&c| t.switches[c].parent == Some(s));
        // Whether a switch has a node in its subtree.
        let mut used = vec![false; t.switches.len()];
        for &s in on.keys() {
            let mut cur = Some(s);
            while let Some(c) = cur {
                used[c] = true;
                cur = t.switches[c].parent;
            }
        }
        let mut names: Vec<String> = t.switches.iter().map(|s| s.name.clone()).collect();
        let mut out = Vec::new();
        for (i, s) in t.switches.iter().enumerate() {
            if !used[i] {
                continue;
            }
            let below: Vec<String> = children(i)
                .filter(|&c| used[c])
                .map(|c| t.switches[c].name.clone())
                .collect();
            let nodes = on.get(&i).cloned().unwrap_or_default();
            if below.is_empty() {
                out.push(SlurmSwitch {
                    nodes,
                    ..SlurmSwitch::leaf(&s.name, &[])
                });
                continue;
            }
            let mut switches = below;
            if !nodes.is_empty() {
                let mut leaf = format!("{}-nodes", s.name);
                while names.contains(&leaf) {
                    leaf.push('_');
                }
                names.push(leaf.clone());
                switches.push(leaf.clone());
                out.push(SlurmSwitch {
                    nodes,
                    ..SlurmSwitch::leaf(&leaf, &[])
                });
            }
            out.push(SlurmSwitch {
                switches,
                ..SlurmSwitch::leaf(&s.name, &[])
            });
        }
        Ok(SlurmTopology { switches: out })
    }
}

/// The lowest switch above every NIC of node `n` (its leaves' common ancestor).
fn lowest_common(t: &Topology, n: usize) -> Option<usize> {
    let chain = |mut s: usize| {
        let mut v = vec![s];
        while let Some(p) = t.switches[s].parent {
            v.push(p);
            s = p;
        }
        v
    };
    let mut common: Option<Vec<usize>> = None;
    for nic in 0..t.nics.count.max(1) {
        let c = chain(t.nic_leaf(n, nic)?);
        common = Some(match common {
            None => c,
            Some(prev) => prev.into_iter().filter(|s| c.contains(s)).collect(),
        });
    }
    common?.first().copied()
}

/// `[node]`, `[node.fabric]` and `[node.nic]` of a node type.
fn write_node(o: &mut String, devices: usize, f: &Fabric, n: &Nics) {
    let _ = writeln!(o, "[node]\ndevices = {devices}\n\n[node.fabric]");
    let _ = writeln!(
        o,
        "kind = \"{}\"\nbw_gbs = {:?}\nlatency_us = {:?}",
        f.kind.name(),
        f.bw_gbs,
        f.latency_us
    );
    if let Some(l) = f.link_gbs {
        let _ = writeln!(o, "link_gbs = {l:?}");
    }
    let _ = writeln!(o, "in_network_reduction = {}", f.in_network_reduction);
    if n.count == 0 {
        return;
    }
    let _ = writeln!(
        o,
        "\n[node.nic]\ncount = {}\nrate_gbps = {:?}\ntransport = \"{}\"",
        n.count,
        n.rate_gbps,
        n.transport.name()
    );
    let _ = writeln!(
        o,
        "latency_us = {:?}\ndevice_nic = {:?}",
        n.latency_us, n.device_nic
    );
    let _ = writeln!(o, "in_network_reduction = {}", n.in_network_reduction);
}

/// The topology.conf for the grouping `topo validate` measured: every node of the job
/// that a `misplaced_node` finding names (`misplaced[i]`, `hosts[i]` the job's nodes)
/// moves to the switch where most of the other, well-placed members of its measured group
/// (`groups`, indices into `hosts`) sit; a group of misplaced nodes only gets a new leaf
/// `measured-leafG` under the top switch. Everything else stays as `t` declares it
/// (nodes outside the job, nodes whose place could not be determined).
pub fn corrected(
    t: &Topology,
    hosts: &[String],
    groups: &[Vec<usize>],
    misplaced: &[bool],
) -> Result<SlurmTopology, SlurmError> {
    let mut st = SlurmTopology::from_topology(t)?;
    let holder = |st: &SlurmTopology, h: &str| {
        st.switches
            .iter()
            .position(|s| s.nodes.iter().any(|n| n == h))
    };
    let mut moves: Vec<(String, Result<usize, String>)> = Vec::new();
    for (g, members) in groups.iter().enumerate() {
        let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
        for &m in members.iter().filter(|&&m| !misplaced[m]) {
            if let Some(s) = holder(&st, &hosts[m]) {
                *votes.entry(s).or_default() += 1;
            }
        }
        // Most votes; ties to the switch first in the file.
        let target = votes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(&s, _)| s);
        for &m in members.iter().filter(|&&m| misplaced[m]) {
            moves.push((hosts[m].clone(), target.ok_or(format!("measured-leaf{g}"))));
        }
    }
    for (host, target) in moves {
        if let Some(s) = holder(&st, &host) {
            st.switches[s].nodes.retain(|n| *n != host);
        }
        let s = match target {
            Ok(s) => s,
            Err(name) => match st.switches.iter().position(|s| s.name == name) {
                Some(s) => s,
                None => {
                    let top = st
                        .check("(corrected)")
                        .map(|tr| tr.parent.iter().position(Option::is_none))?
                        .expect("one top");
                    if st.switches[top].switches.is_empty() {
                        return Err(SlurmError::Topology(format!(
                            "{host} measured on a leaf of its own, but the top switch `{}` holds nodes: no place for a new leaf",
                            st.switches[top].name
                        )));
                    }
                    st.switches[top].switches.push(name.clone());
                    st.switches.push(SlurmSwitch::leaf(&name, &[]));
                    st.switches.len() - 1
                }
            },
        };
        st.switches[s].nodes.push(host);
    }
    // Switches left with nothing under them go, and with them their names above.
    while let Some(e) = st
        .switches
        .iter()
        .position(|s| s.nodes.is_empty() && s.switches.is_empty())
    {
        let name = st.switches.remove(e).name;
        for s in &mut st.switches {
            s.switches.retain(|c| *c != name);
        }
    }
    st.check("(corrected)")?;
    Ok(st)
}

#[cfg(test)]
mod tests;
