//! The versioned reader every offline tool uses. It refuses, in one line naming the file,
//! what it cannot read faithfully: something that is not JSON, a JSON file another tool
//! wrote, a schema newer than this build knows. Older schemas are upgraded. A file an
//! interrupted run left is read as far as it goes (`summary.complete` is false).

use crate::result::{Report, SCHEMA_VERSION, TOOL};
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
    #[error("{path}: not an xccl-bench result ({why})")]
    Foreign { path: PathBuf, why: String },
    #[error("{path}: schema version {found} is newer than this xccl-bench reads (up to {SCHEMA_VERSION}); use a newer xccl-bench")]
    Newer { path: PathBuf, found: u64 },
    #[error("{path}: an xccl-bench result of schema version {version}, but {source}")]
    Malformed {
        path: PathBuf,
        version: u64,
        source: serde_json::Error,
    },
}

/// Reads an xccl-bench `--json` file.
pub fn read_report(path: impl AsRef<Path>) -> Result<Report, ReadError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.into(),
        source,
    })?;
    parse_report(&text, path)
}

/// Parses the text of an xccl-bench `--json` file; `path` only names it in errors.
pub fn parse_report(text: &str, path: &Path) -> Result<Report, ReadError> {
    let value: Value = serde_json::from_str(text).map_err(|source| ReadError::NotJson {
        path: path.into(),
        source,
    })?;
    let foreign = |why: &str| ReadError::Foreign {
        path: path.into(),
        why: why.into(),
    };
    let meta = value
        .get("meta")
        .ok_or_else(|| foreign("no `meta` object"))?;
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
