//! `links` per device on a rail topology (2 "nodes" × 2 devices, each node a UTS
//! namespace of this machine, tests/rails-2x2.toml) through MPI and the NCCL stand-in:
//! every planned pair measured once, the record's shape, the NIC of each device and how
//! it is known; and the bad inputs (ranks that do not fit the file) as one line, exit 2.

mod common;

use common::{mpirun_hosts, read_json, solo, tmp, Run};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(240);

fn topo() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rails-2x2.toml").to_string()
}

fn links(
    hosts: &[(&str, usize)],
    extra: &str,
    json: &std::path::Path,
    env: &[(&str, String)],
) -> Run {
    let t = topo();
    let j = json.display().to_string();
    let mut args = vec![
        "links",
        "--topology",
        &t,
        "--size",
        "64K",
        "-n",
        "2",
        "--json",
        &j,
    ];
    args.extend(extra.split_whitespace());
    mpirun_hosts(hosts, &args, env, LIMIT)
}

/// Every planned pair of 2 nodes × 2 rails once: one same-rail link per rail (its three
/// quantities), R(R−1)·⌊N/2⌋ = 2 cross-rail samples (each ordered rail pair once), and
/// N·R(R−1)/2 = 2 intra-node pairs (one per node); the NICs from device_nic.
fn assert_shape(v: &Value, backend: &str) {
    assert_eq!(v["kind"], "rail-links", "{v}");
    assert_eq!(v["backend"], backend);
    assert_eq!(v["nodes"], 2);
    assert_eq!(v["hosts"], serde_json::json!(["rl-n0", "rl-n1"]));
    assert_eq!(v["rail_of_device"], serde_json::json!([1, 0]));
    assert_eq!(
        v["rounds"],
        serde_json::json!({"rail": 1, "cross": 1, "intra": 1})
    );
    let rails = v["rails"].as_array().unwrap();
    assert_eq!(rails.len(), 2);
    for (r, m) in rails.iter().enumerate() {
        assert_eq!(m["rail"], r);
        for q in ["uni_mb_per_s", "bi_mb_per_s", "latency_ns"] {
            let t = m[q].as_array().unwrap();
            assert_eq!(t.len(), 1, "{q}");
            assert!(t[0].as_u64().is_some_and(|x| x > 0), "rail {r} {q}: {t:?}");
        }
    }
    let cross = v["cross"].as_array().unwrap();
    let rail_pairs: BTreeSet<(u64, u64)> = cross
        .iter()
        .map(|l| {
            assert_ne!(l["node_a"], l["node_b"]);
            assert!(l["uni_gbs"].as_f64().unwrap() > 0.0);
            (l["rail_a"].as_u64().unwrap(), l["rail_b"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(rail_pairs, BTreeSet::from([(0, 1), (1, 0)]), "{cross:?}");
    let intra = v["intra"].as_array().unwrap();
    let nodes: BTreeSet<u64> = intra
        .iter()
        .map(|l| {
            assert_eq!(l["node_a"], l["node_b"]);
            assert!(l["bi_gbs"].as_f64().unwrap() > 0.0 && l["latency_us"].as_f64().unwrap() > 0.0);
            l["node_a"].as_u64().unwrap()
        })
        .collect();
    assert_eq!((intra.len(), nodes), (2, BTreeSet::from([0, 1])));
    let nics = v["nics"].as_array().unwrap();
    assert_eq!(nics.len(), 4);
    for n in nics {
        let rail = n["rail"].as_u64().unwrap();
        // device_nic = [1, 0]: NIC 0 (eth0, rail 0) serves device 1.
        assert_eq!(n["nic"], format!("eth{rail}"));
        assert_eq!(n["leaf"], format!("rail{rail}"));
        assert_eq!(n["devices"], serde_json::json!([1 - rail]));
        assert_eq!(n["known_from"], "topology affinity (device_nic)");
    }
    assert_eq!(v["findings"], serde_json::json!([]), "{v}");
}

#[test]
fn rails_through_mpi_measure_every_planned_pair_once() {
    let j = tmp("rails-mpi.json");
    let r = links(&[("rl-n0", 2), ("rl-n1", 2)], "", &j, &[]);
    r.assert_code(0);
    r.assert_stdout_has("## rail 0 (eth0)");
    r.assert_stdout_has("## intra-node device pairs");
    let v = read_json(&j);
    assert_shape(&v, "mpi");
    // `report` shows the file: a heat map per rail, intra-node maps, the NICs.
    let html = tmp("rails-mpi.html");
    let (js, hs) = (j.display().to_string(), html.display().to_string());
    let rep = solo(&["report", &js, "-o", &hs], LIMIT);
    rep.assert_code(0);
    rep.assert_stderr_has("also in it: 1 rail-links");
    let h = std::fs::read_to_string(&html).unwrap();
    assert_eq!(
        h.matches("class=\"plot rail-map\"").count(),
        2,
        "one map per rail"
    );
    for id in [
        "rail-map-0-0",
        "rail-map-0-1",
        "intra-map-0-0",
        "intra-map-0-1",
    ] {
        assert!(h.contains(&format!("<svg id=\"{id}\"")), "{id}");
    }
    assert!(
        !h.contains("Links not judged here"),
        "the topology is readable"
    );
    let outliers = v["outliers"].as_array().map_or(0, Vec::len);
    assert_eq!(
        h.matches("<rect class=\"low\"").count(),
        2 * outliers,
        "{v}"
    );
    assert!(h.contains(
        "<td class=\"l\">rl-n1</td><td>0</td><td class=\"l\">eth0</td><td class=\"l\">rail0</td><td class=\"l\">dev1</td>"
    ));
}

#[test]
fn a_binding_is_recorded_and_one_that_names_another_nic_is_warned_about() {
    let j = tmp("rails-bound.json");
    let env = [("OMPI_MCA_btl_tcp_if_include", "lo".to_string())];
    let r = links(&[("rl-n0", 2), ("rl-n1", 2)], "", &j, &env);
    r.assert_code(0);
    let v = read_json(&j);
    for n in v["nics"].as_array().unwrap() {
        assert_eq!(
            n["bound"],
            serde_json::json!(["OMPI_MCA_btl_tcp_if_include=lo"])
        );
    }
    let warned = r
        .stderr
        .lines()
        .filter(|l| l.contains("bind OMPI_MCA_btl_tcp_if_include=lo but --topology says"))
        .count();
    assert_eq!(warned, 4, "one line per NIC: {}", r.stderr);
}

#[test]
fn screen_on_rails_below_four_nodes_is_the_per_device_test_of_every_node() {
    // Nothing to halve below 4 nodes: no ring, every node to the per-device test, whose
    // record is the screen's `confirmation`.
    let j = tmp("rails-screen.json");
    let r = links(&[("rl-n0", 2), ("rl-n1", 2)], "--screen", &j, &[]);
    r.assert_code(0);
    assert!(!r.stderr.contains("no screen per device"), "{}", r.stderr);
    r.assert_stdout_has(
        "# screen: 0 round(s) (full per-device plan: 3), then 3 round(s) of the per-device test of [rl-n0 rl-n1]",
    );
    let v = read_json(&j);
    assert_eq!(v["kind"], "links-screen", "{v}");
    assert_eq!(v["per_device"], true);
    assert_eq!(
        (v["rounds"].as_u64(), v["full_plan_rounds"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(v["confirmed_on"], serde_json::json!(["rl-n0", "rl-n1"]));
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_shape(&v["confirmation"], "mpi");
}

#[test]
fn rails_through_the_nccl_standin_move_device_memory_with_send_recv() {
    let log = common::standin::CallLog::new("links-rails");
    let env: Vec<(&str, String)> = common::standin::nccl_env(22803)
        .into_iter()
        .chain([log.env()])
        .collect();
    let j = tmp("rails-nccl.json");
    let r = links(&[("rl-n0", 2), ("rl-n1", 2)], "--backend nccl", &j, &env);
    r.assert_code(0);
    assert_shape(&read_json(&j), "nccl");
    let calls = log.read();
    assert!(
        calls.contains("ncclSend") && calls.contains("ncclRecv"),
        "{calls}"
    );
}

#[test]
fn rails_through_the_hccl_standin_move_device_memory_with_send_recv() {
    let log = common::standin::CallLog::new("links-rails-hccl");
    let env: Vec<(&str, String)> = common::standin::hccl_env(common::standin::standin_dir())
        .into_iter()
        .chain([log.env()])
        .collect();
    let j = tmp("rails-hccl.json");
    let r = links(&[("rl-n0", 2), ("rl-n1", 2)], "--backend hccl", &j, &env);
    r.assert_code(0);
    assert_shape(&read_json(&j), "hccl");
    let calls = log.read();
    // The stand-in logs HcclSend/HcclRecv as one-item batches (item=0), both ways as a
    // two-item HcclBatchSendRecv (item=1 too), each message of 64 KiB.
    for f in [
        "item=0 type=0 count=65536",
        "item=0 type=1 count=65536",
        "item=1 type=1 count=65536",
    ] {
        assert!(calls.contains(f), "{f} missing: {calls}");
    }
}

#[test]
fn nccl_without_the_library_fails_on_every_rank_in_one_line() {
    let j = tmp("rails-nolib.json");
    let env = [("XCCL_NCCL_LIB", "/nonexistent/libnccl.so.2".to_string())];
    let r = links(&[("rl-n0", 2), ("rl-n1", 2)], "--backend nccl", &j, &env);
    r.assert_code(1);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    common::assert_no_survivors(&r);
}

#[test]
fn a_rank_count_that_does_not_fit_the_file_is_one_line_exit_2() {
    let j = tmp("rails-bad.json");
    for (hosts, says) in [
        (
            &[("rl-n0", 2), ("rl-n1", 1)][..],
            "1 rank(s) on host `rl-n1` but --topology rails-2x2 has 2 devices per node",
        ),
        (
            &[("rl-n0", 2), ("rl-other", 2)][..],
            "host `rl-other` is not in the topology",
        ),
    ] {
        let r = links(hosts, "", &j, &[]);
        r.assert_code(2);
        let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains(says)).collect();
        assert_eq!(lines.len(), 1, "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        common::assert_no_survivors(&r);
    }
}
