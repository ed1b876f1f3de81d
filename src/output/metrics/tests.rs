use super::*;
use xccl_schema::finding::{Finding, FindingKind, Subject};

#[test]
fn label_values_escape_backslash_quote_and_newline_only() {
    assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
    assert_eq!(escape_label_value("x\ny"), r"x\ny");
    assert_eq!(escape_label_value("tab\there é {}=,"), "tab\there é {}=,");
    // HELP text keeps its quotes.
    assert_eq!(escape_help("say \"hi\"\\\nok"), r#"say "hi"\\\nok"#);
}

#[test]
fn names_follow_the_data_model() {
    for ok in ["xccl_bench_busbw_bytes_per_second", "a:b_c", "_x"] {
        assert!(valid_metric_name(ok), "{ok}");
    }
    for bad in ["", "1x", "busbw-gbs", "a.b", "é"] {
        assert!(!valid_metric_name(bad), "{bad}");
    }
    for ok in ["host", "a_rail", "_x", "size_bytes"] {
        assert!(valid_label_name(ok), "{ok}");
    }
    for bad in ["", "__name__", "a:b", "9a", "a-b"] {
        assert!(!valid_label_name(bad), "{bad}");
    }
}

#[test]
#[should_panic(expected = "not a Prometheus label name")]
fn a_bad_label_name_is_refused() {
    MetricSet::new().gauge("x", "h").set(&[("a-b", "v")], 1.0);
}

#[test]
fn numbers_use_the_formats_spelling() {
    assert_eq!(number(f64::NAN), "NaN");
    assert_eq!(number(f64::INFINITY), "+Inf");
    assert_eq!(number(f64::NEG_INFINITY), "-Inf");
    assert_eq!(number(1.5e9), "1500000000");
    assert_eq!(number(2.5e-7), "0.00000025");
    assert_eq!(number(0.1 + 0.2).parse::<f64>().unwrap(), 0.1 + 0.2);
}

#[test]
fn render_groups_help_type_and_samples_and_replaces_repeats() {
    let mut s = MetricSet::new();
    s.gauge("a_ratio", "A \"ratio\".\nSecond line.")
        .set(&[("host", "n\"1"), ("empty", "")], 0.5);
    s.gauge("b_seconds", "B.").set::<&str, &str>(&[], 2.0);
    // Same labels in another order: replaces.
    s.gauge("a_ratio", "ignored")
        .set(&[("empty", ""), ("host", "n\"1")], 0.25);
    s.gauge("a_ratio", "").set(&[("host", "n2")], 1.0);
    s.gauge("unused_ratio", "never set");
    assert_eq!(
        s.render(),
        "# HELP xccl_bench_a_ratio A \"ratio\".\\nSecond line.\n\
         # TYPE xccl_bench_a_ratio gauge\n\
         xccl_bench_a_ratio{host=\"n\\\"1\"} 0.25\n\
         xccl_bench_a_ratio{host=\"n2\"} 1\n\
         # HELP xccl_bench_b_seconds B.\n\
         # TYPE xccl_bench_b_seconds gauge\n\
         xccl_bench_b_seconds 2\n"
    );
}

#[test]
fn findings_count_every_kind_and_name_their_subject() {
    let f = Finding {
        kind: FindingKind::SlowNic,
        subject: Subject::Nic {
            host: "node03".into(),
            nic: "mlx5_1".into(),
            rail: 1,
            devices: vec!["1".into(), "2".into()],
            behaves_as_rail: None,
        },
        evidence: "e".into(),
        metrics: Default::default(),
    };
    let mut s = MetricSet::new();
    families::findings(&mut s, &[], &[f]);
    let text = s.render();
    assert!(
        text.contains("xccl_bench_findings{kind=\"slow_nic\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("xccl_bench_findings{kind=\"slow_node\"} 0\n"));
    assert_eq!(
        s.family("findings").unwrap().len(),
        families::FINDING_KINDS.len()
    );
    assert!(text.contains(
        "xccl_bench_finding_info{kind=\"slow_nic\",subject=\"nic\",host=\"node03\",nic=\"mlx5_1\",rail=\"1\",devices=\"1,2\"} 1\n"
    ), "{text}");
}

#[test]
fn write_replaces_the_file_and_a_missing_directory_is_bad_input() {
    let dir = std::env::temp_dir().join(format!("xccl-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("x.prom");
    std::fs::write(&p, "old").unwrap();
    let mut s = MetricSet::new();
    s.gauge("x_ratio", "X.").set(&[("k", "v")], 1.0);
    write(&p, &s).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), s.render());
    // Nothing else is left in the directory (the temporary file was renamed).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let missing = dir.join("no-such-dir").join("x.prom");
    let e = write(&missing, &s).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(!e.to_string().contains('\n'));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A judged row as a reader sees it (built from JSON).
fn judged_row() -> crate::result::Row {
    serde_json::from_value(serde_json::json!({
        "collective": "all_reduce", "size_bytes": 1048576, "count": 262144,
        "dtype": "float", "op": "sum", "op_impl": "native", "root": -1,
        "placement": "in-place", "iters": 20,
        "time_us": {"avg": 250.0, "min": 200.0, "max": 400.0, "p50": 240.0, "p99": 390.0},
        "algbw_gbs": 4.0, "busbw_gbs": 6.0, "wrong": 0, "precision": 0.01,
        "per_rank": {"mean_us": [250.0, 250.0, 250.0, 250.0], "p50_us": [], "p99_us": []},
        "verdict": {"expected_busbw_gbs": 12.0, "efficiency": 0.5, "class": "low efficiency",
            "bottleneck": "RDMA", "note": "", "large": true, "model_time_us": 100.0,
            "time_ratio": 2.5}
    }))
    .expect("row")
}

#[test]
fn row_families_are_in_base_units_with_the_rows_labels() {
    let mut s = MetricSet::new();
    families::rows(&mut s, &[], &[judged_row()]);
    let text = s.render();
    let l = r#"collective="all_reduce",size_bytes="1048576",dtype="float",op="sum",root="-1",placement="in-place",nranks="4""#;
    for line in [
        format!("xccl_bench_busbw_bytes_per_second{{{l}}} 6000000000"),
        format!("xccl_bench_algbw_bytes_per_second{{{l}}} 4000000000"),
        format!("xccl_bench_time_seconds{{{l},statistic=\"mean\"}} 0.00025"),
        format!("xccl_bench_time_seconds{{{l},statistic=\"p99\"}} 0.00039"),
        format!("xccl_bench_wrong_elements{{{l}}} 0"),
        format!("xccl_bench_expected_busbw_bytes_per_second{{{l}}} 12000000000"),
        format!(
            "xccl_bench_busbw_efficiency_ratio{{{l},verdict=\"low_efficiency\",bottleneck=\"RDMA\"}} 0.5"
        ),
    ] {
        assert!(text.contains(&format!("{line}\n")), "{line} not in\n{text}");
    }
    // Every family name ends with a base unit or is a count, a flag or an info series.
    for name in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = name.trim_end_matches(" gauge");
        assert!(
            ["_bytes_per_second", "_seconds", "_ratio", "_elements"]
                .iter()
                .any(|u| name.ends_with(u)),
            "{name}"
        );
    }
}

/// Per-NIC links of a rail cluster carry each end's host, NIC and rail; device pairs
/// within a node carry the devices.
#[test]
fn rail_links_are_labelled_with_host_nic_and_rail() {
    use xccl_diag::rails::{self, InterLink, IntraLink, Port, RailFabric};
    let f = RailFabric::rail_optimised(vec!["n1".into(), "n2".into()], 2, 50.0, 100.0, 400.0);
    let inter = [InterLink {
        a: Port { node: 0, rail: 1 },
        b: Port { node: 1, rail: 1 },
        round: 0,
        gbs: 10.0,
    }];
    let intra = [IntraLink {
        node: 1,
        i: 0,
        j: 1,
        gbs: 390.0,
    }];
    let m = rails::judge(&f, &inter, &intra, 0.8);
    let mut s = MetricSet::new();
    families::links(&mut s, &[], &m.matrix, families::rail_ends(&m, &f));
    let text = s.render();
    let nic = r#"xccl_bench_link_low{a="n1/nic1",b="n2/nic1",a_host="n1",b_host="n2",class="RDMA",a_nic="nic1",a_rail="1",b_nic="nic1",b_rail="1"} 1"#;
    assert!(text.contains(&format!("{nic}\n")), "{text}");
    let dev = r#"xccl_bench_link_bandwidth_bytes_per_second{a="n2/dev0",b="n2/dev1",a_host="n2",b_host="n2",class="SDMA",a_device="0",b_device="1",direction="one_way"} 390000000000"#;
    assert!(text.contains(&format!("{dev}\n")), "{text}");
}

#[test]
fn subject_labels_follow_the_json_fields_in_order() {
    let op = Subject::Operation {
        collective: xccl_schema::CollKind::AllReduce,
        size_bytes: vec![8, 1024],
    };
    assert_eq!(
        families::subject_labels(&op),
        [
            ("subject", "operation"),
            ("collective", "all_reduce"),
            ("size_bytes", "8,1024"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    let rank = Subject::Rank {
        rank: 3,
        host: "n1".into(),
        device: "gpu3".into(),
    };
    assert_eq!(
        families::subject_labels(&rank),
        [
            ("subject", "rank"),
            ("rank", "3"),
            ("host", "n1"),
            ("device", "gpu3")
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
}
