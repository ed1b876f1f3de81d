//! `ibnetdiscover` output: which switch port each HCA port is cabled to.
//!
//! The format (infiniband-diags, ibnetdiscover(8), "TOPOLOGY FILE FORMAT", in rdma-core
//! `infiniband-diags/man/common/sec_topology-file.rst`): blocks of `key=value` lines
//! (`vendid=`, `devid=`, `sysimgguid=`, `switchguid=`, `caguid=`), a node line
//!
//! ```text
//! Switch  36 "S-b8cef60300e5d2a0"   # "MF0;leaf-1:MQM9700/U1" enhanced port 0 lid 1 lmc 0
//! Ca      1 "H-0c42a10300a1b2c4"    # "node01 mlx5_0"
//! ```
//!
//! (kind, port count, `"S-|H-|R-" + node GUID`, `#` and the NodeDescription in quotes),
//! then one line per connected port: its number in brackets (a CA's with its port GUID in
//! parentheses), the peer in quotes with its port in brackets, and after `#` the peer's
//! NodeDescription in quotes (a CA port's line first gives its own `lid N lmc M`):
//!
//! ```text
//! [3]     "H-0c42a10300a1b2cc"[1](c42a10300a1b2cc)   # "node03 mlx5_0" lid 7 4xNDR
//! [1](c42a10300a1b2c4)  "S-b8cef60300e5d2a0"[1]    # lid 5 lmc 0 "MF0;leaf-1:MQM9700/U1" lid 1 4xNDR
//! ```
//!
//! `#` comment lines, blank lines and the grouping lines of `-g` (`Chassis N`,
//! `Non-Chassis Nodes`) are skipped. A host's NodeDescription is `HOST HCA` (what
//! rdma-ndd sets, `node01 mlx5_0`); a switch's name is its description, or NAME in
//! NVIDIA/Mellanox switches' `MF0;NAME:MODEL/U1`.

use super::link::{Cable, WiringError};
use std::collections::BTreeMap;

/// A cursor over one line.
struct Cur<'a>(&'a str);

impl<'a> Cur<'a> {
    fn ws(&mut self) {
        self.0 = self.0.trim_start();
    }
    fn eat(&mut self, c: char) -> bool {
        match self.0.strip_prefix(c) {
            Some(r) => {
                self.0 = r;
                true
            }
            None => false,
        }
    }
    /// Up to (not including) `end`, which is consumed.
    fn until(&mut self, end: char) -> Option<&'a str> {
        let i = self.0.find(end)?;
        let s = &self.0[..i];
        self.0 = &self.0[i + end.len_utf8()..];
        Some(s)
    }
    fn bracketed_num(&mut self) -> Option<u32> {
        if !self.eat('[') {
            return None;
        }
        self.until(']')?.trim().parse().ok()
    }
    fn quoted(&mut self) -> Option<&'a str> {
        self.ws();
        if !self.eat('"') {
            return None;
        }
        self.until('"')
    }
    /// `(guid)` and `[ext N]` after a port number, when present.
    fn port_extras(&mut self) {
        if self.0.starts_with('(') {
            let _ = self.until(')');
        }
        if self.0.starts_with("[ext") {
            let _ = self.until(']');
        }
    }
    /// The first quoted string after `#`, if any.
    fn comment_desc(&mut self) -> Option<&'a str> {
        self.until('#')?;
        self.until('"')?;
        self.until('"')
    }
}

/// A node line: (kind, node id such as `S-…`, description).
fn node_line(line: &str) -> Option<(&str, &str, String)> {
    let kind = ["Switch", "Ca", "Rt"].into_iter().find(|k| {
        line.strip_prefix(k)
            .is_some_and(|r| r.starts_with([' ', '\t']))
    })?;
    let mut c = Cur(&line[kind.len()..]);
    c.ws();
    let n =
        c.0.find(|ch: char| !ch.is_ascii_digit())
            .unwrap_or(c.0.len());
    if n == 0 {
        return None;
    }
    c.0 = &c.0[n..];
    let id = c.quoted()?;
    let desc = c.comment_desc().unwrap_or("").to_string();
    Some((kind, id, desc))
}

