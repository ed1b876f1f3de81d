//! `train-sim --backend nccl|hccl` under mpirun against the stand-in libraries
//! (tests/standin/*.c): host memory, every argument checked as the real library would,
//! sub-communicators by `ncclCommSplit` / `HcclCreateSubCommConfig`. This shows our use
//! of the vendor APIs for a training step (set-up, splits, streams, events, the calls and
//! their counts); it is not a run on a GPU or NPU (docs/BACKENDS.md).
#![cfg(feature = "mpi")]

mod common;

use common::standin::{
    hccl_env, mpirun_env, nccl_env, standin_dir, standin_no_subcomm_dir, CallLog,
};
use common::train_job::{self, dp2_pp2_sharded, issued, k, Msgs};
use common::{argv, read_json, text, tmp};

const NEW: u32 = 22803;
/// Before ncclCommSplit (2.18).
const OLD_NO_SPLIT: u32 = 21703;
/// Before ncclAlltoAll (2.28).
const OLD_NO_ALLTOALL: u32 = 22703;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lib {
    Mpi,
    Nccl(u32),
    Hccl,
    /// An HCCL without `HcclCreateSubCommConfig`.
    HcclNoSubComm,
}

fn env(lib: Lib, log: &CallLog) -> Vec<(&'static str, String)> {
    let mut v = match lib {
        Lib::Mpi => return vec![],
        Lib::Nccl(v) => nccl_env(v),
        Lib::Hccl => hccl_env(standin_dir()),
        Lib::HcclNoSubComm => hccl_env(standin_no_subcomm_dir()),
    };
    v.push(log.env());
    v
}

/// Runs one timed step (plus the warm-up step) of tiny-test on `layout`; returns the
/// messages per step and the stand-in's call log.
fn run(lib: Lib, np: usize, layout: &str) -> (Msgs, String) {
    run_zero(lib, np, layout, "0")
}

/// [`run`] with `--zero ZERO`.
fn run_zero(lib: Lib, np: usize, layout: &str, zero: &str) -> (Msgs, String) {
    run_model(lib, np, layout, zero, train_job::TINY)
}

/// [`run_zero`] of another model file.
fn run_model(lib: Lib, np: usize, layout: &str, zero: &str, model: &str) -> (Msgs, String) {
    let stem = std::path::Path::new(model)
        .file_stem()
        .unwrap()
        .to_string_lossy();
    let name = format!("{lib:?}-{stem}-{layout}-z{zero}").replace([',', '=', '(', ')'], "_");
    let json = tmp(&format!("{name}.json"));
    let log = CallLog::new(&name);
    let backend = match lib {
        Lib::Mpi => "mpi",
        Lib::Nccl(_) => "nccl",
        Lib::Hccl | Lib::HcclNoSubComm => "hccl",
    };
    let mut args = vec!["train-sim", "--backend", backend, "--compute", "host"];
    let extra = argv(
        "--bucket-size 1M --zero {} --steps 1 --json {}",
        &[&zero, &json],
    );
    args.extend(train_job::job(model, layout, "4", &extra));
    let out = mpirun_env(np, &args, &env(lib, &log));
    let t = text(&out);
    assert!(out.status.success(), "{lib:?} {layout}: {t}");
    // The stand-ins print "[nccl stand-in] ..." / "[stand-in] ..." for every argument
    // they reject; none may appear.
    assert!(!t.contains("stand-in]"), "{lib:?} {layout}: {t}");
    assert!(t.contains("predicted(s)"), "{t}");
    if let Lib::Nccl(v) = lib {
        let version = format!("NCCL {}.{}.{}", v / 10000, v / 100 % 100, v % 100);
        assert!(t.contains(&version), "{t}");
    }
    (issued(&read_json(&json)), log.read())
}

/// Lines of the stand-in log naming `call` with `args` (e.g. "count=262144 datatype=7").
fn calls(log: &str, call: &str, args: &str) -> usize {
    log.lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(call) && l.contains(args))
        .count()
}

