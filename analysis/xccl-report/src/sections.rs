//! Report sections built from the files other than benchmark results: the link matrix
//! of `links --json` as a heat map beside its findings, with the switch grouping; and
//! predicted against measured step time and linearity from `predict --json` and
//! `train-sim --json`. Each is drawn only from what the files hold.

use crate::input::{inferred_grouping, Inputs, LinksFile, Named};
use crate::page::{esc, figure, figure_svg, finding_item, Options};
use crate::plot::{self, Bars, Chart, Heat, Line};
use std::fmt::Write;
use xccl_diag::leaf::ValidateReport;
use xccl_schema::finding::{FindingKind, Subject};

/// One link matrix: heat map, findings, links table, switch grouping.
pub fn links(i: usize, l: &LinksFile, opts: &Options) -> String {
    let r = &l.report;
    let m = &r.matrix;
    let mut h = format!(
        "<section id=\"links-{i}\"><h2>Link matrix: {}</h2>\n<p>{} host(s) ({}), {} B × {} per direction, {} schedule: {} round(s) of node pairs (one pair at a time: {}), {:.2} s; expected rates from {}.</p>\n",
        esc(&l.name),
        r.hosts.len(),
        esc(&r.hosts.join(", ")),
        r.size_bytes,
        r.iters,
        esc(&r.schedule),
        r.rounds,
        r.serial_rounds,
        r.wall_s,
        esc(if m.expected_from.is_empty() { "?" } else { &m.expected_from }),
    );
    // Endpoints with at least one link, in matrix order.
    let used: Vec<usize> = (0..m.names.len())
        .filter(|&k| m.links.iter().any(|x| x.a == k || x.b == k))
        .collect();
    let pos = |k: usize| used.iter().position(|&u| u == k).expect("used");
    let names: Vec<String> = used.iter().map(|&k| m.names[k].clone()).collect();
    let mut cells = vec![];
    for x in &m.links {
        let (a, b) = (pos(x.a), pos(x.b));
        cells.push((a, b, x.efficiency, x.low));
        cells.push((b, a, x.efficiency, x.low));
    }
    let side = (160 + 90 * names.len() as u32).clamp(420, 900);
    let fig = figure_svg(
        &format!("links-matrix-{i}"),
        &format!(
            "Efficiency of each link (one direction measured over expected), endpoint a's row, b's column; red below {:.1}, green from 1. Framed and tagged LOW: the links the file judges low.",
            opts.threshold
        ),
        plot::render_heat(
            &Heat {
                title: "link efficiency (measured / expected)",
                names: &names,
                cells,
                threshold: opts.threshold,
            },
            (side, side.min(700)),
        ),
    );
    let mut items = String::new();
    for f in &r.findings {
        let _ = writeln!(items, "{}", finding_item(f, None, ""));
    }
    if items.is_empty() {
        items = format!(
            "<li>No finding: no link is judged low (below {:.1} of expected).</li>\n",
            opts.threshold
        );
    }
    let _ = write!(
        h,
        "<div class=\"side\">{fig}<div><h3>Findings</h3><ul class=\"findings\" id=\"links-findings-{i}\">\n{items}</ul></div></div>\n"
    );
    h += "<details><summary>Links</summary><table><tr><th class=\"l\">a</th><th class=\"l\">b</th><th class=\"l\">class</th><th>round</th><th>one way GB/s</th><th>both ways GB/s</th><th>latency µs</th><th>expected GB/s</th><th>efficiency</th><th class=\"l\">judged</th></tr>\n";
    for x in &m.links {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.1}</td><td>{:.3}</td><td>{:.2}</td><td class=\"l{}\">{}</td></tr>",
            esc(&m.names[x.a]),
            esc(&m.names[x.b]),
            x.class,
            x.round,
            x.uni_gbs,
            x.bi_gbs,
            x.latency_us,
            x.expected_gbs,
            x.efficiency,
            if x.low { " bad" } else { "" },
            if x.low { "LOW" } else { "ok" }
        );
    }
    h += "</table></details>\n";
    h += &grouping(i, l);
    h += "</section>\n";
    h
}

