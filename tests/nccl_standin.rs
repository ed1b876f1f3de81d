//! The NCCL backend end to end without a GPU, against stand-in `libcuda.so` and
//! `libnccl.so.2` built from tests/standin/{cuda,nccl}_standin.c. They follow nccl.h's
//! numbering and CUDA's driver API on host memory, keep NCCL's group semantics, record
//! work on a capturing stream into the graph, and check every argument (type and op
//! codes, counts against allocations, buffers and stream on the communicator's device,
//! root, peers). This exercises our CUDA and NCCL use (set-up, grouped send/recv
//! fallbacks for NCCL before 2.28, `-g`, `-z`, `-G`, event timing); it is not a run on a
//! GPU (docs/BACKENDS.md).
#![cfg(feature = "mpi")]

#[path = "standin/support.rs"]
mod support;

use support::{nccl_standin_dir, text};
use xccl_schema::coll::CollKind;

const NEW: u32 = 22803; // has ncclAlltoAll/ncclGather/ncclScatter
const OLD: u32 = 22703; // does not: grouped send/recv

fn env(version: u32, log: Option<&str>) -> Vec<(&'static str, String)> {
    let d = nccl_standin_dir(version);
    let mut v = vec![
        ("LD_LIBRARY_PATH", d.display().to_string()),
        (
            "XCCL_NCCL_LIB",
            d.join("libnccl.so.2").display().to_string(),
        ),
    ];
    if let Some(l) = log {
        v.push(("XCCL_STANDIN_LOG", l.to_string()));
    }
    v
}

fn clean(out: &std::process::Output, what: &str) {
    let t = text(out);
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{t}",
        out.status.code()
    );
    assert!(t.contains("# Out of bounds values : 0 OK"), "{what}\n{t}");
}

/// One process, `-g N` GPUs (no launcher).
fn solo(version: u32, args: &[&str], log: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(support::bin());
    for (k, v) in env(version, log) {
        cmd.env(k, v);
    }
    cmd.args(args).output().unwrap()
}

#[test]
fn every_collective_under_mpirun_with_and_without_native_alltoall() {
    for (version, nps) in [(NEW, &[2usize, 3][..]), (OLD, &[3][..])] {
        for &np in nps {
            for c in CollKind::ALL.map(CollKind::name) {
                let args = [
                    c,
                    "--backend",
                    "nccl",
                    "-b",
                    "8",
                    "-e",
                    "64K",
                    "-c",
                    "1",
                    "-n",
                    "2",
                    "-w",
                    "1",
                    "-r",
                    "1",
                ];
                let out = support::mpirun_env(np, &args, &env(version, None));
                clean(&out, &format!("{c} on {np} ranks, NCCL {version}"));
            }
        }
    }
}

