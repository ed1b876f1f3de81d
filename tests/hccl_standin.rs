//! The HCCL backend end to end under `mpirun`, against stand-in `libascendcl.so` and
//! `libhccl.so` built from tests/standin/*.c. They follow the real headers' ABI on host
//! memory and check every argument (type and op codes, counts against the device
//! allocation, root, stream, communicator). This is an ABI conformance test of our
//! bindings and backend, not a run on Ascend hardware (docs/BACKENDS.md).
#![cfg(feature = "mpi")]

mod common;

use common::standin::{assert_clean, mpirun, standin_dir, CallLog};
use common::{argv, assert_fails_saying, command, text, vendor_dir_or_skip};
use xccl_schema::coll::CollKind;

#[test]
fn every_collective_hccl_offers_runs_clean_on_2_3_4_ranks() {
    // HCCL has no gather.
    let colls = CollKind::ALL.into_iter().filter(|&c| c != CollKind::Gather);
    for np in [2, 3, 4] {
        for c in colls.clone().map(CollKind::name) {
            // root 1 exercises the root argument where there is one
            let args = argv("{} --backend hccl -b 8 -e 64K -c 1 -n 2 -w 1 -r 1", &[&c]);
            let out = mpirun(np, &args, &[]);
            assert_clean(&out, &format!("{c} on {np} ranks"));
        }
    }
}

#[test]
fn every_type_and_op_hccl_offers_is_exact() {
    // The collectives of the test above but sendrecv.
    for c in CollKind::ALL
        .into_iter()
        .filter(|c| ![CollKind::Gather, CollKind::Sendrecv].contains(c))
        .map(CollKind::name)
    {
        let args = argv(
            "{} --backend hccl -b 8 -e 4K -c 1 -n 1 -w 0 -d all -o all",
            &[&c],
        );
        let out = mpirun(3, &args, &[]);
        assert_clean(&out, &format!("{c} -d all -o all"));
    }
}

#[test]
fn the_library_receives_hccls_own_codes() {
    let log = CallLog::new("standin");
    for run in [
        "all_reduce -d bfloat16 -o max",
        "all_reduce -d half -o prod",
        "all_reduce -d int8 -o min",
        "all_reduce -d float -o sum",
        "all_reduce -d int32 -o sum",
        "all_gather -d double",
        "alltoall -d uint64",
    ] {
        let line = format!("{run} --backend hccl -b 64 -e 64 -c 1 -n 1");
        let out = mpirun(2, &argv(&line, &[]), &[log.env()]);
        assert_clean(&out, run);
    }
    let got = log.read();
    // hccl_types.h: INT8 0, INT32 2, FP16 3, FP32 4, UINT64 6, FP64 10, BFP16 11;
    // SUM 0, PROD 1, MAX 2, MIN 3.
    for want in [
        "HcclAllReduce count=32 dataType=11 op=2",
        "HcclAllReduce count=32 dataType=3 op=1",
        "HcclAllReduce count=64 dataType=0 op=3",
        "HcclAllReduce count=16 dataType=4 op=0",
        "HcclAllReduce count=16 dataType=2 op=0",
        "HcclAllGather sendCount=4 dataType=10",
        "HcclAlltoAll sendCount=4 sendType=6 recvCount=4 recvType=6",
    ] {
        assert!(
            got.contains(want),
            "stand-in never saw `{want}`; log:\n{got}"
        );
    }
}

#[test]
fn nccl_type_codes_are_caught() {
    // float as NCCL numbers it (7) is HCCL's uint8: all_gather moves a quarter of the
    // bytes and the check finds the damage; all_reduce is refused (uint8 is not a type
    // hccl.h offers for reductions).
    let fault = [("XCCL_HCCL_FAULT", "nccl-dtype-codes".to_string())];
    let run = |c: &str| {
        let line = format!("{c} --backend hccl -b 64 -e 1K -c 1 -n 1");
        let out = mpirun(2, &argv(&line, &[]), &fault);
        (out.status.code(), text(&out))
    };
    let (code, t) = run("all_gather");
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("# Out of bounds values : ") && t.contains("FAILED"),
        "{t}"
    );
    assert!(!t.contains("# Out of bounds values : 0 OK"), "{t}");

    let (code, t) = run("all_reduce");
    assert!(code != Some(0), "{t}");
    assert!(
        t.contains("HcclAllReduce failed") && t.contains("HCCL_E_NOT_SUPPORT"),
        "{t}"
    );
    assert!(
        t.contains("dataType uint8 (7)"),
        "stand-in's reason is carried: {t}"
    );
}

