//! `--metrics FILE`: results as a Prometheus textfile, for node_exporter's textfile
//! collector (docs/SOURCES.md [prom-expo], [prom-naming], [node-textfile]).
//!
//! A command builds one [`MetricSet`] from the result structs it already has (the family
//! builders in [`families`] and [`analysis`] are pure functions over those structs;
//! nothing here measures) and hands it to [`write`], which renders the text exposition
//! format 0.0.4 and replaces FILE atomically: a temporary file in the same directory
//! (its name does not end in `.prom`, so the collector never reads it half written),
//! then `rename`, as node_exporter's README asks.
//!
//! Written by hand rather than with a crate: `prometheus-client` writes OpenMetrics
//! (`# EOF`, `# UNIT`, `info` types), not the 0.0.4 text format the textfile collector
//! parses, and the `prometheus` crate's `TextEncoder` renders a `Registry` of live atomic
//! collectors whose label names are fixed when each is registered. A file written once
//! from finished results needs neither: the format is `# HELP`/`# TYPE` lines, one escape
//! rule for label values and one for help text ([`escape_label_value`], [`escape_help`]),
//! both unit-tested, and CI checks every file the commands write with `promtool check
//! metrics` (tests/metrics-test.sh).
//!
//! A new command adds its families to a set and writes it, e.g.
//!
//! ```text
//! let mut set = MetricSet::new();
//! families::run_info(&mut set, "health", Some(&backend_info));
//! set.gauge("check_ratio", "What one check measured over its floor.")
//!     .set(&[("check", "all_reduce"), ("host", host)], ratio);
//! families::findings(&mut set, &[], &findings);
//! metrics::write(path, &set)?;   // check_target(path) first, before anything runs
//! ```
//!
//! Every family is a gauge: a file describes one finished run, and Prometheus counters
//! (`_total`) are for values a live process only ever increases. Names carry base units
//! (`_bytes_per_second`, `_seconds`, `_ratio`); a label set that repeats replaces the
//! earlier sample (with `-N` cycles the file holds the last cycle's value of a row).

pub mod analysis;
pub mod families;
pub mod sink;

use crate::error::{BenchError, Result};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// Prefix of every metric this tool writes.
pub const PREFIX: &str = "xccl_bench_";

/// One metric family: its samples, in the order first set.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    name: String,
    help: String,
    samples: Vec<(Vec<(String, String)>, f64)>,
    /// Sample index by sorted labels.
    index: HashMap<Vec<(String, String)>, usize>,
}

