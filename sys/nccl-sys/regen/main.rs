//! Regenerates `src/bindings.rs` from the vendor header (see `gen.rs`). Run through
//! `scripts/regen-bindings.sh`.

mod gen;

fn main() {
    let dir = match gen::find_header_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("regen: {e}");
            std::process::exit(1);
        }
    };
    match gen::generate(&dir) {
        Ok(src) => {
            let out = gen::bindings_path();
            std::fs::write(&out, src).expect("write bindings");
            println!(
                "regen: wrote {} from {}/nccl.h",
                out.display(),
                dir.display()
            );
        }
        Err(e) => {
            eprintln!("regen: {e}");
            std::process::exit(1);
        }
    }
}
