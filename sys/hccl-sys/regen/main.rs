//! Regenerates `src/acl.rs` and `src/hccl.rs` from the vendor headers (see `gen.rs`). Run
//! through `scripts/regen-bindings.sh`.

mod gen;

fn main() {
    let root = gen::find_include_root().unwrap_or_else(|e| {
        eprintln!("regen: {e}");
        std::process::exit(1)
    });
    for (out, src) in [
        (gen::acl_path(), gen::generate_acl(&root)),
        (gen::hccl_path(), gen::generate_hccl(&root)),
    ] {
        match src {
            Ok(s) => {
                std::fs::write(&out, s).expect("write bindings");
                println!("regen: wrote {} from {}", out.display(), root.display());
            }
            Err(e) => {
                eprintln!("regen: {e}");
                std::process::exit(1);
            }
        }
    }
}
