//! Results other tools wrote, read into the same typed [`Report`] as our own files, so that
//! `report`, `compare`, `judge` and the per-rank views take years of existing logs without
//! a rerun. Three formats, told apart by content (never by file name):
//!
//! - nccl-tests' text output, any version's table ([`nccl_tests`]);
//! - nccl-tests' JSON file (`-J` / `--output_file`, [`nccl_tests_json`]);
//! - hccl_test's text output, Ascend CANN's benchmark ([`hccl_test`]).
//!
//! An import never invents a figure: what a format does not record stays unset (NaN,
//! `null` in JSON, an empty per-rank vector) and is listed in [`Provenance::lacks`]; what
//! is computed here (hccl_test's busbw from our bus factors) is listed in
//! [`Provenance::derived`]. Sources of each format are cited in its module and in
//! docs/IMPORT.md.

pub mod hccl_test;
pub mod nccl_tests;
pub mod nccl_tests_json;

mod common;

pub use common::{binary_in, collective_in_name, Format, ImportResult};

/// Which text format `text` is, by its table header: nccl-tests' `# ... size ... count
/// ... type ... redop ... time algbw busbw` line, or hccl_test's `data_size(Bytes): |`
/// line. `None` for anything else (an OSU log, a CSV, prose).
pub fn detect_text(text: &str) -> Option<Format> {
    for line in text.lines() {
        if nccl_tests::is_header(line) {
            return Some(Format::NcclTestsText);
        }
        if hccl_test::is_header(line) {
            return Some(Format::HcclTestText);
        }
    }
    None
}

/// Whether a parsed JSON document is nccl-tests' (top-level integer `version` and a
/// `results` list or a `config` object, and no `meta`: ours has `meta`).
pub fn is_nccl_tests_json(v: &serde_json::Value) -> bool {
    let Some(o) = v.as_object() else {
        return false;
    };
    !o.contains_key("meta")
        && o.get("version").is_some_and(serde_json::Value::is_u64)
        && (o.get("results").is_some_and(serde_json::Value::is_array)
            || o.get("config").is_some_and(serde_json::Value::is_object))
}
