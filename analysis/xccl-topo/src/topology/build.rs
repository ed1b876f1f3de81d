//! Loading: TOML text → [`Topology`], checking the file's internal consistency step by
//! step; every error points at the file, line and key.

use super::types::{
    Emulation, Fabric, FabricKind, Nics, RailGroup, Switch, Topology, Transport,
    MAX_DEVICES_PER_NODE, MAX_NICS_PER_NODE, MAX_NODES,
};
use crate::error::{Location, TopoError};
use crate::spec::{RawTopology, SpanIndex, FORMAT_VERSION, OLDEST_FORMAT_VERSION};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

impl Topology {
    /// Reads and validates a topology file. Errors name the file, line and key.
    pub fn load(path: impl AsRef<Path>) -> Result<Topology, TopoError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TopoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut t = Topology::from_toml_str(&text, &path.display().to_string())?;
        t.source = Some(path.to_path_buf());
        Ok(t)
    }

    /// Parses and validates TOML text; `file` is the name used in error messages.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Topology, TopoError> {
        let index = SpanIndex::new(file, text);
        let raw: RawTopology = toml::from_str(text).map_err(|e| {
            let at = match e.span() {
                Some(s) => index.at_offset(s.start),
                None => Location {
                    file: file.to_string(),
                    line: 0,
                    column: 0,
                    key: String::new(),
                },
            };
            TopoError::Parse {
                at,
                message: e
                    .message()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        })?;
        build(raw, &index)
    }
}

fn invalid(index: &SpanIndex, key: &str, message: String) -> TopoError {
    TopoError::Invalid {
        at: index.at_key(key),
        message,
    }
}

/// A count over its limit (see the constants' comments and docs/TOPOLOGY.md, size limits).
fn over_limit(ix: &SpanIndex, key: &str, got: usize, what: &str, limit: usize) -> TopoError {
    invalid(
        ix,
        key,
        format!("{got} {what} is over the limit of {limit} (docs/TOPOLOGY.md, size limits)"),
    )
}

fn positive(index: &SpanIndex, key: &str, v: f64) -> Result<(), TopoError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(invalid(
            index,
            key,
            format!("must be a positive number, got {v}"),
        ))
    }
}

fn non_negative(index: &SpanIndex, key: &str, v: f64) -> Result<(), TopoError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            index,
            key,
            format!("must be zero or positive, got {v}"),
        ))
    }
}

/// Builds a [`Topology`] from the parsed file, one checked step at a time.
fn build(raw: RawTopology, ix: &SpanIndex) -> Result<Topology, TopoError> {
    check_header(&raw, ix)?;
    let open_ended = raw.hosts.is_none() && raw.nodes.is_none();
    let (nodes, named_hosts) = node_names(&raw, ix)?;
    let devices = devices(&raw, ix)?;
    let fabric = fabric(&raw, ix)?;
    let nics = nics(&raw, ix, &nodes, devices)?;
    let decls = switch_decls(&raw, ix, &nics)?;
    let names = switch_names(&decls, ix)?;
    let (mut switches, leaf_of_node) = attach_switches(&decls, ix, &names, &nodes, named_hosts)?;
    let (nic_leaf, rail_groups) = attach_nics(
        &raw,
        ix,
        &names,
        &nodes,
        named_hosts,
        &nics,
        &leaf_of_node,
        &mut switches,
    )?;
    check_tree(ix, &switches, &leaf_of_node, &nic_leaf, &nodes, &nics)?;
    link_capacities(&decls, ix, &nics, &mut switches)?;
    let emulation = emulation(&raw, ix, &nodes)?;
    Ok(Topology {
        version: raw.version,
        name: raw.name,
        description: raw.description,
        source: None,
        nodes,
        named_hosts,
        open_ended,
        devices_per_node: devices,
        fabric,
        nics,
        switches,
        leaf_of_node,
        nic_leaf,
        rail_groups,
        emulation,
        detected: false,
        notes: Vec::new(),
    })
}

