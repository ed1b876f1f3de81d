//! `xccl-bench report`: one self-contained HTML file (inline SVG and CSS; no script, no
//! font, no image, no link to anything), so that it opens from a mail attachment or a CI
//! artifact on a machine without network.
//!
//! What is drawn depends on what the files hold: for each collective, busbw and latency
//! against size (one line per run; the model's expected busbw and the 0.8× line when the
//! rows carry verdicts; the p50..p99 band), the per-rank spread of mean times (the
//! straggler view), the verdicts, the rows; then the findings of diagnosis; then, from the
//! other files given, the link matrix as a heat map with its findings and the switch
//! grouping declared (and inferred, once diagnosis infers it), and predicted against
//! measured step time and linearity ([`crate::sections`]).

use crate::input::{Inputs, Run};
use crate::page::{esc, figure, finding_item, Options};
use crate::plot::{Band, Chart, Line};
use std::collections::BTreeMap;
use std::fmt::Write;
use xccl_schema::result::RunMeta;
use xccl_schema::rules::WAIT_RATIO;
use xccl_schema::verdict::ratio_or;
use xccl_schema::{CollKind, Placement, Report, Row};

/// The hosts of a run with their rank counts: `node1 (2), node2 (2)`.
pub fn host_ranks(m: &RunMeta) -> String {
    let hosts: Vec<String> = m
        .hosts
        .iter()
        .zip(&m.ranks_per_host)
        .map(|(h, n)| format!("{h} ({n})"))
        .collect();
    hosts.join(", ")
}

