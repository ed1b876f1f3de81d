//! `lldpctl -f json` (lldpd): the switch and port each local interface sees as its LLDP
//! neighbour.
//!
//! The shape (lldpd, tests/integration/test_lldpcli.py, `test_json_output`):
//!
//! ```text
//! {"lldp": {"interface": {"eth0": {"via": "LLDP", "rid": "1",
//!     "chassis": {"leaf-1": {"id": {"type": "mac", "value": "…"}, "descr": "…", …}},
//!     "port": {"id": {"type": "ifname", "value": "Ethernet12"}, "descr": "…", "ttl": "120"}}}}}
//! ```
//!
//! The chassis is keyed by its system name; without one, the chassis object holds `id`
//! directly. With several interfaces lldpd writes `"interface"` as an array of such
//! one-key objects (`[{"eth0": {…}}, {"eth1": {…}}]`); both are read. The port is its id
//! when the id is an interface name (`ifname`, `local`), else its description, else its
//! id. lldpctl runs on one host and does not name it: the caller gives the host.

use super::link::{Cable, WiringError};
use serde_json::Value;

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// (switch name, chassis id) of a `chassis` object.
fn chassis(c: &Value) -> Option<(String, Option<String>)> {
    let obj = c.as_object()?;
    if let Some(id) = obj.get("id") {
        // No system name: the chassis id stands for it.
        let v = text(&id["value"])?;
        return Some((v.clone(), Some(v)));
    }
    let (name, body) = obj.iter().next()?;
    Some((name.clone(), text(&body["id"]["value"])))
}

fn port(p: &Value) -> Option<String> {
    let id = &p["id"];
    match id["type"].as_str() {
        Some("ifname") | Some("local") => text(&id["value"]),
        _ => text(&p["descr"]).or_else(|| text(&id["value"])),
    }
}

/// The neighbours in `json` (lldpctl -f json read from `file`) of `host`'s interfaces,
/// in the file's order; interfaces without a neighbour switch are left out.
pub fn parse(file: &str, json: &str, host: &str) -> Result<Vec<Cable>, WiringError> {
    let v: Value = serde_json::from_str(json).map_err(|e| {
        WiringError::at(
            file,
            e.line(),
            format!("not JSON ({e}): expected lldpctl -f json output"),
        )
    })?;
    let Some(ifaces) = v.get("lldp").map(|l| &l["interface"]) else {
        return Err(WiringError::at(
            file,
            0,
            "expected an object with key `lldp` (lldpctl -f json output)",
        ));
    };
    // {"eth0": {…}, …} or [{"eth0": {…}}, {"eth1": {…}}]; none when no neighbour at all.
    let entries: Vec<(&String, &Value)> = match ifaces {
        Value::Object(m) => m.iter().collect(),
        Value::Array(a) => a.iter().filter_map(Value::as_object).flatten().collect(),
        Value::Null => Vec::new(),
        _ => {
            return Err(WiringError::at(
                file,
                0,
                "`lldp.interface` is neither an object nor an array of objects",
            ))
        }
    };
    let mut out = Vec::new();
    for (name, body) in entries {
        let Some((switch, switch_id)) = chassis(&body["chassis"]) else {
            continue;
        };
        let Some(port) = port(&body["port"]) else {
            return Err(WiringError::at(
                file,
                0,
                format!("interface `{name}`: expected `port.id.value` or `port.descr`"),
            ));
        };
        out.push(Cable {
            host: host.to_string(),
            nic: name.clone(),
            nic_port: 1,
            switch,
            port,
            switch_id,
        });
    }
    Ok(out)
}