/// The ncclSend and the ncclRecv calls of 32768 uint8 (code 1) in the log.
fn nccl_p2p(log: &str) -> (usize, usize) {
    let args = "count=32768 datatype=1";
    (calls(log, "ncclSend", args), calls(log, "ncclRecv", args))
}

/// The HcclBatchSendRecv items of 32768 uint8 (code 7) in the log.
fn hccl_p2p(log: &str) -> usize {
    calls(log, "HcclBatchSendRecv", "count=32768 dataType=7")
}

#[test]
fn dp_only_on_two_ranks_issues_what_mpi_issues() {
    // tiny-test on dp=2: 3401728 parameters, bf16 gradients 6803456 B = 6 buckets of
    // 1 MiB + 512000 B, all-reduced over the 2 DP ranks (tests/predict_cli.rs).
    let want = Msgs::from([
        (k("dp", "all_reduce", 1048576, 2), 6),
        (k("dp", "all_reduce", 512000, 2), 1),
    ]);
    let (mpi, _) = run(Lib::Mpi, 2, "dp=2");
    assert_eq!(mpi, want);
    for lib in [Lib::Nccl(NEW), Lib::Hccl] {
        let (got, log) = run(lib, 2, "dp=2");
        assert_eq!(got, want, "{lib:?}");
        // What the library itself received, over 2 ranks × 2 steps (warm-up + timed):
        // 24 all-reduces of 262144 floats (1 MiB) and 4 of 128000 floats (512000 B),
        // float sum in the library's own numbering (NCCL float 7, HCCL fp32 4; sum 0).
        let (f, t) = match lib {
            Lib::Hccl => ("HcclAllReduce", "dataType=4 op=0"),
            _ => ("ncclAllReduce", "datatype=7 op=0"),
        };
        assert_eq!(calls(&log, f, &format!("count=262144 {t}")), 24, "{log}");
        assert_eq!(calls(&log, f, &format!("count=128000 {t}")), 4, "{log}");
        assert_eq!(calls(&log, f, ""), 28, "{log}");
    }
}

#[test]
fn dp_and_pp_on_four_ranks_issue_what_mpi_issues() {
    // dp=2,pp=2: the first stage's 1828864 parameters = 3 buckets of 1 MiB + 512000 B
    // over 2 DP ranks; 2 micro-batches, each sending 64·256·2 = 32768 B forward and
    // receiving as much gradient: 4 PP messages on rank 0 (tests/predict_cli.rs).
    let want = dp2_pp2_messages();
    let (mpi, _) = run(Lib::Mpi, 4, "dp=2,pp=2");
    assert_eq!(mpi, want);
    for lib in [Lib::Nccl(NEW), Lib::Hccl] {
        let (got, log) = run(lib, 4, "dp=2,pp=2");
        assert_eq!(got, want, "{lib:?}");
        if let Lib::Nccl(_) = lib {
            // Each rank's 4 PP messages per step are 2 sends and 2 receives (one each
            // per micro-batch) of 32768 bytes (uint8, code 1): 4 ranks × 2 × 2 steps =
            // 16 ncclSend and 16 ncclRecv.
            assert_eq!(nccl_p2p(&log), (16, 16), "{log}");
        } else {
            // HcclSend/HcclRecv/HcclBatchSendRecv each log their items (the stand-in's
            // HcclSend and HcclRecv are one-item batches): 4 ranks × (2 sends + 2
            // receives) × 2 steps = 32 items of 32768 uint8 (code 7).
            assert_eq!(hccl_p2p(&log), 32, "{log}");
        }
    }
}