/// Format version and name.
fn check_header(raw: &RawTopology, ix: &SpanIndex) -> Result<(), TopoError> {
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&raw.version) {
        return Err(invalid(
            ix,
            "version",
            format!(
                "unsupported format version {} (this build reads {OLDEST_FORMAT_VERSION} to \
                 {FORMAT_VERSION})",
                raw.version
            ),
        ));
    }
    if raw.version < 2 {
        let v2_key = if !raw.rails.is_empty() {
            Some("rails")
        } else if !raw.nic_attachments.is_empty() {
            Some("nic")
        } else if raw.node.nic.as_ref().is_some_and(|n| n.names.is_some()) {
            Some("node.nic.names")
        } else {
            None
        };
        if let Some(k) = v2_key {
            return Err(invalid(
                ix,
                k,
                format!("`{k}` is format version 2: set `version = 2`"),
            ));
        }
    }
    if raw.name.trim().is_empty() {
        return Err(invalid(ix, "name", "must not be empty".into()));
    }
    Ok(())
}

/// Node names and whether they are real hostnames: `hosts`, or `node0`.. for `nodes = N`
/// (and one node for an open-ended preset).
fn node_names(raw: &RawTopology, ix: &SpanIndex) -> Result<(Vec<String>, bool), TopoError> {
    Ok(match &raw.hosts {
        Some(h) => {
            if h.is_empty() {
                return Err(invalid(ix, "hosts", "must list at least one host".into()));
            }
            if h.len() > MAX_NODES {
                return Err(over_limit(ix, "hosts", h.len(), "hosts", MAX_NODES));
            }
            let mut seen = HashSet::new();
            for (i, n) in h.iter().enumerate() {
                if n.trim().is_empty() || n.contains(char::is_whitespace) {
                    return Err(invalid(
                        ix,
                        &format!("hosts[{i}]"),
                        format!("`{n}` is not a hostname"),
                    ));
                }
                if !seen.insert(n.as_str()) {
                    return Err(invalid(
                        ix,
                        &format!("hosts[{i}]"),
                        format!("host `{n}` is listed twice"),
                    ));
                }
            }
            if let Some(c) = raw.nodes {
                if c != h.len() {
                    return Err(invalid(
                        ix,
                        "nodes",
                        format!("nodes = {c} but hosts lists {}", h.len()),
                    ));
                }
            }
            (h.clone(), true)
        }
        None => {
            let c = raw.nodes.unwrap_or(1);
            if c == 0 {
                return Err(invalid(ix, "nodes", "must be at least 1".into()));
            }
            if c > MAX_NODES {
                return Err(over_limit(ix, "nodes", c, "nodes", MAX_NODES));
            }
            (
                (0..c).map(|i| format!("node{i}")).collect::<Vec<_>>(),
                false,
            )
        }
    })
}

/// Devices per node.
fn devices(raw: &RawTopology, ix: &SpanIndex) -> Result<usize, TopoError> {
    let devices = raw.node.devices;
    if devices == 0 {
        return Err(invalid(ix, "node.devices", "must be at least 1".into()));
    }
    if devices > MAX_DEVICES_PER_NODE {
        return Err(over_limit(
            ix,
            "node.devices",
            devices,
            "devices per node",
            MAX_DEVICES_PER_NODE,
        ));
    }
    Ok(devices)
}

/// The intra-node fabric.
fn fabric(raw: &RawTopology, ix: &SpanIndex) -> Result<Fabric, TopoError> {
    let rf = &raw.node.fabric;
    let kind = FabricKind::from_str(&rf.kind).map_err(|m| invalid(ix, "node.fabric.kind", m))?;
    positive(ix, "node.fabric.bw_gbs", rf.bw_gbs)?;
    non_negative(ix, "node.fabric.latency_us", rf.latency_us)?;
    if let Some(l) = rf.link_gbs {
        positive(ix, "node.fabric.link_gbs", l)?;
    }
    Ok(Fabric {
        kind,
        bw_gbs: rf.bw_gbs,
        latency_us: rf.latency_us,
        link_gbs: rf.link_gbs,
        in_network_reduction: rf.in_network_reduction,
        pxn: rf.pxn.unwrap_or(kind.nccl_relays_across_rails()),
    })
}

