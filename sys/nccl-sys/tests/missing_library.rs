//! With the library named explicitly but absent, loading fails with one line that names
//! the variable and the file, and nothing else is tried.

#[test]
fn explicit_missing_library_is_reported() {
    std::env::set_var(nccl_sys::ENV_VAR, "/nonexistent/libnccl.so.2");
    let err = match nccl_sys::load_uncached() {
        Ok(_) => panic!("loaded a library that does not exist"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("$XCCL_NCCL_LIB=/nonexistent/libnccl.so.2 (no such file)"),
        "{err}"
    );
    assert!(err.contains("libnccl.so.2"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn search_without_env_lists_every_place() {
    // Separate process state is not needed: this only reads the place list.
    let places = nccl_sys::search_places();
    assert!(
        places.iter().any(|p| p.ends_with("nvidia/nccl/lib"))
            || std::process::Command::new("python3")
                .arg("-V")
                .output()
                .is_err()
    );
    assert!(places
        .iter()
        .any(|p| p == std::path::Path::new("/usr/local/cuda/lib64")));
}
