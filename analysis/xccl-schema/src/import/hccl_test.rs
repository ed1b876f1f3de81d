//! hccl_test's text output (Ascend CANN's HCCL performance test tool; sources in
//! hicann/oam-tools `src/hccl_test/`: `hccl_test_common.cc` prints `the minbytes is A,
//! maxbytes is B, iters is I, warmup_iters is W` from the root rank;
//! `hccl_opbase_rootinfo_base.cc` `print_execution_time` prints the header
//! `data_size(Bytes): | aveg_time(us): | alg_bandwidth(GB/s): | check_result:` and one
//! row per size, `%-17llu | %-14.2f | %-20.5f | success|failed|NULL`, and on a rank whose
//! check failed `local rank_id N, check result failed, <row>`; documented in the CANN
//! "HCCL Performance Tester" pages, "Result Description",
//! <https://www.hiascend.com/document/detail/en/CANNCommunityEdition/latest/devaids/hccltool/HCCLpertest_16_0006.html>,
//! whose example header spells `avg_time(us):`; both spellings read).
//!
//! The output names neither the collective, the rank count, the data type nor the op:
//! they come from the command line when the log holds it (`mpirun -n 8
//! ./bin/all_reduce_test -d fp32 -o sum ...`, as the documentation's example shows), else
//! the collective from the file name and type/op from hccl_test's defaults (fp32, sum:
//! `hccl_test_common.h`); the rank count has no default, so a log without it is refused.
//! hccl_test prints no busbw: it is derived here from algbw and our bus factor, and said
//! so. check_result says success/failed only: a failed size fails the check without an
//! element count.

use super::common::{last_nonblank, settings, Format, ImportResult, Parts};
use crate::coll::CollKind;
use crate::result::{BackendInfo, Placement, Provenance, Report};
use crate::{DataType, ReduceOp};
use std::path::Path;

/// hccl_test's header line.
pub fn is_header(line: &str) -> bool {
    let l = line.trim();
    l.starts_with("data_size(Bytes):") && l.contains('|') && l.contains("check_result")
}

/// What the command line in the log says.
#[derive(Default)]
struct Cmd {
    coll: Option<CollKind>,
    nranks: Option<usize>,
    dtype: Option<String>,
    op: Option<String>,
    root: Option<i64>,
    args: Vec<String>,
}

fn command(line: &str) -> Option<Cmd> {
    let coll = super::common::binary_in(line)?;
    let t: Vec<&str> = line
        .trim_start_matches(['#', '$', ' '])
        .split_whitespace()
        .collect();
    let bin = t
        .iter()
        .position(|w| super::common::binary_in(w).is_some())?;
    let val = |from: usize, to: usize, keys: &[&str]| {
        (from..to)
            .find(|&i| keys.contains(&t[i]))
            .and_then(|i| t.get(i + 1).map(|s| s.to_string()))
    };
    Some(Cmd {
        coll: Some(coll),
        nranks: val(0, bin, &["-n", "-np", "--np"]).and_then(|n| n.parse().ok()),
        dtype: val(bin, t.len(), &["-d", "--datatype"]),
        op: val(bin, t.len(), &["-o", "--op"]),
        root: val(bin, t.len(), &["-r", "--root"]).and_then(|r| r.parse().ok()),
        args: t[bin..].iter().map(|s| s.to_string()).collect(),
    })
}

/// hccl_test's type names (`-d`) as ours.
fn dtype(name: &str) -> ImportResult<DataType> {
    match name {
        "bfp16" => Ok(DataType::Bfloat16),
        n => n
            .parse()
            .map_err(|_| format!("data type `{n}` (from -d) is not one xccl-bench knows")),
    }
}