/// The NICs of a node and the NIC each device uses.
fn nics(
    raw: &RawTopology,
    ix: &SpanIndex,
    nodes: &[String],
    devices: usize,
) -> Result<Nics, TopoError> {
    Ok(match &raw.node.nic {
        None => {
            if nodes.len() > 1 {
                return Err(invalid(
                    ix,
                    "node",
                    "a topology with more than one node needs [node.nic]".into(),
                ));
            }
            Nics {
                count: 0,
                rate_gbps: 0.0,
                transport: Transport::Rdma,
                latency_us: 0.0,
                device_nic: vec![0; devices],
                in_network_reduction: false,
                names: Vec::new(),
            }
        }
        Some(n) => {
            if n.count == 0 {
                return Err(invalid(ix, "node.nic.count", "must be at least 1".into()));
            }
            if n.count > MAX_NICS_PER_NODE {
                return Err(over_limit(
                    ix,
                    "node.nic.count",
                    n.count,
                    "NICs per node",
                    MAX_NICS_PER_NODE,
                ));
            }
            positive(ix, "node.nic.rate_gbps", n.rate_gbps)?;
            non_negative(ix, "node.nic.latency_us", n.latency_us)?;
            let transport = Transport::from_str(&n.transport)
                .map_err(|m| invalid(ix, "node.nic.transport", m))?;
            let device_nic = match &n.device_nic {
                Some(m) => {
                    if m.len() != devices {
                        return Err(invalid(
                            ix,
                            "node.nic.device_nic",
                            format!("lists {} devices, node.devices = {devices}", m.len()),
                        ));
                    }
                    if let Some(i) = m.iter().position(|x| *x >= n.count) {
                        return Err(invalid(
                            ix,
                            &format!("node.nic.device_nic[{i}]"),
                            format!("NIC {} does not exist (count = {})", m[i], n.count),
                        ));
                    }
                    m.clone()
                }
                None => (0..devices).map(|d| d * n.count / devices).collect(),
            };
            Nics {
                count: n.count,
                rate_gbps: n.rate_gbps,
                transport,
                latency_us: n.latency_us,
                device_nic,
                in_network_reduction: n.in_network_reduction,
                names: nic_names(ix, n.names.as_deref(), n.count)?,
            }
        }
    })
}

/// NIC names: as given (unique, non-empty, one per NIC) or `nic0`...
fn nic_names(
    ix: &SpanIndex,
    names: Option<&[String]>,
    count: usize,
) -> Result<Vec<String>, TopoError> {
    let Some(names) = names else {
        return Ok((0..count).map(|i| format!("nic{i}")).collect());
    };
    if names.len() != count {
        return Err(invalid(
            ix,
            "node.nic.names",
            format!("lists {} names, node.nic.count = {count}", names.len()),
        ));
    }
    let mut seen = HashSet::new();
    for (i, n) in names.iter().enumerate() {
        let key = format!("node.nic.names[{i}]");
        if n.trim().is_empty() || n.contains(char::is_whitespace) {
            return Err(invalid(ix, &key, format!("`{n}` is not a NIC name")));
        }
        if !seen.insert(n.as_str()) {
            return Err(invalid(ix, &key, format!("NIC `{n}` is named twice")));
        }
    }
    Ok(names.to_vec())
}

