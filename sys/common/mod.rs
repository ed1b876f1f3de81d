//! What nccl-sys and hccl-sys share, included by both as `#[macro_use] #[path =
//! "../../common/mod.rs"] mod common;` in their lib.rs, so each crate compiles its own
//! copy (its own `LoadError`, its own macros) from one source. `regen.rs` is not here:
//! only the `regen` examples and the `bindings_current` tests use it.

#[macro_use]
pub mod generated;
#[macro_use]
pub mod failure;
#[macro_use]
#[allow(dead_code)] // each crate uses its part
pub mod libsearch;
#[macro_use]
pub mod safe;
