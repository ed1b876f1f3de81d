//! Sections of the files that hold no curve: `health` (each check against its expected
//! duration), `links --screen` (rounds and suspects), `predict --step-time` without a
//! communication source (utilisation and memory of a measured step) and `predict
//! --search` (the layouts that fit). Each draws one horizontal bar chart, as inline SVG
//! written here (bars with a reference tick need nothing of plotters).

use crate::input::{Named, ScreenDoc};
use crate::page::{esc, finding_item};
use std::fmt::Write;
use xccl_schema::health::{HealthReport, Status};
use xccl_train::output::{SearchReport, UtilisationReport};

/// Layouts drawn of a search (the table lists them all).
pub const SEARCH_BARS: usize = 20;

/// One bar: label, value, a reference drawn as a tick (expected, capacity), and
/// whether it is bad (red).
pub(crate) struct Bar {
    pub label: String,
    pub value: f64,
    pub reference: Option<f64>,
    pub bad: bool,
}

/// Horizontal bars on one scale from 0, with their values written beside them.
pub(crate) fn hbars(id: &str, title: &str, unit: &str, ref_name: &str, bars: &[Bar]) -> String {
    let top = bars
        .iter()
        .map(|b| b.value.max(b.reference.unwrap_or(0.0)))
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let (left, width, row) = (220.0, 520.0, 22.0);
    let h = 40.0 + row * bars.len() as f64 + 24.0;
    let w = left + width + 120.0;
    let mut s = format!(
        "<svg id=\"{id}\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\"><text x=\"10\" y=\"18\" font-size=\"14\" font-family=\"sans-serif\">{}</text>",
        esc(title)
    );
    for (k, b) in bars.iter().enumerate() {
        let y = 32.0 + row * k as f64;
        let bw = width * b.value.max(0.0) / top;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" font-family=\"sans-serif\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text><rect{} x=\"{left}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" font-family=\"sans-serif\" dominant-baseline=\"middle\">{}</text>",
            left - 6.0,
            y + row / 2.0 - 2.0,
            esc(&b.label),
            if b.bad { " class=\"bad\"" } else { "" },
            row - 6.0,
            if b.bad { "#c62828" } else { "#4a7fb5" },
            left + bw + 4.0,
            y + row / 2.0 - 2.0,
            fmt(b.value)
        );
        if let Some(r) = b.reference {
            let x = left + width * r / top;
            let _ = write!(
                s,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#000\" stroke-width=\"2\"/>",
                y - 2.0,
                y + row - 4.0
            );
        }
    }
    let _ = write!(
        s,
        "<text x=\"{left}\" y=\"{:.1}\" font-size=\"10\" font-family=\"sans-serif\">{}{}</text></svg>",
        h - 8.0,
        esc(unit),
        if ref_name.is_empty() {
            String::new()
        } else {
            format!("; black tick: {}", esc(ref_name))
        }
    );
    s
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn findings_list(id: &str, f: &[xccl_schema::Finding]) -> String {
    if f.is_empty() {
        return "<p>No finding.</p>\n".into();
    }
    let mut h = format!("<ul class=\"findings\" id=\"{id}\">\n");
    for x in f {
        let _ = writeln!(h, "{}", finding_item(x, None, ""));
    }
    h + "</ul>\n"
}

/// `health`: the verdict, each check's duration against its expected one, the checks'
/// table (status, floor, why it failed) and the findings.
pub fn health(i: usize, n: &Named<HealthReport>) -> String {
    let r = &n.data;
    let bars: Vec<Bar> = r
        .checks
        .iter()
        .map(|c| Bar {
            label: c.name.clone(),
            value: c.wall_s,
            reference: Some(c.expected_s),
            bad: c.status != Status::Pass,
        })
        .collect();
    let mut h = format!(
        "<section id=\"health-{i}\"><h2>Health: {}</h2>\n<p class=\"{}\">{} — exit {}; {} host(s), {} rank(s), topology <code>{}</code>; {:.2} s (expected {:.2} s).</p>\n<figure class=\"plot\">{}<figcaption>Duration of each check; red: failed or could not run.</figcaption></figure>\n",
        esc(&n.name),
        if r.healthy { "ok" } else { "bad" },
        if r.healthy { "healthy" } else { "NOT healthy" },
        r.exit_code,
        r.hosts.len(),
        r.nranks,
        esc(&r.topology),
        r.wall_s,
        r.expected_s,
        hbars(
            &format!("health-checks-{i}"),
            "check duration",
            "seconds",
            "expected at the topology's nominal rates",
            &bars
        )
    );
    h += "<table><tr><th class=\"l\">check</th><th class=\"l\">command</th><th class=\"l\">status</th><th>floor</th><th>exit</th><th>expected s</th><th>took s</th><th class=\"l\">detail</th></tr>\n";
    for c in &r.checks {
        let st = match c.status {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\"><code>{}</code></td><td class=\"l{}\">{st}</td><td>{:.2}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td class=\"l\">{}</td></tr>",
            esc(&c.name),
            esc(&c.command),
            if c.status == Status::Pass { " ok" } else { " bad" },
            c.floor,
            c.exit_code,
            c.expected_s,
            c.wall_s,
            esc(&c.detail.join("; "))
        );
    }
    h += "</table>\n<h3>Findings</h3>\n";
    h += &findings_list(&format!("health-findings-{i}"), &r.findings);
    h + "</section>\n"
}

