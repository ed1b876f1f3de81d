//! The versioned reader every offline tool uses. It refuses, in one line naming the file,
//! what it cannot read faithfully: something that is not JSON, a JSON file another tool
//! wrote, a schema newer than this build knows. Older schemas are upgraded. A file an
//! interrupted run left is read as far as it goes (`summary.complete` is false).
//!
//! xccl-bench writes other JSON files besides results: the link matrix (`links --json`),
//! predictions (`predict --json`) and simulated training steps (`train-sim --json`). Their
//! types live in the analysis crates that compute them; they carry a top-level `tool`,
//! `kind` and `schema_version`. [`kind_of`] tells the four apart, so that a reader such as
//! `xccl-bench report` can take any mix of them, and [`parse_kind`] reads one with the same
//! one-line errors, without this crate depending on the crates that define them.

use crate::result::{Report, SCHEMA_VERSION, TOOL};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not JSON ({source}); an xccl-bench --json file was expected")]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: not an xccl-bench file ({why})")]
    Foreign { path: PathBuf, why: String },
    #[error("{path}: schema version {found} is newer than this xccl-bench reads (up to {SCHEMA_VERSION}); use a newer xccl-bench")]
    Newer { path: PathBuf, found: u64 },
    #[error("{path}: an xccl-bench {kind} file of schema version {found} is newer than this xccl-bench reads (up to {newest}); use a newer xccl-bench")]
    NewerKind {
        path: PathBuf,
        kind: &'static str,
        found: u64,
        newest: u32,
    },
    #[error("{path}: an xccl-bench {kind} file of schema version {version}, but {source}")]
    MalformedKind {
        path: PathBuf,
        kind: &'static str,
        version: u64,
        source: serde_json::Error,
    },
    #[error("{path}: an xccl-bench result of schema version {version}, but {source}")]
    Malformed {
        path: PathBuf,
        version: u64,
        source: serde_json::Error,
    },
}

/// What an xccl-bench JSON file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A benchmark run ([`Report`]): `meta.tool` is xccl-bench.
    Result,
    /// `links --json`: the pairwise link matrix and its findings (`kind: "links"`).
    Links,
    /// `predict --json`: a prediction and its linearity (`kind: "prediction"`).
    Prediction,
    /// `train-sim --json`: predicted and measured step times (`kind: "train-sim"`).
    TrainSim,
    /// `topo validate --json`: leaf groups inferred against declared (`kind:
    /// "topo-validate"`).
    TopoValidate,
}

impl Kind {
    /// The `kind` string of the file (`result` for benchmark runs, which have none).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Result => "result",
            Kind::Links => "links",
            Kind::Prediction => "prediction",
            Kind::TrainSim => "train-sim",
            Kind::TopoValidate => "topo-validate",
        }
    }
}

/// Reads a file as JSON: the first step of every reader here.
pub fn read_value(path: impl AsRef<Path>) -> Result<Value, ReadError> {
    let path = path.as_ref();
    parse_value(&read_text(path)?, path)
}

/// The file's text, or the I/O error with its path.
fn read_text(path: &Path) -> Result<String, ReadError> {
    std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.into(),
        source,
    })
}

fn parse_value(text: &str, path: &Path) -> Result<Value, ReadError> {
    serde_json::from_str(text).map_err(|source| ReadError::NotJson {
        path: path.into(),
        source,
    })
}

/// Which xccl-bench file `value` is; [`ReadError::Foreign`] for anything else (another
/// tool's JSON, an unknown `kind`, a bare array). `path` only names the file in errors.
pub fn kind_of(value: &Value, path: &Path) -> Result<Kind, ReadError> {
    let foreign = |why: String| ReadError::Foreign {
        path: path.into(),
        why,
    };
    let Some(obj) = value.as_object() else {
        return Err(foreign(format!(
            "a JSON {}, not an object",
            match value {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "boolean",
                _ => "null",
            }
        )));
    };
    if obj.contains_key("meta") {
        return Ok(Kind::Result);
    }
    match obj.get("tool").and_then(Value::as_str) {
        Some(TOOL) => {}
        Some(other) => return Err(foreign(format!("written by `{other}`"))),
        None => return Err(foreign("no `meta` object and no `tool`".into())),
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some("links") => Ok(Kind::Links),
        Some("prediction") => Ok(Kind::Prediction),
        Some("train-sim") => Ok(Kind::TrainSim),
        Some("topo-validate") => Ok(Kind::TopoValidate),
        Some(k) => Err(foreign(format!(
            "unknown kind `{k}` (result, links, prediction, train-sim, topo-validate)"
        ))),
        None => Err(foreign("no `kind`".into())),
    }
}

/// Reads a file [`kind_of`] said is `kind` (not [`Kind::Result`]: use
/// [`report_from_value`]) as `T`, refusing a `schema_version` above `newest`. A file
/// without `schema_version` is version 1 (links files written before it existed).
pub fn parse_kind<T: DeserializeOwned>(
    value: Value,
    path: &Path,
    kind: Kind,
    newest: u32,
) -> Result<T, ReadError> {
    let version = value
        .get("schema_version")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    if version > u64::from(newest) {
        return Err(ReadError::NewerKind {
            path: path.into(),
            kind: kind.name(),
            found: version,
            newest,
        });
    }
    serde_json::from_value(value).map_err(|source| ReadError::MalformedKind {
        path: path.into(),
        kind: kind.name(),
        version,
        source,
    })
}

/// Reads an xccl-bench `--json` file.
pub fn read_report(path: impl AsRef<Path>) -> Result<Report, ReadError> {
    let path = path.as_ref();
    parse_report(&read_text(path)?, path)
}

/// Parses the text of an xccl-bench `--json` file; `path` only names it in errors.
pub fn parse_report(text: &str, path: &Path) -> Result<Report, ReadError> {
    report_from_value(parse_value(text, path)?, path)
}

/// A benchmark result from parsed JSON; `path` only names it in errors.
pub fn report_from_value(value: Value, path: &Path) -> Result<Report, ReadError> {
    let foreign = |why: &str| ReadError::Foreign {
        path: path.into(),
        why: why.into(),
    };
    let meta = value.get("meta").ok_or_else(|| {
        if value.get("kind").is_some() && value.get("tool").is_some() {
            foreign("an xccl-bench file of another kind than a benchmark result")
        } else {
            foreign("no `meta` object")
        }
    })?;
    match meta.get("tool").and_then(Value::as_str) {
        Some(TOOL) => {}
        Some(other) => return Err(foreign(&format!("written by `{other}`"))),
        None => return Err(foreign("no `meta.tool`")),
    }
    let version = meta
        .get("schema_version")
        .and_then(Value::as_u64)
        .ok_or_else(|| foreign("no `meta.schema_version`"))?;
    if version > u64::from(SCHEMA_VERSION) {
        return Err(ReadError::Newer {
            path: path.into(),
            found: version,
        });
    }
    // Version 1 has the same rows and metadata; it lacks `findings`, which defaults to
    // empty. Nothing else to upgrade.
    serde_json::from_value(value).map_err(|source| ReadError::Malformed {
        path: path.into(),
        version,
        source,
    })
}
