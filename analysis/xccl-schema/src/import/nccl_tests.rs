//! nccl-tests' text output (NVIDIA/nccl-tests, `src/common.cu` and, from 2.14, `src/util.cu`:
//! the `# nThread ...` settings line, `#  Rank %2d Group %2d Pid %6d on %10s device %2d
//! [bus] name` per device, the table header `# size count type redop root time algbw busbw
//! #wrong time algbw busbw #wrong`, one line per size with the out-of-place then the
//! in-place measurement, and the footer `# Out of bounds values : N OK|FAILED` /
//! `# Avg bus bandwidth : X`). Columns are taken from the header line itself, so every
//! version's table reads: with or without `root` and `#wrong`, `cputime` (`-C 1`), the
//! per-iteration columns `i_min i_max i_p99 i_cv%` (`-I`, 2.19) and a trailing
//! timestamp. A header line may recur (several tables in one log, `-d all` / `-o all`
//! runs): each one sets the columns of the rows after it.
//!
//! What the text does not give: per-rank times (one time combined across ranks, `-a`),
//! per-iteration spread without `-I`, the start time. A log cut inside a row is refused; a
//! log whose rows are whole but which ends before the footer is an interrupted run, used
//! as far as it goes (like our own partial files).

use super::common::{
    infer, last_nonblank, nccl_version, precision_from_cv, rank_infos, row, settings, Format,
    ImportResult, Parts,
};
use crate::coll::CollKind;
use crate::result::{BackendInfo, Placement, Provenance, Report, Row, TimingMethod};
use crate::{DataType, ReduceOp};
use std::path::Path;

/// The table's column-name line: `#` then at least size, count, type, algbw, busbw.
pub fn is_header(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix('#') else {
        return false;
    };
    let t: Vec<&str> = rest.split_whitespace().collect();
    ["size", "count", "type", "algbw", "busbw"]
        .iter()
        .all(|w| t.contains(w))
        && t.iter().any(|w| *w == "time" || *w == "cputime")
}

/// Where each value of a row is, from the header line.
#[derive(Clone, Debug, Default)]
struct Columns {
    n: usize,
    size: usize,
    count: usize,
    dtype: usize,
    redop: Option<usize>,
    root: Option<usize>,
    /// Per placement (out-of-place, then in-place): time, algbw, busbw, #wrong, and the
    /// per-iteration i_min, i_max, i_p99, i_cv%.
    places: Vec<Place>,
    cputime: bool,
}

#[derive(Clone, Debug, Default)]
struct Place {
    time: usize,
    algbw: usize,
    busbw: usize,
    wrong: Option<usize>,
    iter: Option<[usize; 4]>,
}

fn columns(line: &str) -> ImportResult<Columns> {
    let names: Vec<&str> = line.trim_start()[1..].split_whitespace().collect();
    let at = |w: &str| names.iter().position(|n| *n == w);
    let mut c = Columns {
        n: names.iter().filter(|n| **n != "timestamp").count(),
        size: at("size").unwrap_or(0),
        count: at("count").unwrap_or(1),
        dtype: at("type").unwrap_or(2),
        redop: at("redop"),
        root: at("root"),
        ..Columns::default()
    };
    let starts: Vec<usize> = (0..names.len())
        .filter(|&i| names[i] == "time" || names[i] == "cputime")
        .collect();
    c.cputime = starts.iter().any(|&i| names[i] == "cputime");
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(names.len());
        let find = |w: &str| (s..end).find(|&i| names[i] == w);
        let (Some(algbw), Some(busbw)) = (find("algbw"), find("busbw")) else {
            return Err(format!(
                "a table header without algbw/busbw after `{}`",
                names[s]
            ));
        };
        let iter = match (find("i_min"), find("i_max"), find("i_p99"), find("i_cv%")) {
            (Some(a), Some(b), Some(p), Some(v)) => Some([a, b, p, v]),
            _ => None,
        };
        c.places.push(Place {
            time: s,
            algbw,
            busbw,
            wrong: find("#wrong"),
            iter,
        });
    }
    if c.places.is_empty() || c.places.len() > 2 {
        return Err(format!(
            "a table header with {} time columns (1 or 2 expected)",
            c.places.len()
        ));
    }
    Ok(c)
}

