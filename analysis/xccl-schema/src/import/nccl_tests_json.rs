//! nccl-tests' JSON file (`-J FILE` / `--output_file`, JSON file version 2: NVIDIA/nccl-tests
//! `src/util.cu`, `JSON_FILE_VERSION`, `jsonOutputInit`, `writeDeviceReport`,
//! `writeBenchmarkLine*`, `writePerIterReport`, `writeResultFooter`). Top level: `version`,
//! `start_time`, `args`, `env`, `nccl_version`, `config` (with `devices`: rank, group,
//! pid, hostname, device, device_hex, device_info), `results` (size, count, type, redop,
//! root as a padded string, `out_of_place` / `in_place` with `time` or `cpu_time`,
//! `alg_bw`, `bus_bw`, `nwrong` (null unchecked), and under `-I` `*_per_iter` with
//! min/max/avg/p50/p95/p99/stdev (µs), `cv_pct`, `times_us` and, with several processes,
//! `per_process_max_times_us`: each process's time of every iteration), `out_of_bounds`,
//! `average_bus_bandwidth` and `errors`. Booleans are written as the strings `"true"` /
//! `"false"`, NaN as `"nan"`.
//!
//! Per-iteration statistics give min, max, p50, p99 and the CI of the mean (from stdev);
//! per-process times give each rank's mean when every process drives one GPU. Without
//! `-I` the file has neither, and the import says so.

use super::common::{infer, nccl_version, rank_infos, row, settings, Format, ImportResult, Parts};
use crate::result::{BackendInfo, PerRank, Placement, Provenance, Report, Row, TimingMethod};
use crate::{DataType, ReduceOp};
use serde_json::Value;
use std::path::Path;

/// The newest JSON file version this reader knows.
pub const NEWEST: u64 = 2;

