//! Where `libnccl.so.2` is looked for, and the loaded library shared by the process.

use crate::common::libsearch::{self, LoadError, Spec};
use crate::ffi::sys;
use crate::lib_handle::NcclLib;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Environment variable naming the NCCL library file (or its folder). Wins when set.
pub const ENV_VAR: &str = "XCCL_NCCL_LIB";

const NAMES: [&str; 2] = ["libnccl.so.2", "libnccl.so"];

/// Usual install places after the environment variable and the loader path: NCCL from
/// the `nvidia-nccl-cu12` wheel inside Python environments, then system folders.
pub fn search_places() -> Vec<PathBuf> {
    let mut site: Vec<PathBuf> = Vec::new();
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            site.extend(libsearch::expand(
                &Path::new(&p).join("lib"),
                "python3",
                "site-packages",
            ));
        }
    }
    site.extend(python_site_dirs());
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    for base in [
        home.join(".local/lib"),
        PathBuf::from("/usr/local/lib"),
        PathBuf::from("/usr/lib"),
        PathBuf::from("/opt/conda/lib"),
    ] {
        site.extend(libsearch::expand(&base, "python3", "site-packages"));
        site.extend(libsearch::expand(&base, "python3", "dist-packages"));
    }
    let mut dirs: Vec<PathBuf> = site
        .into_iter()
        .map(|s| s.join("nvidia/nccl/lib"))
        .collect();
    for var in ["NCCL_HOME", "CUDA_HOME", "CUDA_PATH"] {
        if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            dirs.push(Path::new(&p).join("lib"));
            dirs.push(Path::new(&p).join("lib64"));
        }
    }
    dirs.extend(
        [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64",
            "/usr/local/cuda/lib64",
            "/usr/local/nccl/lib",
        ]
        .map(PathBuf::from),
    );
    dirs
}

/// site-packages folders of the `python3` on PATH, if there is one (it may be a venv or
/// conda interpreter that none of the fixed places covers).
fn python_site_dirs() -> Vec<PathBuf> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import site,sys\nfor p in site.getsitepackages()+[site.getusersitepackages()]: print(p)"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| PathBuf::from(l.trim()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Searches and opens NCCL afresh, bypassing the process-wide cache (tests use it to see
/// how a changed environment is handled).
pub fn load_uncached() -> Result<NcclLib, LoadError> {
    let spec = Spec {
        env_var: ENV_VAR,
        names: &NAMES,
        dirs: search_places(),
    };
    let hint = "or install the nvidia-nccl-cu12 Python package";
    let found = libsearch::open("NCCL library", &spec, hint)?;
    let (raw, requested) = found.table(|l| unsafe { sys::Nccl::from_library(l) })?;
    // What every NCCL this backend supports (2.7 and later) has; checked at load so that
    // no call can later panic on a missing function (ncclGroupEnd under ncclGroupStart).
    let group = (
        "ncclGroupStart",
        raw.ncclGroupStart.is_ok() && raw.ncclGroupEnd.is_ok(),
    );
    let required = [
        &symbols!(raw;
            ncclGetVersion, ncclGetUniqueId, ncclCommInitRank, ncclCommInitAll, ncclCommDestroy,
            ncclCommAbort, ncclGetErrorString, ncclCommGetAsyncError, ncclAllReduce,
            ncclBroadcast, ncclReduce, ncclAllGather, ncclReduceScatter, ncclSend, ncclRecv)[..],
        &[group],
    ]
    .concat();
    libsearch::require(&requested, "NCCL", &required, "")?;
    let path = symbol_file!(raw, ncclGetVersion, &requested);
    let mut code = 0;
    let rc = unsafe { raw.ncclGetVersion(&mut code) };
    if rc != sys::ncclSuccess {
        return Err(LoadError(format!(
            "{}: ncclGetVersion returned {rc}",
            path.display()
        )));
    }
    Ok(NcclLib {
        raw,
        path,
        version_code: code,
    })
}

/// The process's NCCL, found and opened on first use. Later calls return the same
/// library (or the same error): loading a 400 MB library once is enough.
pub fn load() -> Result<&'static NcclLib, LoadError> {
    static LIB: OnceLock<Result<NcclLib, LoadError>> = OnceLock::new();
    libsearch::once(&LIB, load_uncached)
}