/// `links --screen`: the suspects, the rounds' log and the findings.
pub fn screen(i: usize, n: &Named<ScreenDoc>) -> String {
    let s = &n.data;
    let bars: Vec<Bar> = s
        .hosts
        .iter()
        .map(|h| Bar {
            label: h.clone(),
            value: s
                .findings
                .iter()
                .filter(|f| f.subject.to_string().contains(h.as_str()))
                .count() as f64,
            reference: None,
            bad: s.suspects.contains(h),
        })
        .collect();
    let mut h = format!(
        "<section id=\"screen-{i}\"><h2>Link screen: {}</h2>\n<p>{} host(s), {} round(s), {:.2} s; suspects: {}.</p>\n<figure class=\"plot\">{}<figcaption>Findings naming each host; red: a suspect of the screen.</figcaption></figure>\n",
        esc(&n.name),
        s.hosts.len(),
        s.rounds,
        s.wall_s,
        if s.suspects.is_empty() { "none".into() } else { esc(&s.suspects.join(", ")) },
        hbars(&format!("screen-hosts-{i}"), "findings per host", "findings", "", &bars)
    );
    h += &findings_list(&format!("screen-findings-{i}"), &s.findings);
    let _ = writeln!(
        h,
        "<details><summary>Rounds</summary><pre>{}</pre></details>",
        esc(&s.log.join("\n"))
    );
    h + "</section>\n"
}

/// `predict --step-time` alone: MFU, HFU and tokens/s of the measured step, and the
/// memory of the fullest device against its capacity.
pub fn utilisation(i: usize, n: &Named<UtilisationReport>) -> String {
    let u = &n.data;
    let m = &u.memory;
    let gib = |b: f64| b / (1u64 << 30) as f64;
    let parts = [
        ("weights", m.weights_bytes),
        ("gradients", m.gradients_bytes),
        ("optimizer", m.optimizer_bytes),
        ("activations", m.activations_bytes),
        ("working", m.working_bytes),
        ("total", m.total_bytes),
    ];
    let bars: Vec<Bar> = parts
        .iter()
        .map(|(l, b)| Bar {
            label: (*l).into(),
            value: gib(*b),
            reference: (*l == "total").then(|| gib(m.capacity_bytes)),
            bad: *l == "total" && !m.fits,
        })
        .collect();
    format!(
        "<section id=\"utilisation-{i}\"><h2>Utilisation of a measured step: {}</h2>\n<p>{} on {} × {} ({}), {} parameters: step {:.4} s measured, MFU {:.3}, HFU {:.3}, {:.0} tokens/s; {:.3e} model FLOPs and {:.3e} hardware FLOPs per step. Nothing predicted (no communication source was given).</p>\n<figure class=\"plot\">{}<figcaption>Memory of the fullest device ({} stage), GiB; the total against the device's capacity{}.</figcaption></figure>\n</section>\n",
        esc(&n.name),
        esc(&u.model),
        u.devices,
        esc(&u.device),
        esc(&u.layout),
        u.parameters,
        u.measured_step.step_time_s,
        u.measured_step.mfu,
        u.measured_step.hfu,
        u.measured_step.tokens_per_s,
        u.model_flops_per_step,
        u.hardware_flops_per_step,
        hbars(&format!("utilisation-memory-{i}"), "memory per device", "GiB", "capacity", &bars),
        esc(&m.stage),
        if m.fits { "" } else { " (does NOT fit)" }
    )
}

/// `predict --search`: the layouts that fit, best first (predicted tokens/s).
pub fn search(i: usize, n: &Named<SearchReport>) -> String {
    let s = &n.data;
    let r = &s.result;
    let bars: Vec<Bar> = r
        .ranked
        .iter()
        .take(SEARCH_BARS)
        .map(|c| Bar {
            label: c.layout.clone(),
            value: c.tokens_per_s,
            reference: None,
            bad: false,
        })
        .collect();
    let mut h = format!(
        "<section id=\"search-{i}\"><h2>Layout search: {}</h2>\n<p>{} on {} × {}, global batch {}, sequence {}: {} layout(s) tried, {} fit; communication times from {}. Predicted, not measured.</p>\n<figure class=\"plot\">{}<figcaption>Predicted tokens/s of the best {} layout(s) that fit.</figcaption></figure>\n",
        esc(&n.name),
        esc(&s.model),
        r.devices,
        esc(&s.device),
        s.global_batch,
        s.seq,
        r.tried,
        r.fit,
        esc(&s.comm_source),
        hbars(&format!("search-bars-{i}"), "predicted tokens/s", "tokens/s", "", &bars),
        bars.len()
    );
    h += "<details><summary>Layouts that fit</summary><table><tr><th class=\"l\">layout</th><th class=\"l\">recompute</th><th>ZeRO</th><th class=\"l\">SP</th><th>step s</th><th>MFU</th><th>tokens/s</th><th>memory GiB</th></tr>\n";
    for c in &r.ranked {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{:?}</td><td>{}</td><td class=\"l\">{}</td><td>{:.4}</td><td>{:.3}</td><td>{:.0}</td><td>{:.1}</td></tr>",
            esc(&c.layout),
            c.recompute,
            c.zero,
            if c.sequence_parallel { "yes" } else { "no" },
            c.step_time_s,
            c.mfu,
            c.tokens_per_s,
            c.memory.total_bytes / (1u64 << 30) as f64
        );
    }
    h + "</table></details>\n</section>\n"
}
