//! Golden comparison of the offline commands (issue 15): `predict`, `report`, `compare`,
//! `topo show|model|emu-plan`, `judge`, `list`, `--help`, and bad input to them; and, added
//! with the importers (issue 18), the same commands on nccl-tests' and hccl_test's outputs
//! (the `import` link: analysis/xccl-schema/tests/fixtures/import). What
//! each case prints on stdout and stderr, its exit status and every file it writes are
//! compared byte for byte with what the binary of c7a7e9e (the commit before the move of
//! src/ into src/cmd/) produced on the same arguments, kept under `tests/golden/<case>/`:
//! `argv` (one argument a line), `exit`, `stdout`, `stderr` and `files/<name>.out` (the
//! suffix keeps recorded outputs, HTML among them, from being read as the project's source).
//!
//! It guards refactors that must not change behaviour: any difference in output, exit
//! status or the set of files written fails, with the case and the first differing lines.
//!
//! Every case runs without MPI or a launcher, in a fresh scratch folder (its working
//! directory) holding four links: `inputs` (tests/golden/inputs: small results, link
//! matrix, prediction and train-sim files made by tests/golden/inputs/regenerate.sh, and
//! a few topologies and bad files written by hand), `topologies`, `train-sim`
//! (tests/train-sim) and `import` (the importers' fixtures). Arguments use only those relative paths and write into the scratch
//! folder, so no output depends on where the checkout or the temporary folder is.
//!
//! Nothing is normalised. What could vary is pinned instead:
//! - argv\[0\] is `xccl-bench` (clap prints the program's file name in usage and errors;
//!   the reference binary's file was named `xccl-bench-c7a7e9e`);
//! - the environment is cleared but for `PATH` and `LD_LIBRARY_PATH`, and
//!   `XCCL_NCCL_LIB` and `XCCL_ACL_LIB` point at files that do not exist, so that `list`
//!   says "not usable" in one fixed line instead of listing this machine's search path
//!   (and a machine with NCCL or CANN installed prints the same);
//! - the timestamps in the inputs (`started_unix`) are fixed by the files, and the
//!   commands read no clock.
//!
//! Outputs do not depend on the build profile: the expected files come from a release
//! build, and this test runs the debug one.
//!
//! Regenerating the expected files (only when an output is meant to change; the commit
//! that does so says why):
//!
//! ```text
//! XCCL_GOLDEN_BLESS=1 cargo test --test golden
//! ```
//!
//! rewrites `tests/golden/<case>/` for every case of [`CASES`] (and removes folders of
//! cases no longer in it). `XCCL_GOLDEN_BIN=/path/to/xccl-bench` runs another binary than
//! the one cargo built (how the expected files were made from c7a7e9e's binary); in
//! either mode.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The links of each scratch folder: name there → path in the repository.
const LINKS: &[(&str, &str)] = &[
    ("inputs", "tests/golden/inputs"),
    ("topologies", "topologies"),
    ("train-sim", "tests/train-sim"),
    ("import", "analysis/xccl-schema/tests/fixtures/import"),
];