#[test]
fn what_hccl_lacks_is_refused_clearly() {
    for (line, why) in [
        ("all_reduce -o avg", "HCCL has no avg reduction"),
        ("gather", "HCCL has no gather"),
        (
            "all_reduce -d uint32",
            "HCCL all_reduce does not take uint32",
        ),
    ] {
        let line = format!("{line} --backend hccl -b 8 -e 8");
        let out = mpirun(2, &argv(&line, &[]), &[]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(t.contains(why), "{t}");
    }
}

#[test]
fn device_is_local_rank_modulo_npus_per_node() {
    let log = CallLog::new("standin-p");
    let args = argv("broadcast --backend hccl -b 8 -e 8 -p 2 -c 1", &[]);
    assert_clean(&mpirun(4, &args, &[log.env()]), "broadcast -p 2");
    let got = log.read();
    for (r, d) in [(0, 0), (1, 1), (2, 0), (3, 1)] {
        assert!(
            got.contains(&format!(
                "rank={r} HcclCommInitRootInfo nRanks=4 rank={r} device={d}"
            )),
            "{got}"
        );
    }
}

#[test]
fn missing_libraries_are_named_with_every_place_looked() {
    let all_reduce = || command("all_reduce --backend hccl -b 8 -e 8");
    assert_fails_saying(
        all_reduce().env("XCCL_ACL_LIB", "/nonexistent/libascendcl.so"),
        &["Ascend ACL runtime (libascendcl.so) not found or not loadable; looked in: $XCCL_ACL_LIB=/nonexistent/libascendcl.so (no such file)"],
    );

    // Nothing set: the environment variable, the loader path and CANN's folders.
    let t = assert_fails_saying(
        all_reduce()
            .env_remove("XCCL_ACL_LIB")
            .env_remove("XCCL_HCCL_LIB")
            .env("ASCEND_HOME_PATH", "/nonexistent/ascend"),
        &[
            "$XCCL_ACL_LIB (unset)",
            "dynamic loader path for libascendcl.so",
            "/nonexistent/ascend/lib64 (no such folder)",
            "/usr/local/Ascend/ascend-toolkit/latest/lib64",
        ],
    );
    assert_eq!(
        t.lines().filter(|l| l.contains("error")).count(),
        1,
        "one error line: {t}"
    );

    // ACL found, HCCL not.
    assert_fails_saying(
        all_reduce()
            .env("XCCL_ACL_LIB", standin_dir().join("libascendcl.so"))
            .env("XCCL_HCCL_LIB", "/nonexistent/libhccl.so"),
        &["HCCL library (libhccl.so) not found or not loadable; looked in: $XCCL_HCCL_LIB=/nonexistent/libhccl.so"],
    );
}

#[test]
fn standins_follow_the_vendor_headers() {
    // Compiled as C++ against the real hccl.h / acl.h, any signature of a stand-in that
    // differs from the header's declaration is a compile error (extern "C" functions
    // cannot overload).
    let Some(root) = vendor_dir_or_skip(
        "standins_follow_the_vendor_headers",
        "third_party/hccl/inc/hccl/hccl.h",
        "torch-npu",
    ) else {
        return;
    };
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standin");
    for (cc, file) in [("c++", "acl_standin.c"), ("mpicxx", "hccl_standin.c")] {
        let out = std::process::Command::new(cc)
            .args([
                "-fsyntax-only",
                "-x",
                "c++",
                "-std=c++14",
                "-DXCCL_VENDOR_HEADERS",
            ])
            .arg(format!("-I{}", root.display()))
            .arg(format!("-I{}", root.join("third_party/acl/inc").display()))
            .arg(src.join(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file} does not match the headers in {}:\n{}",
            root.display(),
            text(&out)
        );
    }
}
