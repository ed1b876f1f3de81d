//! Value parsers the commands' arguments share (fractions, thresholds, `HOST:FRACTION`,
//! comma lists or `all`). Sizes (`8K`, `1G`) are `xccl_schema::types::parse_size`.

use crate::error::{BenchError, Result};

pub fn parse_unit_fraction(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("'{s}' must be a number in (0, 1], e.g. 0.8")),
    }
}

pub fn parse_threshold(s: &str) -> std::result::Result<f64, String> {
    parse_fraction(s).map_err(|e| e.replace("precision", "threshold"))
}

pub fn parse_fraction(s: &str) -> std::result::Result<f64, String> {
    let (num, pct) = match s.strip_suffix('%') {
        Some(n) => (n, true),
        None => (s, false),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("malformed precision '{s}' (e.g. 1% or 0.01)"))?;
    let v = if pct { v / 100.0 } else { v };
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("precision '{s}' must be between 0 and 100%"))
    }
}

pub fn list_or_all<T: std::str::FromStr<Err = String> + Copy>(
    s: &str,
    all: &[T],
) -> Result<Vec<T>> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(all.to_vec());
    }
    s.split(',')
        .map(|p| p.trim().parse::<T>().map_err(BenchError::Usage))
        .collect()
}

/// `HOST:FRACTION` of `topo emu-plan --slow-node`.
pub fn parse_slow_node(s: &str) -> std::result::Result<(String, f64), String> {
    let (h, f) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("'{s}': expected HOST:FRACTION"))?;
    let f: f64 = f
        .parse()
        .map_err(|_| format!("'{s}': the fraction must be a number"))?;
    if !(f > 0.0 && f <= 1.0) {
        return Err(format!("'{s}': the fraction must be in (0, 1]"));
    }
    Ok((h.to_string(), f))
}

/// `HOST:NIC:FRACTION` of `topo emu-plan --slow-nic` (NIC: a name or an index).
pub fn parse_slow_nic(s: &str) -> std::result::Result<(String, String, f64), String> {
    let (hn, f) =
        parse_slow_node(s).map_err(|e| e.replace("HOST:FRACTION", "HOST:NIC:FRACTION"))?;
    let (h, n) = hn
        .split_once(':')
        .filter(|(h, n)| !h.is_empty() && !n.is_empty())
        .ok_or_else(|| format!("'{s}': expected HOST:NIC:FRACTION"))?;
    Ok((h.to_string(), n.to_string(), f))
}

/// `HOST:NIC:SWITCH` of `topo emu-plan --miswire`.
pub fn parse_miswire(s: &str) -> std::result::Result<(String, String, String), String> {
    match s.split(':').collect::<Vec<_>>()[..] {
        [h, n, sw] if !h.is_empty() && !n.is_empty() && !sw.is_empty() => {
            Ok((h.to_string(), n.to_string(), sw.to_string()))
        }
        _ => Err(format!("'{s}': expected HOST:NIC:SWITCH")),
    }
}

/// `A.B.C` or `A.B.C.0/24` (XCCL_EMU_SUBNET): the first three octets of a /24.
pub fn parse_subnet24(s: &str) -> std::result::Result<[u8; 3], String> {
    let t = s.strip_suffix(".0/24").unwrap_or(s);
    let o: Vec<u8> = t.split('.').filter_map(|p| p.parse().ok()).collect();
    match o[..] {
        [a, b, c] if t.split('.').count() == 3 => Ok([a, b, c]),
        _ => Err(format!("'{s}': want A.B.C or A.B.C.0/24")),
    }
}
