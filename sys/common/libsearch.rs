//! Finding a vendor shared library at run time, shared by nccl-sys and hccl-sys (see
//! mod.rs). The binary is built on machines without CUDA or CANN and must start there,
//! so nothing is linked: a library is looked for in a fixed order and every place looked
//! is remembered, because "not found" is only useful when it says where we looked.
//!
//! Order: an explicit environment variable (a file, or a folder holding the library),
//! which wins outright when set; then the dynamic loader's own search (`LD_LIBRARY_PATH`,
//! the ld.so cache, the system folders); then the caller's list of usual install places.
//! Once found, the loaders read the library's function table and check that the functions
//! they need resolve, with the same messages in both crates.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One place looked and what happened there.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub place: String,
    pub outcome: String,
}

/// What to look for and where.
pub struct Spec<'a> {
    /// Environment variable naming the library file or its folder.
    pub env_var: &'a str,
    /// File names to try, best first (e.g. `libnccl.so.2`, `libnccl.so`).
    pub names: &'a [&'a str],
    /// Usual install folders, in order; duplicates and missing folders are fine.
    pub dirs: Vec<PathBuf>,
}

/// A loaded library and the file it came from.
pub struct Found {
    pub lib: libloading::Library,
    /// The file as we named it (a path, or a bare soname the loader resolved).
    pub requested: String,
}

