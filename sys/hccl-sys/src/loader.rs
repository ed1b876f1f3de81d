//! Where `libascendcl.so`, `libhccl.so` and `libhcomm.so` are looked for.

use crate::common::libsearch::{self, LoadError, Spec};
use crate::ffi::{acl, hccl};
use crate::lib_handle::{AclLib, Ascend, HcclLib};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Environment variable naming `libascendcl.so` (or its folder). Wins when set.
pub const ACL_ENV_VAR: &str = "XCCL_ACL_LIB";
/// Environment variable naming `libhccl.so` (or its folder). Wins when set.
pub const HCCL_ENV_VAR: &str = "XCCL_HCCL_LIB";

/// The functions every supported HCCL must have, with whether each resolves.
fn required(lib: &HcclLib) -> [(&'static str, bool); 7] {
    symbols!(hccl_fn(lib);
        HcclGetRootInfo, HcclCommInitRootInfo, HcclCommDestroy, HcclAllReduce, HcclBroadcast,
        HcclAllGather, HcclReduceScatter)
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
    let spec = Spec {
        env_var,
        names: &[name],
        dirs: ascend_places(),
    };
    libsearch::open(
        what,
        &spec,
        "or source CANN's set_env.sh (ASCEND_HOME_PATH)",
    )
}

/// Searches and opens both libraries afresh, bypassing the process-wide cache.
pub fn load_uncached() -> Result<Ascend, LoadError> {
    let found = open(ACL_ENV_VAR, "libascendcl.so", "Ascend ACL runtime")?;
    let (raw, req) = found.table(|l| unsafe { acl::Acl::from_library(l) })?;
    let needed = symbols!(raw;
        aclInit, aclrtSetDevice, aclrtCreateStream, aclrtMalloc, aclrtMemcpy, aclrtCreateEvent,
        aclrtRecordEvent, aclrtEventElapsedTime, aclrtSynchronizeStream);
    libsearch::require(&req, "ACL runtime", &needed, "")?;
    let path = symbol_file!(raw, aclInit, &req);
    let acl = AclLib { raw, path };

    let found = open(HCCL_ENV_VAR, "libhccl.so", "HCCL library")?;
    let (raw, req) = found.table(|l| unsafe { hccl::Hccl::from_library(l) })?;
    let path = symbol_file!(raw, HcclAllReduce, &req);
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
        let spec = Spec {
            env_var: "XCCL_HCOMM_LIB",
            names: &["libhcomm.so"],
            dirs,
        };
        let found = libsearch::search(&spec).ok();
        if let Some((h, req)) =
            found.and_then(|f| f.table(|l| unsafe { hccl::Hccl::from_library(l) }).ok())
        {
            let p = symbol_file!(h, HcclGetRootInfo, &req);
            lib.hcomm = Some((h, p));
        }
    }
    let hcomm = match &lib.hcomm {
        Some((_, p)) => format!(" at {}", p.display()),
        None => ": not found".into(),
    };
    let note = format!(" (also looked in libhcomm.so{hcomm})");
    let file = lib.path.display().to_string();
    libsearch::require(&file, "HCCL", &required(&lib), &note)?;
    Ok(Ascend { acl, hccl: lib })
}

/// The process's ACL and HCCL, found and opened on first use; later calls return the
/// same libraries (or the same error).
pub fn load() -> Result<&'static Ascend, LoadError> {
    static LIB: OnceLock<Result<Ascend, LoadError>> = OnceLock::new();
    libsearch::once(&LIB, load_uncached)
}