/// Switch grouping of the matrix's hosts: declared (topology) beside inferred.
fn grouping(i: usize, l: &LinksFile) -> String {
    let inferred = inferred_grouping(&l.report);
    let mut h = format!(
        "<div id=\"switch-grouping-{i}\"><h3>Switch grouping: declared and inferred</h3>\n"
    );
    match &l.declared {
        Err(why) => {
            let _ = writeln!(h, "<p>Declared: not known ({}).</p>", esc(why));
        }
        Ok(groups) => {
            h += "<table class=\"grouping\"><tr><th class=\"l\">host</th><th class=\"l\">declared leaf switch</th><th class=\"l\">inferred from the matrix</th></tr>\n";
            for g in groups {
                for n in &g.nodes {
                    let inf = inferred
                        .as_ref()
                        .and_then(|v| v.iter().find(|x| x.nodes.contains(n)))
                        .map_or("not inferred".to_string(), |x| esc(&x.switch));
                    let _ = writeln!(
                        h,
                        "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{inf}</td></tr>",
                        esc(n),
                        esc(&g.switch)
                    );
                }
            }
            h += "</table>\n";
        }
    }
    if inferred.is_none() {
        h += "<p>Inferred grouping: not from the link matrix (pairs measured one round at a time do not load an uplink with several flows); <code>topo validate --json</code> infers leaf groups by contention, and its file, given to <code>report</code>, gets its own section.</p>\n";
    }
    h += "</div>\n";
    h
}

/// `topo validate`: each host's declared leaf switch beside the group contention put it
/// in; a host whose group disagrees with its declaration is marked, and the findings
/// (misplaced_node) are listed.
pub fn validation(i: usize, t: &Named<ValidateReport>) -> String {
    let v = &t.data;
    let group_of = |h: &str| v.groups.iter().position(|g| g.iter().any(|x| x == h));
    // A group named by its members: which hosts share a leaf, whatever the file says.
    let group_name = |g: usize| format!("group {}: {}", g + 1, v.groups[g].join(", "));
    let mut h = format!(
        "<section id=\"validate-{i}\"><h2>Switch grouping: inferred against declared ({})</h2>\n<p>Leaf groups inferred by <code>topo validate</code> from contention (two flows that slow each other down share an uplink) against <code>{}</code>; {} tests, {:.1} s.</p>\n<table class=\"grouping\"><tr><th class=\"l\">host</th><th class=\"l\">declared leaf switch</th><th class=\"l\">inferred group</th><th class=\"l\"></th></tr>\n",
        esc(&t.name),
        esc(&v.file),
        v.tests.len(),
        v.wall_s
    );
    for (k, host) in v.hosts.iter().enumerate() {
        // A node none of whose flows could testify (a slow NIC cannot load an uplink).
        let undetermined = v.undetermined.iter().find(|u| &u.host == host).map(|u| {
            format!(
                "not determinable (best flow alone {:.2} of expected)",
                u.best_alone
            )
        });
        let inferred = group_of(host)
            .map(group_name)
            .or(undetermined)
            .unwrap_or_else(|| "none".to_string());
        let misplaced = v.findings.iter().any(|f| {
            f.kind == FindingKind::MisplacedNode
                && matches!(&f.subject, Subject::Placement { host: x, .. } if x == host)
        });
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l{}\">{}</td></tr>",
            esc(host),
            esc(v.declared.get(k).map_or("-", String::as_str)),
            esc(&inferred),
            if misplaced { " bad" } else { "" },
            if misplaced { "misplaced" } else { "" }
        );
    }
    h += "</table>\n";
    for class in &v.indistinguishable {
        let _ = writeln!(
            h,
            "<p class=\"note\">Leaves {} are not told apart: by the file's rates two crossing flows do not slow each other down there, so a host placed wrongly among them is not detected.</p>",
            esc(&class.join(", "))
        );
    }
    h += &uplink_tests(i, v);
    if v.findings.is_empty() && v.undetermined.is_empty() {
        h += if v.indistinguishable.is_empty() {
            "<p>No finding: every host sits where the file declares it.</p>\n"
        } else {
            "<p>No finding: every host sits where the file declares it, among the leaves told apart.</p>\n"
        };
    } else if v.findings.is_empty() {
        h += "<p>No finding; the hosts marked not determinable could not be placed.</p>\n";
    } else {
        let _ = writeln!(h, "<ul class=\"findings\" id=\"validate-findings-{i}\">");
        for f in &v.findings {
            let _ = writeln!(
                h,
                "<li><b>{}</b>: {}: {}</li>",
                f.kind,
                esc(&f.subject.to_string()),
                esc(&f.evidence)
            );
        }
        h += "</ul>\n";
    }
    h += "</section>\n";
    h
}

