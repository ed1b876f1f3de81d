//! The NCCL backend where no GPU is: a missing library, and (when the real
//! `libnccl.so.2` from the nvidia-nccl-cu12 wheel is cached) a library found but no CUDA
//! driver. Each ends in one clear error line and exit status 1, never a panic.

mod common;

use common::skip::skip;
use common::{assert_fails_saying, command, outcome, vendor_dir_or_skip};

#[test]
fn missing_nccl_is_named_with_every_place_looked() {
    let all_reduce = || command("all_reduce --backend nccl -b 8 -e 8");
    let t = assert_fails_saying(
        all_reduce().env("XCCL_NCCL_LIB", "/nonexistent/libnccl.so.2"),
        &["NCCL library (libnccl.so.2) not found or not loadable; looked in: $XCCL_NCCL_LIB=/nonexistent/libnccl.so.2 (no such file)"],
    );
    assert!(!t.contains("panicked"), "{t}");

    let (code, t) = outcome(
        all_reduce()
            .env_remove("XCCL_NCCL_LIB")
            .env("LD_LIBRARY_PATH", "/nonexistent/lib")
            .env("CUDA_HOME", "/nonexistent/cuda"),
    );
    if code == Some(0) {
        skip(
            "missing_nccl_is_named_with_every_place_looked, its search list",
            "NCCL is installed here (found outside the paths the test removes)",
        );
        return;
    }
    assert_eq!(code, Some(1), "{t}");
    for place in [
        "$XCCL_NCCL_LIB (unset)",
        "dynamic loader path for libnccl.so.2 (LD_LIBRARY_PATH=/nonexistent/lib",
        "/nonexistent/cuda/lib64 (no such folder)",
        "/usr/local/cuda/lib64",
        "nvidia/nccl/lib",
    ] {
        assert!(t.contains(place), "missing `{place}` in: {t}");
    }
}

#[test]
fn real_nccl_without_a_gpu_driver_is_a_clear_error() {
    let Some(lib) = vendor_dir_or_skip(
        "real_nccl_without_a_gpu_driver_is_a_clear_error",
        "lib/libnccl.so.2",
        "nvidia-nccl-cu12",
    )
    .map(|d| d.join("lib/libnccl.so.2")) else {
        return;
    };
    if std::path::Path::new("/dev/nvidiactl").exists() {
        skip(
            "real_nccl_without_a_gpu_driver_is_a_clear_error",
            "this machine has an NVIDIA driver (/dev/nvidiactl)",
        );
        return;
    }
    let t = assert_fails_saying(
        command("all_reduce --backend nccl -b 8 -e 8").env("XCCL_NCCL_LIB", &lib),
        &[
            "no CUDA driver on",
            "libcuda.so.1: ",
            "NCCL 2.",
            "was found at",
        ],
    );
    assert!(!t.contains("panicked"), "{t}");
}
