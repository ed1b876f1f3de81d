//! `topo show`, `topo check` and `--topology` from the command line, under mpirun.

mod common;
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

#[test]
fn topo_show_prints_a_preset_and_the_detected_job() {
    let r = mpirun(2, &["topo", "show", "topologies/dgx-h100.toml"], &[], T);
    r.assert_code(0);
    r.assert_stdout_has("nvswitch");
    let r = mpirun(2, &["topo", "show"], &[], T);
    r.assert_code(0);
    r.assert_stdout_has("detected");
    r.assert_stdout_has("1 × 2 devices");
}

#[test]
fn topo_check_rejects_a_file_that_does_not_match_the_job() {
    let r = mpirun(2, &["topo", "check", "topologies/emu-3node.toml"], &[], T);
    r.assert_code(1);
    r.assert_stdout_has("is not in the topology");
    let r = mpirun(2, &["topo", "check", "topologies/dgx-h100.toml"], &[], T);
    r.assert_code(0);
    r.assert_stdout_has("ok: 2 ranks on 1 nodes");
}

#[test]
fn malformed_topology_is_one_line_naming_file_line_and_key() {
    let bad = tmp("bad.toml");
    std::fs::write(
        &bad,
        "version = 1\nname = \"x\"\n[node]\ndevices = 8\n\n[node.fabric]\nkind = \"warp-drive\"\nbw_gbs = 10.0\n",
    )
    .unwrap();
    let r = mpirun(2, &argv("all_reduce -e 64 --topology {}", &[&bad]), &[], T);
    r.assert_code(2);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("bad.toml"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(lines[0].contains("bad.toml:7"), "{}", lines[0]);
    assert!(lines[0].contains("node.fabric.kind"), "{}", lines[0]);
    assert_no_survivors(&r);
}

#[test]
fn min_efficiency_needs_a_topology() {
    let args = argv("all_reduce -e 64 --min-efficiency 0.8", &[]);
    let r = mpirun(2, &args, &[], T);
    r.assert_code(2);
    r.assert_stderr_has("--min-efficiency needs --topology");
}

#[test]
fn verdicts_land_in_table_and_json() {
    let json = tmp("verdict.json");
    let line = "all_reduce -b 1K -e 64K -f 8 --topology detect --json {}";
    let r = mpirun(2, &argv(line, &[&json]), &[], T);
    r.assert_code(0);
    r.assert_stdout_has("verdict");
    let v = read_json(&json);
    for row in v["rows"].as_array().unwrap() {
        let verdict = &row["verdict"];
        assert!(
            verdict["expected_busbw_gbs"].as_f64().unwrap() > 0.0,
            "{row}"
        );
        assert!([
            "bandwidth-bound",
            "low efficiency",
            "latency-bound",
            "above model"
        ]
        .contains(&verdict["class"].as_str().unwrap()));
    }
}

/// The binary alone (no launcher): exit code, stdout and stderr.
fn bench(line: &str, fill: &[&dyn AsRef<std::path::Path>]) -> (i32, String, String) {
    let r = solo(&argv(line, fill), T);
    (r.code, r.stdout, r.stderr)
}

const EMU: &str = "topologies/emu-3node.toml";

#[test]
fn offline_topo_show_plan_model_without_mpi() {
    let (rc, out, _) = bench("topo show {}", &[&EMU]);
    assert_eq!(rc, 0);
    assert!(out.contains("emu-sw1 (tier 1): emu-n1, emu-n2"), "{out}");
    let (rc, out, _) = bench("topo emu-plan {} --slow-node emu-n2:0.25", &[&EMU]);
    assert_eq!(rc, 0);
    assert!(out.contains("node 1 emu-n2 10.231.7.12 0 50000 1"), "{out}");
    let (rc, out, _) = bench("topo model {} all_reduce 8M", &[&EMU]);
    assert_eq!(rc, 0);
    assert!(out.contains("expected busbw 0.0250 GB/s"), "{out}");
    let (rc, _, err) = bench("topo show /nonexistent.toml", &[]);
    assert_eq!(rc, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent.toml"), "{err}");
}

/// A three-node result (hosts of the emulated cluster) with two all_reduce rows of the
/// given busbw, as the runtime writes it.
fn emu_report(busbw: f64) -> xccl_bench::result::Report {
    use xccl_bench::coll::CollKind;
    use xccl_bench::result::*;
    use xccl_bench::types::{DataType, ReduceOp};
    let ranks = (1..=3)
        .map(|i| RankInfo {
            rank: i - 1,
            host: format!("emu-n{i}"),
            pid: 1,
            local_rank: 0,
            device: "host".into(),
        })
        .collect();
    let row = |size: u64, t: f64| Row {
        collective: CollKind::AllReduce,
        size_bytes: size,
        count: size / 4,
        dtype: DataType::Float,
        op: Some(ReduceOp::Sum),
        op_impl: Some(OpImpl::Native),
        root: -1,
        placement: Placement::OutOfPlace,
        iters: 8,
        time_us: TimeStats {
            avg: t,
            min: t,
            max: t,
            p50: t,
            p99: t,
        },
        algbw_gbs: busbw * 1.5,
        busbw_gbs: busbw,
        wrong: Some(0),
        precision: 0.01,
        per_rank: PerRank {
            mean_us: vec![t; 3],
            p50_us: vec![t; 3],
            p99_us: vec![t; 3],
        },
        verdict: None,
        ranks_timing: None,
    };
    Report {
        meta: RunMeta {
            schema_version: SCHEMA_VERSION,
            tool: TOOL.into(),
            tool_version: "test".into(),
            started_unix: 0,
            collective: CollKind::AllReduce,
            backend: BackendInfo {
                name: "mpi".into(),
                ..Default::default()
            },
            mpi_library: None,
            nranks: 3,
            hosts: vec!["emu-n1".into(), "emu-n2".into(), "emu-n3".into()],
            ranks_per_host: vec![1; 3],
            ranks,
            args: vec![],
            settings: Settings {
                min_bytes: 1 << 20,
                max_bytes: 8 << 20,
                step_factor: Some(8.0),
                step_bytes: None,
                iters: 8,
                warmup_iters: 2,
                check_iters: 1,
                average: Average::Avg,
                blocking: false,
                precision: None,
                time_budget_s: None,
                timeout_s: 0.0,
                timing: Some(TimingMethod::PerCall),
            },
        },
        rows: vec![row(1 << 20, 80000.0), row(8 << 20, 500000.0)],
        summary: Summary {
            check_ok: true,
            complete: true,
            ..Default::default()
        },
        findings: vec![],
        imported: None,
    }
}

#[test]
fn judge_a_saved_result_offline() {
    let good = tmp("good.json");
    let bad = tmp("bad.json");
    let judged = tmp("judged.json");
    std::fs::write(&good, serde_json::to_string(&emu_report(0.0225)).unwrap()).unwrap();
    std::fs::write(&bad, serde_json::to_string(&emu_report(0.0110)).unwrap()).unwrap();
    let line = "judge {} --topology {} --min-efficiency 0.8";
    let (rc, out, _) = bench(line, &[&good, &EMU]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("BW 0.90 RDMA"), "{out}");
    assert!(out.contains("LAT"), "{out}");
    let line = "judge {} --topology {} --min-efficiency 0.8 --write {}";
    let (rc, out, err) = bench(line, &[&bad, &EMU, &judged]);
    assert_eq!(rc, 4, "{out}");
    assert!(out.contains("LOW 0.44 RDMA"), "{out}");
    assert!(err.contains("1 large-message row(s)"), "{err}");
    let back = xccl_schema::read_report(&judged).unwrap();
    assert_eq!(
        back.rows[1].verdict.as_ref().unwrap().class,
        xccl_schema::Class::LowEfficiency
    );
    // A result of hosts the topology does not have: one line, bad input.
    let mut stranger = emu_report(0.0225);
    stranger.meta.ranks[2].host = "elsewhere".into();
    let other = tmp("other.json");
    std::fs::write(&other, serde_json::to_string(&stranger).unwrap()).unwrap();
    let (rc, _, err) = bench("judge {} --topology {}", &[&other, &EMU]);
    assert_eq!(rc, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn topo_wiring_prints_the_cables_and_rejects_a_bad_file_in_one_line() {
    let fx = "analysis/xccl-topo/tests/fixtures";
    let good = format!("{fx}/ibnetdiscover-2leaf.txt");
    let r = solo(&["topo", "wiring", &good], T);
    r.assert_code(0);
    r.assert_stdout_has("node03  mlx5_1/1  leaf-1  5     b8cef60300e5d2a0");
    assert_eq!(r.stdout.lines().count(), 9, "{}", r.stdout);
    let lldp = format!("{fx}/lldp-1.json");
    let r = solo(&["topo", "wiring", &lldp, "--host", "node05"], T);
    r.assert_code(0);
    r.assert_stdout_has("node05  eth2/1  leaf-3  Ethernet12");
    let bad = format!("{fx}/ibnetdiscover-bad.txt");
    let r = solo(&["topo", "wiring", &bad, "--format", "ibnetdiscover"], T);
    r.assert_code(2);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    r.assert_stderr_has("ibnetdiscover-bad.txt:9: expected a port line");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

/// `topo validate --wired`: the declared NIC→leaf attachments against the cabling
/// ibnetdiscover reports, with no job and no measurement. The fixture's topology declares
/// node03's mlx5_1 on leaf-2; the ibnetdiscover file has it on leaf-1.
#[test]
fn topo_validate_wired_names_the_miswired_nic_only() {
    let fx = "analysis/xccl-topo/tests/fixtures";
    let topo = format!("{fx}/ib-2leaf.toml");
    let wired = format!("{fx}/ibnetdiscover-2leaf.txt");
    let r = solo(&["topo", "validate", &topo, "--wired", &wired], T);
    r.assert_code(4);
    let findings: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("finding:"))
        .collect();
    assert_eq!(
        findings,
        ["finding: miswired_nic: node03 mlx5_1: cabled to leaf-1, declared on leaf-2"],
        "{}",
        r.stdout
    );
    // The same file with node03's mlx5_1 declared where it is cabled: no finding.
    let text = std::fs::read_to_string(&topo).unwrap();
    let fixed = text.replacen(
        "host = \"node03\"\nnic = \"mlx5_1\"\nleaf = \"leaf-2\"",
        "host = \"node03\"\nnic = \"mlx5_1\"\nleaf = \"leaf-1\"",
        1,
    );
    assert_ne!(fixed, text, "the fixture declares node03 mlx5_1 on leaf-2");
    let dir = std::env::temp_dir().join(format!("xccl-wired-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixed_path = dir.join("fixed.toml");
    std::fs::write(&fixed_path, fixed).unwrap();
    let r = solo(
        &[
            "topo",
            "validate",
            fixed_path.to_str().unwrap(),
            "--wired",
            &wired,
        ],
        T,
    );
    r.assert_code(0);
    r.assert_stdout_has("# no finding");
    // A wiring file that does not parse: one line, exit 2.
    let bad = format!("{fx}/ibnetdiscover-bad.txt");
    let r = solo(&["topo", "validate", &topo, "--wired", &bad], T);
    r.assert_code(2);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `topo export --slurm` then `topo import` of what it wrote: the same topology.conf again
/// (the grouping round-trips), and the imported file loads with the preset's node type.
/// A bad line of topology.conf is one line naming it, exit 2.
#[test]
fn topo_export_slurm_and_import_round_trip_and_bad_lines_are_one_line() {
    let dir = std::env::temp_dir().join(format!("xccl-slurm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("topology.conf");
    let conf_s = conf.to_str().unwrap();
    let r = solo(
        &[
            "topo",
            "export",
            "topologies/emu-4node-2sw.toml",
            "--slurm",
            conf_s,
        ],
        T,
    );
    r.assert_code(0);
    let text = std::fs::read_to_string(&conf).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        [
            "SwitchName=emu-sw1 Nodes=emu-n[1-2]",
            "SwitchName=emu-sw2-nodes Nodes=emu-n[3-4]",
            "SwitchName=emu-sw2 Switches=emu-sw1,emu-sw2-nodes",
        ]
    );
    let toml = dir.join("imported.toml");
    let node = "topologies/atlas-800t-a2.toml";
    let r = solo(
        &[
            "topo",
            "import",
            conf_s,
            "--node",
            node,
            "-o",
            toml.to_str().unwrap(),
        ],
        T,
    );
    r.assert_code(0);
    let r = solo(
        &["topo", "export", toml.to_str().unwrap(), "--slurm", "-"],
        T,
    );
    r.assert_code(0);
    let again: Vec<&str> = r.stdout.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(again, lines);
    let r = solo(&["topo", "show", toml.to_str().unwrap()], T);
    r.assert_code(0);
    r.assert_stdout_has("emu-sw1 (tier 1): emu-n1, emu-n2");

    for (text, says) in [
        (
            "SwitchName=s0 Nodes=a\n# ok\nSwitchName=s1 Nodez=b\n",
            "bad.conf:3: unknown directive `Nodez`",
        ),
        (
            "SwitchName=s0 \\\n  Nodes=node[01-]\n",
            "bad.conf:2: Nodes=: malformed hostlist `node[01-]`",
        ),
    ] {
        let bad = dir.join("bad.conf");
        std::fs::write(&bad, text).unwrap();
        let r = solo(
            &["topo", "import", bad.to_str().unwrap(), "--node", node],
            T,
        );
        r.assert_code(2);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        r.assert_stderr_has(says);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `topo show` (detected) and `--topology detect` list this host's NICs from sysfs with
/// rate, state and link layer, and each GPU's closest NIC with its PCIe class, read from the
/// fake tree tests/fixtures/sysfs-2gpu (GPU 0 and mlx5_0 under one PCIe switch; GPU 1 and
/// mlx5_1, DOWN, on two root ports of another host bridge).
#[test]
fn detected_topology_lists_nics_and_device_affinity_from_sysfs() {
    let env = [("XCCL_SYSFS_ROOT", "tests/fixtures/sysfs-2gpu")];
    let json = tmp("show-detected.json");
    let r = mpirun(1, &argv("topo show --json {}", &[&json]), &env, T);
    r.assert_code(0);
    let rows = |out: &str, start: &str| -> Vec<String> {
        out.lines()
            .map(|l| l.trim_start_matches('#').trim())
            .filter(|l| l.starts_with(start))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    let want_nics = [
        "mlx5_0/1 ib0 400 Gb/s ACTIVE InfiniBand 0000:04:00.0 0",
        "mlx5_1/1 eth1 200 Gb/s DOWN Ethernet 0000:82:00.0 1",
    ];
    let want_devices = [
        "device 0 0000:03:00.0 (0x10de) mlx5_0/1 (PIX)",
        "device 1 0000:81:00.0 (0x10de) mlx5_1/1 (PHB)",
    ];
    assert_eq!(rows(&r.stdout, "mlx5_"), want_nics, "{}", r.stdout);
    assert_eq!(rows(&r.stdout, "device "), want_devices, "{}", r.stdout);
    let doc = read_json(&json);
    assert_eq!(doc["host_nics"]["nics"][1]["state"], "DOWN");
    assert_eq!(doc["host_nics"]["nics"][0]["rate_gbps"], 400.0);
    assert_eq!(doc["host_nics"]["devices"][1]["affinity"], "PHB");
    assert_eq!(doc["host_nics"]["devices"][0]["nics"][0], "mlx5_0/1");
    assert_eq!(doc["topology"]["nics"]["rate_gbps"], 400.0);
    // --topology detect: the same lines, as comments above the table.
    let r = mpirun(2, &argv("all_reduce -e 64 --topology detect", &[]), &env, T);
    r.assert_code(0);
    assert_eq!(rows(&r.stdout, "mlx5_"), want_nics, "{}", r.stdout);
    assert_eq!(rows(&r.stdout, "device "), want_devices, "{}", r.stdout);
}