/// A switch as declared: a `[[switch]]` table, or a rail leaf that a `[[rails]]` group
/// creates. `key` is the table the keys of errors start with (`switch[2]`, `rails[0]`).
struct SwitchDecl<'a> {
    name: String,
    name_key: String,
    key: String,
    tier: u32,
    parent: Option<&'a str>,
    hosts: &'a [String],
    uplink_gbps: Option<f64>,
    oversubscription: Option<f64>,
    latency_us: f64,
}

/// The `[[switch]]` tables, then the leaves of each `[[rails]]` group (`leaf` with `{rail}`
/// replaced by the NIC index).
fn switch_decls<'a>(
    raw: &'a RawTopology,
    ix: &SpanIndex,
    nics: &Nics,
) -> Result<Vec<SwitchDecl<'a>>, TopoError> {
    let mut decls: Vec<SwitchDecl> = raw
        .switches
        .iter()
        .enumerate()
        .map(|(i, s)| SwitchDecl {
            name: s.name.clone(),
            name_key: format!("switch[{i}].name"),
            key: format!("switch[{i}]"),
            tier: s.tier,
            parent: s.parent.as_deref(),
            hosts: &s.hosts,
            uplink_gbps: s.uplink_gbps,
            oversubscription: s.oversubscription,
            latency_us: s.latency_us,
        })
        .collect();
    for (g, r) in raw.rails.iter().enumerate() {
        let key = format!("rails[{g}]");
        if r.rails == 0 {
            return Err(invalid(
                ix,
                &format!("{key}.rails"),
                "must be at least 1".into(),
            ));
        }
        if r.rails != nics.count {
            return Err(invalid(
                ix,
                &format!("{key}.rails"),
                format!(
                    "rails = {} but node.nic.count = {}: NIC i of every host goes to rail i",
                    r.rails, nics.count
                ),
            ));
        }
        if r.rails > 1 && !r.leaf.contains("{rail}") {
            return Err(invalid(
                ix,
                &format!("{key}.leaf"),
                format!(
                    "`{}` names one leaf for {} rails: put `{{rail}}` where the rail number goes",
                    r.leaf, r.rails
                ),
            ));
        }
        for i in 0..r.rails {
            decls.push(SwitchDecl {
                name: r.leaf.replace("{rail}", &i.to_string()),
                name_key: format!("{key}.leaf"),
                key: key.clone(),
                tier: 1,
                parent: r.parent.as_deref(),
                hosts: &[],
                uplink_gbps: r.uplink_gbps,
                oversubscription: r.oversubscription,
                latency_us: r.latency_us,
            });
        }
    }
    Ok(decls)
}