/// What the lines before and around the table say.
#[derive(Default)]
struct Head {
    version: Option<String>,
    nccl: Option<String>,
    binaries: Vec<CollKind>,
    devs: Vec<(usize, String, u32, String, Option<usize>)>,
    settings: crate::result::Settings,
    oob_failed: bool,
    avg_busbw: Option<f64>,
    min_bw_failed: bool,
}

/// `#  Rank  0 Group  0 Pid  12345 on node01 device  0 [0000:1b:00] NVIDIA H100 80GB HBM3`
/// (older versions: no `Group`, `[0x1b]`).
fn device_line(rest: &str) -> Option<(usize, String, u32, String, Option<usize>)> {
    let t: Vec<&str> = rest.split_whitespace().collect();
    if t.first() != Some(&"Rank") {
        return None;
    }
    let rank = t.get(1)?.parse().ok()?;
    let val = |k: &str| t.iter().position(|w| *w == k).and_then(|i| t.get(i + 1));
    let group = val("Group").and_then(|g| g.parse().ok());
    let pid = val("Pid")?.parse().ok()?;
    let host = val("on")?.to_string();
    let d = t.iter().position(|w| *w == "device")?;
    let (bus, name) = (
        t.get(d + 2).copied().unwrap_or(""),
        t.get(d + 3..).unwrap_or(&[]),
    );
    let device = format!("{} {bus}", name.join(" ")).trim().to_string();
    Some((rank, host, pid, device, group))
}

fn settings_line(rest: &str, s: &mut crate::result::Settings) {
    let t: Vec<&str> = rest.split_whitespace().collect();
    let after = |k: &[&str]| {
        (0..t.len().saturating_sub(k.len()))
            .find(|&i| t[i..i + k.len()] == *k)
            .and_then(|i| t.get(i + k.len()))
    };
    let num = |k: &[&str]| after(k).and_then(|v| v.parse::<u64>().ok());
    s.min_bytes = num(&["minBytes"]).unwrap_or(0);
    s.max_bytes = num(&["maxBytes"]).unwrap_or(0);
    if let Some(step) = after(&["step:"]) {
        let v: u64 = step
            .split('(')
            .next()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0);
        if step.contains("factor") {
            s.step_factor = Some(v as f64);
        } else {
            s.step_bytes = Some(v);
        }
    }
    s.warmup_iters = num(&["warmup", "iters:"]).unwrap_or(0) as usize;
    s.iters = num(&["iters:"]).unwrap_or(0) as usize;
    if t.starts_with(&["nThread"]) {
        // `iters:` first matches `warmup iters:`; the timed count is the one after it.
        let all: Vec<usize> = (0..t.len())
            .filter(|&i| t[i] == "iters:" && i > 0 && t[i - 1] != "warmup" && t[i - 1] != "agg")
            .collect();
        if let Some(&i) = all.first() {
            s.iters = t.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(0);
        }
    }
    s.check_iters = num(&["validation:"]).unwrap_or(1) as usize;
}

