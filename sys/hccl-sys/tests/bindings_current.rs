//! Fails when the committed `src/acl.rs` / `src/hccl.rs` no longer match what bindgen
//! makes of the vendor headers. Skips, with a visible message, where no header can be had.

#[path = "../regen/gen.rs"]
#[allow(dead_code)]
mod gen;

fn compare(name: &str, fresh: String, path: std::path::PathBuf) {
    let committed = std::fs::read_to_string(&path).expect("read committed bindings");
    gen::regen::assert_current(&path.display().to_string(), name, &fresh, &committed);
}

#[test]
fn committed_bindings_match_headers() {
    let Some(root) =
        gen::regen::or_skip("committed_bindings_match_headers", gen::find_include_root())
    else {
        return;
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
