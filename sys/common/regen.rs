//! What the `regen/gen.rs` of nccl-sys and hccl-sys share, included by both through
//! `#[path]` (and by nccl-sys's `real_library` test, for the vendor cache): where the
//! vendor wheels and headers are, where the committed bindings are, and how the
//! `bindings_current` tests tell that they no longer match.

use std::path::{Path, PathBuf};

#[path = "skip.rs"]
pub mod skip;

/// The folder of the vendor headers: `$env_var` when set (it must hold `header`), else
/// the newest unpacked wheel `<prefix>*` (its folder `sub`, when not empty) holding
/// `header` in the vendor cache ([`vendor_dir`]).
pub fn find_headers(
    env_var: &str,
    header: &str,
    prefix: &str,
    sub: &str,
) -> Result<PathBuf, String> {
    if let Ok(d) = std::env::var(env_var) {
        let p = PathBuf::from(d);
        return if p.join(header).is_file() {
            Ok(p)
        } else {
            Err(format!("{env_var}={} has no {header}", p.display()))
        };
    }
    let name = header.rsplit('/').next().unwrap_or(header);
    let sub_shown = if sub.is_empty() {
        String::new()
    } else {
        format!("/{sub}")
    };
    newest_wheel(prefix, sub, header).ok_or_else(|| {
        format!(
            "no {name}: set {env_var} or run scripts/fetch-vendor-wheels.sh (looked in {}/{prefix}*{sub_shown})",
            vendor_dir().display()
        )
    })
}

/// Where `scripts/fetch-vendor-wheels.sh` unpacks the vendor wheels:
/// `$XCCL_VENDOR_CACHE/vendor`, else `~/.cache/xccl-bench/vendor`.
pub fn vendor_dir() -> PathBuf {
    let cache = std::env::var("XCCL_VENDOR_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/xccl-bench")
        });
    cache.join("vendor")
}

/// The newest unpacked wheel `<prefix>*` in [`vendor_dir`] whose folder `sub` (the wheel's
/// own folder when empty) holds `file`: that folder.
pub fn newest_wheel(prefix: &str, sub: &str, file: &str) -> Option<PathBuf> {
    let below = |p: PathBuf| if sub.is_empty() { p } else { p.join(sub) };
    let mut found: Vec<PathBuf> = std::fs::read_dir(vendor_dir())
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| below(e.path()))
        .filter(|p| p.join(file).is_file())
        .collect();
    found.sort();
    found.pop()
}

/// The folder `find_headers` gave, or `None` after saying that `test` is skipped and why
/// (no header can be had: no cached wheel, no network); a panic instead under
/// `XCCL_REQUIRE_VENDOR=1` ([`skip::vendor_or_skip`]).
pub fn or_skip(test: &str, found: Result<PathBuf, String>) -> Option<PathBuf> {
    skip::vendor_or_skip(test, found)
}

/// A committed file of the crate's `src/`.
pub fn src_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(name)
}

/// Panics when `committed` (named `what`) is not `fresh`, bindgen's output for `source`,
/// with the first line that differs and what to run.
pub fn assert_current(what: &str, source: &str, fresh: &str, committed: &str) {
    if fresh != committed {
        let line = fresh
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| fresh.lines().count().min(committed.lines().count()) + 1);
        panic!(
            "{what} differs from bindgen's output for {source} (first difference at line {line}); \
             run scripts/regen-bindings.sh and commit the result"
        );
    }
}