/// Where each NIC hangs when the file attaches NICs one by one (`[[rails]]`, `[[nic]]`):
/// `node * count + nic` → leaf, and the rail groups. Empty for files without them.
#[allow(clippy::too_many_arguments)]
fn attach_nics(
    raw: &RawTopology,
    ix: &SpanIndex,
    names: &HashMap<&str, usize>,
    nodes: &[String],
    named_hosts: bool,
    nics: &Nics,
    leaf_of_node: &[Option<usize>],
    switches: &mut [Switch],
) -> Result<(Vec<Option<usize>>, Vec<RailGroup>), TopoError> {
    if raw.rails.is_empty() && raw.nic_attachments.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let count = nics.count;
    let node_index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let host = |h: &str, key: &str| -> Result<usize, TopoError> {
        if !named_hosts {
            return Err(invalid(
                ix,
                key,
                "NICs can name hosts only when the top-level `hosts` lists them".into(),
            ));
        }
        node_index
            .get(h)
            .copied()
            .ok_or_else(|| invalid(ix, key, format!("host `{h}` is not in `hosts`")))
    };
    let mut nic_leaf: Vec<Option<usize>> = vec![None; nodes.len() * count];
    let mut attach = |n: usize, nic: usize, leaf: usize, key: &str| -> Result<(), TopoError> {
        let name = nics.name(nic);
        if let Some(s) = leaf_of_node[n] {
            return Err(invalid(
                ix,
                key,
                format!(
                    "host `{}` hangs on switch `{}` as a whole: its NIC `{name}` cannot hang \
                     on `{}` too",
                    nodes[n], switches[s].name, switches[leaf].name
                ),
            ));
        }
        let slot = &mut nic_leaf[n * count + nic];
        if let Some(prev) = *slot {
            return Err(invalid(
                ix,
                key,
                format!(
                    "NIC `{name}` of host `{}` is attached twice (to `{}` already)",
                    nodes[n], switches[prev].name
                ),
            ));
        }
        *slot = Some(leaf);
        switches[leaf].nics.push((n, nic));
        Ok(())
    };
    let mut groups = Vec::new();
    let mut first_leaf = raw.switches.len();
    for (g, r) in raw.rails.iter().enumerate() {
        let leaves: Vec<usize> = (first_leaf..first_leaf + r.rails).collect();
        first_leaf += r.rails;
        let members: Vec<usize> = match &r.hosts {
            None => (0..nodes.len()).collect(),
            Some(hs) => {
                if hs.is_empty() {
                    return Err(invalid(
                        ix,
                        &format!("rails[{g}].hosts"),
                        "must list at least one host".into(),
                    ));
                }
                hs.iter()
                    .enumerate()
                    .map(|(j, h)| host(h, &format!("rails[{g}].hosts[{j}]")))
                    .collect::<Result<_, _>>()?
            }
        };
        for (j, &n) in members.iter().enumerate() {
            let key = match r.hosts {
                Some(_) => format!("rails[{g}].hosts[{j}]"),
                None => format!("rails[{g}]"),
            };
            for (nic, &leaf) in leaves.iter().enumerate() {
                attach(n, nic, leaf, &key)?;
            }
        }
        groups.push(RailGroup {
            nodes: members,
            leaves,
        });
    }
    for (i, a) in raw.nic_attachments.iter().enumerate() {
        let n = host(&a.host, &format!("nic[{i}].host"))?;
        let nic = nics
            .names
            .iter()
            .position(|x| *x == a.nic)
            .or_else(|| a.nic.parse::<usize>().ok().filter(|x| *x < count))
            .ok_or_else(|| {
                invalid(
                    ix,
                    &format!("nic[{i}].nic"),
                    format!(
                        "no NIC `{}` (node.nic.names: {})",
                        a.nic,
                        nics.names.join(", ")
                    ),
                )
            })?;
        let leaf = *names.get(a.leaf.as_str()).ok_or_else(|| {
            invalid(
                ix,
                &format!("nic[{i}].leaf"),
                format!("no switch named `{}`", a.leaf),
            )
        })?;
        attach(n, nic, leaf, &format!("nic[{i}]"))?;
    }
    // A node whose NICs hang one by one must have all of them attached.
    for n in 0..nodes.len() {
        let mine = &nic_leaf[n * count..(n + 1) * count];
        if mine.iter().any(Option::is_some) {
            if let Some(nic) = mine.iter().position(Option::is_none) {
                return Err(invalid(
                    ix,
                    "nic",
                    format!(
                        "NIC `{}` of host `{}` hangs on no switch (its other NICs do)",
                        nics.name(nic),
                        nodes[n]
                    ),
                ));
            }
        }
    }
    Ok((nic_leaf, groups))
}

/// Switch names (unique, not empty) → index, with tiers and latencies checked.
fn switch_names<'a>(
    decls: &'a [SwitchDecl<'a>],
    ix: &SpanIndex,
) -> Result<HashMap<&'a str, usize>, TopoError> {
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, s) in decls.iter().enumerate() {
        if s.name.trim().is_empty() {
            return Err(invalid(ix, &s.name_key, "must not be empty".into()));
        }
        if names.insert(s.name.as_str(), i).is_some() {
            return Err(invalid(
                ix,
                &s.name_key,
                format!("switch `{}` is declared twice", s.name),
            ));
        }
        if s.tier == 0 {
            return Err(invalid(
                ix,
                &format!("{}.tier", s.key),
                "tiers start at 1 (leaf)".into(),
            ));
        }
        non_negative(ix, &format!("{}.latency_us", s.key), s.latency_us)?;
    }
    Ok(names)
}