#[test]
fn interleaved_schedule_issues_what_mpi_issues_in_grouped_calls() {
    // dp=2,pp=2,vp=2 (ZeRO-1): tests/predict_cli.rs derives rank 0's 12 PP messages per
    // step of 32768 B (6 pipeline calls' sends and receives per micro-batch pair) beside
    // 3 + 1 reduce-scatters and one all-gather.
    let want = dp2_pp2_sharded(12);
    let (mpi, _) = run_zero(Lib::Mpi, 4, "dp=2,pp=2,vp=2", "1");
    assert_eq!(mpi, want);
    for lib in [Lib::Nccl(NEW), Lib::Hccl] {
        let (got, log) = run_zero(lib, 4, "dp=2,pp=2,vp=2", "1");
        assert_eq!(got, want, "{lib:?}");
        // Every rank issues 12 PP messages a step (by symmetry of the two stages' lists:
        // Σ 24 per DP replica, tests/predict_cli.rs), so 4 ranks × 12 × 2 steps = 96
        // sends and receives of 32768 uint8.
        if let Lib::Nccl(_) = lib {
            let (sends, recvs) = nccl_p2p(&log);
            assert_eq!(sends + recvs, 96, "{log}");
            // Each pipeline call is one group: a call that both sends and receives (the
            // steady state) puts several in one ncclGroupEnd.
            assert!(
                log.lines().any(|l| l.contains("ncclGroupEnd ops=2")
                    || l.contains("ncclGroupEnd ops=3")
                    || l.contains("ncclGroupEnd ops=4")),
                "{log}"
            );
        } else {
            assert_eq!(hccl_p2p(&log), 96, "{log}");
        }
    }
}

#[test]
fn zero3_layer_by_layer_issues_what_mpi_issues() {
    // dp=2, ZeRO-3: tiny-test's layer 0 with the embedding is (786432 + 256000) × 2 B =
    // 2084864 B, layers 1-3 1572864 B (tests/predict_cli.rs); 4 / 2 = 2 micro-batches,
    // each gathering every layer before its forward and its backward: 4 gathers of layer
    // 0 and 12 of the others; gradients reduce-scattered once per layer.
    let want = Msgs::from([
        (k("dp", "all_gather", 2084864, 2), 4),
        (k("dp", "all_gather", 1572864, 2), 12),
        (k("dp", "reduce_scatter", 2084864, 2), 1),
        (k("dp", "reduce_scatter", 1572864, 2), 3),
    ]);
    let (mpi, _) = run_zero(Lib::Mpi, 2, "dp=2", "3");
    assert_eq!(mpi, want);
    for lib in [Lib::Nccl(NEW), Lib::Hccl] {
        let (got, _) = run_zero(lib, 2, "dp=2", "3");
        assert_eq!(got, want, "{lib:?}");
    }
}

#[test]
fn moe_expert_parallel_alltoalls_issue_what_mpi_issues() {
    // tiny-moe-test on dp=4,ep=2: 4 / 4 = 1 sample per replica, one micro-batch of
    // b·s·h = 64·256 bf16 = 32768 B of activations; each MoE layer dispatches and combines
    // top_k = 2 copies, forward and backward: 4 alltoalls of 65536 B per layer over the 2
    // ranks of an EP group, × 4 layers = 16 per step (the DP reductions, on the dense and
    // the expert DP groups, are held to MPI's below).
    let (mpi, _) = run_model(Lib::Mpi, 4, "dp=4,ep=2", "0", train_job::TINY_MOE);
    assert_eq!(
        mpi.get(&k("ep", "alltoall", 65536, 2)),
        Some(&16),
        "{mpi:?}"
    );
    assert!(mpi.keys().any(|(dim, ..)| dim == "dp"), "{mpi:?}");
    for lib in [Lib::Nccl(NEW), Lib::Hccl] {
        let (got, log) = run_model(lib, 4, "dp=4,ep=2", "0", train_job::TINY_MOE);
        assert_eq!(got, mpi, "{lib:?}");
        let f = match lib {
            Lib::Hccl => "HcclAlltoAll",
            _ => "ncclAlltoAll",
        };
        // 4 ranks × 16 per step × 2 steps (warm-up + timed).
        assert_eq!(calls(&log, f, ""), 128, "{lib:?}: {log}");
    }
    // NCCL before 2.28 has no ncclAlltoAll: each alltoall is grouped send/recv, 32768 B
    // to and from each of the 2 ranks of the group (itself included, as nccl-tests does):
    // 4 ranks × 16 × 2 steps × 2 peers = 256 ncclSend and as many ncclRecv.
    let (got, log) = run_model(
        Lib::Nccl(OLD_NO_ALLTOALL),
        4,
        "dp=4,ep=2",
        "0",
        train_job::TINY_MOE,
    );
    assert_eq!(got, mpi);
    assert_eq!(calls(&log, "ncclAlltoAll", ""), 0, "{log}");
    assert_eq!(nccl_p2p(&log), (256, 256), "{log}");
}

