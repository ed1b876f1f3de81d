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
//!
//! Results other tools wrote (nccl-tests' text and JSON, hccl_test's text) are recognised
//! by content and read into the same [`Report`] by [`crate::import`]; [`read_report`] and
//! [`read_file`] take them wherever our own results are taken.

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
    #[error("{path}: not JSON ({source}), nor nccl-tests or hccl_test output; an xccl-bench --json file or one of those logs was expected")]
    Unrecognized {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {format} output, but {why}")]
    Import {
        path: PathBuf,
        format: &'static str,
        why: String,
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
    /// `links --json` on a rail topology: one matrix per rail, intra-node pairs, the NIC
    /// of every device (`kind: "rail-links"`).
    RailLinks,
    /// `links --screen --json`: the rounds of the screen and its suspects (`kind:
    /// "links-screen"`).
    LinksScreen,
    /// `health --json`: each check and the findings (`kind: "health"`).
    Health,
    /// `predict --step-time --json` with no communication source: utilisation of a
    /// measured step (`kind: "utilisation"`).
    Utilisation,
    /// `predict --search --json`: the layouts that fit (`kind: "layout-search"`).
    LayoutSearch,
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
            Kind::RailLinks => "rail-links",
            Kind::LinksScreen => "links-screen",
            Kind::Health => "health",
            Kind::Utilisation => "utilisation",
            Kind::LayoutSearch => "layout-search",
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
        Some("rail-links") => Ok(Kind::RailLinks),
        Some("links-screen") => Ok(Kind::LinksScreen),
        Some("health") => Ok(Kind::Health),
        Some("utilisation") => Ok(Kind::Utilisation),
        Some("layout-search") => Ok(Kind::LayoutSearch),
        Some(k) => Err(foreign(format!(
            "unknown kind `{k}` (result, links, rail-links, links-screen, health, prediction, \
             utilisation, layout-search, train-sim, topo-validate)"
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

/// Reads an xccl-bench `--json` file, or another tool's result ([`crate::import`]).
pub fn read_report(path: impl AsRef<Path>) -> Result<Report, ReadError> {
    let path = path.as_ref();
    parse_report(&read_text(path)?, path)
}

/// Parses the text of an xccl-bench `--json` file or of a result another tool wrote;
/// `path` names it in errors (and may name the collective of a log that does not).
pub fn parse_report(text: &str, path: &Path) -> Result<Report, ReadError> {
    match parse_any(text, path)? {
        Loaded::Json(v) => report_from_value(v, path),
        Loaded::Imported(r) => Ok(*r),
    }
}

/// A file read by [`read_file`]: one of our JSON files (any kind, see [`kind_of`]), or a
/// result imported from another tool's output.
pub enum Loaded {
    Json(Value),
    Imported(Box<Report>),
}

/// Reads any file the offline commands take: our JSON files as JSON, nccl-tests' JSON and
/// text and hccl_test's text as an imported [`Report`]; anything else is one line.
pub fn read_file(path: impl AsRef<Path>) -> Result<Loaded, ReadError> {
    let path = path.as_ref();
    parse_any(&read_text(path)?, path)
}

fn parse_any(text: &str, path: &Path) -> Result<Loaded, ReadError> {
    use crate::import::{self, Format};
    let fail = |format: Format| {
        move |why: String| ReadError::Import {
            path: path.into(),
            format: format.name(),
            why,
        }
    };
    match serde_json::from_str::<Value>(text) {
        Ok(v) if import::is_nccl_tests_json(&v) => {
            let r =
                import::nccl_tests_json::parse(&v, path).map_err(fail(Format::NcclTestsJson))?;
            Ok(Loaded::Imported(Box::new(r)))
        }
        Ok(v) => Ok(Loaded::Json(v)),
        Err(source) => {
            let r = match import::detect_text(text) {
                Some(f @ Format::NcclTestsText) => import::nccl_tests::parse(text, path).map_err(fail(f)),
                Some(f @ Format::HcclTestText) => import::hccl_test::parse(text, path).map_err(fail(f)),
                // nccl-tests writes its JSON as it goes: a run killed early leaves it open.
                _ if source.is_eof() && text.contains("\"nccl_version\"") => Err(fail(Format::NcclTestsJson)(format!(
                    "truncated: the JSON ends at line {} (a run that did not finish leaves it open)",
                    source.line()
                ))),
                _ => Err(ReadError::Unrecognized {
                    path: path.into(),
                    source,
                }),
            }?;
            Ok(Loaded::Imported(Box::new(r)))
        }
    }
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
