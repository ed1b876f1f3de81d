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
