//! The on-disk format (versions 1 and 2) as serde structs, and the span index that turns a byte
//! offset or a key path into `file:line:column: key`.
//!
//! Parsing goes through two readers on purpose: `toml` gives typed structs and the span of
//! the first error; `toml_edit` keeps the spans of every key and value, so semantic errors
//! found later (an unknown host on a switch) can still point at a line. The raw structs deny
//! unknown fields so that a misspelt key is an error, not a silently ignored default.

use crate::error::Location;
use serde::Deserialize;
use std::ops::Range;
use toml_edit::{Item, TableLike, Value};

/// The newest format version this crate reads (2: named NICs, rails, per-NIC attachment).
/// Version 1 files are still read: they are version 2 files without those keys, and load
/// into the same [`crate::Topology`] (upgraded in memory; `version` keeps the file's number).
pub const FORMAT_VERSION: u32 = 2;

/// The oldest format version this crate reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopology {
    pub version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Hostnames of the nodes, in order. Absent: a node type (any hostnames match).
    pub hosts: Option<Vec<String>>,
    /// Number of nodes when `hosts` is absent (default 1).
    pub nodes: Option<usize>,
    pub node: RawNode,
    #[serde(default, rename = "switch")]
    pub switches: Vec<RawSwitch>,
    /// Version 2: rail groups (NIC i of every listed host on rail leaf i).
    #[serde(default)]
    pub rails: Vec<RawRails>,
    /// Version 2: explicit attachments of single NICs to leaves.
    #[serde(default, rename = "nic")]
    pub nic_attachments: Vec<RawNicAttachment>,
    pub emulation: Option<RawEmulation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    pub devices: usize,
    pub fabric: RawFabric,
    pub nic: Option<RawNic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFabric {
    pub kind: String,
    pub bw_gbs: f64,
    #[serde(default)]
    pub latency_us: f64,
    /// Bandwidth of one point-to-point link of a mesh, for documentation and `show`.
    pub link_gbs: Option<f64>,
    #[serde(default)]
    pub in_network_reduction: bool,
    /// NCCL's PXN relay across rails (default: on for NVLink/NVSwitch fabrics).
    pub pxn: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNic {
    pub count: usize,
    pub rate_gbps: f64,
    pub transport: String,
    #[serde(default)]
    pub latency_us: f64,
    pub device_nic: Option<Vec<usize>>,
    #[serde(default)]
    pub in_network_reduction: bool,
    /// Version 2: NIC names (`mlx5_0`, `eth2`, ...), one per NIC; default `nic0`...
    pub names: Option<Vec<String>>,
}

/// A switch's table: its own fields, then where it hangs (`parent`) and its uplink there.
/// A macro, not a `#[serde(flatten)]` struct: flatten cannot be combined with
/// `deny_unknown_fields` (serde documents it), and a misspelt key must stay an error.
macro_rules! switch_table {
    ($(#[$doc:meta])* $name:ident { $($(#[$f:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            $($(#[$f])* pub $field: $ty,)*
            pub parent: Option<String>,
            pub uplink_gbps: Option<f64>,
            pub oversubscription: Option<f64>,
            #[serde(default)]
            pub latency_us: f64,
        }
    };
}

switch_table! {
    /// A rail group (version 2): NIC i of every host in `hosts` (default: all nodes) hangs
    /// on the leaf named by `leaf` with `{rail}` replaced by i. The leaves are created
    /// here, as tier-1 switches under `parent`.
    RawRails {
        hosts: Option<Vec<String>>,
        rails: usize,
        leaf: String,
    }
}

/// One NIC of one host on a leaf (version 2).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNicAttachment {
    pub host: String,
    /// NIC name (`node.nic.names`) or index.
    pub nic: String,
    pub leaf: String,
}