fn f(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == "nan" => Some(f64::NAN),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        Value::Number(n) => Some(n.as_u64() != Some(0)),
        _ => None,
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn u(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

/// Reads a parsed nccl-tests JSON document ([`super::is_nccl_tests_json`] said it is one).
pub fn parse(v: &Value, path: &Path) -> ImportResult<Report> {
    let version = u(v, "version").unwrap_or(0);
    if version > NEWEST {
        return Err(format!(
            "JSON file version {version} is newer than this xccl-bench reads (up to {NEWEST})"
        ));
    }
    let empty = Value::Object(Default::default());
    let config = v.get("config").unwrap_or(&empty);
    let devs: Vec<(usize, String, u32, String)> = config
        .get("devices")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        u(d, "rank").unwrap_or(0) as usize,
                        s(d, "hostname").unwrap_or("").to_string(),
                        u(d, "pid").unwrap_or(0) as u32,
                        format!(
                            "{} [{}]",
                            s(d, "device_info").unwrap_or(""),
                            s(d, "device_hex").unwrap_or("")
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    // One device line per process: with several GPUs per process the count is per process.
    let per_proc = (u(config, "nthreads").unwrap_or(1) * u(config, "ngpus").unwrap_or(1)) as usize;
    let n = devs.len() * per_proc.max(1);
    if n == 0 {
        return Err("no `config.devices`: the rank count is unknown".into());
    }
    let args: Vec<String> = v
        .get("args")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let results = v
        .get("results")
        .and_then(Value::as_array)
        .ok_or("no `results` list")?;
    if results.is_empty() {
        return Err("an empty `results` list (the run stopped before its first size)".into());
    }
    let coll = match args
        .first()
        .and_then(|a| super::common::binary_in(a))
        .or_else(|| super::common::collective_in_name(path))
    {
        Some(c) => c,
        None => {
            let r0 = &results[0];
            infer(
                u(r0, "size").unwrap_or(0),
                u(r0, "count").unwrap_or(0),
                s(r0, "type").unwrap_or("").parse()?,
                s(r0, "redop").is_some_and(|o| o != "none"),
                root_of(r0)?,
                n,
            )?
        }
    };
    let mut st = settings();
    st.min_bytes = u(config, "minimum_bytes").unwrap_or(0);
    st.max_bytes = u(config, "maximum_bytes").unwrap_or(0);
    st.step_factor = u(config, "step_factor").map(|x| x as f64);
    st.step_bytes = u(config, "step_bytes");
    st.iters = u(config, "iterations").unwrap_or(0) as usize;
    st.warmup_iters = u(config, "warmup_iters").unwrap_or(0) as usize;
    st.check_iters = u(config, "validation").unwrap_or(0) as usize;
    st.blocking = truthy(config.get("blocking_collectives")).unwrap_or(false);
    let per_iter = truthy(config.get("per_iter_timing")).unwrap_or(false);
    st.timing = Some(if per_iter {
        TimingMethod::DeviceEvents
    } else {
        TimingMethod::Loop
    });
    let mut prov = Provenance {
        format: Format::NcclTestsJson.name().into(),
        version: Some(format!("file version {version}")),
        ..Provenance::default()
    };
    let mut rows = vec![];
    let (mut skipped, mut have_iter, mut have_proc, mut cputime) = (0, true, true, false);
    for (i, r) in results.iter().enumerate() {
        let at = |e: String| format!("results[{i}]: {e}");
        let Some(op) = op_of(r).map_err(at)? else {
            skipped += 1;
            continue;
        };
        let dtype: DataType = s(r, "type").unwrap_or("").parse().map_err(at)?;
        let (size, count) = (u(r, "size").unwrap_or(0), u(r, "count").unwrap_or(0));
        let iters = u(r, "actual_iterations").map_or(st.iters, |x| x as usize);
        for (key, placement) in [
            ("out_of_place", Placement::OutOfPlace),
            ("in_place", Placement::InPlace),
        ] {
            let Some(m) = r.get(key).filter(|m| m.is_object()) else {
                continue;
            };
            cputime |= m.get("cpu_time").is_some();
            let time = f(m.get("time").or(m.get("cpu_time")))
                .ok_or_else(|| at(format!("`{key}` has no time")))?;
            let wrong = f(m.get("nwrong")).map(|w| w as u64);
            let mut row = row(
                coll,
                size,
                count,
                dtype,
                op,
                root_of(r).map_err(at)?,
                placement,
                iters,
                time,
                f(m.get("alg_bw")).unwrap_or(f64::NAN),
                f(m.get("bus_bw")).unwrap_or(f64::NAN),
                wrong,
            );
            let pi = r.get(format!("{key}_per_iter"));
            have_iter &= pi.is_some();
            if let Some(pi) = pi {
                have_proc &= per_iter_stats(&mut row, pi, n);
            } else {
                have_proc = false;
            }
            rows.push(row);
        }
    }
    if !have_iter {
        prov.lacks
            .push("per-iteration spread (min, max, p50, p99, CI: run without -I)".into());
    }
    if !have_proc {
        prov.lacks.push(if per_proc > 1 {
            format!("per-rank times (each process drives {per_proc} GPUs; its time is their max)")
        } else {
            "per-rank times (no per_process_max_times_us: run without -I, or one process)".into()
        });
    }
    prov.lacks.push("start time as a Unix time".into());
    if let Some(t) = s(v, "start_time") {
        prov.notes
            .push(format!("started {t} (the writer's local time)"));
    }
    if skipped > 0 {
        prov.notes.push(format!(
            "{skipped} result(s) of redop mulsum skipped (premultiplied sum: no xccl-bench op)"
        ));
    }
    if cputime {
        prov.notes
            .push("times are CPU times (-C 1), not device times".into());
    }
    let bw = v.get("average_bus_bandwidth");
    if bw.and_then(|b| truthy(b.get("okay"))) == Some(false) {
        prov.notes
            .push("nccl-tests' own NCCL_TESTS_MIN_BW check FAILED".into());
    }
    if let Some(e) = v.get("errors").and_then(Value::as_array) {
        for e in e.iter().filter_map(Value::as_str).filter(|e| !e.is_empty()) {
            prov.notes.push(format!("NCCL error: {e}"));
        }
    }
    let oob = v.get("out_of_bounds");
    let complete = v.get("end_time").is_some() || oob.is_some();
    if !complete {
        prov.notes
            .push("no footer (out_of_bounds): a run that did not finish".into());
    }
    if rows.is_empty() {
        return Err("no result with an op xccl-bench knows".into());
    }
    let nccl = u(v, "nccl_version").map(nccl_version).unwrap_or_default();
    Ok(super::common::report(Parts {
        collective: coll,
        backend: BackendInfo {
            name: "nccl".into(),
            library: "NCCL".into(),
            version: nccl,
            device: devs.first().map(|d| d.3.clone()).unwrap_or_default(),
        },
        nranks: n,
        ranks: rank_infos(&devs),
        args,
        settings: st,
        rows,
        complete,
        avg_busbw: bw.and_then(|b| f(b.get("bandwidth"))),
        tool_check_failed: oob.is_some_and(|o| {
            truthy(o.get("okay")) == Some(false) || u(o, "count").is_some_and(|c| c > 0)
        }),
        provenance: prov,
    }))
}

/// `None` for mulsum (skipped), `Some(None)` for collectives without an op.
fn op_of(r: &Value) -> Result<Option<Option<ReduceOp>>, String> {
    match s(r, "redop") {
        None | Some("none") => Ok(Some(None)),
        Some("mulsum") => Ok(None),
        Some(o) => Ok(Some(Some(o.parse()?))),
    }
}

/// nccl-tests writes the root as the table's padded text (`"    -1"`).
fn root_of(r: &Value) -> Result<i64, String> {
    match r.get("root") {
        Some(Value::String(x)) => x
            .trim()
            .parse()
            .map_err(|_| format!("root `{x}` is not a number")),
        Some(Value::Number(x)) => x
            .as_i64()
            .ok_or_else(|| format!("root {x} is not a whole number")),
        _ => Ok(-1),
    }
}

/// Fills `row` from one `*_per_iter` object; whether per-rank means could be filled (one
/// process per rank, every process's times present).
fn per_iter_stats(row: &mut Row, pi: &Value, n: usize) -> bool {
    let g = |k: &str| f(pi.get(k)).unwrap_or(f64::NAN);
    row.time_us.min = g("min_us");
    row.time_us.max = g("max_us");
    row.time_us.p50 = g("p50_us");
    row.time_us.p99 = g("p99_us");
    let times = pi
        .get("times_us")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let (sd, avg) = (g("stdev_us"), g("avg_us"));
    if times >= 2 && avg > 0.0 {
        row.precision = 1.96 * sd / avg / (times as f64).sqrt();
    }
    let Some(procs) = pi.get("per_process_max_times_us").and_then(Value::as_array) else {
        return false;
    };
    if procs.len() != n {
        return false;
    }
    let mut pr = PerRank::default();
    for p in procs {
        let mut t: Vec<f64> = p
            .as_array()
            .map(|a| a.iter().filter_map(|x| f(Some(x))).collect())
            .unwrap_or_default();
        if t.is_empty() {
            return false;
        }
        pr.mean_us.push(t.iter().sum::<f64>() / t.len() as f64);
        t.sort_by(f64::total_cmp);
        // nccl-tests' own percentile rule (util.cu, percentileIndex).
        let pct = |q: usize| {
            t[((t.len() * q).div_ceil(100))
                .saturating_sub(1)
                .min(t.len() - 1)]
        };
        pr.p50_us.push(t[t.len() / 2]);
        pr.p99_us.push(pct(99));
    }
    row.per_rank = pr;
    true
}