/// A port line: (own port, peer id, peer port, peer description).
fn port_line(line: &str) -> Option<(u32, &str, u32, String)> {
    let mut c = Cur(line);
    let own = c.bracketed_num()?;
    c.port_extras();
    let peer = c.quoted()?;
    let peer_port = c.bracketed_num()?;
    c.port_extras();
    let desc = c.comment_desc().unwrap_or("").to_string();
    Some((own, peer, peer_port, desc))
}

/// `MF0;leaf-1:MQM9700/U1` → `leaf-1`; any other description as it is.
pub fn switch_name(desc: &str) -> String {
    desc.strip_prefix("MF0;")
        .and_then(|r| r.split(':').next())
        .filter(|n| !n.is_empty())
        .unwrap_or(desc)
        .to_string()
}

/// `node01 mlx5_0` → (`node01`, `mlx5_0`); another description is the host, with the
/// node id as the NIC.
fn host_and_hca(desc: &str, id: &str) -> (String, String) {
    let words: Vec<&str> = desc.split_whitespace().collect();
    match words[..] {
        [h, hca] => (h.into(), hca.into()),
        _ => (desc.into(), id.into()),
    }
}

fn guid(id: &str) -> String {
    id.get(2..).unwrap_or(id).to_string()
}

const EXPECTED: &str = "expected a node line (Switch|Ca|Rt N \"S-GUID\" # \"description\"), a port line ([N] \"S-GUID\"[M] # …), key=value or a comment";

/// Every HCA port cabled to a switch in `text` (ibnetdiscover output read from `file`),
/// sorted by host, NIC and port. A CA port appears once even though both the switch's
/// block and the CA's block name the cable.
pub fn parse(file: &str, text: &str) -> Result<Vec<Cable>, WiringError> {
    // Key: (CA node id, CA port).
    let mut cables: BTreeMap<(String, u32), Cable> = BTreeMap::new();
    let mut node: Option<(String, String, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let n = i + 1;
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with("Chassis")
            || line.starts_with("Non-Chassis")
            || line.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        {
            continue;
        }
        if let Some((kind, id, desc)) = node_line(line) {
            node = Some((kind.into(), id.into(), desc));
            continue;
        }
        if line.starts_with('[') {
            let Some((own, peer, peer_port, peer_desc)) = port_line(line) else {
                return Err(WiringError::at(
                    file,
                    n,
                    "expected a port line: [N] \"S-GUID\"[M] # \"description\" …",
                ));
            };
            let Some((kind, id, desc)) = &node else {
                return Err(WiringError::at(
                    file,
                    n,
                    "port line before any node line (Switch|Ca|Rt N \"GUID\")",
                ));
            };
            let cable = match (kind.as_str(), peer.get(..2)) {
                ("Ca", Some("S-")) => {
                    let (host, nic) = host_and_hca(desc, id);
                    Some((
                        (id.clone(), own),
                        host,
                        nic,
                        own,
                        &peer_desc,
                        peer,
                        peer_port,
                    ))
                }
                ("Switch", Some("H-")) => {
                    let (host, nic) = host_and_hca(&peer_desc, peer);
                    Some((
                        (peer.to_string(), peer_port),
                        host,
                        nic,
                        peer_port,
                        desc,
                        id.as_str(),
                        own,
                    ))
                }
                _ => None, // switch to switch, CA to CA, routers
            };
            if let Some((key, host, nic, nic_port, sw_desc, sw_id, sw_port)) = cable {
                cables.entry(key).or_insert(Cable {
                    host,
                    nic,
                    nic_port,
                    switch: switch_name(sw_desc),
                    port: sw_port.to_string(),
                    switch_id: Some(guid(sw_id)),
                });
            }
            continue;
        }
        let shown: String = line.chars().take(40).collect();
        return Err(WiringError::at(
            file,
            n,
            format!("{EXPECTED}, found `{shown}`"),
        ));
    }
    if cables.is_empty() {
        return Err(WiringError::at(
            file,
            0,
            "no HCA port cabled to a switch: expected ibnetdiscover output (Switch and Ca blocks)",
        ));
    }
    let mut v: Vec<Cable> = cables.into_values().collect();
    v.sort_by(|a, b| (&a.host, &a.nic, a.nic_port).cmp(&(&b.host, &b.nic, b.nic_port)));
    Ok(v)
}
