//! The NCCL backend where no GPU is: a missing library, and (when the real
//! `libnccl.so.2` from the nvidia-nccl-cu12 wheel is cached) a library found but no CUDA
//! driver. Each ends in one clear error line and exit status 1, never a panic.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_xccl-bench"))
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn missing_nccl_is_named_with_every_place_looked() {
    let out = Command::new(bin())
        .args(["all_reduce", "--backend", "nccl", "-b", "8", "-e", "8"])
        .env("XCCL_NCCL_LIB", "/nonexistent/libnccl.so.2")
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("NCCL library (libnccl.so.2) not found or not loadable; looked in: $XCCL_NCCL_LIB=/nonexistent/libnccl.so.2 (no such file)"),
        "{t}"
    );
    assert!(!t.contains("panicked"), "{t}");

    let out = Command::new(bin())
        .args(["all_reduce", "--backend", "nccl", "-b", "8", "-e", "8"])
        .env_remove("XCCL_NCCL_LIB")
        .env("LD_LIBRARY_PATH", "/nonexistent/lib")
        .env("CUDA_HOME", "/nonexistent/cuda")
        .output()
        .unwrap();
    let t = text(&out);
    if out.status.success() {
        eprintln!(
            "SKIPPED rest of missing_nccl_is_named_with_every_place_looked: NCCL is installed here"
        );
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{t}");
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

fn cached_nccl() -> Option<PathBuf> {
    let cache = std::env::var("XCCL_VENDOR_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/xccl-bench")
        });
    let mut v: Vec<PathBuf> = std::fs::read_dir(cache.join("vendor"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("lib/libnccl.so.2"))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v.pop()
}

#[test]
fn real_nccl_without_a_gpu_driver_is_a_clear_error() {
    let Some(lib) = cached_nccl() else {
        eprintln!("SKIPPED real_nccl_without_a_gpu_driver_is_a_clear_error: no cached nvidia-nccl-cu12 wheel (scripts/fetch-vendor-wheels.sh)");
        return;
    };
    if std::path::Path::new("/dev/nvidiactl").exists() {
        eprintln!("SKIPPED real_nccl_without_a_gpu_driver_is_a_clear_error: this machine has an NVIDIA driver");
        return;
    }
    let out = Command::new(bin())
        .args(["all_reduce", "--backend", "nccl", "-b", "8", "-e", "8"])
        .env("XCCL_NCCL_LIB", &lib)
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("no CUDA driver on") && t.contains("libcuda.so.1: "),
        "{t}"
    );
    assert!(t.contains("NCCL 2.") && t.contains("was found at"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
}