pub fn parse(text: &str, path: &Path) -> ImportResult<Report> {
    let mut cmd = Cmd::default();
    let mut st = settings();
    let mut header = false;
    let mut raw: Vec<(u64, f64, f64, String)> = vec![];
    let mut failed_ranks: Vec<String> = vec![];
    let lines: Vec<&str> = text.lines().collect();
    let last = last_nonblank(&lines);
    for (i, line) in lines.iter().enumerate() {
        let l = line.trim();
        if !header {
            if let Some(c) = command(l) {
                cmd = c;
            } else if let Some(rest) = l.strip_prefix("the minbytes is ") {
                let n: Vec<u64> = rest
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|x| x.parse().ok())
                    .collect();
                if let [a, b, it, w] = n[..] {
                    (st.min_bytes, st.max_bytes) = (a, b);
                    (st.iters, st.warmup_iters) = (it as usize, w as usize);
                }
            } else if is_header(l) {
                header = true;
            }
            continue;
        }
        if let Some(rest) = l.strip_prefix("local rank_id ") {
            failed_ranks.push(format!(
                "rank {}",
                rest.split(',').next().unwrap_or("?").trim()
            ));
            continue;
        }
        let f: Vec<&str> = l.split('|').map(str::trim).collect();
        if f.first().and_then(|x| x.parse::<u64>().ok()).is_none() {
            continue; // warnings, MPI messages
        }
        let parsed = (f.len() == 4)
            .then(|| Some((f[0].parse().ok()?, f[1].parse().ok()?, f[2].parse().ok()?)))
            .flatten()
            .filter(|_| ["success", "failed", "NULL"].contains(&f[3]));
        match parsed {
            Some((s, t, a)) => raw.push((s, t, a, f[3].to_string())),
            None if i == last => {
                return Err(format!(
                    "truncated: the last line ({}) is not a whole row",
                    i + 1
                ))
            }
            None => {
                return Err(format!(
                    "line {}: not a row of 4 `|`-separated fields",
                    i + 1
                ))
            }
        }
    }
    if !header {
        return Err("no `data_size(Bytes): | ...` header".into());
    }
    if raw.is_empty() {
        return Err("truncated: the log ends before its first result row".into());
    }
    let mut prov = Provenance {
        format: Format::HcclTestText.name().into(),
        ..Provenance::default()
    };
    let coll = cmd.coll.or_else(|| super::common::collective_in_name(path)).ok_or(
        "the log does not say which collective it measured: keep the command line (`mpirun -n N ./bin/all_reduce_test ...`) as its first line, or name the file after the binary",
    )?;
    let n = cmd.nranks.ok_or(
        "the rank count is unknown (hccl_test prints none): keep the command line (`mpirun -n N ./bin/...`) as the log's first line",
    )?;
    let dt = dtype(cmd.dtype.as_deref().unwrap_or("fp32"))?;
    let op: Option<ReduceOp> = if coll.reduces() {
        Some(cmd.op.as_deref().unwrap_or("sum").parse()?)
    } else {
        None
    };
    let root = if coll.imp().has_root() {
        cmd.root.unwrap_or(0)
    } else {
        -1
    };
    if cmd.dtype.is_none() {
        prov.notes
            .push("data type not in the log: hccl_test's default fp32 assumed".into());
    }
    if op.is_some() && cmd.op.is_none() {
        prov.notes
            .push("op not in the log: hccl_test's default sum assumed".into());
    }
    let elem = dt.size() as u64;
    let whole = matches!(
        coll,
        CollKind::AllGather
            | CollKind::ReduceScatter
            | CollKind::Alltoall
            | CollKind::Gather
            | CollKind::Scatter
    );
    let factor = coll.bus_factor(n);
    let mut rows = vec![];
    let mut failed = vec![];
    for (data_size, time, _alg, check) in &raw {
        let count = data_size / elem;
        let size = if whole {
            data_size * n as u64
        } else {
            *data_size
        };
        let algbw = if *time > 0.0 {
            size as f64 / (time * 1e-6) / 1e9
        } else {
            0.0
        };
        let wrong = match check.as_str() {
            "success" => Some(0),
            _ => None,
        };
        if check == "failed" {
            failed.push(data_size.to_string());
        }
        let mut r = super::common::row(
            coll,
            size,
            count,
            dt,
            op,
            root,
            Placement::OutOfPlace,
            st.iters,
            *time,
            algbw,
            algbw * factor,
            wrong,
        );
        r.iters = st.iters;
        rows.push(r);
    }
    prov.derived.push(format!(
        "busbw = algbw x {factor:.4} (bus factor of {coll} on {n} ranks; hccl_test prints none)"
    ));
    prov.derived
        .push("algbw recomputed in nccl-tests' convention from data_size and time".into());
    prov.lacks.extend([
        "busbw".to_string(),
        "in-place rows".into(),
        "per-iteration spread (min, max, p50, p99, CI)".into(),
        "per-rank times".into(),
        "hosts and devices".into(),
        "#wrong counts (check_result is success/failed/NULL)".into(),
        "library version".into(),
    ]);
    if !failed.is_empty() {
        let by = if failed_ranks.is_empty() {
            String::new()
        } else {
            format!(" (on {})", failed_ranks.join(", "))
        };
        prov.notes.push(format!(
            "check_result failed at data_size {}{by}",
            failed.join(", ")
        ));
    }
    // hccl_test prints no footer: only the maxbytes it announced tells a run that stopped
    // early (the last size then falls short of it).
    let complete = st.max_bytes == 0 || raw.last().is_some_and(|r| r.0 >= st.max_bytes);
    if !complete {
        prov.notes.push(format!(
            "the last size is below the announced maxbytes {}: a run that did not finish",
            st.max_bytes
        ));
    }
    Ok(super::common::report(Parts {
        collective: coll,
        backend: BackendInfo {
            name: "hccl".into(),
            library: "HCCL".into(),
            version: String::new(),
            device: String::new(),
        },
        nranks: n,
        ranks: vec![],
        args: cmd.args,
        settings: st,
        rows,
        complete,
        avg_busbw: None,
        tool_check_failed: !failed.is_empty(),
        provenance: prov,
    }))
}
