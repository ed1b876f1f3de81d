//! Plan of the emulated cluster, for `scripts/emu-cluster.sh`.
//!
//! The script must shape links with exactly the rates the verdict compares against, so it
//! never parses TOML itself: it reads this plan, produced from the same [`Topology`]. The
//! format is line-oriented and whitespace-separated so that `while read -r ...` handles it:
//!
//! ```text
//! subnet 10.231.7.0/24
//! mpirun_addr 10.231.7.1
//! switch IDX NAME PARENT_IDX|- UPLINK_KBIT|0
//! node IDX HOSTNAME ADDR LEAF_IDX|- RATE_KBIT SLOTS
//! nic NODE_IDX HOSTNAME NIC_IDX IFNAME ADDR LEAF_IDX RATE_KBIT
//! rank_nics IFNAME...
//! ```
//!
//! A file whose nodes hang on switches as a whole (version 1) gets one veth per node at the
//! summed rate of its NICs (`node` with a leaf, no `nic` lines). A file that attaches NICs
//! one by one (rails, `[[nic]]`) gets one veth per NIC (`node` with leaf `-`, then a `nic`
//! line per NIC, named after the file's NIC name): NIC k of every node lives in its own /24,
//! the subnet's third octet plus k, so that traffic can be pinned to a NIC by address or
//! interface; `rank_nics` gives, per local device d, the interface of its NIC
//! (`device_nic[d]`), which the script binds each rank to.
//!
//! [`Faults`] shape parts below their declared rates while the topology keeps declaring the
//! healthy ones (diagnosis tests): a node (all its NICs), one NIC, a switch's uplink (both
//! directions), and `miswire` plugs one NIC into another leaf than the file declares.

use crate::error::TopoError;
use crate::topology::Topology;
use std::fmt::Write;

/// What the emulation degrades or miswires, against the file's declarations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// `(host, fraction)`: every NIC of the host at the fraction of its rate.
    pub slow_node: Vec<(String, f64)>,
    /// `(switch, fraction)`: that switch's uplink to its parent.
    pub slow_uplink: Vec<(String, f64)>,
    /// `(host, NIC name or index, fraction)`: one NIC (per-NIC topologies only).
    pub slow_nic: Vec<(String, String, f64)>,
    /// `(host, NIC name or index, switch)`: that NIC cabled to the switch instead of its
    /// declared leaf (per-NIC topologies only).
    pub miswire: Vec<(String, String, String)>,
    /// First three octets replacing the file's `[emulation] subnet` (XCCL_EMU_SUBNET).
    pub subnet: Option<[u8; 3]>,
}

/// Renders the plan. `slow` holds `(hostname, fraction)` pairs.
pub fn plan(t: &Topology, slow: &[(String, f64)]) -> Result<String, TopoError> {
    plan_faults(
        t,
        &Faults {
            slow_node: slow.to_vec(),
            ..Faults::default()
        },
    )
}

/// [`plan`], and `slow_up` holds `(switch name, fraction)`: that switch's uplink to its
/// parent is shaped to the fraction of its declared rate (both directions), while the
/// topology keeps declaring the healthy rate (diagnosis tests: `slow_uplink`).
pub fn plan_with_uplinks(
    t: &Topology,
    slow: &[(String, f64)],
    slow_up: &[(String, f64)],
) -> Result<String, TopoError> {
    plan_faults(
        t,
        &Faults {
            slow_node: slow.to_vec(),
            slow_uplink: slow_up.to_vec(),
            ..Faults::default()
        },
    )
}

