//! The metric families of offline analysis, as pure functions over its typed results:
//! `compare` (xccl-report), `predict` and `train-sim` (xccl-train), `topo validate`
//! (xccl-diag), and `report`'s inputs, all of them in one file.

use super::families::{self, Labels};
use super::MetricSet;
use xccl_diag::leaf::ValidateReport;
use xccl_report::{Comparison, Inputs, Status};
use xccl_topo::wiring::Difference;
use xccl_train::output::{PredictionReport, TrainSimReport};

fn with(base: &[(String, String)], more: &[(&str, String)]) -> Labels {
    let mut l = base.to_vec();
    l.extend(more.iter().map(|(k, v)| (k.to_string(), v.clone())));
    l
}

/// Per matched row: time and busbw ratio new/base and whether it regressed; the count of
/// regressions.
pub fn comparison(set: &mut MetricSet, c: &Comparison) {
    let base = vec![
        ("base".to_string(), c.base.name.clone()),
        ("new".to_string(), c.new.name.clone()),
    ];
    set.gauge(
        "compare_regressions",
        "Rows of `compare` slower than the threshold allows and beyond the noise the two files record.",
    )
    .set(&base, c.regressions as f64);
    for r in &c.rows {
        let k = &r.key;
        let l = with(
            &base,
            &[
                ("collective", k.collective.to_string()),
                ("size_bytes", k.size_bytes.to_string()),
                ("dtype", k.dtype.to_string()),
                ("op", k.op.clone()),
                ("root", k.root.to_string()),
                ("placement", k.placement.to_string()),
                ("nranks", k.nranks.to_string()),
            ],
        );
        set.gauges(
            &l,
            &[
                (
                    "compare_time_ratio",
                    "Mean time of a row in the new file over the base file.",
                    r.time_ratio,
                ),
                (
                    "compare_busbw_ratio",
                    "busbw of a row in the new file over the base file.",
                    r.busbw_ratio,
                ),
                (
                    "compare_regression",
                    "1 when a row regressed (slower than the threshold and beyond the noise), else 0.",
                    f64::from(u8::from(r.status == Status::Regression)),
                ),
            ],
        );
    }
}

/// Predicted step time, its parts, utilisation and throughput; the measured step's
/// utilisation when one was given; linearity per scale.
pub fn prediction(set: &mut MetricSet, base: &[(String, String)], r: &PredictionReport) {
    let p = &r.prediction;
    let l = with(
        base,
        &[
            ("model", p.model.clone()),
            ("device", p.device.clone()),
            ("layout", p.layout.clone()),
            ("devices", p.devices.to_string()),
        ],
    );
    let src = |s: &str| with(&l, &[("source", s.into())]);
    let step = set.gauge(
        "train_step_seconds",
        "Training step time: source=\"predicted\" from measured communication and the device model, \"measured\" as given or run.",
    );
    step.set(&src("predicted"), p.step_time_s);
    if let Some(m) = &r.measured_step {
        step.set(&src("measured"), m.step_time_s);
    }
    let mfu = set.gauge(
        "mfu_ratio",
        "Model FLOPs utilisation: model FLOPs per step over step time times peak FLOPs of every device.",
    );
    mfu.set(&src("predicted"), p.mfu);
    if let Some(m) = &r.measured_step {
        mfu.set(&src("measured"), m.mfu);
    }
    let hfu = set.gauge(
        "hfu_ratio",
        "Hardware FLOPs utilisation (recomputation counted).",
    );
    hfu.set(&src("predicted"), p.hfu);
    if let Some(m) = &r.measured_step {
        hfu.set(&src("measured"), m.hfu);
    }
    set.gauge(
        "tokens_per_second",
        "Training throughput, tokens per second (source=\"predicted\").",
    )
    .set(&src("predicted"), p.tokens_per_s);
    let b = &p.breakdown;
    let parts = set.gauge(
        "predicted_step_part_seconds",
        "The predicted step's parts: compute, exposed communication per dimension, hidden DP communication, pipeline bubble.",
    );
    for (part, s) in [
        ("compute", b.compute_s),
        ("tp_exposed", b.tp_exposed_s),
        ("ep_exposed", b.ep_exposed_s),
        ("pp_exposed", b.pp_exposed_s),
        ("dp_exposed", b.dp_exposed_s),
        ("dp_hidden", b.dp_hidden_s),
        ("bubble", b.bubble_s),
    ] {
        parts.set(&with(&l, &[("part", part.into())]), s);
    }
    let lin = set.gauge(
        "predicted_linearity_ratio",
        "Predicted throughput at a scale over one device's throughput times the devices.",
    );
    for pt in &r.linearity.points {
        lin.set(
            &with(
                base,
                &[
                    ("model", p.model.clone()),
                    ("device", p.device.clone()),
                    ("layout", pt.layout.clone()),
                    ("devices", pt.devices.to_string()),
                ],
            ),
            pt.linearity,
        );
    }
}

