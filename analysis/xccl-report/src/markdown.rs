//! GitHub Markdown: a run's rows (`--markdown FILE` of a benchmark) and a comparison
//! (`compare --markdown FILE`), for pasting into an issue, a pull request or a CI summary.
//! One line per row (out-of-place and in-place on their own lines), so a column is one
//! quantity.

use crate::compare::{Comparison, Status};
use xccl_schema::result::{RunMeta, Summary};
use xccl_schema::Row;

/// Text in a table cell: pipes and newlines would break the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// What ran where, as a short paragraph above the table.
pub fn run_header(m: &RunMeta) -> String {
    format!(
        "### {} — {} ({} {}), {} ranks on {}\n\nxccl-bench {}, started {}\n",
        m.collective,
        cell(&m.backend.name),
        cell(&m.backend.library),
        cell(&m.backend.version),
        m.nranks,
        cell(&crate::html::host_ranks(m)),
        cell(&m.tool_version),
        crate::html::date(m.started_unix)
    )
}

/// The rows of a run as a GitHub table; `verdict` adds the verdict columns.
pub fn rows_table(rows: &[Row], verdict: bool) -> String {
    let mut s = String::from(
        "| size (B) | count | type | redop | root | placement | time (µs) | p50 (µs) | p99 (µs) | algbw (GB/s) | busbw (GB/s) | #wrong |",
    );
    let mut rule = String::from("|---:|---:|---|---|---:|---|---:|---:|---:|---:|---:|---:|");
    if verdict {
        s += " expected busbw (GB/s) | verdict |";
        rule += "---:|---|";
    }
    s += "\n";
    s += &rule;
    s += "\n";
    for r in rows {
        s += &format!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} | {} |",
            r.what_cells().join(" | "),
            r.time_us.avg,
            r.time_us.p50,
            r.time_us.p99,
            r.algbw_gbs,
            r.busbw_gbs,
            r.wrong.map_or("N/A".into(), |w| w.to_string())
        );
        if verdict {
            match &r.verdict {
                Some(v) => s += &format!(" {:.3} | {} |", v.expected_busbw_gbs, cell(&v.cell())),
                None => s += " - | - |",
            }
        }
        s += "\n";
    }
    s
}

/// The closing lines of a run: the check and average busbw, or why it is partial.
pub fn run_footer(sm: &Summary, rows: usize) -> String {
    if sm.complete {
        format!(
            "\nOut of bounds values: {} {}; average busbw {:.3} GB/s\n",
            sm.wrong_total,
            if sm.check_ok { "OK" } else { "FAILED" },
            sm.avg_busbw_gbs
        )
    } else {
        format!(
            "\n**Partial run**: {} row(s) measured before it stopped{}.\n",
            rows,
            sm.error
                .as_ref()
                .map_or(String::new(), |e| format!(" ({})", cell(e)))
        )
    }
}

/// A whole run as Markdown.
pub fn run(m: &RunMeta, rows: &[Row], sm: &Summary) -> String {
    let verdict = rows.iter().any(|r| r.verdict.is_some());
    format!(
        "{}\n{}{}",
        run_header(m),
        rows_table(rows, verdict),
        run_footer(sm, rows.len())
    )
}

/// A comparison as Markdown: the regressions first in bold, every matched row, notes.
pub fn comparison(c: &Comparison) -> String {
    let mut s = format!(
        "### xccl-bench compare: {} vs {}\n\nbase **{}**: {} ({}), {} ranks; new **{}**: {} ({}), {} ranks; threshold {:.1}% slower, beyond the combined 95% CI of the means.\n\n",
        cell(&c.base.name),
        cell(&c.new.name),
        cell(&c.base.name),
        cell(&c.base.backend),
        cell(&c.base.library),
        c.base.nranks,
        cell(&c.new.name),
        cell(&c.new.backend),
        cell(&c.new.library),
        c.new.nranks,
        c.threshold * 100.0
    );
    s += &if c.has_regression() {
        format!(
            "**{} regression(s)** in {} compared row(s).\n\n",
            c.regressions,
            c.rows.len()
        )
    } else {
        format!("No regression in {} compared row(s).\n\n", c.rows.len())
    };
    for n in &c.notes {
        s += &format!("> **Note:** {}\n\n", cell(n));
    }
    s += "| collective | size (B) | type | redop | root | placement | ranks | base time (µs) | new time (µs) | time × | base busbw (GB/s) | new busbw (GB/s) | busbw × | noise (%) | status |\n";
    s += "|---|---:|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
    for r in &c.rows {
        let status = match r.status {
            Status::Regression => format!("**{}**", r.status.name()),
            _ => r.status.name().to_string(),
        };
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.key.collective,
            r.key.size_bytes,
            r.key.dtype,
            r.key.op,
            r.key.root,
            r.key.placement,
            r.key.nranks,
            r.numbers().join(" | "),
            status
        );
    }
    for (side, list) in [("base", &c.only_in_base), ("new", &c.only_in_new)] {
        if !list.is_empty() {
            s += &format!("\nOnly in {side}: {}\n", cell(&list.join("; ")));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{report, row};

    #[test]
    fn run_table_has_one_line_per_row_and_its_numbers() {
        let r = report(vec![row(1024, 10.0, 0.01), row(2048, 20.0, 0.01)]);
        let md = run(&r.meta, &r.rows, &r.summary);
        let lines: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        // Header, rule, two rows.
        assert_eq!(lines.len(), 4, "{md}");
        // 1024 B in 10 µs: 1024 / 10e-6 / 1e9 = 0.1024 GB/s.
        assert!(lines[2].starts_with("| 1024 | 256 | float | sum | -1 | out-of-place | 10.00 | 10.00 | 15.00 | 0.102 | 0.102 | 0 |"), "{}", lines[2]);
        assert!(md.contains("2 ranks on node1 (2)"));
        assert!(md.contains("2023-11-14T22:13:20Z"), "{md}");
        assert!(!md.contains("verdict"));
        let mut partial = r.summary.clone();
        partial.complete = false;
        partial.error = Some("a | b".into());
        assert!(run(&r.meta, &r.rows, &partial)
            .contains("**Partial run**: 2 row(s) measured before it stopped (a \\| b)."));
    }

    #[test]
    fn comparison_marks_the_regression() {
        let base = report(vec![row(1024, 10.0, 0.01), row(2048, 20.0, 0.01)]);
        let mut new = base.clone();
        new.rows[0] = row(1024, 20.0, 0.01);
        let c = crate::compare("base.json", &base, "new.json", &new, 0.05);
        let md = comparison(&c);
        assert!(
            md.contains("**1 regression(s)** in 2 compared row(s)."),
            "{md}"
        );
        let bad: Vec<&str> = md
            .lines()
            .filter(|l| l.contains("**REGRESSION**"))
            .collect();
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("| all_reduce | 1024 |"), "{}", bad[0]);
        assert!(bad[0].contains("| 2.000 |"));
    }
}
