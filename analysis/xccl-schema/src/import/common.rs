//! What the importers share: the format names, the one-line error type, the collective
//! named by a binary or a file name or inferred from a row, and the assembly of a
//! [`Report`] from what each format gives.

use crate::coll::CollKind;
use crate::result::{
    Average, BackendInfo, Placement, Provenance, RankInfo, Report, Row, RunMeta, Settings, Summary,
    SCHEMA_VERSION, TOOL,
};
use crate::DataType;
use std::path::Path;

/// A foreign format this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    NcclTestsText,
    NcclTestsJson,
    HcclTestText,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::NcclTestsText => "nccl-tests text",
            Format::NcclTestsJson => "nccl-tests JSON",
            Format::HcclTestText => "hccl_test text",
        }
    }
}

/// Why a file of a recognised format cannot be read faithfully (one line, with
/// [`crate::ReadError::Import`] naming the file).
pub type ImportResult<T> = Result<T, String>;

/// The collective a benchmark binary's name names (`all_reduce_perf`, `all_gather_test`,
/// a path ending in one), searched anywhere in `s`: nccl-tests prints its binary in
/// `# Collective test starting:`, hccl_test's logs often start with the mpirun line.
pub fn binary_in(s: &str) -> Option<CollKind> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter_map(|tok| {
            let stem = tok.strip_suffix("_perf").or(tok.strip_suffix("_test"))?;
            stem.parse::<CollKind>().ok()
        })
        .next()
}

/// A collective named in the file name (`all_gather_perf.log`, `ar-allgather-16.txt`):
/// the last resort when the content does not say.
pub fn collective_in_name(path: &Path) -> Option<CollKind> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if let Some(c) = binary_in(&name) {
        return Some(c);
    }
    // Longest names first, so that `reduce_scatter` is not read as `reduce`.
    let mut words: Vec<&str> = name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    words.iter().find_map(|w| w.parse::<CollKind>().ok())
}

/// Devices as nccl-tests and our own files list them: rank, host, pid, device.
pub(crate) fn rank_infos(devs: &[(usize, String, u32, String)]) -> Vec<RankInfo> {
    let mut per_host: Vec<(String, usize)> = vec![];
    devs.iter()
        .map(|(rank, host, pid, device)| {
            let local = match per_host.iter_mut().find(|(h, _)| h == host) {
                Some((_, n)) => {
                    *n += 1;
                    *n - 1
                }
                None => {
                    per_host.push((host.clone(), 1));
                    0
                }
            };
            RankInfo {
                rank: *rank,
                host: host.clone(),
                pid: *pid,
                local_rank: local,
                device: device.clone(),
            }
        })
        .collect()
}

/// What every importer fills the same way.
pub(crate) struct Parts {
    pub collective: CollKind,
    pub backend: BackendInfo,
    pub nranks: usize,
    pub ranks: Vec<RankInfo>,
    pub args: Vec<String>,
    pub settings: Settings,
    pub rows: Vec<Row>,
    /// Footer seen: the run finished.
    pub complete: bool,
    /// The tool's own average busbw, when it prints one.
    pub avg_busbw: Option<f64>,
    /// The tool's own verdict on the check (nccl-tests' `Out of bounds values : N FAILED`).
    pub tool_check_failed: bool,
    pub provenance: Provenance,
}

pub(crate) fn report(p: Parts) -> Report {
    let mut hosts: Vec<String> = vec![];
    let mut ranks_per_host: Vec<usize> = vec![];
    for r in &p.ranks {
        match hosts.iter().position(|h| *h == r.host) {
            Some(i) => ranks_per_host[i] += 1,
            None => {
                hosts.push(r.host.clone());
                ranks_per_host.push(1);
            }
        }
    }
    let wrong_total: u64 = p.rows.iter().filter_map(|r| r.wrong).sum();
    let busbw: Vec<f64> = p.rows.iter().map(|r| r.busbw_gbs).collect();
    let avg_busbw_gbs = p.avg_busbw.unwrap_or_else(|| {
        if busbw.is_empty() {
            0.0
        } else {
            busbw.iter().sum::<f64>() / busbw.len() as f64
        }
    });
    Report {
        meta: RunMeta {
            schema_version: SCHEMA_VERSION,
            tool: TOOL.into(),
            tool_version: format!("import {}", env!("CARGO_PKG_VERSION")),
            started_unix: 0,
            collective: p.collective,
            backend: p.backend,
            mpi_library: None,
            nranks: p.nranks,
            hosts,
            ranks_per_host,
            ranks: p.ranks,
            args: p.args,
            settings: p.settings,
        },
        rows: p.rows,
        summary: Summary {
            wrong_total,
            check_ok: wrong_total == 0 && !p.tool_check_failed,
            avg_busbw_gbs,
            complete: p.complete,
            error: (!p.complete)
                .then(|| format!("the {} log ends before its footer", p.provenance.format)),
        },
        findings: vec![],
        imported: Some(p.provenance),
    }
}

