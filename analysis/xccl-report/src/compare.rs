//! `xccl-bench compare BASE NEW`: did a cluster change or a library upgrade make any
//! operation slower? Rows of the two runs are matched by what they measured (collective,
//! size, type, op, root, placement, rank count); a row is a regression when its mean time
//! grew by more than the threshold AND by more than the noise the two files themselves
//! record, so that a CI job does not fail on jitter.
//!
//! The noise of a row is the 95% confidence interval of its mean time, which every row
//! carries as `precision` (relative half-width, worst rank; it follows from the
//! per-iteration spread and the iteration count). The two intervals combine as independent
//! errors: `noise = sqrt((p_base·t_base)² + (p_new·t_new)²)`. The threshold is what
//! absorbs the drift between runs that no single file can show (placement, clocks, other
//! jobs): a 5% default, to be set per cluster from a few healthy reruns.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use xccl_schema::verdict::ratio_or;
use xccl_schema::{CollKind, DataType, Placement, Report, Row};

/// What identifies a row across runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RowKey {
    pub collective: CollKind,
    pub size_bytes: u64,
    pub dtype: DataType,
    /// The op's name, or `none`.
    pub op: String,
    pub root: i64,
    pub placement: Placement,
    pub nranks: usize,
}

impl RowKey {
    /// The key of `r`, a row of `report`: the rank count is the row's (one mean per rank)
    /// or, for imported rows that record no per-rank times, the run's.
    pub fn of(r: &Row, report: &Report) -> Self {
        RowKey {
            collective: r.collective,
            size_bytes: r.size_bytes,
            dtype: r.dtype,
            op: r.op_name().to_string(),
            root: r.root,
            placement: r.placement,
            nranks: if r.nranks() > 0 {
                r.nranks()
            } else {
                report.meta.nranks
            },
        }
    }
    /// `all_reduce 1048576 B float sum root -1 out-of-place 2 ranks`, short where it can.
    pub fn label(&self) -> String {
        let mut s = format!("{} {} B {}", self.collective, self.size_bytes, self.dtype);
        if self.op != "none" {
            s += &format!(" {}", self.op);
        }
        if self.root >= 0 {
            s += &format!(" root {}", self.root);
        }
        s + &format!(" {} {} ranks", self.placement, self.nranks)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Slower than the threshold allows, and beyond the noise.
    Regression,
    /// Faster than the threshold, and beyond the noise.
    Improvement,
    /// Within the threshold or within the noise.
    Same,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Regression => "REGRESSION",
            Status::Improvement => "improved",
            Status::Same => "same",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowComparison {
    pub key: RowKey,
    pub base_time_us: f64,
    pub new_time_us: f64,
    /// new / base mean time: above 1 is slower.
    pub time_ratio: f64,
    pub base_busbw_gbs: f64,
    pub new_busbw_gbs: f64,
    /// new / base busbw: below 1 is slower.
    pub busbw_ratio: f64,
    /// Combined 95% CI of the two means, relative to the base mean time.
    pub noise: f64,
    pub status: Status,
}

impl RowComparison {
    /// The measured cells as both tables print them: base and new mean time (µs), time ×,
    /// base and new busbw (GB/s), busbw ×, noise (%).
    pub fn numbers(&self) -> [String; 7] {
        [
            format!("{:.2}", self.base_time_us),
            format!("{:.2}", self.new_time_us),
            format!("{:.3}", self.time_ratio),
            format!("{:.3}", self.base_busbw_gbs),
            format!("{:.3}", self.new_busbw_gbs),
            format!("{:.3}", self.busbw_ratio),
            pct(self.noise),
        ]
    }
}

/// What one side of the comparison was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub name: String,
    pub collective: CollKind,
    pub backend: String,
    pub library: String,
    pub nranks: usize,
    pub hosts: Vec<String>,
    pub rows: usize,
    /// False for a file an interrupted run left: compared as far as it goes.
    pub complete: bool,
}

impl Side {
    fn of(name: &str, r: &Report) -> Self {
        Side {
            name: name.to_string(),
            collective: r.meta.collective,
            backend: r.meta.backend.name.clone(),
            library: format!("{} {}", r.meta.backend.library, r.meta.backend.version)
                .trim()
                .to_string(),
            nranks: r.meta.nranks,
            hosts: r.meta.hosts.clone(),
            rows: r.rows.len(),
            complete: r.summary.complete,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub base: Side,
    pub new: Side,
    pub threshold: f64,
    pub rows: Vec<RowComparison>,
    /// Rows measured in one run only (labels).
    pub only_in_base: Vec<String>,
    pub only_in_new: Vec<String>,
    pub regressions: usize,
    /// Things a reader must know: partial runs, nothing matched.
    pub notes: Vec<String>,
}

impl Comparison {
    pub fn has_regression(&self) -> bool {
        self.regressions > 0
    }
}

/// The noise band of a pair of rows, relative to the base mean (infinite when either CI
/// is unbounded: one iteration, or a zero time). A row whose source recorded no spread
/// (precision NaN: an imported table without per-iteration times) adds none, so that the
/// threshold alone judges it; `compare` notes which files those are.
fn noise(b: &Row, n: &Row) -> f64 {
    let (tb, tn) = (b.time_us.avg, n.time_us.avg);
    let half = |p: f64, t: f64| if p.is_nan() { 0.0 } else { p * t };
    let (hb, hn) = (half(b.precision, tb), half(n.precision, tn));
    if !(tb > 0.0 && tn > 0.0 && hb.is_finite() && hn.is_finite()) {
        return f64::INFINITY;
    }
    (hb.powi(2) + hn.powi(2)).sqrt() / tb
}

/// Compares every row of `new` with the row of `base` that measured the same thing.
/// `threshold` is the relative slowdown allowed (0.05 = 5%).
pub fn compare(
    base_name: &str,
    base: &Report,
    new_name: &str,
    new: &Report,
    threshold: f64,
) -> Comparison {
    // A key measured twice (-N cycles) keeps its first row; rows keep the file's order.
    let index = |r: &Report| -> (Vec<RowKey>, HashMap<RowKey, Row>) {
        let mut order = vec![];
        let mut m = HashMap::new();
        for row in &r.rows {
            let k = RowKey::of(row, r);
            if let std::collections::hash_map::Entry::Vacant(e) = m.entry(k) {
                order.push(e.key().clone());
                e.insert(row.clone());
            }
        }
        (order, m)
    };
    let ((border, bi), (norder, ni)) = (index(base), index(new));
    let mut rows = vec![];
    let mut only_in_new = vec![];
    for key in &norder {
        let n = &ni[key];
        let Some(b) = bi.get(key) else {
            only_in_new.push(key.label());
            continue;
        };
        let (tb, tn) = (b.time_us.avg, n.time_us.avg);
        let time_ratio = ratio_or(tn, tb, f64::NAN);
        let busbw_ratio = ratio_or(n.busbw_gbs, b.busbw_gbs, f64::NAN);
        let noise = noise(b, n);
        let beyond_noise = ((tn - tb) / tb).abs() > noise;
        let status = if time_ratio > 1.0 + threshold && beyond_noise {
            Status::Regression
        } else if time_ratio < 1.0 / (1.0 + threshold) && beyond_noise {
            Status::Improvement
        } else {
            Status::Same
        };
        rows.push(RowComparison {
            key: key.clone(),
            base_time_us: tb,
            new_time_us: tn,
            time_ratio,
            base_busbw_gbs: b.busbw_gbs,
            new_busbw_gbs: n.busbw_gbs,
            busbw_ratio,
            noise,
            status,
        });
    }
    let matched: HashSet<&RowKey> = norder.iter().collect();
    let only_in_base: Vec<String> = border
        .iter()
        .filter(|k| !matched.contains(k))
        .map(RowKey::label)
        .collect();
    let mut notes = vec![];
    for (name, r) in [(base_name, base), (new_name, new)] {
        if !r.summary.complete {
            notes.push(format!(
                "{name} is a partial run (interrupted{}): compared as far as it goes ({} rows)",
                r.summary
                    .error
                    .as_ref()
                    .map_or(String::new(), |e| format!(": {e}")),
                r.rows.len()
            ));
        }
    }
    for (name, r, idx) in [(base_name, base, &bi), (new_name, new, &ni)] {
        if let Some(p) = &r.imported {
            notes.push(format!("{name} is imported: {}", p.summary()));
        }
        let unrecorded = rows
            .iter()
            .filter(|c| idx.get(&c.key).is_some_and(|x| x.precision.is_nan()))
            .count();
        if unrecorded > 0 {
            notes.push(format!(
                "{name} records no per-iteration spread for {unrecorded} compared row(s): they add no noise, the threshold alone judges them"
            ));
        }
        if !r.summary.check_ok {
            notes.push(format!(
                "{name} failed its correctness check ({} wrong element(s))",
                r.summary.wrong_total
            ));
        }
    }
    if rows.is_empty() {
        notes.push(format!(
            "no row of {new_name} matches a row of {base_name} (same collective, size, type, op, root, placement and rank count)"
        ));
    }
    let regressions = rows
        .iter()
        .filter(|r| r.status == Status::Regression)
        .count();
    Comparison {
        base: Side::of(base_name, base),
        new: Side::of(new_name, new),
        threshold,
        rows,
        only_in_base,
        only_in_new,
        regressions,
        notes,
    }
}

/// The comparison as a fixed-width table for a terminal.
pub fn table(c: &Comparison) -> String {
    let mut s = format!(
        "# compare: base {} ({} {}, {} ranks) vs new {} ({} {}, {} ranks); threshold {:.1}%\n",
        c.base.name,
        c.base.backend,
        c.base.library,
        c.base.nranks,
        c.new.name,
        c.new.backend,
        c.new.library,
        c.new.nranks,
        c.threshold * 100.0
    );
    for n in &c.notes {
        s += &format!("# note: {n}\n");
    }
    s += &format!(
        "#{:>14} {:>8} {:>6} {:>5} {:>13} {:>3} {:>10} {:>10} {:>7} {:>9} {:>9} {:>7} {:>6}  status\n",
        "collective", "size(B)", "type", "redop", "placement", "np", "base(us)", "new(us)", "time×", "base GB/s", "new GB/s", "busbw×", "noise%"
    );
    for r in &c.rows {
        let numbers: Vec<String> = r
            .numbers()
            .iter()
            .zip([10, 10, 7, 9, 9, 7, 6])
            .map(|(n, width)| format!("{n:>width$}"))
            .collect();
        s += &format!(
            "{:>15} {:>8} {:>6} {:>5} {:>13} {:>3} {}  {}\n",
            r.key.collective.name(),
            r.key.size_bytes,
            r.key.dtype.name(),
            r.key.op,
            r.key.placement.name(),
            r.key.nranks,
            numbers.join(" "),
            r.status.name()
        );
    }
    for l in &c.only_in_base {
        s += &format!("# only in base: {l}\n");
    }
    for l in &c.only_in_new {
        s += &format!("# only in new: {l}\n");
    }
    s += &format!(
        "# {} row(s) compared, {} regression(s)\n",
        c.rows.len(),
        c.regressions
    );
    s
}

/// A relative noise as a percentage cell (`inf` when unknown).
pub(crate) fn pct(x: f64) -> String {
    if x.is_nan() {
        "—".into() // not recorded (imported rows)
    } else if x.is_finite() {
        format!("{:.1}", x * 100.0)
    } else {
        "inf".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{report, row};

    #[test]
    fn planted_slowdown_is_the_only_regression() {
        // Base: 3 sizes at 10, 20, 40 µs, each with a 1% CI. New: the same, except the
        // 2048 B row takes 2× as long (40 µs). Noise = sqrt((0.01·20)² + (0.01·40)²)/20
        // = 0.447/20 = 2.2% < the 100% slowdown; the 5% threshold is passed too.
        let base = report(vec![
            row(1024, 10.0, 0.01),
            row(2048, 20.0, 0.01),
            row(4096, 40.0, 0.01),
        ]);
        let mut new = base.clone();
        new.rows[1] = row(2048, 40.0, 0.01);
        let c = compare("base", &base, "new", &new, xccl_schema::rules::REGRESSION);
        assert_eq!(c.regressions, 1);
        let bad: Vec<_> = c
            .rows
            .iter()
            .filter(|r| r.status == Status::Regression)
            .collect();
        assert_eq!(bad[0].key.size_bytes, 2048);
        assert!((bad[0].time_ratio - 2.0).abs() < 1e-12);
        assert!((bad[0].busbw_ratio - 0.5).abs() < 1e-12);
        assert!((bad[0].noise - (0.2f64.powi(2) + 0.4f64.powi(2)).sqrt() / 20.0).abs() < 1e-12);
        assert!(c.notes.is_empty());
    }

    #[test]
    fn slowdown_within_noise_or_threshold_is_not_a_regression() {
        // 10 → 11 µs is +10%: beyond the 5% threshold. With 8% CIs the noise is
        // sqrt(0.8² + 0.88²)/10 = 11.9% > 10%: within noise. With 1% CIs it is 1.5%:
        // a regression. With a 20% threshold it is not.
        let base = report(vec![row(1024, 10.0, 0.08)]);
        let new = report(vec![row(1024, 11.0, 0.08)]);
        assert_eq!(compare("b", &base, "n", &new, 0.05).regressions, 0);
        let base = report(vec![row(1024, 10.0, 0.01)]);
        let new = report(vec![row(1024, 11.0, 0.01)]);
        assert_eq!(compare("b", &base, "n", &new, 0.05).regressions, 1);
        assert_eq!(compare("b", &base, "n", &new, 0.20).regressions, 0);
        // Faster by 10%, beyond noise: an improvement, not a regression.
        let c = compare("b", &new, "n", &base, 0.05);
        assert_eq!(c.rows[0].status, Status::Improvement);
        assert!(!c.has_regression());
    }

    #[test]
    fn unmatched_rows_and_partial_runs_are_said() {
        let base = report(vec![row(1024, 10.0, 0.01), row(2048, 20.0, 0.01)]);
        let mut new = report(vec![row(1024, 10.0, 0.01), row(8192, 20.0, 0.01)]);
        new.summary.complete = false;
        let c = compare("b.json", &base, "n.json", &new, 0.05);
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.only_in_base.len(), 1);
        assert!(c.only_in_base[0].contains("2048 B"));
        assert!(c.only_in_new[0].contains("8192 B"));
        assert!(
            c.notes[0].contains("n.json is a partial run"),
            "{:?}",
            c.notes
        );
        let t = table(&c);
        assert!(t.contains("# note: n.json is a partial run"));
        assert!(t.contains("1 row(s) compared, 0 regression(s)"));
    }

    #[test]
    fn unknown_noise_never_flags() {
        let base = report(vec![row(1024, 10.0, f64::INFINITY)]);
        let new = report(vec![row(1024, 30.0, 0.01)]);
        let c = compare("b", &base, "n", &new, 0.05);
        assert_eq!(c.rows[0].status, Status::Same);
        assert_eq!(pct(c.rows[0].noise), "inf");
    }
}
