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
//! node IDX HOSTNAME ADDR LEAF_IDX RATE_KBIT SLOTS
//! ```
//!
//! A node's NICs are emulated as one veth at their summed rate. `slow` scales one node's
//! rate (both directions) to emulate a degraded NIC while the topology keeps declaring the
//! healthy rate.

use crate::error::TopoError;
use crate::topology::Topology;
use std::fmt::Write;

/// Renders the plan. `slow` holds `(hostname, fraction)` pairs.
pub fn plan(t: &Topology, slow: &[(String, f64)]) -> Result<String, TopoError> {
    plan_with_uplinks(t, slow, &[])
}

/// [`plan`], and `slow_up` holds `(switch name, fraction)`: that switch's uplink to its
/// parent is shaped to the fraction of its declared rate (both directions), while the
/// topology keeps declaring the healthy rate (diagnosis tests: `slow_uplink`).
pub fn plan_with_uplinks(
    t: &Topology,
    slow: &[(String, f64)],
    slow_up: &[(String, f64)],
) -> Result<String, TopoError> {
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
    for (h, f) in slow {
        if !t.nodes.contains(h) {
            return Err(err(&format!("--slow-node: no host `{h}`")));
        }
        if !(*f > 0.0 && *f <= 1.0) {
            return Err(err(&format!("--slow-node {h}: fraction {f} not in (0, 1]")));
        }
    }
    for (sw, f) in slow_up {
        let Some(s) = t.switches.iter().find(|s| &s.name == sw) else {
            return Err(err(&format!("--slow-uplink: no switch `{sw}`")));
        };
        if s.uplink_gbps.is_none() {
            return Err(err(&format!(
                "--slow-uplink {sw}: it has no uplink (the top switch, or no uplink_gbps)"
            )));
        }
        if !(*f > 0.0 && *f <= 1.0) {
            return Err(err(&format!(
                "--slow-uplink {sw}: fraction {f} not in (0, 1]"
            )));
        }
    }
    let [a, b, c] = e.subnet;
    let mut s = String::new();
    let _ = writeln!(s, "# emulation plan of topology {}", t.name);
    let _ = writeln!(s, "subnet {a}.{b}.{c}.0/24");
    let _ = writeln!(s, "mpirun_addr {a}.{b}.{c}.1");
    if t.switches.is_empty() {
        let _ = writeln!(s, "switch 0 sw0 - 0");
    }
    for (i, sw) in t.switches.iter().enumerate() {
        let parent = sw.parent.map_or("-".to_string(), |p| p.to_string());
        let frac = slow_up
            .iter()
            .find(|(n, _)| n == &sw.name)
            .map_or(1.0, |(_, f)| *f);
        let up = sw
            .uplink_gbps
            .map_or(0, |u| (u * 1e6 * frac).round() as u64);
        let _ = writeln!(s, "switch {i} {} {parent} {up}", sw.name);
    }
    for (i, h) in t.nodes.iter().enumerate() {
        let frac = slow.iter().find(|(n, _)| n == h).map_or(1.0, |(_, f)| *f);
        let kbit = (t.nics.rate_gbps * t.nics.count as f64 * 1e6 * frac).round() as u64;
        let leaf = t.leaf_of_node[i].unwrap_or(0);
        let _ = writeln!(
            s,
            "node {i} {h} {a}.{b}.{c}.{} {leaf} {kbit} {}",
            11 + i,
            t.devices_per_node
        );
    }
    Ok(s)
}