/// Each case: the name of its folder under tests/golden/, and the arguments after
/// `xccl-bench`, separated by whitespace (none contains any).
const CASES: &[(&str, &str)] = &[
    // --- help, version, list
    ("help", "--help"),
    ("version", "--version"),
    ("help-predict", "predict --help"),
    ("help-report", "report --help"),
    ("help-compare", "compare --help"),
    ("help-judge", "judge --help"),
    ("help-topo", "topo --help"),
    ("help-topo-model", "topo model --help"),
    ("help-all_reduce", "all_reduce --help"),
    ("help-links", "links --help"),
    ("help-train-sim", "train-sim --help"),
    ("list", "list"),
    // --- predict
    (
        "predict-topology",
        "predict --model llama2-7b --device h100 --layout dp=8,tp=8 --global-batch 1024 \
         --seq 4096 --topology topologies/dgx-h100.toml",
    ),
    (
        // tests/predict_cli.rs: Korthikanti et al.'s 175B run, its measured step as MFU.
        "predict-step-time-json",
        "predict --model megatron-175b --device a100 --layout dp=1,tp=8,pp=8 --global-batch 64 \
         --seq 2048 --recompute selective --sequence-parallel --flops-form megatron \
         --topology topologies/dgx-a100.toml --step-time 13.75 --json prediction.json",
    ),
    (
        "predict-measured-json",
        "predict --model train-sim/tiny.toml --device a100 --layout dp=2 --global-batch 4 \
         --seq 64 --device-step-time 0.02 --measured inputs/all_reduce.json \
         inputs/all_gather.json --json prediction.json",
    ),
    (
        "predict-moe-zero1",
        "predict --model mixtral-8x7b --device h100 --layout dp=2,tp=4,pp=2,ep=2,vp=2,mb=4 \
         --global-batch 64 --seq 4096 --zero 1 --recompute full --precision fp8 --no-overlap \
         --topology topologies/dgx-h100.toml",
    ),
    (
        "predict-ascend-zero3",
        "predict --model train-sim/tiny-moe.toml --device ascend910b --layout dp=4,tp=2,pp=2,ep=2 \
         --global-batch 24 --seq 256 --zero 3 --sequence-parallel --grad-dtype fp32 \
         --bucket-size 4M --topology topologies/atlas-3x8-2switch.toml",
    ),
    (
        // issue 17: the layouts of llama2-13b on 64 H100s that fit, best first.
        "predict-search",
        "predict --model llama2-13b --device h100 --global-batch 256 --seq 4096 --search \
         --devices 64 --top 5 --topology topologies/dgx-h100.toml --json search.json",
    ),
    (
        // issue 17: MFU/HFU, tokens/s and memory of a measured step, no communication.
        "predict-step-time-alone",
        "predict --model palm-540b --device a100 --layout dp=512,tp=12 --global-batch 2048 \
         --seq 2048 --recompute full --zero 3 --step-time 17.6 --json util.json",
    ),
    (
        "predict-nics-efficiency",
        "predict --model llama2-70b --device h200 --layout dp=4,tp=8,pp=4,vp=2,mb=8 \
         --global-batch 256 --seq 4096 --recompute selective --devices-per-node 8 \
         --nics-per-node 4 --compute-efficiency 0.45 --flops-form megatron --topology topologies/hgx-h200.toml \
         --json prediction.json",
    ),
    // --- report
    (
        "report-all-kinds",
        "report inputs/all_reduce.json inputs/all_gather.json inputs/links.json \
         inputs/prediction.json inputs/train-sim.json -o all.html --title golden --threshold 0.7",
    ),
    // No -o: report.html in the working directory.
    ("report-default-output", "report inputs/prediction.json inputs/train-sim.json"),
    (
        "report-partial-run",
        "report inputs/all_gather.json inputs/all_gather-partial.json -o partial.html",
    ),
    // --- compare
    (
        "compare-regression",
        "compare inputs/all_reduce.json inputs/all_reduce-slow.json --markdown compare.md \
         --json compare.json",
    ),
    (
        "compare-improved",
        "compare inputs/all_reduce-slow.json inputs/all_reduce.json --markdown compare.md \
         --json compare.json",
    ),
    ("compare-same-file", "compare inputs/all_reduce.json inputs/all_reduce.json --threshold 0.02"),
    ("compare-no-common-row", "compare inputs/all_reduce.json inputs/all_gather.json"),
    // --- judge
    ("judge-dgx-h100", "judge inputs/all_reduce.json --topology topologies/dgx-h100.toml"),
    (
        "judge-write",
        "judge inputs/all_gather.json --topology inputs/local-vm.toml --threshold 0.3 \
         --write judged.json",
    ),
    (
        "judge-min-efficiency-fails",
        "judge inputs/all_reduce.json --topology inputs/slow-vm.toml --min-efficiency 0.5 \
         --write judged.json",
    ),
    (
        "judge-min-efficiency-passes",
        "judge inputs/all_reduce.json --topology inputs/slow-vm.toml --min-efficiency 0.2",
    ),
    // --- topo
    ("topo-show-dgx-a100", "topo show topologies/dgx-a100.toml"),
    ("topo-show-dgx-h100", "topo show topologies/dgx-h100.toml"),
    ("topo-show-hgx-h200", "topo show topologies/hgx-h200.toml"),
    ("topo-show-atlas-800t-a2", "topo show topologies/atlas-800t-a2.toml"),
    ("topo-show-atlas-3x8-2switch", "topo show topologies/atlas-3x8-2switch.toml"),
    ("topo-show-emu-2x2", "topo show topologies/emu-2x2.toml"),
    ("topo-show-emu-3node", "topo show topologies/emu-3node.toml"),
    ("topo-show-emu-4node-2sw", "topo show topologies/emu-4node-2sw.toml"),
    ("topo-show-emu-6node-3sw", "topo show topologies/emu-6node-3sw.toml"),
    ("topo-show-emu-8node-2sw", "topo show topologies/emu-8node-2sw.toml"),
    ("topo-show-local-vm", "topo show inputs/local-vm.toml"),
    ("topo-model-all_reduce", "topo model topologies/dgx-h100.toml all_reduce 1G"),
    (
        "topo-model-alltoall-placed",
        "topo model topologies/emu-4node-2sw.toml alltoall 64K 0 0 1 1 2 2 3 3",
    ),
    (
        "topo-model-reduce_scatter",
        "topo model topologies/atlas-3x8-2switch.toml reduce_scatter 16M",
    ),
    ("topo-model-broadcast", "topo model topologies/hgx-h200.toml broadcast 1M"),
    ("topo-emu-plan", "topo emu-plan topologies/emu-3node.toml"),
    (
        "topo-emu-plan-slow-node",
        "topo emu-plan topologies/emu-4node-2sw.toml --slow-node emu-n2:0.5",
    ),
    // --- bad input: exit 2 and one line on stderr (clap's own errors: its usage lines)
    (
        "bad-predict-unknown-model",
        "predict --model nope --device h100 --global-batch 8 --seq 128 --layout dp=2 \
         --topology topologies/dgx-h100.toml",
    ),
    (
        "bad-predict-layout",
        "predict --model llama2-7b --device h100 --global-batch 8 --seq 128 --layout dp=3 \
         --topology topologies/dgx-h100.toml",
    ),
    (
        "bad-predict-no-comm",
        "predict --model llama2-7b --device h100 --global-batch 8 --seq 128 --layout dp=2",
    ),
    ("bad-predict-missing-args", "predict --model llama2-7b"),
    (
        "bad-predict-devices",
        "predict --model llama2-7b --device h100 --global-batch 64 --seq 128 --layout dp=8,tp=8 \
         --devices 100 --topology topologies/dgx-h100.toml",
    ),
    (
        "bad-predict-model-field",
        "predict --model inputs/model-no-ffn.toml --device h100 --global-batch 8 --seq 128 \
         --layout dp=2 --topology topologies/dgx-h100.toml",
    ),
    (
        "bad-predict-search-no-fit",
        "predict --model llama2-70b --device h100 --global-batch 64 --seq 4096 --search \
         --devices 8 --topology topologies/dgx-h100.toml",
    ),
    ("bad-report-foreign", "report inputs/foreign.json -o x.html"),
    ("bad-report-missing-file", "report missing.json -o x.html"),
    (
        "bad-compare-threshold",
        "compare inputs/all_reduce.json inputs/all_reduce.json --threshold 100%",
    ),
    ("bad-judge-host-mismatch", "judge inputs/all_reduce.json --topology topologies/emu-2x2.toml"),
    (
        "bad-judge-metrics-missing-dir",
        "judge inputs/all_reduce.json --topology topologies/dgx-h100.toml --metrics no-such-dir/judge.prom",
    ),
    ("bad-topo-show-missing-file", "topo show topologies/nope.toml"),
    ("bad-topo-show-malformed", "topo show inputs/bad-fabric.toml"),
    ("bad-topo-model-collective", "topo model topologies/dgx-h100.toml all_smash 1M"),
    ("bad-topo-model-size", "topo model topologies/dgx-h100.toml all_reduce 1Q"),
    ("bad-topo-emu-plan-no-table", "topo emu-plan topologies/dgx-h100.toml"),
    ("bad-subcommand", "frobnicate"),
    // --- other tools' outputs (issue 18; not in c7a7e9e: blessed from the binary that
    // added the importers)
    (
        "import-judge-nccl-tests-text",
        "judge import/nccl-tests-classic-2node.txt --topology import/two-dgx-h100.toml \
         --write judged.json",
    ),
    (
        "import-compare-nccl-tests-json-slow",
        "compare inputs/all_reduce.json import/nccl-tests-slow.json --markdown compare.md",
    ),
    (
        "import-report-hccl-test",
        "report import/hccl_test-all_reduce.txt import/hccl_test-all_gather-failed.txt -o hccl.html",
    ),
    ("bad-import-truncated-log", "compare inputs/all_reduce.json import/nccl-tests-truncated.txt"),
    ("bad-import-foreign-log", "judge import/osu_allreduce.txt --topology topologies/dgx-h100.toml"),
];