/// `topo validate`'s load test of each declared uplink: flows across it at once, what
/// they carried together against the topology model's rate, and the verdict.
fn uplink_tests(i: usize, v: &ValidateReport) -> String {
    if v.uplinks.is_empty() {
        return String::new();
    }
    let mut h = format!(
        "<table class=\"uplinks\" id=\"validate-uplinks-{i}\"><tr><th class=\"l\">uplink</th><th class=\"l\">direction</th><th class=\"l\">flows at once</th><th>measured GB/s</th><th>expected GB/s</th><th>efficiency</th><th class=\"l\"></th></tr>\n"
    );
    for u in &v.uplinks {
        let (class, verdict) = match (&u.not_judged, u.low) {
            (Some(why), _) => ("", format!("not judged: {why}")),
            (None, true) => (" bad", "LOW".to_string()),
            (None, false) => ("", String::new()),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.2}</td><td class=\"l{class}\">{}</td></tr>",
            esc(&u.uplink.join(" <-> ")),
            match u.dir {
                xccl_diag::uplink::Dir::Up => "up",
                xccl_diag::uplink::Dir::Down => "down",
            },
            esc(&u.flows.join(", ")),
            u.measured_gbs,
            u.expected_gbs,
            u.efficiency,
            esc(&verdict)
        );
    }
    h += "</table>\n";
    h
}

/// Milliseconds per second: step times are plotted in ms, as people quote them.
const MS: f64 = 1e3;

/// Predicted against measured step time, and linearity.
pub fn prediction(inputs: &Inputs, opts: &Options) -> String {
    let mut h =
        String::from("<section id=\"prediction\"><h2>Prediction: step time and linearity</h2>\n");
    let mut groups = vec![];
    let mut rows = String::new();
    for s in &inputs.sims {
        for r in &s.data.scales {
            groups.push((
                format!("{} ({})", r.layout, s.name),
                MS * r.predicted_step_s,
                Some((
                    MS * r.measured_step_s,
                    MS * r.measured_min_s,
                    MS * r.measured_max_s,
                )),
            ));
            let _ = writeln!(
                rows,
                "<tr><td class=\"l\">{}</td><td class=\"l\">train-sim: {}, {} step(s) per scale</td><td class=\"l\">{}</td><td>{}</td><td>{:.4}</td><td>{:.4} ({:.4}..{:.4})</td><td class=\"{}\">{:+.1}%</td><td class=\"l\">{}</td></tr>",
                esc(&s.name),
                esc(&s.data.model),
                s.data.steps,
                esc(&r.layout),
                r.devices,
                r.predicted_step_s,
                r.measured_step_s,
                r.measured_min_s,
                r.measured_max_s,
                if r.error.abs() > 0.1 { "bad" } else { "ok" },
                100.0 * r.error,
                esc(&s.data.comm_source)
            );
        }
    }
    for p in &inputs.predictions {
        let d = &p.data.prediction;
        let meas = p.data.measured_step.as_ref();
        groups.push((
            format!("{} ({})", d.layout, p.name),
            MS * d.step_time_s,
            meas.map(|m| {
                let t = MS * m.step_time_s;
                (t, t, t)
            }),
        ));
        let _ = writeln!(
            rows,
            "<tr><td class=\"l\">{}</td><td class=\"l\">predict: {} on {}; MFU {:.3}% predicted{}</td><td class=\"l\">{}</td><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            esc(&p.name),
            esc(&d.model),
            esc(&d.device),
            100.0 * d.mfu,
            meas.map_or(String::new(), |m| format!(", {:.3}% measured", 100.0 * m.mfu)),
            esc(&d.layout),
            d.devices,
            d.step_time_s,
            meas.map_or("-".into(), |m| format!("{:.4}", m.step_time_s)),
            meas.map_or("-".into(), |m| format!(
                "{:+.1}%",
                100.0 * (d.step_time_s - m.step_time_s) / m.step_time_s
            )),
            esc(&d.comm_source)
        );
    }
    h += &bars_figure(
        "step-time",
        "Step time per layout: predicted (left bar) and measured (right bar: the median step, whisker min..max; train-sim runs the predicted schedule for real, predict --step-time gives one measured step). Above each pair: (predicted − measured) / measured.",
        &Bars {
            title: "step time: predicted and measured",
            y_desc: "step time (ms)",
            groups,
        },
    );
    let _ = write!(
        h,
        "<table class=\"steps\"><tr><th class=\"l\">file</th><th class=\"l\">what</th><th class=\"l\">layout</th><th>devices</th><th>predicted (s)</th><th>measured (s)</th><th>error</th><th class=\"l\">communication times from</th></tr>\n{rows}</table>\n"
    );

    // Linearity over devices.
    let mut lines = vec![];
    let mut xs = vec![];
    for (c, p) in inputs.predictions.iter().enumerate() {
        let pts: Vec<(f64, f64)> = p
            .data
            .linearity
            .points
            .iter()
            .map(|s| (s.devices as f64, s.linearity))
            .collect();
        xs.extend(pts.iter().map(|q| q.0));
        lines.push(Line {
            label: format!("{}: predicted (vs 1 device)", p.name),
            points: pts,
            color: c,
            dashed: false,
        });
    }
    for (c, s) in inputs.sims.iter().enumerate() {
        let l = s.data.linearity();
        if l.len() < 2 {
            continue;
        }
        let c = c + inputs.predictions.len();
        xs.extend(l.iter().map(|q| q.0 as f64));
        lines.push(Line {
            label: format!("{}: measured (vs {} devices)", s.name, l[0].0),
            points: l.iter().map(|q| (q.0 as f64, q.1)).collect(),
            color: c,
            dashed: false,
        });
        lines.push(Line {
            label: format!("{}: predicted (vs {} devices)", s.name, l[0].0),
            points: l.iter().map(|q| (q.0 as f64, q.2)).collect(),
            color: c,
            dashed: true,
        });
    }
    if !lines.is_empty() {
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(0.0, f64::max);
        lines.push(Line {
            label: format!("{:.1}: communication-bound line", opts.threshold),
            points: vec![(lo, opts.threshold), (hi.max(lo * 2.0), opts.threshold)],
            color: 6,
            dashed: true,
        });
        h += &figure(
            "linearity",
            &format!("Linearity against devices: throughput over (the base scale's throughput × the device ratio), tp and pp kept, dp grown. predict's points are relative to one device; train-sim's to its smallest scale, measured (solid) beside predicted (dashed). Below {:.1}: communication is the bottleneck (docs/SOURCES.md [ascend-tuning]).", opts.threshold),
            &Chart {
                title: "linearity",
                x_desc: "devices",
                y_desc: "linearity",
                log_y: false,
                lines,
                bands: vec![],
            },
            (960, 400),
        );
    }
    for p in &inputs.predictions {
        if let Some(v) = &p.data.linearity.verdict {
            let _ = writeln!(h, "<p class=\"bad\">{}: {}</p>", esc(&p.name), esc(v));
        }
    }
    h += "</section>\n";
    h
}

