//! The raw bindings: bindgen's output for the ACL runtime (`acl.rs`) and HCCL (`hccl.rs`),
//! see `regen/`, as the modules `acl` and `hccl`.

generated_module!(acl, "acl.rs");
generated_module!(hccl, "hccl.rs");
