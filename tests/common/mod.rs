//! Running the real binary under the real `mpirun`, with a deadline and a marker that
//! lets a test prove no rank outlived the job.
#![allow(dead_code)]

mod session;
pub mod train_job;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_xccl-bench");

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub marker: String,
}

fn marker() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "xccltest-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `mpirun -np N xccl-bench ARGS`, oversubscribed, killed (and failed) after `limit`.
pub fn mpirun(np: usize, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "--oversubscribe",
        "--allow-run-as-root",
        "--mca",
        "btl",
        "self,vader,tcp",
        "-np",
    ])
    .arg(np.to_string());
    let m = marker();
    cmd.args(["-x", "XCCL_TEST_MARKER"])
        .env("XCCL_TEST_MARKER", &m);
    for (k, v) in env {
        cmd.args(["-x", k]).env(k, v);
    }
    cmd.arg(BIN).args(args);
    let _session = session::private_session_dir(&mut cmd);
    run_cmd(cmd, limit, m)
}

/// The binary alone (a world of one, no launcher).
pub fn solo(args: &[&str], limit: Duration) -> Run {
    let m = marker();
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("XCCL_TEST_MARKER", &m);
    run_cmd(cmd, limit, m)
}

fn run_cmd(mut cmd: Command, limit: Duration, marker: String) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn (is mpirun installed?)");
    let start = Instant::now();
    let out: Output = loop {
        if let Some(_status) = child.try_wait().expect("wait") {
            break child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().expect("output");
            panic!(
                "command did not finish within {limit:?} (hang?)\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        marker,
    }
}

/// Processes still carrying this run's marker in their environment.
pub fn survivors(marker: &str) -> Vec<u32> {
    let needle = format!("XCCL_TEST_MARKER={marker}");
    let mut v = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
            if env.split(|&b| b == 0).any(|kv| kv == needle.as_bytes()) {
                v.push(pid);
            }
        }
    }
    v
}

/// Asserts that no rank of the run is left, allowing a moment for exit.
pub fn assert_no_survivors(r: &Run) {
    for _ in 0..50 {
        if survivors(&r.marker).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("ranks left running: {:?}", survivors(&r.marker));
}

pub fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("xccl-tests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

pub fn read_json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .expect("valid JSON")
}