switch_table! {
    RawSwitch {
        name: String,
        tier: u32,
        #[serde(default)]
        hosts: Vec<String>,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmulation {
    pub subnet: String,
}

/// One key or array element of the document with its spans.
#[derive(Debug)]
struct Entry {
    path: String,
    key: Option<Range<usize>>,
    item: Option<Range<usize>>,
}

/// Key paths and spans of a TOML document, for error locations.
pub(crate) struct SpanIndex {
    file: String,
    text: String,
    line_starts: Vec<usize>,
    entries: Vec<Entry>,
}

impl SpanIndex {
    /// Builds the index; a document `toml_edit` cannot parse gets an index without keys (the
    /// syntax error itself still has a line from its byte offset).
    pub fn new(file: &str, text: &str) -> SpanIndex {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut entries = Vec::new();
        if let Ok(doc) = toml_edit::ImDocument::parse(text) {
            walk_table(doc.as_table(), "", &mut entries);
        }
        SpanIndex {
            file: file.to_string(),
            text: text.to_string(),
            line_starts,
            entries,
        }
    }

    fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        (line + 1, offset - self.line_starts[line] + 1)
    }

    /// Location of a byte offset: the innermost key or value containing it.
    pub fn at_offset(&self, offset: usize) -> Location {
        let contains = |r: &Option<Range<usize>>| {
            r.as_ref()
                .is_some_and(|r| r.start <= offset && (offset < r.end || r.start == r.end))
        };
        let best = self
            .entries
            .iter()
            .filter(|e| contains(&e.key) || contains(&e.item))
            .min_by_key(|e| {
                let len = [&e.key, &e.item]
                    .iter()
                    .filter(|r| contains(r))
                    .map(|r| r.as_ref().map_or(usize::MAX, |r| r.len()))
                    .min()
                    .unwrap_or(usize::MAX);
                (len, usize::MAX - e.path.len())
            });
        let (line, column) = self.line_col(offset);
        Location {
            file: self.file.clone(),
            line,
            column,
            key: best
                .map(|e| e.path.clone())
                .unwrap_or_else(|| self.guess_key(line)),
        }
    }

    /// Key of a line that does not parse: `key =` on that line under the last `[table]`
    /// header above it (a syntax error leaves no document to look keys up in).
    fn guess_key(&self, line: usize) -> String {
        let lines: Vec<&str> = self.text.lines().collect();
        let Some(cur) = lines.get(line.saturating_sub(1)) else {
            return String::new();
        };
        let header = lines[..line.saturating_sub(1)]
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| l.starts_with('['))
            .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
            .unwrap_or_default();
        match cur.split_once('=') {
            Some((k, _)) if !cur.trim_start().starts_with('[') => {
                let k = k.trim().trim_matches('"');
                if header.is_empty() {
                    k.to_string()
                } else {
                    format!("{header}.{k}")
                }
            }
            _ => header,
        }
    }

    /// Location of a key path such as `switch[1].hosts[0]`. When the path is not in the
    /// document (a missing key) the nearest existing parent gives the line.
    pub fn at_key(&self, path: &str) -> Location {
        let mut p = path.to_string();
        loop {
            if let Some(e) = self.entries.iter().find(|e| e.path == p) {
                let off = e.key.as_ref().or(e.item.as_ref()).map_or(0, |r| r.start);
                let (line, column) = self.line_col(off);
                return Location {
                    file: self.file.clone(),
                    line,
                    column,
                    key: path.to_string(),
                };
            }
            match p.rfind(['.', '[']) {
                Some(i) => p.truncate(i),
                None => {
                    return Location {
                        file: self.file.clone(),
                        line: 0,
                        column: 0,
                        key: path.to_string(),
                    }
                }
            }
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk_table(t: &dyn TableLike, prefix: &str, out: &mut Vec<Entry>) {
    for (k, item) in t.iter() {
        let path = join(prefix, k);
        let key = t.get_key_value(k).and_then(|(key, _)| key.span());
        out.push(Entry {
            path: path.clone(),
            key,
            item: item.span(),
        });
        walk_item(item, &path, out);
    }
}

fn walk_item(item: &Item, path: &str, out: &mut Vec<Entry>) {
    match item {
        Item::Table(t) => walk_table(t, path, out),
        Item::ArrayOfTables(a) => walk_elements(
            a.iter(),
            path,
            out,
            |t| t.span(),
            |t, p, out| walk_table(t, p, out),
        ),
        Item::Value(v) => walk_value(v, path, out),
        Item::None => {}
    }
}

fn walk_value(v: &Value, path: &str, out: &mut Vec<Entry>) {
    match v {
        Value::InlineTable(t) => walk_table(t, path, out),
        Value::Array(a) => walk_elements(a.iter(), path, out, |v| v.span(), walk_value),
        _ => {}
    }
}

/// Each element of an array (of tables or of values) as `path[i]`, then what it holds.
fn walk_elements<'a, T: 'a>(
    elements: impl Iterator<Item = &'a T>,
    path: &str,
    out: &mut Vec<Entry>,
    span: impl Fn(&T) -> Option<Range<usize>>,
    inner: impl Fn(&T, &str, &mut Vec<Entry>),
) {
    for (i, e) in elements.enumerate() {
        let p = format!("{path}[{i}]");
        out.push(Entry {
            path: p.clone(),
            key: None,
            item: span(e),
        });
        inner(e, &p, out);
    }
}
