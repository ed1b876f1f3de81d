//! Builds the stand-in `libascendcl.so`/`libhccl.so` (C sources next to this file) and
//! runs the benchmark against them under `mpirun`. Shared by the HCCL tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_xccl-bench"))
}

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
    DIR.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("standin-{}", std::process::id()));
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
                .arg(dir.join("libascendcl.so"))
                .arg(src.join("acl_standin.c")),
        );
        run_ok(
            Command::new("mpicc")
                .args(flags)
                .arg("-o")
                .arg(dir.join("libhccl.so"))
                .arg(src.join("hccl_standin.c"))
                .arg(format!("-L{}", dir.display()))
                .arg("-lascendcl")
                .arg("-Wl,-rpath,$ORIGIN"),
        );
        dir
    })
}

/// `mpirun -np N xccl-bench ARGS` with the stand-ins selected; `env` is passed to every
/// rank.
pub fn mpirun(np: usize, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = standin_dir();
    let mut all: Vec<(String, String)> = vec![
        (
            "XCCL_ACL_LIB".into(),
            dir.join("libascendcl.so").display().to_string(),
        ),
        (
            "XCCL_HCCL_LIB".into(),
            dir.join("libhccl.so").display().to_string(),
        ),
    ];
    all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "--mca",
        "btl",
        "self,vader,tcp",
        "-np",
    ])
    .arg(np.to_string());
    for (k, v) in &all {
        cmd.env(k, v).arg("-x").arg(k);
    }
    cmd.env("OMPI_MCA_rmaps_base_oversubscribe", "1");
    cmd.arg(bin()).args(args);
    cmd.output().expect("run mpirun")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