/// Each switch's parent and hosts; the leaf switch of each node.
fn attach_switches(
    decls: &[SwitchDecl],
    ix: &SpanIndex,
    names: &HashMap<&str, usize>,
    nodes: &[String],
    named_hosts: bool,
) -> Result<(Vec<Switch>, Vec<Option<usize>>), TopoError> {
    let node_index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut leaf_of_node: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut switches: Vec<Switch> = Vec::new();
    for (i, s) in decls.iter().enumerate() {
        let parent = match &s.parent {
            None => None,
            Some(p) => {
                let pi = *names.get(p).ok_or_else(|| {
                    invalid(
                        ix,
                        &format!("{}.parent", s.key),
                        format!("no switch named `{p}`"),
                    )
                })?;
                if decls[pi].tier <= s.tier {
                    return Err(invalid(
                        ix,
                        &format!("{}.parent", s.key),
                        format!(
                            "parent `{p}` is tier {}, it must be above tier {}",
                            decls[pi].tier, s.tier
                        ),
                    ));
                }
                Some(pi)
            }
        };
        let mut my_nodes = Vec::new();
        for (j, h) in s.hosts.iter().enumerate() {
            let key = format!("{}.hosts[{j}]", s.key);
            let n = if named_hosts {
                node_index.get(h.as_str()).copied()
            } else {
                None
            }
            .ok_or_else(|| {
                invalid(
                    ix,
                    &key,
                    if named_hosts {
                        format!("host `{h}` is not in `hosts`")
                    } else {
                        "switches can name hosts only when the top-level `hosts` lists them".into()
                    },
                )
            })?;
            if let Some(prev) = leaf_of_node[n] {
                return Err(invalid(
                    ix,
                    &key,
                    format!("host `{h}` already hangs on switch `{}`", decls[prev].name),
                ));
            }
            leaf_of_node[n] = Some(i);
            my_nodes.push(n);
        }
        switches.push(Switch {
            name: s.name.clone(),
            tier: s.tier,
            parent,
            nodes: my_nodes,
            nics: Vec::new(),
            uplink_gbps: None,
            downlink_gbps: 0.0,
            latency_us: s.latency_us,
        });
    }
    Ok((switches, leaf_of_node))
}