/// Reads nccl-tests' text output; `path` names the file in the rows' collective hint.
pub fn parse(text: &str, path: &Path) -> ImportResult<Report> {
    let mut head = Head {
        settings: settings(),
        ..Head::default()
    };
    let mut cols: Option<Columns> = None;
    let mut raw: Vec<(usize, Vec<String>, Columns)> = vec![];
    let mut complete = false;
    let lines: Vec<&str> = text.lines().collect();
    let last = last_nonblank(&lines);
    for (i, line) in lines.iter().enumerate() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix('#') {
            let rest = rest.trim();
            if is_header(l) {
                cols = Some(columns(l).map_err(|e| format!("line {}: {e}", i + 1))?);
            } else if let Some(v) = rest.strip_prefix("nccl-tests version") {
                let t: Vec<&str> = v.split_whitespace().collect();
                head.version = t.first().map(|s| s.to_string());
                head.nccl = t
                    .iter()
                    .find_map(|w| w.strip_prefix("nccl-library="))
                    .and_then(|c| c.parse().ok())
                    .map(nccl_version);
            } else if let Some(b) = rest.strip_prefix("Collective test starting:") {
                head.binaries.extend(super::common::binary_in(b));
            } else if rest.starts_with("nThread") {
                settings_line(rest, &mut head.settings);
            } else if rest == "Using devices" {
                // A log may hold several runs (appended): the devices are the last run's.
                head.devs.clear();
            } else if rest.starts_with("Blocking Enabled") {
                head.settings.blocking = true;
            } else if let Some(d) = device_line(rest) {
                head.devs.push(d);
            } else if let Some(v) = rest.strip_prefix("Out of bounds values") {
                head.oob_failed = v.contains("FAILED");
            } else if let Some(v) = rest.strip_prefix("Avg bus bandwidth") {
                let t: Vec<&str> = v
                    .trim_start_matches([' ', ':'])
                    .split_whitespace()
                    .collect();
                head.avg_busbw = t.first().and_then(|x| x.parse().ok());
                head.min_bw_failed = t.get(1) == Some(&"FAILED");
                complete = head.avg_busbw.is_some();
            }
            continue;
        }
        let t: Vec<String> = l.split_whitespace().map(String::from).collect();
        let (Some(c), Some(first)) = (&cols, t.first()) else {
            continue;
        };
        if first.parse::<u64>().is_err() {
            continue; // NCCL INFO/WARN lines, a launcher's messages
        }
        if t.len() < c.n {
            return Err(if i == last {
                format!(
                    "truncated: the last line ({}) has {} of the table's {} fields",
                    i + 1,
                    t.len(),
                    c.n
                )
            } else {
                format!(
                    "line {}: {} fields, the table header has {}",
                    i + 1,
                    t.len(),
                    c.n
                )
            });
        }
        raw.push((i + 1, t, c.clone()));
    }
    if cols.is_none() {
        return Err("no table header line (`# size count type redop ...`)".into());
    }
    if raw.is_empty() {
        return Err("truncated: the log ends before its first result row".into());
    }
    build(head, raw, complete, path)
}

fn build(
    head: Head,
    raw: Vec<(usize, Vec<String>, Columns)>,
    complete: bool,
    path: &Path,
) -> ImportResult<Report> {
    // One communicator's ranks: those in rank 0's group (NCCL_TESTS_SPLIT_MASK splits).
    let g0 = head.devs.first().and_then(|d| d.4);
    let devs: Vec<(usize, String, u32, String)> = head
        .devs
        .iter()
        .filter(|d| d.4 == g0)
        .map(|d| (d.0, d.1.clone(), d.2, d.3.clone()))
        .collect();
    if devs.is_empty() {
        return Err("no `#  Rank N ... on HOST device N` lines: the rank count is unknown".into());
    }
    let n = devs.len();
    let mut binaries = head.binaries.clone();
    binaries.dedup();
    if binaries.len() > 1 {
        let names: Vec<&str> = binaries.iter().map(|c| c.name()).collect();
        return Err(format!(
            "runs of several collectives in one log ({}): split it",
            names.join(", ")
        ));
    }
    let coll = match binaries
        .first()
        .copied()
        .or_else(|| super::common::collective_in_name(path))
    {
        Some(c) => c,
        None => {
            let (_, t, c) = &raw[0];
            let op = c.redop.map(|i| t[i].as_str()).filter(|o| *o != "none");
            infer(
                t[c.size].parse().unwrap_or(0),
                t[c.count].parse().unwrap_or(0),
                t[c.dtype].parse()?,
                op.is_some(),
                c.root.and_then(|i| t[i].parse().ok()).unwrap_or(-1),
                n,
            )?
        }
    };
    let mut prov = Provenance {
        format: Format::NcclTestsText.name().into(),
        version: head.version.clone(),
        ..Provenance::default()
    };
    let timing = if raw
        .iter()
        .any(|r| r.2.places.iter().any(|p| p.iter.is_some()))
    {
        TimingMethod::DeviceEvents
    } else {
        TimingMethod::Loop
    };
    let mut s = head.settings.clone();
    s.timing = Some(timing);
    let mut rows = vec![];
    let mut skipped = 0;
    for (line, t, c) in &raw {
        match rows_of(coll, t, c, s.iters).map_err(|e| format!("line {line}: {e}"))? {
            Some(r) => rows.extend(r),
            None => skipped += 1,
        }
    }
    lacks(&raw, &mut prov);
    if skipped > 0 {
        prov.notes.push(format!(
            "{skipped} row(s) of redop mulsum skipped (premultiplied sum: no xccl-bench op)"
        ));
    }
    if raw.iter().any(|r| r.2.cputime) {
        prov.notes
            .push("times are CPU times (-C 1), not device times".into());
    }
    if head.min_bw_failed {
        prov.notes
            .push("nccl-tests' own NCCL_TESTS_MIN_BW check FAILED".into());
    }
    if !complete {
        prov.notes
            .push("the log ends before the footer: a run that did not finish".into());
    }
    if rows.is_empty() {
        return Err("no row with an op xccl-bench knows".into());
    }
    Ok(super::common::report(Parts {
        collective: coll,
        backend: BackendInfo {
            name: "nccl".into(),
            library: "NCCL".into(),
            version: head.nccl.clone().unwrap_or_default(),
            device: devs[0].3.clone(),
        },
        nranks: n,
        ranks: rank_infos(&devs),
        args: vec![],
        settings: s,
        rows,
        complete,
        avg_busbw: head.avg_busbw,
        tool_check_failed: head.oob_failed,
        provenance: prov,
    }))
}

