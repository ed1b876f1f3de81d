//! Fails when the committed `src/bindings.rs` no longer matches what bindgen makes of the
//! vendor header, so an upgraded header cannot silently leave stale bindings. Skips, with
//! a visible message, where no header can be had (no cached wheel, no network).

#[path = "../regen/gen.rs"]
#[allow(dead_code)]
mod gen;

#[test]
fn committed_bindings_match_header() {
    let Some(dir) = gen::regen::or_skip("committed_bindings_match_header", gen::find_header_dir())
    else {
        return;
    };
    let fresh = gen::generate(&dir).expect("bindgen");
    let committed = std::fs::read_to_string(gen::bindings_path()).expect("read src/bindings.rs");
    gen::regen::assert_current(
        "src/bindings.rs",
        &format!("{}/nccl.h", dir.display()),
        &fresh,
        &committed,
    );
}