/// What one case did.
#[derive(Debug)]
struct Outcome {
    exit: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Files written, by path relative to the scratch folder ('/'-separated), sorted.
    files: Vec<(String, Vec<u8>)>,
}

fn bin() -> PathBuf {
    match std::env::var_os("XCCL_GOLDEN_BIN") {
        Some(b) => PathBuf::from(b),
        None => PathBuf::from(env!("CARGO_BIN_EXE_xccl-bench")),
    }
}

fn golden_dir() -> PathBuf {
    Path::new(REPO).join("tests/golden")
}

/// Runs one case in a fresh scratch folder under `scratch`.
fn run(bin: &Path, scratch: &Path, name: &str, args: &[&str]) -> Outcome {
    let dir = scratch.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    // Open MPI's session directory, outside the scratch folder: help, --version and parse
    // errors start MPI (a singleton) before printing, and concurrent singletons sharing
    // /tmp/ompi.HOST.UID can remove each other's (tests/common/session.rs).
    let ompi = scratch.join(format!("{name}.ompi"));
    std::fs::create_dir_all(&ompi).unwrap();
    for (link, target) in LINKS {
        std::os::unix::fs::symlink(Path::new(REPO).join(target), dir.join(link)).unwrap();
    }
    let mut cmd = Command::new(bin);
    cmd.arg0("xccl-bench")
        .args(args)
        .current_dir(&dir)
        .env_clear()
        .env("XCCL_NCCL_LIB", "/nonexistent/libnccl.so.2")
        .env("XCCL_ACL_LIB", "/nonexistent/libascendcl.so")
        .env("OMPI_MCA_orte_tmpdir_base", &ompi)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for keep in ["PATH", "LD_LIBRARY_PATH"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{name}: cannot run {}: {e}", bin.display()));
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!(
                "{name}: `xccl-bench {}` did not finish in 60 s",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    let exit = match out.status.code() {
        Some(c) => format!("{c}\n"),
        None => format!("killed: {:?}\n", out.status),
    };
    let mut files = vec![];
    collect(&dir, "", &mut files);
    files.sort();
    Outcome {
        exit,
        stdout: out.stdout,
        stderr: out.stderr,
        files,
    }
}

/// Suffix of a recorded output file under `files/`.
const RECORDED: &str = ".out";

/// Every file under `dir` but the links of [`LINKS`] (at the top).
fn collect(dir: &Path, prefix: &str, files: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().expect("a UTF-8 file name");
        if prefix.is_empty() && LINKS.iter().any(|(l, _)| *l == name) {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let ty = e.file_type().unwrap();
        if ty.is_dir() {
            collect(&e.path(), &format!("{rel}/"), files);
        } else {
            files.push((rel, std::fs::read(e.path()).unwrap()));
        }
    }
}

fn argv_text(args: &[&str]) -> Vec<u8> {
    args.iter()
        .map(|a| format!("{a}\n"))
        .collect::<String>()
        .into_bytes()
}

fn bless(case_dir: &Path, args: &[&str], o: &Outcome) {
    if case_dir.exists() {
        std::fs::remove_dir_all(case_dir).unwrap();
    }
    std::fs::create_dir_all(case_dir).unwrap();
    std::fs::write(case_dir.join("argv"), argv_text(args)).unwrap();
    std::fs::write(case_dir.join("exit"), &o.exit).unwrap();
    std::fs::write(case_dir.join("stdout"), &o.stdout).unwrap();
    std::fs::write(case_dir.join("stderr"), &o.stderr).unwrap();
    for (rel, bytes) in &o.files {
        let p = case_dir.join("files").join(format!("{rel}{RECORDED}"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// The differences between a case's expected folder and what it did; empty when none.
fn check(name: &str, case_dir: &Path, args: &[&str], o: &Outcome) -> Vec<String> {
    let mut bad = vec![];
    if !case_dir.is_dir() {
        return vec![format!(
            "case `{name}`: no expected folder {} (new case? bless it)",
            case_dir.display()
        )];
    }
    let read = |what: &str| std::fs::read(case_dir.join(what)).unwrap_or_default();
    for (what, actual) in [
        ("argv", argv_text(args)),
        ("exit", o.exit.clone().into_bytes()),
        ("stdout", o.stdout.clone()),
        ("stderr", o.stderr.clone()),
    ] {
        let expected = read(what);
        if expected != actual {
            bad.push(diff(name, what, &expected, &actual));
        }
    }
    let mut expected_files = vec![];
    let files_dir = case_dir.join("files");
    if files_dir.is_dir() {
        collect(&files_dir, "", &mut expected_files);
    }
    for f in &mut expected_files {
        f.0 = f.0.strip_suffix(RECORDED).unwrap_or(&f.0).to_string();
    }
    expected_files.sort();
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    if names(&expected_files) != names(&o.files) {
        bad.push(format!(
            "case `{name}`: files written differ: expected {:?}, got {:?}",
            names(&expected_files),
            names(&o.files)
        ));
    }
    for (rel, actual) in &o.files {
        if let Some((_, expected)) = expected_files.iter().find(|f| &f.0 == rel) {
            if expected != actual {
                bad.push(diff(name, &format!("files/{rel}"), expected, actual));
            }
        }
    }
    bad
}

/// A unified-style excerpt around the first differing line of `what`.
fn diff(name: &str, what: &str, expected: &[u8], actual: &[u8]) -> String {
    let e: Vec<String> = lines(expected);
    let a: Vec<String> = lines(actual);
    let first = (0..e.len().max(a.len()))
        .find(|&i| e.get(i) != a.get(i))
        .unwrap_or(0);
    let mut s = format!(
        "case `{name}`: {what} differs ({} expected line(s), {} actual) from line {}\n--- tests/golden/{name}/{what}\n+++ actual\n@@ line {} @@\n",
        e.len(),
        a.len(),
        first + 1,
        first.saturating_sub(2) + 1
    );
    // Long lines (inline SVG, JSON on one line): a window around the first difference.
    let col = match (e.get(first), a.get(first)) {
        (Some(x), Some(y)) => x
            .chars()
            .zip(y.chars())
            .position(|(p, q)| p != q)
            .unwrap_or(x.chars().count().min(y.chars().count())),
        _ => 0,
    };
    let clip = |l: &str| -> String {
        let n = l.chars().count();
        if n <= 160 {
            return l.to_string();
        }
        let from = col.saturating_sub(60).min(n);
        let to = (from + 160).min(n);
        let mid: String = l.chars().skip(from).take(to - from).collect();
        format!(
            "{}{mid}{}",
            if from > 0 { "…" } else { "" },
            if to < n { "…" } else { "" }
        )
    };
    for l in &e[first.saturating_sub(2)..first.min(e.len())] {
        s += &format!(" {}\n", clip(l));
    }
    for l in e.iter().skip(first).take(6) {
        s += &format!("-{}\n", clip(l));
    }
    for l in a.iter().skip(first).take(6) {
        s += &format!("+{}\n", clip(l));
    }
    s
}

fn lines(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .split_inclusive('\n')
        .map(|l| l.replace('\n', "⏎"))
        .collect()
}

#[test]
fn offline_commands_match_their_golden_outputs() {
    let bin = bin();
    let blessing = std::env::var_os("XCCL_GOLDEN_BLESS").is_some_and(|v| v == "1");
    let scratch = std::env::temp_dir().join(format!("xccl-golden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let golden = golden_dir();
    let mut names = std::collections::BTreeSet::new();
    for (name, _) in CASES {
        assert!(names.insert(*name), "case `{name}` twice in CASES");
    }
    let argv = |line: &'static str| line.split_whitespace().collect::<Vec<&str>>();
    let start = Instant::now();
    // A few at a time: the cases that start MPI spend most of their ~0.5 s waiting.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcomes: Vec<std::sync::Mutex<Option<Outcome>>> =
        CASES.iter().map(|_| Default::default()).collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((name, line)) = CASES.get(i) else {
                    break;
                };
                let o = run(&bin, &scratch, name, &argv(line));
                *outcomes[i].lock().unwrap() = Some(o);
            });
        }
    });
    let mut failures = vec![];
    for ((name, line), o) in CASES.iter().zip(outcomes) {
        let (args, o) = (argv(line), o.into_inner().unwrap().unwrap());
        let case_dir = golden.join(name);
        if blessing {
            bless(&case_dir, &args, &o);
        } else {
            failures.extend(check(name, &case_dir, &args, &o));
        }
    }
    // Folders of cases that are no longer in the table.
    for e in std::fs::read_dir(&golden).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().into_string().unwrap();
        if n == "inputs" || !e.file_type().unwrap().is_dir() || names.contains(n.as_str()) {
            continue;
        }
        if blessing {
            std::fs::remove_dir_all(e.path()).unwrap();
        } else {
            failures.push(format!(
                "tests/golden/{n}/ is no case of CASES (a removed case? bless to drop it)"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if blessing {
        eprintln!(
            "blessed {} case(s) in tests/golden/ with {} ({:.1} s); the commit says why",
            CASES.len(),
            bin.display(),
            start.elapsed().as_secs_f64()
        );
        return;
    }
    assert!(
        failures.is_empty(),
        "{} difference(s) from the golden outputs ({}):\n\n{}\n\nIf the change is meant: \
         XCCL_GOLDEN_BLESS=1 cargo test --test golden, and say why in the commit message.",
        failures.len(),
        bin.display(),
        failures.join("\n")
    );
    eprintln!(
        "{} case(s) match tests/golden/ ({:.1} s)",
        CASES.len(),
        start.elapsed().as_secs_f64()
    );
}
