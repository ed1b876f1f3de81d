//! The nccl-tests table on stdout: its header block, its columns in its order
//! (out-of-place then in-place), extra columns after them, and its footer lines, so
//! scripts that parse nccl-tests output keep working.

use super::Sink;
use crate::error::Result;
use crate::result::{Placement, Row, RunMeta, Summary};
use std::io::Write;

pub struct TableSink {
    out: Box<dyn Write>,
    adaptive: bool,
    verdict: bool,
}

impl TableSink {
    pub fn new(out: Box<dyn Write>, adaptive: bool, verdict: bool) -> Self {
        TableSink {
            out,
            adaptive,
            verdict,
        }
    }
}

/// nccl-tests' time format: fewer decimals as the number grows, always 7 wide.
pub fn fmt_time(us: f64) -> String {
    if us >= 10000.0 {
        format!("{us:7.0}")
    } else if us >= 100.0 {
        format!("{us:7.1}")
    } else {
        format!("{us:7.2}")
    }
}

fn half(r: Option<&Row>) -> String {
    match r {
        Some(r) => format!(
            "  {}  {:6.2}  {:6.2}  {:>5}",
            fmt_time(r.time_us.avg),
            r.algbw_gbs,
            r.busbw_gbs,
            r.wrong.map_or("N/A".to_string(), |w| w.to_string())
        ),
        None => format!("  {:>7}  {:>6}  {:>6}  {:>5}", "N/A", "N/A", "N/A", "N/A"),
    }
}

pub fn format_group(group: &[Row], adaptive: bool, verdict: bool) -> String {
    let oop = group.iter().find(|r| r.placement == Placement::OutOfPlace);
    let ip = group.iter().find(|r| r.placement == Placement::InPlace);
    let first = group.first().expect("non-empty group");
    let mut s = format!(
        "{:>12}  {:>12}  {:>8}  {:>6}  {:>6}{}{}",
        first.size_bytes,
        first.count,
        first.dtype.name(),
        first.op_name(),
        first.root,
        half(oop),
        half(ip)
    );
    for r in [oop, ip] {
        s += &r.map_or(format!("  {:>7}", "N/A"), |r| {
            format!("  {}", fmt_time(r.time_us.p99))
        });
    }
    if adaptive {
        for r in [oop, ip] {
            s += &r.map_or(format!("  {:>5}", "N/A"), |r| {
                format!("  {:>5.1}", r.precision * 100.0)
            });
        }
    }
    if verdict {
        let cell = oop
            .and_then(|r| r.verdict.as_ref())
            .map_or("-".to_string(), |v| v.cell());
        s += &format!("  {cell}");
    }
    s
}

impl Sink for TableSink {
    fn begin(&mut self, m: &RunMeta) -> Result<()> {
        let mut h = String::new();
        h += &format!(
            "# xccl-bench {} {}: minBytes {} maxBytes {} step: {} warmup iters: {} iters: {} agg mode: {} validation: {} blocking: {}\n",
            m.tool_version,
            m.collective,
            m.settings.min_bytes,
            m.settings.max_bytes,
            match (m.settings.step_factor, m.settings.step_bytes) {
                (_, Some(b)) => format!("{b}(bytes)"),
                (f, None) => format!("{}(factor)", f.unwrap_or(2.0)),
            },
            m.settings.warmup_iters,
            match (m.settings.precision, m.settings.time_budget_s) {
                (None, None) => m.settings.iters.to_string(),
                (p, b) => format!(
                    "adaptive(precision {}, budget {})",
                    p.map_or("-".into(), |p| format!("{:.1}%", p * 100.0)),
                    b.map_or("-".into(), |b| format!("{b}s"))
                ),
            },
            m.settings.average.name(),
            m.settings.check_iters,
            m.settings.blocking as u8
        );
        h += &format!(
            "# Backend: {} ({} {}){}\n",
            m.backend.name,
            m.backend.library,
            m.backend.version,
            m.mpi_library
                .as_ref()
                .map_or(String::new(), |l| format!("; launched by {l}"))
        );
        h += &format!("# Ranks: {} on {} host(s):", m.nranks, m.hosts.len());
        for (host, n) in m.hosts.iter().zip(&m.ranks_per_host) {
            h += &format!(" {host}({n})");
        }
        h += "\n#\n# Using devices\n";
        for r in &m.ranks {
            h += &format!(
                "#  Rank {:2} Pid {:7} on {:>12} local {:2} device {}\n",
                r.rank, r.pid, r.host, r.local_rank, r.device
            );
        }
        h += "#\n";
        let mut l1 = format!("#{:>64}{:>33}", "out-of-place", "in-place");
        let mut l2 = format!(
            "#{:>11}  {:>12}  {:>8}  {:>6}  {:>6}  {:>7}  {:>6}  {:>6} {:>6}  {:>7}  {:>6}  {:>6} {:>6}  {:>7}  {:>7}",
            "size", "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time", "algbw", "busbw", "#wrong", "oop p99", "ip p99"
        );
        let mut l3 = format!(
            "#{:>11}  {:>12}  {:>8}  {:>6}  {:>6}  {:>7}  {:>6}  {:>6} {:>6}  {:>7}  {:>6}  {:>6} {:>6}  {:>7}  {:>7}",
            "(B)", "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(us)"
        );
        if self.adaptive {
            l2 += &format!("  {:>5}  {:>5}", "oop±", "ip±");
            l3 += &format!("  {:>5}  {:>5}", "(%)", "(%)");
        }
        if self.verdict {
            l2 += "  verdict (busbw/expected)";
        }
        l1 += "\n";
        h += &l1;
        h += &format!("{l2}\n{l3}\n");
        self.out.write_all(h.as_bytes()).ok();
        self.out.flush().ok();
        Ok(())
    }

    fn rows(&mut self, group: &[Row]) -> Result<()> {
        if group.is_empty() {
            return Ok(());
        }
        writeln!(
            self.out,
            "{}",
            format_group(group, self.adaptive, self.verdict)
        )
        .ok();
        self.out.flush().ok();
        Ok(())
    }

    fn note(&mut self, msg: &str) {
        writeln!(self.out, "# {msg}").ok();
    }

    fn findings(&mut self, findings: &[xccl_schema::Finding]) -> Result<()> {
        for f in findings {
            writeln!(self.out, "# finding: {f}").ok();
        }
        self.out.flush().ok();
        Ok(())
    }

    fn end(&mut self, s: &Summary) -> Result<()> {
        writeln!(
            self.out,
            "# Out of bounds values : {} {}",
            s.wrong_total,
            if s.check_ok { "OK" } else { "FAILED" }
        )
        .ok();
        writeln!(self.out, "# Avg bus bandwidth    : {:.6} ", s.avg_busbw_gbs).ok();
        writeln!(self.out, "#").ok();
        self.out.flush().ok();
        Ok(())
    }
}