/// Per scale `train-sim` ran: predicted and measured step time, and the error.
pub fn train_sim(set: &mut MetricSet, base: &[(String, String)], r: &TrainSimReport) {
    for s in &r.scales {
        let l = with(
            base,
            &[
                ("model", r.model.clone()),
                ("layout", s.layout.clone()),
                ("devices", s.devices.to_string()),
            ],
        );
        let src = |x: &str| with(&l, &[("source", x.into())]);
        let step = set.gauge(
            "train_step_seconds",
            "Training step time: source=\"predicted\" from measured communication and the device model, \"measured\" as given or run.",
        );
        step.set(&src("predicted"), s.predicted_step_s);
        step.set(&src("measured"), s.measured_step_s);
        set.gauge(
            "train_step_error_ratio",
            "(predicted - measured) / measured step time of train-sim (median of the timed steps).",
        )
        .set(&l, s.error);
        let tok = set.gauge(
            "tokens_per_second",
            "Training throughput, tokens per second (source=\"predicted\").",
        );
        tok.set(&src("predicted"), s.predicted_tokens_per_s);
        tok.set(&src("measured"), s.measured_tokens_per_s);
    }
}

/// `topo validate`: each uplink load test (aggregate, expected, efficiency) and the
/// findings.
pub fn validate(set: &mut MetricSet, base: &[(String, String)], v: &ValidateReport) {
    set.gauge(
        "validate_contention_tests",
        "Pairs of flows `topo validate` ran at once to infer the leaf groups.",
    )
    .set(base, v.tests.len() as f64);
    for u in &v.uplinks {
        let l = with(
            base,
            &[
                ("switch", u.uplink.first().cloned().unwrap_or_default()),
                ("parent", u.uplink.get(1).cloned().unwrap_or_default()),
                (
                    "direction",
                    match u.dir {
                        xccl_diag::uplink::Dir::Up => "up",
                        xccl_diag::uplink::Dir::Down => "down",
                    }
                    .into(),
                ),
            ],
        );
        set.gauge(
            "uplink_bandwidth_bytes_per_second",
            "What the flows of an uplink load test carried together, bytes per second.",
        )
        .set(&l, u.measured_gbs * 1e9);
        set.gauge(
            "uplink_expected_bytes_per_second",
            "What the declared rates allow the flows of an uplink load test, bytes per second.",
        )
        .set(&l, u.expected_gbs * 1e9);
        set.gauge(
            "uplink_efficiency_ratio",
            "An uplink load test's aggregate over what the declared rates allow.",
        )
        .set(&l, u.efficiency);
    }
    families::findings(set, base, &v.findings);
}

/// Everything `report` read, each file's series labelled `file` with its name.
pub fn report_inputs(set: &mut MetricSet, i: &Inputs) {
    let file = |n: &str| vec![("file".to_string(), n.to_string())];
    for r in &i.runs {
        let b = file(&r.name);
        families::rows(set, &b, &r.report.rows);
        families::summary(set, &b, &r.report.summary);
        families::findings(set, &b, &r.report.findings);
    }
    for l in &i.links {
        let b = file(&l.name);
        families::links(set, &b, &l.report.matrix, |_| vec![]);
        families::findings(set, &b, &l.report.findings);
    }
    for p in &i.predictions {
        prediction(set, &file(&p.name), &p.data);
    }
    for s in &i.sims {
        train_sim(set, &file(&s.name), &s.data);
    }
    for v in &i.validations {
        validate(set, &file(&v.name), &v.data);
    }
    // The other kinds: their findings (their own series are written by the commands
    // that make them).
    for l in &i.rail_links {
        families::findings(set, &file(&l.name), &l.doc.findings);
    }
    for s in &i.screens {
        families::findings(set, &file(&s.name), &s.data.findings);
    }
    for h in &i.health {
        families::findings(set, &file(&h.name), &h.data.findings);
    }
}

/// `topo validate --wired`: each difference between the declared and the cabled NIC
/// attachments, counted by kind (every kind, 0 where none) and one info series each.
pub fn wiring(set: &mut MetricSet, differences: &[Difference]) {
    const KINDS: [&str; 4] = [
        "miswired_nic",
        "nic_not_wired",
        "unknown_switch",
        "undeclared_nic",
    ];
    let count = set.gauge(
        "findings",
        "Findings of diagnosis by kind (slow_node, slow_link, …); 0 for a kind not found.",
    );
    for k in KINDS {
        let n = differences.iter().filter(|d| d.kind() == k).count();
        count.set(&[("kind", k)], n as f64);
    }
    let info = set.gauge(
        "finding_info",
        "One finding of diagnosis (value 1): its kind and what it names (host, NIC, rail, link, switches, rank or operation).",
    );
    for d in differences {
        let (host, nic, declared, wired) = match d {
            Difference::Miswired {
                host,
                nic,
                declared,
                wired,
            } => (host, nic, Some(declared.clone()), Some(wired.clone())),
            Difference::NotWired {
                host,
                nic,
                declared,
            } => (host, nic, Some(declared.clone()), None),
            Difference::UnknownSwitch {
                host,
                nic,
                declared,
                wired,
            } => (host, nic, declared.clone(), Some(wired.clone())),
            Difference::Undeclared { host, nic, wired } => (host, nic, None, Some(wired.clone())),
        };
        info.set(
            &[
                ("kind", d.kind().to_string()),
                ("subject", "nic".into()),
                ("host", host.clone()),
                ("nic", nic.clone()),
                ("declared", declared.unwrap_or_default()),
                ("wired", wired.unwrap_or_default()),
            ],
            1.0,
        );
    }
}