/// A start time as RFC 3339 UTC (`2023-11-14T22:13:20Z`).
pub fn date(unix: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .to_string()
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1100px}\
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}\
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}th{background:#f4f4f4}\
td.l,th.l{text-align:left}figure{margin:1em 0}figcaption{font-size:.85em;color:#555}\
.partial{background:#fff3cd;border:1px solid #e0c068;padding:.5em}\
.bad{color:#b00020;font-weight:bold}.ok{color:#1b7a1b}\
ul.findings li{margin:.3em 0}.side{display:flex;gap:1.5em;align-items:flex-start}.side>div{max-width:380px}code{background:#f4f4f4;padding:0 .2em}";

/// The whole report.
pub fn html(inputs: &Inputs, opts: &Options) -> String {
    let runs = &inputs.runs[..];
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(&opts.title),
        esc(&opts.title)
    );
    h += &header(runs);
    let mut by_coll: BTreeMap<&str, (CollKind, Vec<usize>)> = BTreeMap::new();
    for (i, r) in runs.iter().enumerate() {
        let c = r.report.meta.collective;
        by_coll.entry(c.name()).or_insert((c, vec![])).1.push(i);
    }
    for (name, (_, idx)) in &by_coll {
        h += &collective_section(name, runs, idx, opts);
    }
    h += &findings(runs);
    for s in extension_sections(inputs, opts) {
        h += &s;
    }
    h += "</body></html>\n";
    h
}

/// What ran where: one line per run.
fn header(runs: &[Run]) -> String {
    let mut h = String::from(
        "<section id=\"runs\"><h2>Runs</h2><table><tr><th class=\"l\">run</th><th class=\"l\">collective</th><th class=\"l\">backend</th><th class=\"l\">library</th><th class=\"l\">launched by</th><th>ranks</th><th class=\"l\">hosts (ranks)</th><th class=\"l\">devices</th><th class=\"l\">started (UTC)</th><th>rows</th><th class=\"l\">state</th></tr>\n",
    );
    let mut notes = String::new();
    for r in runs {
        let m = &r.report.meta;
        let mut devices: Vec<&str> = m.ranks.iter().map(|r| r.device.as_str()).collect();
        devices.dedup();
        let s = &r.report.summary;
        let state = if !s.complete {
            "<span class=\"bad\">partial</span>".to_string()
        } else if s.check_ok {
            "<span class=\"ok\">complete, check OK</span>".to_string()
        } else if s.wrong_total == 0 {
            // hccl_test says success/failed per size, without a count.
            "<span class=\"bad\">complete, check FAILED</span>".to_string()
        } else {
            format!(
                "<span class=\"bad\">complete, {} wrong</span>",
                s.wrong_total
            )
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{} {}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{state}</td></tr>",
            esc(&r.name),
            m.collective,
            esc(&m.backend.name),
            esc(&m.backend.library),
            esc(&m.backend.version),
            esc(m.mpi_library.as_deref().unwrap_or("-")),
            m.nranks,
            esc(&host_ranks(m)),
            esc(&devices.join(", ")),
            if r.report.imported.is_some() {
                "-".to_string()
            } else {
                date(m.started_unix)
            },
            r.report.rows.len(),
        );
        if let Some(p) = &r.report.imported {
            let _ = writeln!(
                notes,
                "<p class=\"note\">Imported: <b>{}</b> is {}. What it lacks is left out of the plots and shown as — in the tables; nothing is filled in.</p>",
                esc(&r.name),
                esc(&p.summary())
            );
        }
        if !s.complete {
            let _ = writeln!(
                notes,
                "<p class=\"partial\">Partial run: <b>{}</b> stopped after {} row(s){}; it is reported as far as it goes.</p>",
                esc(&r.name),
                r.report.rows.len(),
                s.error
                    .as_ref()
                    .map_or(String::new(), |e| format!(" ({})", esc(e)))
            );
        }
    }
    h += "</table>\n";
    h += &notes;
    h += "</section>\n";
    h
}

/// A run's solid line in its colour `c`, labelled `name: backend, N ranks` in legends.
fn run_line(r: &Run, c: usize, points: Vec<(f64, f64)>) -> Line {
    Line {
        label: format!(
            "{}: {}, {} ranks",
            r.name, r.report.meta.backend.name, r.report.meta.nranks
        ),
        points,
        color: c,
        dashed: false,
    }
}

/// `y` of each row against its message size: the points of a line over size.
fn by_size(rows: &[&Row], y: impl Fn(&Row) -> f64) -> Vec<(f64, f64)> {
    rows.iter().map(|r| (r.size_bytes as f64, y(r))).collect()
}

/// Out-of-place rows of a run, one per size (the first type/op/root measured), in size
/// order: what the lines over size show.
fn line_rows(r: &Report) -> Vec<&Row> {
    let mut v: Vec<&Row> = vec![];
    let first = r.rows.iter().find(|x| x.placement == Placement::OutOfPlace);
    let Some(first) = first else { return v };
    for row in &r.rows {
        if row.placement == Placement::OutOfPlace
            && row.dtype == first.dtype
            && row.op == first.op
            && row.root == first.root
            && !v.iter().any(|x| x.size_bytes == row.size_bytes)
        {
            v.push(row);
        }
    }
    v.sort_by_key(|x| x.size_bytes);
    v
}

fn collective_section(name: &str, runs: &[Run], idx: &[usize], opts: &Options) -> String {
    let mut h = format!("<section id=\"coll-{name}\"><h2>{name}</h2>\n");
    let described: Vec<String> = idx
        .iter()
        .filter_map(|&i| {
            line_rows(&runs[i].report).first().map(|r| {
                format!(
                    "{}: {} {} root {}",
                    runs[i].name,
                    r.dtype,
                    r.op_name(),
                    r.root
                )
            })
        })
        .collect();
    let which = format!("out-of-place rows ({})", described.join("; "));

    // busbw, with the model's expectation when the rows were judged.
    let mut lines = vec![];
    let mut judged = false;
    for (c, &i) in idx.iter().enumerate() {
        let rows = line_rows(&runs[i].report);
        lines.push(run_line(&runs[i], c, by_size(&rows, |r| r.busbw_gbs)));
        let exp: Vec<(f64, f64)> = rows
            .iter()
            .filter_map(|r| {
                r.verdict
                    .as_ref()
                    .map(|v| (r.size_bytes as f64, v.expected_busbw_gbs))
            })
            .filter(|p| p.1 > 0.0)
            .collect();
        if !exp.is_empty() {
            judged = true;
            lines.push(Line {
                label: format!("{}: expected (model)", runs[i].name),
                points: exp.clone(),
                color: c,
                dashed: true,
            });
            lines.push(Line {
                label: format!("{}: {:.1}× expected", runs[i].name, opts.threshold),
                points: exp.iter().map(|&(x, y)| (x, y * opts.threshold)).collect(),
                color: 6,
                dashed: true,
            });
        }
    }
    let cap = if judged {
        format!("busbw against message size, {which}; dashed: the topology model's expected busbw and {:.1}× of it (below: low efficiency).", opts.threshold)
    } else {
        format!("busbw against message size, {which}; no topology was given, so no expected line.")
    };
    h += &figure(
        &format!("busbw-{name}"),
        &cap,
        &Chart {
            title: &format!("{name}: bus bandwidth"),
            x_desc: "message size (bytes)",
            y_desc: "busbw (GB/s)",
            log_y: true,
            lines,
            bands: vec![],
        },
        (960, 440),
    );

    // Latency with its p50..p99 band.
    let mut lines = vec![];
    let mut bands = vec![];
    for (c, &i) in idx.iter().enumerate() {
        let rows = line_rows(&runs[i].report);
        lines.push(run_line(&runs[i], c, by_size(&rows, |r| r.time_us.avg)));
        // Imported rows may lack the percentiles (NaN): no band there.
        let rows: Vec<&Row> = rows
            .into_iter()
            .filter(|r| r.time_us.p50.is_finite() && r.time_us.p99.is_finite())
            .collect();
        bands.push(Band {
            lower: by_size(&rows, |r| r.time_us.p50),
            upper: by_size(&rows, |r| r.time_us.p99),
            color: c,
        });
    }
    h += &figure(
        &format!("latency-{name}"),
        &format!("Mean time per operation against message size, {which}; shaded: p50..p99 of every iteration of every rank."),
        &Chart {
            title: &format!("{name}: latency"),
            x_desc: "message size (bytes)",
            y_desc: "time (µs)",
            log_y: true,
            lines,
            bands,
        },
        (960, 440),
    );

    h += &rank_spread(name, runs, idx);
    h += &wait_ratios(name, runs, idx);
    h += &verdicts(runs, idx);
    h += &rows_tables(runs, idx);
    h += "</section>\n";
    h
}

/// The straggler view: each rank's mean time over the median of the ranks' means. A rank
/// that stays above 1 at every size is the one the others wait for.
fn rank_spread(name: &str, runs: &[Run], idx: &[usize]) -> String {
    const MAX_LINES: usize = 16;
    let total: usize = idx.iter().map(|&i| runs[i].report.meta.nranks).sum();
    let mut lines = vec![];
    for (c, &i) in idx.iter().enumerate() {
        let rows = line_rows(&runs[i].report);
        let rel: Vec<(f64, Vec<f64>)> = rows
            .iter()
            .filter(|r| !r.per_rank.mean_us.is_empty())
            .map(|r| {
                let mut s = r.per_rank.mean_us.clone();
                s.sort_by(f64::total_cmp);
                let k = s.len();
                let med = if k % 2 == 1 {
                    s[k / 2]
                } else {
                    (s[k / 2 - 1] + s[k / 2]) / 2.0
                };
                let v = r
                    .per_rank
                    .mean_us
                    .iter()
                    .map(|m| ratio_or(*m, med, 1.0))
                    .collect();
                (r.size_bytes as f64, v)
            })
            .collect();
        let n = rel.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        if total <= MAX_LINES {
            lines.extend(rank_lines(&runs[i].name, &rel, n, c, idx.len() > 1));
        } else {
            for (what, pick) in [
                ("slowest", f64::max as fn(f64, f64) -> f64),
                ("fastest", f64::min),
            ] {
                lines.push(Line {
                    label: format!("{} {what} rank", runs[i].name),
                    points: rel
                        .iter()
                        .map(|(x, v)| (*x, v.iter().copied().reduce(pick).unwrap_or(1.0)))
                        .collect(),
                    color: c,
                    dashed: what == "fastest",
                });
            }
        }
    }
    figure(
        &format!("ranks-{name}"),
        "Per-rank spread: each rank's mean time over the median rank's, out-of-place rows. A rank above 1 at every size is slow; the ranks below 1 wait less for it.",
        &Chart {
            title: &format!("{name}: per-rank mean time / median"),
            x_desc: "message size (bytes)",
            y_desc: "rank mean / median",
            log_y: false,
            lines,
            bands: vec![],
        },
        (960, 360),
    )
}

/// A line per rank below `ranks` of run `name` through `(x, each rank's value)`: a run
/// drawn alone gets a colour per rank; among several, each keeps its colour `c`, rank 0
/// solid and the others dashed.
fn rank_lines<V: AsRef<[f64]>>(
    name: &str,
    data: &[(f64, V)],
    ranks: usize,
    c: usize,
    several: bool,
) -> Vec<Line> {
    (0..ranks)
        .map(|rank| Line {
            label: format!("{name} rank {rank}"),
            points: data
                .iter()
                .filter_map(|(x, v)| v.as_ref().get(rank).map(|y| (*x, *y)))
                .collect(),
            color: if several { c } else { rank },
            dashed: several && rank > 0,
        })
        .collect()
}

/// Wait ratio per rank (wait / (wait + transit), docs/SOURCES.md [ascend-tuning]; from the
/// aligned per-call stamps of `ranks_timing`), with the 0.2 line of the slow-rank rule.
/// The slow rank itself waits least; the others wait for it. Drawn only for runs that
/// recorded stamps.
fn wait_ratios(name: &str, runs: &[Run], idx: &[usize]) -> String {
    const MAX_RANKS: usize = 16;
    let mut lines = vec![];
    let (mut xmin, mut xmax) = (f64::MAX, 0.0f64);
    for (c, &i) in idx.iter().enumerate() {
        let rows: Vec<(f64, &Vec<f64>)> = line_rows(&runs[i].report)
            .iter()
            .filter_map(|r| {
                let t = r.ranks_timing.as_ref()?;
                Some((r.size_bytes as f64, &t.wait_ratio))
            })
            .collect();
        let n = rows.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        for (x, _) in &rows {
            xmin = xmin.min(*x);
            xmax = xmax.max(*x);
        }
        lines.extend(rank_lines(
            &runs[i].name,
            &rows,
            n.min(MAX_RANKS),
            c,
            idx.len() > 1,
        ));
    }
    if lines.is_empty() {
        return String::new();
    }
    lines.push(Line {
        label: format!("{WAIT_RATIO}: slow-rank threshold"),
        points: vec![(xmin, WAIT_RATIO), (xmax, WAIT_RATIO)],
        color: 7,
        dashed: true,
    });
    figure(
        &format!("wait-{name}"),
        &format!("Wait ratio per rank, out-of-place rows (wait / (wait + transit) from per-call entry and exit on a clock aligned to rank 0). Above {WAIT_RATIO} a rank spends much of the call waiting; the slow rank is the one that waits least (xccl-bench names it as a slow_rank finding when the rule and the outlier vote agree)."),
        &Chart {
            title: &format!("{name}: wait ratio per rank"),
            x_desc: "message size (bytes)",
            y_desc: "wait ratio",
            log_y: false,
            lines,
            bands: vec![],
        },
        (960, 360),
    )
}

fn verdicts(runs: &[Run], idx: &[usize]) -> String {
    let mut body = String::new();
    for &i in idx {
        for r in runs[i]
            .report
            .rows
            .iter()
            .filter(|r| r.placement == Placement::OutOfPlace)
        {
            let Some(v) = &r.verdict else { continue };
            let _ = writeln!(
                body,
                "<tr><td class=\"l\">{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.2}</td><td class=\"l{}\">{}</td><td class=\"l\">{}</td></tr>",
                esc(&runs[i].name),
                r.size_bytes,
                r.busbw_gbs,
                v.expected_busbw_gbs,
                v.efficiency,
                if v.class == xccl_schema::Class::LowEfficiency { " bad" } else { "" },
                esc(&v.cell()),
                esc(&v.note)
            );
        }
    }
    if body.is_empty() {
        return String::new();
    }
    format!(
        "<h3>Verdicts against the topology</h3><table class=\"verdicts\"><tr><th class=\"l\">run</th><th>size (B)</th><th>busbw (GB/s)</th><th>expected (GB/s)</th><th>efficiency</th><th class=\"l\">verdict</th><th class=\"l\">note</th></tr>\n{body}</table>\n"
    )
}

/// A figure as `{:.N}` prints it, or `—` when the source did not record it (NaN).
struct Shown(f64);

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_nan() {
            f.write_str("—")
        } else {
            std::fmt::Display::fmt(&self.0, f)
        }
    }
}

fn rows_tables(runs: &[Run], idx: &[usize]) -> String {
    let mut h = String::new();
    for &i in idx {
        let r = &runs[i].report;
        let _ = writeln!(
            h,
            "<details><summary>All {} rows of {}</summary><table><tr><th>size (B)</th><th class=\"l\">type</th><th class=\"l\">redop</th><th>root</th><th class=\"l\">placement</th><th>time (µs)</th><th>p50</th><th>p99</th><th>algbw (GB/s)</th><th>busbw (GB/s)</th><th>±CI (%)</th><th>#wrong</th></tr>",
            r.rows.len(),
            esc(&runs[i].name)
        );
        for row in &r.rows {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
                row.size_bytes,
                row.dtype,
                row.op_name(),
                row.root,
                row.placement,
                row.time_us.avg,
                Shown(row.time_us.p50),
                Shown(row.time_us.p99),
                row.algbw_gbs,
                row.busbw_gbs,
                crate::compare::pct(row.precision),
                row.wrong.map_or("N/A".into(), |w| w.to_string())
            );
        }
        h += "</table></details>\n";
    }
    h
}

/// What diagnosis concluded (`report.findings`), by kind.
fn findings(runs: &[Run]) -> String {
    let mut items = String::new();
    for r in runs {
        for f in &r.report.findings {
            let metrics: Vec<String> = f
                .metrics
                .iter()
                .map(|(k, v)| format!("{k} = {v:.3}"))
                .collect();
            let numbers = if metrics.is_empty() {
                String::new()
            } else {
                format!(" <code>{}</code>", esc(&metrics.join(", ")))
            };
            let _ = writeln!(items, "{}", finding_item(f, Some(&r.name), &numbers));
        }
    }
    if items.is_empty() {
        return String::new();
    }
    format!("<section id=\"findings\"><h2>Findings</h2><ul class=\"findings\">\n{items}</ul></section>\n")
}

/// Sections of the files other than benchmark results (`links`, `predict`, `train-sim`;
/// [`crate::sections`]), each only when its data is there.
fn extension_sections(inputs: &Inputs, opts: &Options) -> Vec<String> {
    let mut v = vec![];
    for (i, l) in inputs.links.iter().enumerate() {
        v.push(crate::sections::links(i, l, opts));
    }
    for (i, l) in inputs.rail_links.iter().enumerate() {
        v.push(crate::rails::section(i, l, opts));
    }
    if !inputs.predictions.is_empty() || !inputs.sims.is_empty() {
        v.push(crate::sections::prediction(inputs, opts));
    }
    for (i, t) in inputs.validations.iter().enumerate() {
        v.push(crate::sections::validation(i, t));
    }
    for (i, s) in inputs.screens.iter().enumerate() {
        v.push(crate::others::screen(i, s));
    }
    for (i, r) in inputs.health.iter().enumerate() {
        v.push(crate::others::health(i, r));
    }
    for (i, u) in inputs.utilisations.iter().enumerate() {
        v.push(crate::others::utilisation(i, u));
    }
    for (i, s) in inputs.searches.iter().enumerate() {
        v.push(crate::others::search(i, s));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{report, row};
    use std::collections::BTreeMap;
    use xccl_schema::finding::Subject;
    use xccl_schema::{Finding, FindingKind};

    fn runs() -> Vec<Run> {
        let mut a = report(vec![
            row(1024, 10.0, 0.01),
            row(2048, 20.0, 0.01),
            row(4096, 40.0, 0.01),
        ]);
        a.findings.push(Finding {
            kind: FindingKind::SlowRank,
            subject: Subject::Rank {
                rank: 1,
                host: "node<1>".into(),
                device: "host".into(),
            },
            evidence: "others wait 40% of the time".into(),
            metrics: BTreeMap::from([("wait_ratio".to_string(), 0.4)]),
        });
        let mut b = a.clone();
        b.findings.clear();
        b.summary.complete = false;
        b.summary.error = Some("interrupted".into());
        b.rows.truncate(2);
        vec![
            Run {
                name: "a.json".into(),
                report: a,
            },
            Run {
                name: "b.json".into(),
                report: b,
            },
        ]
    }

    #[test]
    fn report_has_each_plot_header_and_notes() {
        let h = html(&Inputs::runs(runs()), &Options::default());
        for id in [
            "busbw-all_reduce",
            "latency-all_reduce",
            "ranks-all_reduce",
            "findings",
            "runs",
        ] {
            assert_eq!(h.matches(&format!("id=\"{id}\"")).count(), 1, "{id}");
        }
        assert_eq!(h.matches("<svg").count(), 3);
        assert!(!h.contains("http"), "no URL of any kind");
        assert!(h.contains("Partial run: <b>b.json</b> stopped after 2 row(s) (interrupted)"));
        assert!(h.contains("<b>slow_rank</b> — rank 1 (node&lt;1&gt;, host)"));
        assert!(h.contains("wait_ratio = 0.400"));
        assert!(h.contains("Open MPI 4.1.4"));
        assert!(h.contains("2023-11-14T22:13:20Z"));
        assert!(h.contains("no topology was given"));
        // No verdicts in the rows: no verdict table, no expected line.
        assert!(!h.contains("class=\"verdicts\""));
    }

    #[test]
    fn verdicts_bring_expected_and_threshold_lines() {
        let mut rs = runs();
        for r in &mut rs[0].report.rows {
            r.verdict = Some(xccl_schema::Verdict {
                expected_busbw_gbs: 0.2,
                efficiency: r.busbw_gbs / 0.2,
                class: xccl_schema::Class::LowEfficiency,
                bottleneck: xccl_schema::LinkClass::Sdma,
                note: "below".into(),
                large: true,
                model_time_us: 1.0,
                time_ratio: None,
            });
        }
        let h = html(&Inputs::runs(rs), &Options::default());
        assert!(h.contains("a.json: expected (model)"));
        assert!(h.contains("a.json: 0.8× expected"));
        assert_eq!(h.matches("<td class=\"l bad\">LOW").count(), 3);
    }
}
