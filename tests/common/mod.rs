//! Running the real binary under the real `mpirun`, with a deadline and a marker that
//! lets a test prove no rank outlived the job; the stand-in vendor libraries
//! ([`standin`]) and the training job ([`train_job`]) that several tests share.
#![allow(dead_code)]

mod session;
#[path = "../../sys/common/skip.rs"]
pub mod skip;
pub mod standin;
pub mod train_job;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_xccl-bench");

/// A command line: the words of `line` (split at white space), each word `{}` replaced
/// by the next of `fill`, whole (a path may hold a space).
pub fn argv<'a>(line: &'a str, fill: &[&'a dyn AsRef<Path>]) -> Vec<&'a str> {
    let mut fill = fill
        .iter()
        .map(|&f| f.as_ref().to_str().expect("a UTF-8 argument"));
    let v = line
        .split_whitespace()
        .map(|w| match w {
            "{}" => fill.next().expect("an argument for every {}"),
            w => w,
        })
        .collect();
    assert!(
        fill.next().is_none(),
        "more arguments than {{}} in {line:?}"
    );
    v
}

/// The binary alone (no launcher) with the words of `line` as its arguments, to run.
pub fn command(line: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(line.split_whitespace());
    cmd
}

/// Runs `cmd` to its end: the exit code, and stdout then stderr.
pub fn outcome(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd.output().expect("run the command");
    (out.status.code(), text(&out))
}

/// Runs `cmd`, which must exit 1 and say each of `says`: its stdout then stderr.
pub fn assert_fails_saying(cmd: &mut Command, says: &[&str]) -> String {
    let (code, t) = outcome(cmd);
    assert_eq!(code, Some(1), "{t}");
    for s in says {
        assert!(t.contains(s), "missing `{s}` in: {t}");
    }
    t
}

/// stdout then stderr of a finished command.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub marker: String,
}

impl Run {
    /// Asserts the exit status, showing both outputs when it differs.
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "{}{}", self.stdout, self.stderr);
    }

    pub fn assert_stdout_has(&self, needle: &str) {
        assert!(self.stdout.contains(needle), "{}", self.stdout);
    }

    pub fn assert_stderr_has(&self, needle: &str) {
        assert!(self.stderr.contains(needle), "{}", self.stderr);
    }
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

/// `mpirun` oversubscribed over shared memory and TCP, passing the run's marker (returned)
/// and each of `env` to every rank; the caller adds the ranks and the program.
fn mpirun_cmd<'a>(env: impl Iterator<Item = (&'a str, &'a str)>) -> (Command, String) {
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "--oversubscribe",
        "--allow-run-as-root",
        "--mca",
        "btl",
        "self,vader,tcp",
    ]);
    let m = marker();
    cmd.args(["-x", "XCCL_TEST_MARKER"])
        .env("XCCL_TEST_MARKER", &m);
    for (k, v) in env {
        cmd.args(["-x", k]).env(k, v);
    }
    (cmd, m)
}

/// `mpirun -np N xccl-bench ARGS`, oversubscribed, killed (and failed) after `limit`.
pub fn mpirun(np: usize, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    let (mut cmd, m) = mpirun_cmd(env.iter().copied());
    cmd.arg("-np").arg(np.to_string()).arg(BIN).args(args);
    let _session = session::private_session_dir(&mut cmd);
    run_cmd(cmd, limit, m)
}

/// `mpirun` of the binary as if on several hosts: for each `(host, ranks)`, that many
/// ranks in a UTS namespace of their own named `host` (`unshare -u`, so every rank's
/// hostname is its "node"), one MPMD app context per host; oversubscribed, killed (and
/// failed) after `limit`. Needs the right to unshare the UTS namespace (root).
pub fn mpirun_hosts(
    hosts: &[(&str, usize)],
    args: &[&str],
    env: &[(&str, String)],
    limit: Duration,
) -> Run {
    let (mut cmd, m) = mpirun_cmd(env.iter().map(|(k, v)| (*k, v.as_str())));
    for (i, (host, n)) in hosts.iter().enumerate() {
        if i > 0 {
            cmd.arg(":");
        }
        cmd.args(["-np", &n.to_string(), "unshare", "-u", "sh", "-c"])
            .arg(format!("hostname {host} && exec \"$0\" \"$@\""))
            .arg(BIN)
            .args(args);
    }
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

/// The newest folder of the vendor cache (`$XCCL_VENDOR_CACHE`, by default
/// ~/.cache/xccl-bench, filled by scripts/fetch-vendor-wheels.sh) that holds `file`.
pub fn cached_vendor_dir(file: &str) -> Option<PathBuf> {
    let cache = match std::env::var_os("XCCL_VENDOR_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/xccl-bench")
        }
    };
    std::fs::read_dir(cache.join("vendor"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|dir| dir.join(file).is_file())
        .max()
}

/// [`cached_vendor_dir`] for `file`, or `None` after saying that `test` is skipped because
/// no cached wheel holds it (`wheel` names the wheel); a panic instead under
/// `XCCL_REQUIRE_VENDOR=1`, where scripts/test.sh has fetched the wheels.
pub fn vendor_dir_or_skip(test: &str, file: &str, wheel: &str) -> Option<PathBuf> {
    skip::vendor_or_skip(
        test,
        cached_vendor_dir(file).ok_or_else(|| {
            format!("no cached {wheel} wheel holds {file} (run scripts/fetch-vendor-wheels.sh)")
        }),
    )
}