fn lacks(raw: &[(usize, Vec<String>, Columns)], prov: &mut Provenance) {
    let all = |f: &dyn Fn(&Columns) -> bool| raw.iter().all(|r| f(&r.2));
    prov.lacks
        .push("per-rank times (one time combined across ranks)".into());
    if all(&|c| c.places.iter().all(|p| p.iter.is_some())) {
        prov.lacks
            .push("p50 (the -I columns give min, max, p99, cv)".into());
    } else {
        prov.lacks
            .push("per-iteration spread (min, max, p50, p99, CI: no -I columns)".into());
    }
    if !all(&|c| c.places.iter().all(|p| p.wrong.is_some())) {
        prov.lacks
            .push("#wrong (no check column in this table)".into());
    }
    if !all(&|c| c.root.is_some()) {
        prov.lacks.push("root (no column: -1 assumed)".into());
    }
    prov.lacks.push("start time".into());
}

/// The two rows (out-of-place, in-place) of one table line; `None` for a redop xccl-bench
/// does not model (`mulsum`).
fn rows_of(
    coll: CollKind,
    t: &[String],
    c: &Columns,
    iters: usize,
) -> ImportResult<Option<Vec<Row>>> {
    let int = |i: usize, what: &str| -> ImportResult<u64> {
        t[i].parse()
            .map_err(|_| format!("{what} `{}` is not a whole number", t[i]))
    };
    let num = |i: usize, what: &str| -> ImportResult<f64> {
        t[i].parse()
            .map_err(|_| format!("{what} `{}` is not a number", t[i]))
    };
    let dtype: DataType = t[c.dtype].parse()?;
    let op = match c.redop.map(|i| t[i].as_str()) {
        None | Some("none") => None,
        Some("mulsum") => return Ok(None),
        Some(o) => Some(o.parse::<ReduceOp>()?),
    };
    let root = match c.root {
        Some(i) => t[i]
            .parse::<i64>()
            .map_err(|_| format!("root `{}` is not a number", t[i]))?,
        None => -1,
    };
    let (size, count) = (int(c.size, "size")?, int(c.count, "count")?);
    let mut out = vec![];
    for (k, p) in c.places.iter().enumerate() {
        let placement = if k == 0 {
            Placement::OutOfPlace
        } else {
            Placement::InPlace
        };
        let wrong = match p.wrong.map(|i| t[i].as_str()) {
            None | Some("N/A") => None,
            Some(w) => Some(
                w.parse::<f64>()
                    .map_err(|_| format!("#wrong `{w}` is not a number"))? as u64,
            ),
        };
        let mut r = row(
            coll,
            size,
            count,
            dtype,
            op,
            root,
            placement,
            iters,
            num(p.time, "time")?,
            num(p.algbw, "algbw")?,
            num(p.busbw, "busbw")?,
            wrong,
        );
        if let Some([a, b, p99, cv]) = p.iter {
            r.time_us.min = num(a, "i_min")?;
            r.time_us.max = num(b, "i_max")?;
            r.time_us.p99 = num(p99, "i_p99")?;
            r.precision = precision_from_cv(num(cv, "i_cv%")?, iters);
        }
        out.push(r);
    }
    Ok(Some(out))
}
