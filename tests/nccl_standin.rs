//! The NCCL backend end to end without a GPU, against stand-in `libcuda.so` and
//! `libnccl.so.2` built from tests/standin/{cuda,nccl}_standin.c. They follow nccl.h's
//! numbering and CUDA's driver API on host memory, keep NCCL's group semantics, record
//! work on a capturing stream into the graph, and check every argument (type and op
//! codes, counts against allocations, buffers and stream on the communicator's device,
//! root, peers). This exercises our CUDA and NCCL use (set-up, grouped send/recv
//! fallbacks for NCCL before 2.28, `-g`, `-z`, `-G`, event timing); it is not a run on a
//! GPU (docs/BACKENDS.md).
#![cfg(feature = "mpi")]

mod common;

use common::standin::{assert_clean, mpirun_env, nccl_env, CallLog};
use common::{argv, command, text, tmp};
use std::process::Output;
use xccl_schema::coll::CollKind;

const NEW: u32 = 22803; // has ncclAlltoAll/ncclGather/ncclScatter
const OLD: u32 = 22703; // does not: grouped send/recv

/// The stand-ins of NCCL `version`, and the call log if there is one.
fn env(version: u32, log: Option<&CallLog>) -> Vec<(&'static str, String)> {
    let mut v = nccl_env(version);
    v.extend(log.map(CallLog::env));
    v
}

/// `xccl-bench LINE --backend nccl` under `mpirun -np N`.
fn mpirun(np: usize, line: &str, version: u32, log: Option<&CallLog>) -> Output {
    let line = format!("{line} --backend nccl");
    mpirun_env(np, &argv(&line, &[]), &env(version, log))
}

/// `xccl-bench LINE --backend nccl` in one process (driving `-g N` GPUs, no launcher).
fn solo(line: &str, version: u32) -> Output {
    let line = format!("{line} --backend nccl");
    command(&line).envs(env(version, None)).output().unwrap()
}

#[test]
fn every_collective_under_mpirun_with_and_without_native_alltoall() {
    for (version, nps) in [(NEW, &[2usize, 3][..]), (OLD, &[3][..])] {
        for &np in nps {
            for c in CollKind::ALL.map(CollKind::name) {
                let line = format!("{c} -b 8 -e 64K -c 1 -n 2 -w 1 -r 1");
                let out = mpirun(np, &line, version, None);
                assert_clean(&out, &format!("{c} on {np} ranks, NCCL {version}"));
            }
        }
    }
}

#[test]
fn one_process_driving_three_gpus() {
    for version in [NEW, OLD] {
        for c in CollKind::ALL.map(CollKind::name) {
            let out = solo(&format!("{c} -g 3 -b 24 -e 48K -c 1 -n 2 -r 2"), version);
            assert_clean(&out, &format!("{c} -g 3, NCCL {version}"));
        }
    }
    // The other GPUs' inputs are really part of the check: a corrupted input is seen.
    let out = solo("all_reduce -g 3 -b 24 -e 96 -c 1 --test-corrupt-one", NEW);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAILED"), "{t}");
}

#[test]
fn every_type_and_op_blocking_and_graph_modes() {
    for c in ["all_reduce", "reduce_scatter", "reduce"] {
        let line = format!("{c} -b 8 -e 4K -c 1 -n 1 -d all -o all");
        assert_clean(&mpirun(2, &line, NEW, None), &format!("{c} -d all -o all"));
    }
    let out = mpirun(2, "all_reduce -b 8 -e 64K -c 1 -n 3 -z 1", NEW, None);
    assert_clean(&out, "-z 1");

    let log = CallLog::new("nccl-graph");
    let out = mpirun(2, "all_reduce -b 8 -e 64K -c 1 -n 5 -G 1", NEW, Some(&log));
    assert_clean(&out, "-G 1");
    let got = log.read();
    assert!(
        got.contains("captured ops=1"),
        "-G did not capture into a graph:\n{got}"
    );
}

#[test]
fn the_library_receives_nccls_own_codes_and_the_right_calls() {
    let log = CallLog::new("nccl-codes");
    for (t, o) in [
        ("float", "sum"),
        ("bfloat16", "max"),
        ("half", "avg"),
        ("uint8", "prod"),
        ("double", "min"),
    ] {
        let line = format!("all_reduce -b 64 -e 64 -c 1 -n 1 -w 0 -d {t} -o {o}");
        assert_clean(&mpirun(2, &line, NEW, Some(&log)), &format!("{t} {o}"));
    }
    let got = log.read();
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

    // alltoall: the library's own call on 2.28+, grouped send/recv before.
    for (version, native) in [(NEW, true), (OLD, false)] {
        let log = CallLog::new(&format!("nccl-a2a-{version}"));
        let out = mpirun(2, "alltoall -b 64 -e 64 -c 1 -n 1", version, Some(&log));
        assert_clean(&out, &format!("alltoall NCCL {version}"));
        let got = log.read();
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
    }
}

#[test]
fn run_metadata_names_library_version_and_devices() {
    let json = tmp("nccl-r.json");
    let args = argv("all_reduce --backend nccl -b 8 -e 8 --json {}", &[&json]);
    assert_clean(&mpirun_env(2, &args, &env(NEW, None)), "json run");
    let s = common::read_json(&json).to_string();
    assert!(s.contains("2.28.3"), "NCCL version in the JSON: {s}");
    assert!(s.contains("libnccl.so.2"), "library path in the JSON: {s}");
    assert!(
        s.contains("xccl stand-in GPU 0 (0000:10:00.0)")
            && s.contains("xccl stand-in GPU 1 (0000:11:00.0)"),
        "{s}"
    );
}