fn bars_figure(id: &str, caption: &str, b: &Bars) -> String {
    let w = (200 + 170 * b.groups.len() as u32).clamp(640, 1060);
    figure_svg(id, caption, plot::render_bars(b, (w, 400)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{group_hosts, Group, Named};
    use std::collections::BTreeMap;
    use xccl_diag::links::{Link, LinksReport, Matrix};
    use xccl_schema::finding::Subject;
    use xccl_schema::{Finding, FindingKind, LinkClass};
    use xccl_train::output::{ScaleResult, TrainSimReport};

    fn link(a: usize, b: usize, eff: f64) -> Link {
        Link {
            a,
            b,
            class: LinkClass::Rdma,
            round: 0,
            uni_gbs: eff * 10.0,
            bi_gbs: eff * 10.0,
            latency_us: 5.0,
            expected_gbs: 10.0,
            efficiency: eff,
            bi_efficiency: eff,
            low: eff < xccl_schema::rules::BANDWIDTH_EFFICIENCY,
        }
    }

    fn links_file(declared: Result<Vec<Group>, String>) -> LinksFile {
        LinksFile {
            name: "l.json".into(),
            declared,
            report: LinksReport {
                tool: "xccl-bench".into(),
                kind: "links".into(),
                schema_version: 1,
                hosts: vec!["n0".into(), "n1".into(), "n2".into()],
                size_bytes: 1 << 20,
                iters: 4,
                schedule: "circle".into(),
                rounds: 3,
                serial_rounds: 3,
                wall_s: 0.5,
                matrix: Matrix {
                    // "spare" has no link: left out of the heat map.
                    names: vec!["n0".into(), "n1".into(), "n2".into(), "spare".into()],
                    links: vec![link(0, 1, 0.95), link(0, 2, 0.5), link(1, 2, 0.9)],
                    expected_from: "topology t.toml".into(),
                },
                findings: vec![Finding {
                    kind: FindingKind::SlowLink,
                    subject: Subject::Link {
                        a: "n0".into(),
                        b: "n2".into(),
                    },
                    evidence: "0.50 of expected".into(),
                    metrics: BTreeMap::new(),
                }],
                rechecks: vec![],
                unconfirmed: vec![],
            },
        }
    }

    #[test]
    fn link_matrix_marks_the_low_link_and_lists_findings() {
        let h = links(
            0,
            &links_file(Err("no topology".into())),
            &Options::default(),
        );
        assert_eq!(
            h.matches("<figure id=\"links-matrix-0\" class=\"plot\"><svg")
                .count(),
            1
        );
        // The low link in both of its cells, the others with their value.
        assert_eq!(h.matches("0.50 LOW").count(), 2, "{h}");
        assert_eq!(h.matches("\n0.95\n</text>").count(), 2, "{h}");
        assert!(
            !h.contains("spare\n</text>"),
            "endpoint without links drawn"
        );
        assert!(h.contains("<li data-kind=\"slow_link\"><b>slow_link</b>"));
        assert!(h.contains("Declared: not known (no topology)."));
        assert!(h.contains("topo validate --json</code> infers leaf groups"));
    }

    #[test]
    fn declared_grouping_follows_the_topology() {
        let t = xccl_topo::Topology::from_toml_str(
            r#"version = 1
name = "two-leaves"
hosts = ["n0", "n1", "n2"]
[node]
devices = 1
[node.fabric]
kind = "shm"
bw_gbs = 2.0
[node.nic]
count = 1
rate_gbps = 100
transport = "tcp"
[[switch]]
name = "spine"
tier = 2
[[switch]]
name = "leaf-a"
tier = 1
parent = "spine"
uplink_gbps = 100
hosts = ["n0", "n2"]
[[switch]]
name = "leaf-b"
tier = 1
parent = "spine"
uplink_gbps = 100
hosts = ["n1"]
"#,
            "t.toml",
        )
        .unwrap();
        let g = group_hosts(&t, &["n0".into(), "n1".into(), "n2".into()]);
        assert_eq!(
            g,
            vec![
                Group {
                    switch: "leaf-a".into(),
                    nodes: vec!["n0".into(), "n2".into()]
                },
                Group {
                    switch: "leaf-b".into(),
                    nodes: vec!["n1".into()]
                }
            ]
        );
        let h = links(3, &links_file(Ok(g)), &Options::default());
        assert!(h.contains("<div id=\"switch-grouping-3\">"));
        assert!(h.contains(
            "<tr><td class=\"l\">n2</td><td class=\"l\">leaf-a</td><td class=\"l\">not inferred</td></tr>"
        ));
    }

    fn scale(layout: &str, devices: u64, pred: f64, meas: f64) -> ScaleResult {
        let tokens = 1000.0 * devices as f64;
        ScaleResult {
            layout: layout.into(),
            devices,
            predicted_step_s: pred,
            measured_step_s: meas,
            measured_min_s: meas * 0.9,
            measured_max_s: meas * 1.1,
            error: (pred - meas) / meas,
            predicted_tokens_per_s: tokens / pred,
            measured_tokens_per_s: tokens / meas,
            phases: None,
        }
    }

    #[test]
    fn step_time_and_linearity_from_train_sim() {
        let mut i = Inputs::default();
        i.sims.push(Named {
            name: "sim.json".into(),
            data: TrainSimReport::new(
                "tiny".into(),
                4,
                3,
                "measured".into(),
                // (0.9 − 1.0) / 1.0 = −10.0 %; (1.1 − 1.25) / 1.25 = −12.0 %.
                vec![scale("dp=1", 1, 0.9, 1.0), scale("dp=4", 4, 1.1, 1.25)],
            ),
        });
        let h = prediction(&i, &Options::default());
        assert_eq!(
            h.matches("<figure id=\"step-time\" class=\"plot\"><svg")
                .count(),
            1
        );
        assert_eq!(
            h.matches("<figure id=\"linearity\" class=\"plot\"><svg")
                .count(),
            1
        );
        assert!(h.contains("error -10.0%"), "{h}");
        assert!(h.contains("error -12.0%"));
        assert!(h.contains("sim.json: measured (vs 1 devices)"));
        assert!(h.contains("0.8: communication-bound line"));
        // Nothing to plot: no figure of it, no crash.
        let h = prediction(&Inputs::default(), &Options::default());
        assert!(h.contains("<figure id=\"step-time\"><p>Not drawn: no data to plot"));
        assert!(!h.contains("id=\"linearity\""));
    }

    fn validate_report(misplaced: Option<&str>) -> Named<ValidateReport> {
        use xccl_schema::finding::Finding;
        let hosts: Vec<String> = ["n1", "n2", "n3", "n4"].map(String::from).to_vec();
        let findings = misplaced
            .map(|h| Finding {
                kind: FindingKind::MisplacedNode,
                subject: Subject::Placement {
                    host: h.into(),
                    declared: "sw2".into(),
                    measured: "n1".into(),
                },
                evidence: "contends with n1's flows".into(),
                metrics: Default::default(),
            })
            .into_iter()
            .collect();
        Named {
            name: "validate.json".into(),
            data: ValidateReport {
                tool: "xccl-bench".into(),
                kind: "topo-validate".into(),
                schema_version: 1,
                file: "t.toml".into(),
                hosts,
                declared: ["sw1", "sw2", "sw2", "sw2"].map(String::from).to_vec(),
                wall_s: 1.5,
                tests: vec![],
                groups: vec![
                    vec!["n1".into(), "n2".into()],
                    vec!["n3".into(), "n4".into()],
                ],
                undetermined: vec![],
                uplinks: vec![],
                indistinguishable: vec![],
                findings,
            },
        }
    }

    #[test]
    fn validation_marks_exactly_the_misplaced_host() {
        let h = validation(0, &validate_report(Some("n2")));
        assert!(h.contains("<section id=\"validate-0\">"), "{h}");
        // n2 is declared under sw2 but contends like n1, which is under sw1.
        assert!(h.contains("<tr><td class=\"l\">n2</td><td class=\"l\">sw2</td><td class=\"l\">group 1: n1, n2</td><td class=\"l bad\">misplaced</td></tr>"), "{h}");
        assert_eq!(h.matches("misplaced</td>").count(), 1, "{h}");
        assert!(h.contains("<ul class=\"findings\" id=\"validate-findings-0\">"));
        assert!(h.contains("group 2: n3, n4"));
        let clean = validation(0, &validate_report(None));
        assert_eq!(clean.matches("misplaced</td>").count(), 0);
        assert!(clean.contains("No finding: every host"));
        assert!(!clean.contains("validate-uplinks-0"));
        assert!(!clean.contains("are not told apart"));
    }

    #[test]
    fn validation_says_which_leaves_it_cannot_tell_apart() {
        let mut t = validate_report(None);
        t.data.indistinguishable = vec![vec!["sw1".into(), "sw2".into()]];
        let h = validation(0, &t);
        assert!(h.contains("Leaves sw1, sw2 are not told apart"), "{h}");
        assert!(h.contains("among the leaves told apart"), "{h}");
    }

    #[test]
    fn validation_shows_uplink_tests_and_undetermined_hosts() {
        use xccl_diag::leaf::UndeterminedRecord;
        use xccl_diag::uplink::{Dir, UplinkRecord};
        let mut t = validate_report(None);
        t.data.groups = vec![];
        t.data.undetermined = vec![UndeterminedRecord {
            host: "n3".into(),
            best_alone: 0.24,
            note: "slow".into(),
        }];
        t.data.uplinks = vec![UplinkRecord {
            uplink: vec!["sw1".into(), "sw2".into()],
            dir: Dir::Up,
            flows: vec!["n1->n3".into(), "n2->n4".into()],
            measured_gbs: 0.0061,
            flow_gbs: vec![0.003, 0.0031],
            expected_gbs: 0.025,
            bottleneck: "uplink sw1".into(),
            efficiency: 0.244,
            low: true,
            not_judged: None,
        }];
        let h = validation(0, &t);
        assert!(
            h.contains("<td class=\"l\">not determinable (best flow alone 0.24 of expected)</td>"),
            "{h}"
        );
        assert!(
            h.contains("<table class=\"uplinks\" id=\"validate-uplinks-0\">"),
            "{h}"
        );
        assert!(h.contains("<td class=\"l\">sw1 &lt;-&gt; sw2</td><td class=\"l\">up</td><td class=\"l\">n1-&gt;n3, n2-&gt;n4</td><td>0.0061</td><td>0.0250</td><td>0.24</td><td class=\"l bad\">LOW</td>"), "{h}");
        assert!(h.contains("could not be placed"), "{h}");
        assert!(!h.contains("every host sits where"), "{h}");
    }
}