impl Family {
    /// Sets the sample with these labels (replacing one with the same labels). Labels
    /// with an empty value are left out: Prometheus treats an empty label as absent.
    pub fn set<K: AsRef<str>, V: AsRef<str>>(&mut self, labels: &[(K, V)], value: f64) {
        let labels: Vec<(String, String)> = labels
            .iter()
            .filter(|(_, v)| !v.as_ref().is_empty())
            .map(|(k, v)| {
                let k = k.as_ref();
                assert!(
                    valid_label_name(k),
                    "label name {k:?} of {} is not a Prometheus label name",
                    self.name
                );
                (k.to_string(), v.as_ref().to_string())
            })
            .collect();
        let mut sorted = labels.clone();
        sorted.sort();
        match self.index.get(&sorted) {
            Some(&i) => self.samples[i].1 = value,
            None => {
                self.index.insert(sorted, self.samples.len());
                self.samples.push((labels, value));
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// The metrics of one file: gauge families in the order declared.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricSet {
    families: Vec<Family>,
}

impl MetricSet {
    pub fn new() -> Self {
        MetricSet::default()
    }

    /// The gauge family `xccl_bench_<name>`, declared with `help` on first use. `name`
    /// must follow the naming conventions (snake case, base unit as suffix).
    pub fn gauge(&mut self, name: &str, help: &str) -> &mut Family {
        let full = format!("{PREFIX}{name}");
        assert!(valid_metric_name(&full), "{full:?} is not a metric name");
        match self.families.iter().position(|f| f.name == full) {
            Some(i) => &mut self.families[i],
            None => {
                self.families.push(Family {
                    name: full,
                    help: help.to_string(),
                    samples: vec![],
                    index: HashMap::new(),
                });
                self.families.last_mut().expect("just pushed")
            }
        }
    }

    /// One sample with `labels` in each gauge of `gauges` (name, help, value), declared in
    /// that order on first use.
    pub fn gauges<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        labels: &[(K, V)],
        gauges: &[(&str, &str, f64)],
    ) {
        for &(name, help, value) in gauges {
            self.gauge(name, help).set(labels, value);
        }
    }

    /// The family named `xccl_bench_<name>`, if declared.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families
            .iter()
            .find(|f| f.name.strip_prefix(PREFIX) == Some(name))
    }

    /// The text exposition format: per family `# HELP`, `# TYPE … gauge`, its samples.
    /// Families without samples are left out.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in self.families.iter().filter(|f| !f.samples.is_empty()) {
            let _ = writeln!(s, "# HELP {} {}", f.name, escape_help(&f.help));
            let _ = writeln!(s, "# TYPE {} gauge", f.name);
            for (labels, v) in &f.samples {
                s.push_str(&f.name);
                if !labels.is_empty() {
                    s.push('{');
                    for (i, (k, val)) in labels.iter().enumerate() {
                        if i > 0 {
                            s.push(',');
                        }
                        let _ = write!(s, "{k}=\"{}\"", escape_label_value(val));
                    }
                    s.push('}');
                }
                let _ = writeln!(s, " {}", number(*v));
            }
        }
        s
    }
}

/// A sample value as the format writes it: Go's float syntax, `NaN`, `+Inf`, `-Inf`.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        // Rust's shortest round-trip form, which Go's ParseFloat reads back exactly.
        format!("{v}")
    }
}

/// A label value: backslash, double quote and line feed escaped as `\\`, `\"`, `\n`.
pub fn escape_label_value(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// `# HELP` text: backslash and line feed escaped as `\\` and `\n` (quotes stay).
pub fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn valid_metric_name(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved for internal use).
pub fn valid_label_name(n: &str) -> bool {
    let mut c = n.chars();
    !n.starts_with("__")
        && matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Where `--metrics FILE` would be written, checked before anything runs: its directory
/// must exist (one line, exit 2).
pub fn check_target(path: &Path) -> Result<()> {
    if path.file_name().is_none() {
        return Err(BenchError::Usage(format!(
            "--metrics {}: not a file name",
            path.display()
        )));
    }
    let dir = dir_of(path);
    if !dir.is_dir() {
        return Err(BenchError::Usage(format!(
            "--metrics {}: directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `set` to `path` atomically (temporary file in the same directory, then rename).
/// A directory that does not exist is bad input ([`BenchError::Usage`], exit 2); other
/// failures are [`BenchError::Io`].
pub fn write(path: &Path, set: &MetricSet) -> Result<()> {
    check_target(path)?;
    let name = path.file_name().expect("checked").to_string_lossy();
    let tmp = dir_of(path).join(format!(".{name}.{}.tmp", std::process::id()));
    let io = |what: &str, p: &Path| {
        let what = format!("{what} {}", p.display());
        move |source| BenchError::Io { what, source }
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io("writing", &tmp))?;
        f.write_all(set.render().as_bytes())
            .map_err(io("writing", &tmp))?;
        f.sync_all().map_err(io("writing", &tmp))?;
        std::fs::rename(&tmp, path).map_err(io("writing", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `set` to `path` when one was asked for; rank 0's last output, after the others.
pub fn write_if(path: Option<&Path>, set: impl FnOnce() -> MetricSet) -> Result<()> {
    match path {
        Some(p) => write(p, &set()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