/// What dp=2,pp=2 of tiny-test issues per step on rank 0 (derived in
/// `dp_and_pp_on_four_ranks_issue_what_mpi_issues`).
fn dp2_pp2_messages() -> Msgs {
    Msgs::from([
        (k("dp", "all_reduce", 1048576, 2), 3),
        (k("dp", "all_reduce", 512000, 2), 1),
        (k("pp", "sendrecv", 32768, 2), 4),
    ])
}

/// dp=2,pp=2 on a library without a split call (`split`): every group comes from its
/// own id, broadcast on the MPI split of the same color, and `init` (counting ranks by
/// `nranks`, e.g. `nranks=`) is called per rank for the root communicator, the world and
/// the active ranks' group (4 ranks each), its tp group (1 rank) and its dp group (2
/// ranks); PP runs on the active group. The stand-in meets each group's ranks by its id.
fn groups_from_their_own_ids(lib: Lib, split: &str, init: &str, nranks: &str) {
    let (got, log) = run(lib, 4, "dp=2,pp=2");
    assert_eq!(got, dp2_pp2_messages());
    assert_eq!(calls(&log, split, ""), 0, "{log}");
    for (size, per_job) in [(4, 12), (1, 4), (2, 4)] {
        let arg = format!("{nranks}{size} ");
        assert_eq!(calls(&log, init, &arg), per_job, "{arg}: {log}");
    }
}

#[test]
fn nccl_before_2_18_builds_each_group_from_its_own_unique_id() {
    // NCCL 2.17 has no ncclCommSplit.
    groups_from_their_own_ids(
        Lib::Nccl(OLD_NO_SPLIT),
        "ncclCommSplit",
        "ncclCommInitRank",
        "nranks=",
    );
}

#[test]
fn hccl_without_sub_comm_config_builds_each_group_from_its_own_root_info() {
    groups_from_their_own_ids(
        Lib::HcclNoSubComm,
        "HcclCreateSubCommConfig",
        "HcclCommInitRootInfo",
        "nRanks=",
    );
}

#[test]
fn dp_and_tp_on_four_ranks_issue_what_mpi_issues() {
    let (mpi, _) = run(Lib::Mpi, 4, "dp=2,tp=2");
    assert!(mpi.keys().any(|x| x.0 == "tp"), "{mpi:?}");
    for lib in [Lib::Nccl(NEW), Lib::Hccl] {
        let (got, _) = run(lib, 4, "dp=2,tp=2");
        assert_eq!(got, mpi, "{lib:?}");
    }
}

#[test]
fn a_missing_library_is_one_line_and_exit_1_on_every_rank() {
    for (backend, var) in [("nccl", "XCCL_NCCL_LIB"), ("hccl", "XCCL_ACL_LIB")] {
        let env = vec![(var, "/nonexistent/lib.so".to_string())];
        let mut args = vec!["train-sim", "--backend", backend, "--compute", "host"];
        args.extend(train_job::job(train_job::TINY, "dp=2", "4", &[]));
        let out = mpirun_env(2, &args, &env);
        let t = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{backend}: {}", text(&out));
        let errors: Vec<&str> = t.lines().filter(|l| l.contains("error:")).collect();
        assert_eq!(errors.len(), 1, "{backend}: {t}");
        assert!(errors[0].contains("/nonexistent/lib.so"), "{t}");
    }
}
