//! Against the real `libnccl.so.2` from the nvidia-nccl-cu12 wheel, when it is cached
//! (scripts/fetch-vendor-wheels.sh): the library loads, reports the wheel's version,
//! creates a unique id, and communicator set-up on a machine without a GPU fails with a
//! clear error instead of crashing. Skips with a visible message when no wheel is cached
//! (fails instead under `XCCL_REQUIRE_VENDOR=1`).

use std::path::PathBuf;

#[path = "../../common/regen.rs"]
#[allow(dead_code)] // only the vendor cache is wanted here
mod regen;

/// The newest cached wheel's `libnccl.so.2` and the wheel's version.
fn cached_lib() -> Option<(PathBuf, String)> {
    let d = regen::newest_wheel("nccl-", "", "lib/libnccl.so.2")?;
    let ver = d
        .file_name()?
        .to_string_lossy()
        .trim_start_matches("nccl-")
        .to_string();
    Some((d.join("lib/libnccl.so.2"), ver))
}

fn has_gpu() -> bool {
    std::path::Path::new("/dev/nvidiactl").exists()
}

#[test]
fn real_nccl_loads_and_fails_cleanly_without_gpu() {
    let Some((lib, wheel_version)) = regen::skip::vendor_or_skip(
        "real_nccl_loads_and_fails_cleanly_without_gpu",
        cached_lib().ok_or_else(|| {
            format!(
                "no cached nvidia-nccl-cu12 wheel in {} (run scripts/fetch-vendor-wheels.sh)",
                regen::vendor_dir().display()
            )
        }),
    ) else {
        return;
    };
    std::env::set_var(nccl_sys::ENV_VAR, &lib);
    let nccl = nccl_sys::load().expect("load cached libnccl.so.2");
    assert_eq!(
        nccl.version(),
        wheel_version,
        "version read through ncclGetVersion"
    );
    assert_eq!(nccl.path, std::fs::canonicalize(&lib).unwrap());
    assert!(
        nccl.has_alltoall() && nccl.has_gather() && nccl.has_scatter(),
        "2.28+ has alltoall/gather/scatter"
    );

    let id = nccl_sys::UniqueId::new(nccl).expect("ncclGetUniqueId without a GPU");
    assert!(
        id.to_bytes().iter().any(|&b| b != 0),
        "unique id is not all zero"
    );
    let round = nccl_sys::UniqueId::from_bytes(&id.to_bytes());
    assert_eq!(round.to_bytes(), id.to_bytes());

    if has_gpu() {
        regen::skip::skip(
            "real_nccl_loads_and_fails_cleanly_without_gpu, its no-GPU communicator check",
            "this machine has a GPU (/dev/nvidiactl)",
        );
        return;
    }
    let err = match nccl_sys::Comm::init_rank(nccl, 1, &id, 0) {
        Ok(_) => panic!("ncclCommInitRank succeeded without a GPU"),
        Err(e) => e,
    };
    assert_eq!(err.code, nccl_sys::sys::ncclUnhandledCudaError, "{err}");
    let s = err.to_string();
    assert!(s.starts_with("ncclCommInitRank failed on rank 0 ("), "{s}");
    assert!(s.contains("ncclUnhandledCudaError"), "{s}");
    assert!(!s.contains('\n'), "one line: {s}");
    eprintln!("no-GPU error as reported: {s}");
}