/// Whether `s` can name a Linux network interface (IFNAMSIZ 16 with the NUL; no `/`,
/// `:` or whitespace; not `.` or `..`).
fn is_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 16
        && s != "."
        && s != ".."
        && s != "lo"
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Renders the plan with `faults` applied.
pub fn plan_faults(t: &Topology, faults: &Faults) -> Result<String, TopoError> {
    let err = |m: &str| TopoError::Emulation {
        topology: t.name.clone(),
        message: m.to_string(),
    };
    let e = t
        .emulation
        .as_ref()
        .ok_or_else(|| err("it has no [emulation] table (subnet)"))?;
    if !t.named_hosts {
        return Err(err("it needs `hosts` (the namespaces' hostnames)"));
    }
    if t.nics.count == 0 {
        return Err(err("it has no NICs"));
    }
    // Addresses .11 upwards, .1 for mpirun's side.
    if t.nodes.len() > 243 {
        return Err(err(&format!(
            "{} hosts do not fit one /24 (at most 243)",
            t.nodes.len()
        )));
    }
    let per_nic = !t.nic_leaf.is_empty();
    let fraction = |what: &str, f: f64| -> Result<(), TopoError> {
        if f > 0.0 && f <= 1.0 {
            Ok(())
        } else {
            Err(err(&format!("{what}: fraction {f} not in (0, 1]")))
        }
    };
    let node_of = |what: &str, h: &str| -> Result<usize, TopoError> {
        t.nodes
            .iter()
            .position(|n| n == h)
            .ok_or_else(|| err(&format!("{what}: no host `{h}`")))
    };
    let nic_of = |what: &str, n: &str| -> Result<usize, TopoError> {
        if !per_nic {
            return Err(err(&format!(
                "{what}: the file hangs whole nodes on switches (one emulated NIC per node); \
                 per-NIC faults need rails or [[nic]] attachments"
            )));
        }
        (0..t.nics.count)
            .find(|i| t.nics.name(*i) == n || i.to_string() == n)
            .ok_or_else(|| err(&format!("{what}: no NIC `{n}`")))
    };
    for (h, f) in &faults.slow_node {
        node_of("--slow-node", h)?;
        fraction(&format!("--slow-node {h}"), *f)?;
    }
    for (sw, f) in &faults.slow_uplink {
        let Some(s) = t.switches.iter().find(|s| &s.name == sw) else {
            return Err(err(&format!("--slow-uplink: no switch `{sw}`")));
        };
        if s.uplink_gbps.is_none() {
            return Err(err(&format!(
                "--slow-uplink {sw}: it has no uplink (the top switch, or no uplink_gbps)"
            )));
        }
        fraction(&format!("--slow-uplink {sw}"), *f)?;
    }
    // (node, nic) -> fraction; (node, nic) -> leaf.
    let mut nic_frac = vec![1.0; t.nodes.len() * t.nics.count];
    for (h, n, f) in &faults.slow_nic {
        let what = format!("--slow-nic {h}:{n}");
        let (node, nic) = (node_of(&what, h)?, nic_of(&what, n)?);
        fraction(&what, *f)?;
        nic_frac[node * t.nics.count + nic] *= f;
    }
    let mut nic_leaf: Vec<Option<usize>> = (0..t.nodes.len())
        .flat_map(|n| (0..t.nics.count).map(move |k| (n, k)))
        .map(|(n, k)| t.nic_leaf(n, k))
        .collect();
    for (h, n, sw) in &faults.miswire {
        let what = format!("--miswire {h}:{n}:{sw}");
        let (node, nic) = (node_of(&what, h)?, nic_of(&what, n)?);
        let leaf = t
            .switches
            .iter()
            .position(|s| &s.name == sw)
            .ok_or_else(|| err(&format!("{what}: no switch `{sw}`")))?;
        if t.nic_leaf(node, nic) == Some(leaf) {
            return Err(err(&format!("{what}: the file already declares it there")));
        }
        nic_leaf[node * t.nics.count + nic] = Some(leaf);
    }
    let [a, b, c] = faults.subnet.unwrap_or(e.subnet);
    if per_nic && c as usize + t.nics.count > 256 {
        return Err(err(&format!(
            "{} NICs need the /24s {a}.{b}.{c}.0 to {a}.{b}.{}.0 (one per NIC index)",
            t.nics.count,
            c as usize + t.nics.count - 1
        )));
    }
    if per_nic {
        for i in 0..t.nics.count {
            if !is_ifname(&t.nics.name(i)) {
                return Err(err(&format!(
                    "NIC name `{}` cannot name a network interface (at most 15 of A-Z a-z 0-9 _ - .)",
                    t.nics.name(i)
                )));
            }
        }
    }
    let mut s = String::new();
    let _ = writeln!(s, "# emulation plan of topology {}", t.name);
    let _ = writeln!(s, "subnet {a}.{b}.{c}.0/24");
    let _ = writeln!(s, "mpirun_addr {a}.{b}.{c}.1");
    if t.switches.is_empty() {
        let _ = writeln!(s, "switch 0 sw0 - 0");
    }
    for (i, sw) in t.switches.iter().enumerate() {
        let parent = sw.parent.map_or("-".to_string(), |p| p.to_string());
        let frac = faults
            .slow_uplink
            .iter()
            .filter(|(n, _)| n == &sw.name)
            .map(|(_, f)| *f)
            .product::<f64>();
        let up = sw
            .uplink_gbps
            .map_or(0, |u| (u * 1e6 * frac).round() as u64);
        let _ = writeln!(s, "switch {i} {} {parent} {up}", sw.name);
    }
    let node_frac = |h: &str| -> f64 {
        faults
            .slow_node
            .iter()
            .filter(|(n, _)| n == h)
            .map(|(_, f)| *f)
            .product()
    };
    let nic_kbit = t.nics.rate_gbps * 1e6;
    for (i, h) in t.nodes.iter().enumerate() {
        let frac = node_frac(h);
        let addr = format!("{a}.{b}.{c}.{}", 11 + i);
        if per_nic {
            let kbit = (nic_kbit * t.nics.count as f64 * frac).round() as u64;
            let _ = writeln!(s, "node {i} {h} {addr} - {kbit} {}", t.devices_per_node);
            for k in 0..t.nics.count {
                let leaf = nic_leaf[i * t.nics.count + k].unwrap_or(0);
                let kb = (nic_kbit * frac * nic_frac[i * t.nics.count + k]).round() as u64;
                let _ = writeln!(
                    s,
                    "nic {i} {h} {k} {} {a}.{b}.{}.{} {leaf} {kb}",
                    t.nics.name(k),
                    c as usize + k,
                    11 + i
                );
            }
        } else {
            let kbit = (nic_kbit * t.nics.count as f64 * frac).round() as u64;
            let leaf = t.leaf_of_node[i].unwrap_or(0);
            let _ = writeln!(
                s,
                "node {i} {h} {addr} {leaf} {kbit} {}",
                t.devices_per_node
            );
        }
    }
    if per_nic {
        let names: Vec<String> = (0..t.devices_per_node)
            .map(|d| t.nics.name(t.nic_of_device(d)))
            .collect();
        let _ = writeln!(s, "rank_nics {}", names.join(" "));
    }
    Ok(s)
}