/// Looks for the library; on failure returns every place looked, in order.
pub fn search(spec: &Spec<'_>) -> Result<Found, Vec<Attempt>> {
    let mut tried = Vec::new();
    match std::env::var_os(spec.env_var) {
        Some(v) if !v.is_empty() => {
            let p = PathBuf::from(&v);
            let files: Vec<PathBuf> = if p.is_dir() {
                spec.names.iter().map(|n| p.join(n)).collect()
            } else {
                vec![p.clone()]
            };
            for f in files {
                let place = format!("${}={}", spec.env_var, f.display());
                if let Some(found) = try_file(&f, place, &mut tried) {
                    return Ok(found);
                }
            }
            // An explicit choice that fails is an error, not a hint to look elsewhere.
            return Err(tried);
        }
        _ => tried.push(Attempt {
            place: format!("${}", spec.env_var),
            outcome: "unset".into(),
        }),
    }
    for name in spec.names {
        // A bare name: dlopen searches LD_LIBRARY_PATH, the ld.so cache and system folders.
        match unsafe { libloading::Library::new(name) } {
            Ok(lib) => {
                return Ok(Found {
                    lib,
                    requested: (*name).to_string(),
                })
            }
            Err(e) => tried.push(Attempt {
                place: format!(
                    "dynamic loader path for {name} (LD_LIBRARY_PATH={}, ld.so cache)",
                    std::env::var("LD_LIBRARY_PATH").unwrap_or_default()
                ),
                outcome: short_dl_error(&e.to_string()),
            }),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for dir in &spec.dirs {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let mut any = false;
        for name in spec.names {
            let f = dir.join(name);
            if f.exists() {
                any = true;
                if let Some(found) = try_file(&f, f.display().to_string(), &mut tried) {
                    return Ok(found);
                }
            }
        }
        if !any {
            let outcome = if dir.is_dir() {
                format!("no {}", spec.names.join(" or "))
            } else {
                "no such folder".into()
            };
            tried.push(Attempt {
                place: dir.display().to_string(),
                outcome,
            });
        }
    }
    Err(tried)
}

/// Opens file `f`; on failure notes `place` and why in `tried`.
fn try_file(f: &Path, place: String, tried: &mut Vec<Attempt>) -> Option<Found> {
    let opened = if f.exists() {
        unsafe { libloading::Library::new(f) }.map_err(|e| short_dl_error(&e.to_string()))
    } else {
        Err("no such file".into())
    };
    match opened {
        Ok(lib) => Some(Found {
            lib,
            requested: f.display().to_string(),
        }),
        Err(outcome) => {
            tried.push(Attempt { place, outcome });
            None
        }
    }
}

/// dlerror text without the repeated file name libloading puts in front.
fn short_dl_error(e: &str) -> String {
    let e = e.trim();
    match e.rsplit_once(": ") {
        Some((_, tail)) if !tail.is_empty() => tail.to_string(),
        _ => e.to_string(),
    }
}

/// All attempts on one line: `place (outcome); place (outcome)`.
pub fn describe(tried: &[Attempt]) -> String {
    tried
        .iter()
        .map(|a| format!("{} ({})", a.place, a.outcome))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The file a loaded symbol lives in, as the dynamic loader resolved it.
pub fn file_of_symbol(addr: *const std::ffi::c_void) -> Option<PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(addr, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    let s = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    let p = PathBuf::from(s.to_string_lossy().into_owned());
    Some(std::fs::canonicalize(&p).unwrap_or(p))
}

/// `<base>/<entry>/<rest>` for every entry of `base` whose name starts with `prefix`
/// (a one-level glob such as `lib/python3*/site-packages`), sorted.
pub fn expand(base: &Path, prefix: &str, rest: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(base)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| e.path().join(rest))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// This machine's host name, for error messages that must say where they happened.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    if !ok {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A library could not be loaded; the message names what is missing and every place looked.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

/// Looks for the library `spec` describes; on failure, one line that names it (`what`,
/// e.g. "NCCL library", and its first file name), every place looked, the variable to set
/// and `hint`, what else would make it found.
pub fn open(what: &str, spec: &Spec<'_>, hint: &str) -> Result<Found, LoadError> {
    search(spec).map_err(|tried| {
        LoadError(format!(
            "{what} ({}) not found or not loadable; looked in: {}; set {} to the file, {hint}",
            spec.names[0],
            describe(&tried),
            spec.env_var
        ))
    })
}

impl Found {
    /// The library's function table, read by bindgen's `from_library`, with the file as
    /// requested.
    pub fn table<T>(
        self,
        from_library: impl FnOnce(libloading::Library) -> Result<T, libloading::Error>,
    ) -> Result<(T, String), LoadError> {
        let requested = self.requested;
        match from_library(self.lib) {
            Ok(t) => Ok((t, requested)),
            Err(e) => Err(LoadError(format!(
                "{requested}: cannot read its symbols: {e}"
            ))),
        }
    }
}

/// `Ok` when every function of `checks` (name, whether it resolves) resolves, else "FILE
/// is not a usable WHAT: missing A, B" and `note`.
pub fn require(
    file: &str,
    what: &str,
    checks: &[(&str, bool)],
    note: &str,
) -> Result<(), LoadError> {
    let missing: Vec<&str> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(LoadError(format!(
        "{file} is not a usable {what}: missing {}{note}",
        missing.join(", ")
    )))
}

/// The library in `cell`, loaded by `load` on first use: later calls return the same
/// library (or the same error).
pub fn once<T>(
    cell: &'static OnceLock<Result<T, LoadError>>,
    load: fn() -> Result<T, LoadError>,
) -> Result<&'static T, LoadError> {
    cell.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// `[("a", resolves), …]` for functions `a`, … of a bindgen function table
/// (`symbols!(raw; a, b)`), or of what the macro `m` finds in `lib` (`symbols!(m(lib); a)`).
macro_rules! symbols {
    ($m:ident($lib:expr); $($name:ident),* $(,)?) => {
        [$((stringify!($name), $m!($lib, $name).is_some())),*]
    };
    ($raw:expr; $($name:ident),* $(,)?) => {
        [$((stringify!($name), $raw.$name.is_ok())),*]
    };
}

/// The file function `sym` of the table `raw` lives in, as the dynamic loader resolved
/// it, else `requested` (the file as named).
macro_rules! symbol_file {
    ($raw:expr, $sym:ident, $requested:expr) => {
        $raw.$sym
            .as_ref()
            .ok()
            .and_then(|f| $crate::common::libsearch::file_of_symbol(*f as *const std::ffi::c_void))
            .unwrap_or_else(|| std::path::PathBuf::from($requested))
    };
}