#[test]
fn one_process_driving_three_gpus() {
    for version in [NEW, OLD] {
        for c in CollKind::ALL.map(CollKind::name) {
            let out = solo(
                version,
                &[
                    c,
                    "--backend",
                    "nccl",
                    "-g",
                    "3",
                    "-b",
                    "24",
                    "-e",
                    "48K",
                    "-c",
                    "1",
                    "-n",
                    "2",
                    "-r",
                    "2",
                ],
                None,
            );
            clean(&out, &format!("{c} -g 3, NCCL {version}"));
        }
    }
    // The other GPUs' inputs are really part of the check: a corrupted input is seen.
    let out = solo(
        NEW,
        &[
            "all_reduce",
            "--backend",
            "nccl",
            "-g",
            "3",
            "-b",
            "24",
            "-e",
            "96",
            "-c",
            "1",
            "--test-corrupt-one",
        ],
        None,
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAILED"), "{t}");
}

#[test]
fn every_type_and_op_blocking_and_graph_modes() {
    let e = env(NEW, None);
    for c in ["all_reduce", "reduce_scatter", "reduce"] {
        let out = support::mpirun_env(
            2,
            &[
                c,
                "--backend",
                "nccl",
                "-b",
                "8",
                "-e",
                "4K",
                "-c",
                "1",
                "-n",
                "1",
                "-d",
                "all",
                "-o",
                "all",
            ],
            &e,
        );
        clean(&out, &format!("{c} -d all -o all"));
    }
    let out = support::mpirun_env(
        2,
        &[
            "all_reduce",
            "--backend",
            "nccl",
            "-b",
            "8",
            "-e",
            "64K",
            "-c",
            "1",
            "-n",
            "3",
            "-z",
            "1",
        ],
        &e,
    );
    clean(&out, "-z 1");

    let log = std::env::temp_dir().join(format!("xccl-nccl-graph-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let l = log.display().to_string();
    let out = support::mpirun_env(
        2,
        &[
            "all_reduce",
            "--backend",
            "nccl",
            "-b",
            "8",
            "-e",
            "64K",
            "-c",
            "1",
            "-n",
            "5",
            "-G",
            "1",
        ],
        &env(NEW, Some(&l)),
    );
    clean(&out, "-G 1");
    let got = std::fs::read_to_string(&log).unwrap();
    assert!(
        got.contains("captured ops=1"),
        "-G did not capture into a graph:\n{got}"
    );
    let _ = std::fs::remove_file(&log);
}

#[test]
fn the_library_receives_nccls_own_codes_and_the_right_calls() {
    let log = std::env::temp_dir().join(format!("xccl-nccl-codes-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let l = log.display().to_string();
    for (t, o) in [
        ("float", "sum"),
        ("bfloat16", "max"),
        ("half", "avg"),
        ("uint8", "prod"),
        ("double", "min"),
    ] {
        let out = support::mpirun_env(
            2,
            &[
                "all_reduce",
                "--backend",
                "nccl",
                "-b",
                "64",
                "-e",
                "64",
                "-c",
                "1",
                "-n",
                "1",
                "-w",
                "0",
                "-d",
                t,
                "-o",
                o,
            ],
            &env(NEW, Some(&l)),
        );
        clean(&out, &format!("{t} {o}"));
    }
    let got = std::fs::read_to_string(&log).unwrap();
    // nccl.h: uint8 1, half 6, float 7, double 8, bfloat16 9; sum 0, prod 1, max 2, min 3, avg 4
    for want in [
        "ncclAllReduce count=16 datatype=7 op=0",
        "ncclAllReduce count=32 datatype=9 op=2",
        "ncclAllReduce count=32 datatype=6 op=4",
        "ncclAllReduce count=64 datatype=1 op=1",
        "ncclAllReduce count=8 datatype=8 op=3",
    ] {
        assert!(got.contains(want), "never saw `{want}`:\n{got}");
    }
    let _ = std::fs::remove_file(&log);

    // alltoall: the library's own call on 2.28+, grouped send/recv before.
    for (version, native) in [(NEW, true), (OLD, false)] {
        let log = std::env::temp_dir().join(format!(
            "xccl-nccl-a2a-{version}-{}.log",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&log);
        let l = log.display().to_string();
        let out = support::mpirun_env(
            2,
            &[
                "alltoall",
                "--backend",
                "nccl",
                "-b",
                "64",
                "-e",
                "64",
                "-c",
                "1",
                "-n",
                "1",
            ],
            &env(version, Some(&l)),
        );
        clean(&out, &format!("alltoall NCCL {version}"));
        let got = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            got.contains("ncclAlltoAll count=8 datatype=7"),
            native,
            "{got}"
        );
        assert_eq!(
            got.contains("ncclSend count=8 datatype=7 peer=1"),
            !native,
            "{got}"
        );
        let _ = std::fs::remove_file(&log);
    }
}

#[test]
fn run_metadata_names_library_version_and_devices() {
    let dir = std::env::temp_dir().join(format!("xccl-nccl-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("r.json");
    let j = json.display().to_string();
    let out = support::mpirun_env(
        2,
        &[
            "all_reduce",
            "--backend",
            "nccl",
            "-b",
            "8",
            "-e",
            "8",
            "--json",
            &j,
        ],
        &env(NEW, None),
    );
    clean(&out, "json run");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let s = v.to_string();
    assert!(s.contains("2.28.3"), "NCCL version in the JSON: {s}");
    assert!(s.contains("libnccl.so.2"), "library path in the JSON: {s}");
    assert!(
        s.contains("xccl stand-in GPU 0 (0000:10:00.0)")
            && s.contains("xccl stand-in GPU 1 (0000:11:00.0)"),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
