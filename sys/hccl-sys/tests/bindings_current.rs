//! Fails when the committed `src/acl.rs` / `src/hccl.rs` no longer match what bindgen
//! makes of the vendor headers. Skips, with a visible message, where no header can be had.

#[path = "../regen/gen.rs"]
#[allow(dead_code)]
mod gen;

fn compare(name: &str, fresh: String, path: std::path::PathBuf) {
    let committed = std::fs::read_to_string(&path).expect("read committed bindings");
    if fresh != committed {
        let line = fresh
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| fresh.lines().count().min(committed.lines().count()) + 1);
        panic!(
            "{} differs from bindgen's output for {name} (first difference at line {line}); \
             run scripts/regen-bindings.sh and commit the result",
            path.display()
        );
    }
}

#[test]
fn committed_bindings_match_headers() {
    let root = match gen::find_include_root() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("SKIPPED committed_bindings_match_headers: {e}");
            return;
        }
    };
    compare(
        "acl.h",
        gen::generate_acl(&root).expect("bindgen acl"),
        gen::acl_path(),
    );
    compare(
        "hccl.h",
        gen::generate_hccl(&root).expect("bindgen hccl"),
        gen::hccl_path(),
    );
}
