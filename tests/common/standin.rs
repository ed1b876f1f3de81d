//! Builds the stand-in libraries (C sources in tests/standin: `libascendcl.so` and
//! `libhccl.so`, `libcuda.so` and `libnccl.so.2`) and runs the benchmark against them
//! under `mpirun`. Shared by the HCCL, NCCL and train-sim stand-in tests.

use super::{session, text, BIN};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standin")
}

fn run_ok(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The folder holding both stand-in libraries, compiled once per test binary.
pub fn standin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_acl_hccl("standin", &[]))
}

/// [`standin_dir`] with an HCCL that has no `HcclCreateSubCommConfig` (as a CANN before
/// it): groups are then built from their own root info.
pub fn standin_no_subcomm_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_acl_hccl("standin-no-subcomm", &["-DSTANDIN_HCCL_NO_SUBCOMM"]))
}

fn build_acl_hccl(name: &str, defines: &[&str]) -> PathBuf {
    build_pair(
        name,
        ("libascendcl.so", "acl_standin.c"),
        ("libhccl.so", "hccl_standin.c"),
        &[defines, &["-lascendcl", "-lm"]].concat(),
    )
}

/// Compiles a host-side runtime stand-in (`cc`) and the collective library over MPI
/// (`mpicc`, with `mpi_args`) that links it, into `CARGO_TARGET_TMPDIR/NAME-PID`.
fn build_pair(
    name: &str,
    runtime: (&str, &str),
    library: (&str, &str),
    mpi_args: &[&str],
) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = src_dir();
    let flags = [
        "-std=c11",
        "-D_GNU_SOURCE",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-shared",
        "-fPIC",
        "-O1",
    ];
    run_ok(
        Command::new("cc")
            .args(flags)
            .arg("-o")
            .arg(dir.join(runtime.0))
            .arg(src.join(runtime.1)),
    );
    run_ok(
        Command::new("mpicc")
            .args(flags)
            .arg("-o")
            .arg(dir.join(library.0))
            .arg(src.join(library.1))
            .arg(format!("-L{}", dir.display()))
            .args(mpi_args)
            .arg("-Wl,-rpath,$ORIGIN"),
    );
    dir
}

/// The stand-in `libcuda.so` and `libnccl.so.2` reporting NCCL `version` (e.g. 22803;
/// below 22800 without ncclAlltoAll/ncclGather/ncclScatter), compiled once per version.
pub fn nccl_standin_dir(version: u32) -> PathBuf {
    static DIRS: std::sync::Mutex<Vec<(u32, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut dirs = DIRS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, d)) = dirs.iter().find(|(v, _)| *v == version) {
        return d.clone();
    }
    let define = format!("-DSTANDIN_NCCL_VERSION={version}");
    let dir = build_pair(
        &format!("nccl-standin-{version}"),
        ("libcuda.so", "cuda_standin.c"),
        ("libnccl.so.2", "nccl_standin.c"),
        &[&define, "-lcuda", "-lm"],
    );
    dirs.push((version, dir.clone()));
    dir
}

/// The environment that selects the ACL and HCCL stand-ins in `dir` ([`standin_dir`],
/// [`standin_no_subcomm_dir`]).
pub fn hccl_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("XCCL_ACL_LIB", lib(dir, "libascendcl.so")),
        ("XCCL_HCCL_LIB", lib(dir, "libhccl.so")),
    ]
}

/// The environment that selects the CUDA and NCCL stand-ins of NCCL `version`.
pub fn nccl_env(version: u32) -> Vec<(&'static str, String)> {
    let dir = nccl_standin_dir(version);
    vec![
        ("LD_LIBRARY_PATH", dir.display().to_string()),
        ("XCCL_NCCL_LIB", lib(&dir, "libnccl.so.2")),
    ]
}

fn lib(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// A stand-in's log of the calls it received (`XCCL_STANDIN_LOG`): a file in the
/// temporary folder, none at first, removed when dropped.
pub struct CallLog(PathBuf);

impl CallLog {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("xccl-{name}-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        CallLog(path)
    }

    /// The variable that makes the stand-ins write here.
    pub fn env(&self) -> (&'static str, String) {
        ("XCCL_STANDIN_LOG", self.0.display().to_string())
    }

    /// The calls logged so far (none: empty).
    pub fn read(&self) -> String {
        std::fs::read_to_string(&self.0).unwrap_or_default()
    }
}

impl Drop for CallLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Asserts that the run succeeded and its check found every value right.
pub fn assert_clean(out: &Output, what: &str) {
    let t = text(out);
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{t}",
        out.status.code()
    );
    assert!(
        t.contains("# Out of bounds values : 0 OK"),
        "{what}: wrong values\n{t}"
    );
}

/// `mpirun -np N xccl-bench ARGS` with the HCCL stand-ins selected; `env` is passed to
/// every rank.
pub fn mpirun(np: usize, args: &[&str], env: &[(&'static str, String)]) -> Output {
    mpirun_env(np, args, &[hccl_env(standin_dir()), env.to_vec()].concat())
}

/// `mpirun -np N xccl-bench ARGS` with `env` set on, and passed to, every rank.
pub fn mpirun_env(np: usize, args: &[&str], env: &[(&str, String)]) -> Output {
    // A hang must fail the test, not stall CI: mpirun gets 5 minutes.
    let mut cmd = Command::new("timeout");
    cmd.args(["--kill-after=10", "300", "mpirun"]);
    cmd.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "--mca",
        "btl",
        "self,vader,tcp",
        "-np",
    ])
    .arg(np.to_string());
    for (k, v) in env {
        cmd.env(k, v).arg("-x").arg(k);
    }
    cmd.env("OMPI_MCA_rmaps_base_oversubscribe", "1");
    cmd.arg(BIN).args(args);
    let _session = session::private_session_dir(&mut cmd);
    cmd.output().expect("run mpirun")
}
