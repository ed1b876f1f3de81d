//! Where `libascendcl.so`, `libhccl.so` and `libhcomm.so` are looked for.

use crate::common::libsearch::{self, Spec};
use crate::ffi::{acl, hccl};
use crate::lib_handle::{AclLib, Ascend, HcclLib};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Environment variable naming `libascendcl.so` (or its folder). Wins when set.
pub const ACL_ENV_VAR: &str = "XCCL_ACL_LIB";
/// Environment variable naming `libhccl.so` (or its folder). Wins when set.
pub const HCCL_ENV_VAR: &str = "XCCL_HCCL_LIB";

/// CANN could not be loaded; the message names what is missing and every place looked.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

/// Names of the functions every supported HCCL must have, with whether each resolves.
fn required(lib: &HcclLib) -> Vec<(&'static str, bool)> {
    vec![
        ("HcclGetRootInfo", hccl_fn!(lib, HcclGetRootInfo).is_some()),
        (
            "HcclCommInitRootInfo",
            hccl_fn!(lib, HcclCommInitRootInfo).is_some(),
        ),
        ("HcclCommDestroy", hccl_fn!(lib, HcclCommDestroy).is_some()),
        ("HcclAllReduce", hccl_fn!(lib, HcclAllReduce).is_some()),
        ("HcclBroadcast", hccl_fn!(lib, HcclBroadcast).is_some()),
        ("HcclAllGather", hccl_fn!(lib, HcclAllGather).is_some()),
        (
            "HcclReduceScatter",
            hccl_fn!(lib, HcclReduceScatter).is_some(),
        ),
    ]
}

/// The usual CANN install folders, after the environment variables and loader path.
pub fn ascend_places() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for var in ["ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME"] {
        if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            dirs.push(Path::new(&p).join("lib64"));
        }
    }
    dirs.push(PathBuf::from(
        "/usr/local/Ascend/ascend-toolkit/latest/lib64",
    ));
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join("Ascend/ascend-toolkit/latest/lib64"));
    }
    dirs
}

fn open(env_var: &str, name: &'static str, what: &str) -> Result<libsearch::Found, LoadError> {
    let names = [name];
    let spec = Spec {
        env_var,
        names: &names,
        dirs: ascend_places(),
    };
    libsearch::search(&spec).map_err(|tried| {
        LoadError(format!(
            "{what} ({name}) not found or not loadable; looked in: {}; set {env_var} to the file, \
             or source CANN's set_env.sh (ASCEND_HOME_PATH)",
            libsearch::describe(&tried)
        ))
    })
}

fn resolved(addr: Option<*const std::ffi::c_void>, requested: &str) -> PathBuf {
    addr.and_then(libsearch::file_of_symbol)
        .unwrap_or_else(|| PathBuf::from(requested))
}

/// Searches and opens both libraries afresh, bypassing the process-wide cache.
pub fn load_uncached() -> Result<Ascend, LoadError> {
    let found = open(ACL_ENV_VAR, "libascendcl.so", "Ascend ACL runtime")?;
    let req = found.requested.clone();
    let raw = unsafe { acl::Acl::from_library(found.lib) }
        .map_err(|e| LoadError(format!("{req}: cannot read its symbols: {e}")))?;
    let mut missing: Vec<&str> = [
        ("aclInit", raw.aclInit.is_ok()),
        ("aclrtSetDevice", raw.aclrtSetDevice.is_ok()),
        ("aclrtCreateStream", raw.aclrtCreateStream.is_ok()),
        ("aclrtMalloc", raw.aclrtMalloc.is_ok()),
        ("aclrtMemcpy", raw.aclrtMemcpy.is_ok()),
        ("aclrtCreateEvent", raw.aclrtCreateEvent.is_ok()),
        ("aclrtRecordEvent", raw.aclrtRecordEvent.is_ok()),
        ("aclrtEventElapsedTime", raw.aclrtEventElapsedTime.is_ok()),
        ("aclrtSynchronizeStream", raw.aclrtSynchronizeStream.is_ok()),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(n, _)| n)
    .collect();
    if !missing.is_empty() {
        return Err(LoadError(format!(
            "{req} is not a usable ACL runtime: missing {}",
            missing.join(", ")
        )));
    }
    let acl_path = resolved(
        raw.aclInit
            .as_ref()
            .ok()
            .map(|f| *f as *const std::ffi::c_void),
        &req,
    );
    let acl = AclLib {
        raw,
        path: acl_path,
    };

    let found = open(HCCL_ENV_VAR, "libhccl.so", "HCCL library")?;
    let req = found.requested.clone();
    let raw = unsafe { hccl::Hccl::from_library(found.lib) }
        .map_err(|e| LoadError(format!("{req}: cannot read its symbols: {e}")))?;
    let path = resolved(
        raw.HcclAllReduce
            .as_ref()
            .ok()
            .map(|f| *f as *const std::ffi::c_void),
        &req,
    );
    let mut lib = HcclLib {
        raw,
        path,
        hcomm: None,
    };
    if required(&lib).iter().any(|(_, ok)| !ok) {
        // Newer CANN: communicator set-up lives in libhcomm.so, next to libhccl.so.
        let mut dirs = vec![];
        if let Some(d) = lib.path.parent() {
            dirs.push(d.to_path_buf());
        }
        dirs.extend(ascend_places());
        let names = ["libhcomm.so"];
        let spec = Spec {
            env_var: "XCCL_HCOMM_LIB",
            names: &names,
            dirs,
        };
        if let Ok(f) = libsearch::search(&spec) {
            let req = f.requested.clone();
            if let Ok(h) = unsafe { hccl::Hccl::from_library(f.lib) } {
                let p = resolved(
                    h.HcclGetRootInfo
                        .as_ref()
                        .ok()
                        .map(|f| *f as *const std::ffi::c_void),
                    &req,
                );
                lib.hcomm = Some((h, p));
            }
        }
    }
    missing = required(&lib)
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| n)
        .collect();
    if !missing.is_empty() {
        return Err(LoadError(format!(
            "{} is not a usable HCCL: missing {} (also looked in libhcomm.so{})",
            lib.path.display(),
            missing.join(", "),
            lib.hcomm
                .as_ref()
                .map(|(_, p)| format!(" at {}", p.display()))
                .unwrap_or_else(|| ": not found".into())
        )));
    }
    Ok(Ascend { acl, hccl: lib })
}

/// The process's ACL and HCCL, found and opened on first use; later calls return the
/// same libraries (or the same error).
pub fn load() -> Result<&'static Ascend, LoadError> {
    static LIB: OnceLock<Result<Ascend, LoadError>> = OnceLock::new();
    LIB.get_or_init(load_uncached)
        .as_ref()
        .map_err(Clone::clone)
}