/// Declared switches must hold every node and form one tree.
fn check_tree(
    ix: &SpanIndex,
    switches: &[Switch],
    leaf_of_node: &[Option<usize>],
    nic_leaf: &[Option<usize>],
    nodes: &[String],
    nics: &Nics,
) -> Result<(), TopoError> {
    if !switches.is_empty() {
        let count = nics.count.max(1);
        let on_nics = |n: usize| nic_leaf.get(n * count).is_some_and(Option::is_some);
        if let Some(n) = (0..nodes.len()).find(|n| leaf_of_node[*n].is_none() && !on_nics(*n)) {
            let (key, why) = if nic_leaf.is_empty() {
                ("switch", "")
            } else {
                (
                    "rails",
                    " (it is in no `rails` group and on no `[[switch]]`)",
                )
            };
            return Err(invalid(
                ix,
                key,
                format!("host `{}` hangs on no switch{why}", nodes[n]),
            ));
        }
        let roots: Vec<&str> = switches
            .iter()
            .filter(|s| s.parent.is_none())
            .map(|s| s.name.as_str())
            .collect();
        if roots.len() > 1 {
            return Err(invalid(
                ix,
                "switch",
                format!(
                    "switches {} have no parent: the fabric must be one tree (add a spine)",
                    roots.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Downlink and uplink capacities, bottom-up (parents are on higher tiers).
fn link_capacities(
    decls: &[SwitchDecl],
    ix: &SpanIndex,
    nics: &Nics,
    switches: &mut [Switch],
) -> Result<(), TopoError> {
    let mut order: Vec<usize> = (0..switches.len()).collect();
    order.sort_by_key(|i| switches[*i].tier);
    // Children per switch, in index order, once: not a scan of all switches per switch.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); switches.len()];
    for (c, s) in switches.iter().enumerate() {
        if let Some(p) = s.parent {
            children[p].push(c);
        }
    }
    for &i in &order {
        let from_hosts = switches[i].nodes.len() as f64 * nics.rate_gbps * nics.count as f64
            + switches[i].nics.len() as f64 * nics.rate_gbps;
        let from_children: f64 = children[i]
            .iter()
            .filter_map(|c| switches[*c].uplink_gbps)
            .sum();
        let down = from_hosts + from_children;
        switches[i].downlink_gbps = down;
        let rs = &decls[i];
        let key = |k: &str| format!("{}.{k}", rs.key);
        let up = match (rs.uplink_gbps, rs.oversubscription) {
            (Some(u), None) => {
                positive(ix, &key("uplink_gbps"), u)?;
                Some(u)
            }
            (None, Some(o)) => {
                positive(ix, &key("oversubscription"), o)?;
                if down <= 0.0 {
                    return Err(invalid(
                        ix,
                        &key("oversubscription"),
                        "no downlink capacity to divide; give uplink_gbps".into(),
                    ));
                }
                Some(down / o)
            }
            (Some(u), Some(o)) => {
                positive(ix, &key("uplink_gbps"), u)?;
                positive(ix, &key("oversubscription"), o)?;
                let implied = down / u;
                if (implied - o).abs() > 0.01 * o {
                    return Err(invalid(
                        ix,
                        &key("oversubscription"),
                        format!(
                            "{o}:1 disagrees with uplink_gbps = {u} over {down} Gbit/s of downlinks \
                             ({implied:.3}:1); give one of them"
                        ),
                    ));
                }
                Some(u)
            }
            (None, None) => None,
        };
        match (switches[i].parent, up) {
            (Some(_), None) => {
                return Err(invalid(
                    ix,
                    &rs.key,
                    format!(
                        "switch `{}` has a parent but neither uplink_gbps nor oversubscription",
                        switches[i].name
                    ),
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    ix,
                    &key(if rs.uplink_gbps.is_some() {
                        "uplink_gbps"
                    } else {
                        "oversubscription"
                    }),
                    format!(
                        "switch `{}` is the top of the tree: it has no uplink",
                        switches[i].name
                    ),
                ))
            }
            _ => {}
        }
        switches[i].uplink_gbps = up;
    }
    Ok(())
}

/// The emulated cluster's subnet.
fn emulation(
    raw: &RawTopology,
    ix: &SpanIndex,
    nodes: &[String],
) -> Result<Option<Emulation>, TopoError> {
    let emulation = match &raw.emulation {
        None => None,
        Some(e) => Some(Emulation {
            subnet: parse_subnet(&e.subnet).map_err(|m| invalid(ix, "emulation.subnet", m))?,
        }),
    };
    if emulation.is_some() && nodes.len() > 200 {
        return Err(invalid(
            ix,
            "emulation",
            "at most 200 emulated nodes".into(),
        ));
    }
    Ok(emulation)
}

fn parse_subnet(s: &str) -> Result<[u8; 3], String> {
    let err = || format!("`{s}` is not an IPv4 /24 subnet like \"10.231.7.0/24\"");
    let (addr, len) = s.split_once('/').ok_or_else(err)?;
    if len != "24" {
        return Err(err());
    }
    let o: Vec<u8> = addr
        .split('.')
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| err())?;
    if o.len() != 4 || o[3] != 0 {
        return Err(err());
    }
    Ok([o[0], o[1], o[2]])
}