/// Index of the last line with text (0 for none): a row cut short there is a truncated log.
pub(crate) fn last_nonblank(lines: &[&str]) -> usize {
    lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .unwrap_or(0)
}

/// Settings with nothing known yet (filled from what each format prints).
pub(crate) fn settings() -> Settings {
    Settings {
        average: Average::Avg,
        ..Settings::default()
    }
}

/// One imported row; statistics the format lacks are NaN.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row(
    collective: CollKind,
    size_bytes: u64,
    count: u64,
    dtype: crate::DataType,
    op: Option<crate::ReduceOp>,
    root: i64,
    placement: Placement,
    iters: usize,
    time_us: f64,
    algbw_gbs: f64,
    busbw_gbs: f64,
    wrong: Option<u64>,
) -> Row {
    Row {
        collective,
        size_bytes,
        count,
        dtype,
        op,
        op_impl: None,
        root,
        placement,
        iters,
        time_us: crate::result::TimeStats {
            avg: time_us,
            min: f64::NAN,
            max: f64::NAN,
            p50: f64::NAN,
            p99: f64::NAN,
        },
        algbw_gbs,
        busbw_gbs,
        wrong,
        precision: f64::NAN,
        per_rank: Default::default(),
        verdict: None,
        ranks_timing: None,
    }
}

/// Relative half-width of the 95% CI of a mean from the coefficient of variation (in %)
/// of `n` iterations (normal approximation, as our own `precision`).
pub(crate) fn precision_from_cv(cv_pct: f64, n: usize) -> f64 {
    if n < 2 || !cv_pct.is_finite() {
        return f64::NAN;
    }
    1.96 * cv_pct / 100.0 / (n as f64).sqrt()
}

/// NCCL's version code (`22703`, or `2703` before 2.9) as `2.27.3`.
pub(crate) fn nccl_version(code: u64) -> String {
    if code >= 10000 {
        format!("{}.{}.{}", code / 10000, (code % 10000) / 100, code % 100)
    } else {
        format!("{}.{}.{}", code / 1000, (code % 1000) / 100, code % 100)
    }
}

/// The collective from a row alone, when neither the log nor the file name names it:
/// size / (count × element size) is 1 for per-rank sizes and n for whole-buffer ones,
/// redop and root tell the rest. Ambiguous pairs are refused.
pub(crate) fn infer(
    size: u64,
    count: u64,
    dtype: DataType,
    has_op: bool,
    root: i64,
    n: usize,
) -> ImportResult<CollKind> {
    let whole = count > 0 && n > 1 && size == count * dtype.size() as u64 * n as u64;
    let per_rank = count > 0 && size == count * dtype.size() as u64;
    use CollKind::*;
    let candidates: &[CollKind] = match (has_op, root >= 0) {
        _ if n < 2 || !(whole || per_rank) => &[],
        (true, false) if per_rank => &[AllReduce],
        (true, false) => &[ReduceScatter],
        (true, true) => &[Reduce],
        (false, true) if per_rank => &[Broadcast],
        (false, true) => &[Gather, Scatter],
        (false, false) if per_rank => &[Sendrecv],
        (false, false) => &[AllGather, Alltoall],
    };
    match candidates {
        [one] => Ok(*one),
        _ => {
            let names: Vec<&str> = candidates.iter().map(|c| c.name()).collect();
            Err(format!(
                "the log does not say which collective it measured{}; name the file after the binary (e.g. all_gather_perf.log)",
                if names.is_empty() { String::new() } else { format!(" ({})", names.join(" or ")) }
            ))
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(
            binary_in("# Collective test starting: all_gather_perf"),
            Some(CollKind::AllGather)
        );
        assert_eq!(
            binary_in("mpirun -n 8 ./bin/reduce_scatter_test -b 8K"),
            Some(CollKind::ReduceScatter)
        );
        assert_eq!(binary_in("# nThread 1 nGpus 1"), None);
        let p = |s: &str| collective_in_name(Path::new(s));
        assert_eq!(
            p("/logs/ar-reduce_scatter-16.txt"),
            Some(CollKind::ReduceScatter)
        );
        assert_eq!(p("allgather.log"), Some(CollKind::AllGather));
        assert_eq!(p("run7.log"), None);
        assert_eq!(nccl_version(22703), "2.27.3");
        assert_eq!(nccl_version(2708), "2.7.8");
        assert!((precision_from_cv(10.0, 100) - 0.0196).abs() < 1e-12);
        assert!(precision_from_cv(10.0, 1).is_nan());
    }
}
