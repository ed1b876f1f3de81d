//! Skipping a test whose prerequisite this machine lacks: visibly, and never where the
//! prerequisite must be there. Included through `#[path]` by `regen.rs` (the tests of
//! nccl-sys and hccl-sys) and by the workspace's `tests/common` alike.

use std::io::Write;

/// Whether the vendor wheels must be there: `XCCL_REQUIRE_VENDOR=1`, which scripts/test.sh
/// exports once scripts/fetch-vendor-wheels.sh has fetched and unpacked them.
pub fn vendor_required() -> bool {
    std::env::var("XCCL_REQUIRE_VENDOR").is_ok_and(|v| v == "1")
}

/// Says that `test` (or a part of it) is skipped because `why`: straight to stderr, which
/// libtest does not capture (it hides what `eprintln!` prints in a passing test), and as
/// one line of the file `$XCCL_SKIP_LOG` when set (scripts/test.sh lists those lines).
pub fn skip(test: &str, why: &str) {
    let line = format!("SKIPPED {test}: {why}");
    let _ = writeln!(std::io::stderr(), "{line}");
    if let Some(p) = std::env::var_os("XCCL_SKIP_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// What a vendor file search `found`, or `None` after [`skip`]ping `test` with the reason
/// the search gave; a panic instead where the vendor files must be there
/// ([`vendor_required`]), so a test that needs them cannot pass by skipping.
pub fn vendor_or_skip<T>(test: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(v) => Some(v),
        Err(why) if vendor_required() => {
            panic!("{test}: XCCL_REQUIRE_VENDOR=1 (the vendor wheels were fetched) but {why}")
        }
        Err(why) => {
            skip(test, &why);
            None
        }
    }
}
