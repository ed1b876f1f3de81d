//! The module that holds a file of bindgen output, shared by nccl-sys and hccl-sys (see
//! mod.rs): bindgen's names and unused items do not meet the lints the hand-written code
//! is held to, so they are allowed there and only there.

/// `generated_module!(name, "file.rs")`: `pub mod name` with the crate's `src/file.rs`.
macro_rules! generated_module {
    ($name:ident, $file:literal) => {
        #[allow(
            non_camel_case_types,
            non_upper_case_globals,
            non_snake_case,
            dead_code,
            clippy::all,
            clippy::pedantic,
            rustdoc::all
        )]
        pub mod $name {
            include!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/", $file));
        }
    };
}
