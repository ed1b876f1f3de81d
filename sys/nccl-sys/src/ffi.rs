//! The raw bindings: bindgen's output for `nccl.h` (`bindings.rs`, see `regen/`), as the
//! module `sys`.

generated_module!(sys, "bindings.rs");
