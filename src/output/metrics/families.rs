//! The metric families of measured results, as pure functions from the typed results
//! (`xccl-schema` rows and findings, `xccl-diag` link matrices) into a [`MetricSet`].
//! `base` labels (e.g. `file` in `report`) go on every sample, so several results in one
//! file never share a label set.

use super::MetricSet;
use xccl_diag::links::Matrix;
use xccl_diag::rails::{Ends, RailFabric, RailMatrix};
use xccl_schema::finding::{Finding, FindingKind, Subject};
use xccl_schema::result::{BackendInfo, Row, Summary};
use xccl_schema::verdict::Class;

/// Labels, owned.
pub type Labels = Vec<(String, String)>;

fn with(base: &[(String, String)], more: &[(&str, String)]) -> Labels {
    let mut l = base.to_vec();
    l.extend(more.iter().map(|(k, v)| (k.to_string(), v.clone())));
    l
}

/// GB/s (10^9 bytes/s, as the tables print) to bytes per second.
fn bps(gbs: f64) -> f64 {
    gbs * 1e9
}

/// `xccl_bench_info{command, version, backend, library, library_version} 1`.
pub fn run_info(set: &mut MetricSet, command: &str, backend: Option<&BackendInfo>) {
    let b = backend;
    set.gauge(
        "info",
        "xccl-bench run: the command, the tool's version and the communication backend and library (value 1).",
    )
    .set(
        &[
            ("command", command.to_string()),
            ("version", env!("CARGO_PKG_VERSION").to_string()),
            ("backend", b.map_or(String::new(), |b| b.name.clone())),
            ("library", b.map_or(String::new(), |b| b.library.clone())),
            ("library_version", b.map_or(String::new(), |b| b.version.clone())),
        ],
        1.0,
    );
}

/// Snake-case name of a verdict class (a label value).
pub fn class_label(c: Class) -> &'static str {
    match c {
        Class::BandwidthBound => "bandwidth_bound",
        Class::LowEfficiency => "low_efficiency",
        Class::LatencyBound => "latency_bound",
        Class::AboveModel => "above_model",
        Class::NotApplicable => "not_applicable",
    }
}

/// What identifies a row: collective, size, type, op, root, placement, rank count.
pub fn row_labels(base: &[(String, String)], r: &Row) -> Labels {
    with(
        base,
        &[
            ("collective", r.collective.to_string()),
            ("size_bytes", r.size_bytes.to_string()),
            ("dtype", r.dtype.to_string()),
            ("op", r.op_name().to_string()),
            ("root", r.root.to_string()),
            ("placement", r.placement.to_string()),
            ("nranks", r.nranks().to_string()),
        ],
    )
}

/// busbw, algbw, time (mean, p50, p99), wrong elements, and with a verdict the expected
/// busbw and the efficiency (labelled with the verdict's class and bottleneck).
pub fn rows(set: &mut MetricSet, base: &[(String, String)], rows: &[Row]) {
    for r in rows {
        let l = row_labels(base, r);
        set.gauge(
            "busbw_bytes_per_second",
            "Bus bandwidth of a row (algbw times the collective's bus factor, as nccl-tests), bytes per second.",
        )
        .set(&l, bps(r.busbw_gbs));
        set.gauge(
            "algbw_bytes_per_second",
            "Algorithm bandwidth of a row (bytes of the operation over its mean time), bytes per second.",
        )
        .set(&l, bps(r.algbw_gbs));
        let t = set.gauge(
            "time_seconds",
            "Time of one call of a row: mean (ranks combined as -a says), p50 and p99 over every iteration of every rank.",
        );
        for (stat, us) in [
            ("mean", r.time_us.avg),
            ("p50", r.time_us.p50),
            ("p99", r.time_us.p99),
        ] {
            t.set(&with(&l, &[("statistic", stat.into())]), us * 1e-6);
        }
        if let Some(w) = r.wrong {
            set.gauge(
                "wrong_elements",
                "Elements that differed from the expected result in the correctness check, summed over ranks.",
            )
            .set(&l, w as f64);
        }
        if let Some(v) = &r.verdict {
            set.gauge(
                "expected_busbw_bytes_per_second",
                "What the topology model says a row's busbw should reach (the bottleneck link's ceiling), bytes per second.",
            )
            .set(&l, bps(v.expected_busbw_gbs));
            let vl = with(
                &l,
                &[
                    ("verdict", class_label(v.class).into()),
                    ("bottleneck", v.bottleneck.to_string()),
                ],
            );
            set.gauge(
                "busbw_efficiency_ratio",
                "Measured busbw over the topology model's expected busbw; rows with verdict=\"latency_bound\" are judged on time instead.",
            )
            .set(&vl, v.efficiency);
        }
    }
}

/// Whether every element was right, and whether the run finished.
pub fn summary(set: &mut MetricSet, base: &[(String, String)], s: &Summary) {
    set.gauge(
        "check_ok",
        "1 when every checked element was right, else 0.",
    )
    .set(base, f64::from(u8::from(s.check_ok)));
    set.gauge(
        "run_complete",
        "1 when the run finished every row, 0 when it stopped early.",
    )
    .set(base, f64::from(u8::from(s.complete)));
}

/// Every finding kind this build knows.
pub const FINDING_KINDS: [FindingKind; 10] = [
    FindingKind::SlowRank,
    FindingKind::SlowNode,
    FindingKind::SlowLink,
    FindingKind::SlowUplink,
    FindingKind::MisplacedNode,
    FindingKind::Algorithm,
    FindingKind::SlowNic,
    FindingKind::SlowDeviceLink,
    FindingKind::MiswiredNic,
    FindingKind::SmallMessages,
];

/// The labels naming what a finding is about: `subject` (the finding's JSON `type`) and
/// its JSON fields in their order, lists joined by commas, an absent field as no label.
/// Read from the serialized subject so that they cannot drift from the JSON.
pub fn subject_labels(s: &Subject) -> Labels {
    let json = serde_json::to_string(s).expect("a Subject serializes");
    let Fields(fields) = serde_json::from_str(&json).expect("a serialized Subject is an object");
    fields
        .into_iter()
        .map(|(k, v)| {
            let name = if k == "type" { "subject".into() } else { k };
            (name, label_value(&v))
        })
        .collect()
}

fn label_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(items) => {
            items.iter().map(label_value).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

/// A JSON object's fields in document order (`serde_json::Map` sorts them).
struct Fields(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> serde::de::Visitor<'de> for InOrder {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = m.next_entry()? {
                    fields.push(field);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(InOrder)
    }
}

/// `xccl_bench_findings{kind}` for every kind (0 where none), and one
/// `xccl_bench_finding_info{kind, subject, …} 1` per finding.
pub fn findings(set: &mut MetricSet, base: &[(String, String)], findings: &[Finding]) {
    let count = set.gauge(
        "findings",
        "Findings of diagnosis by kind (slow_node, slow_link, …); 0 for a kind not found.",
    );
    for k in FINDING_KINDS {
        let n = findings.iter().filter(|f| f.kind == k).count();
        count.set(&with(base, &[("kind", k.name().into())]), n as f64);
    }
    let info = set.gauge(
        "finding_info",
        "One finding of diagnosis (value 1): its kind and what it names (host, NIC, rail, link, switches, rank or operation).",
    );
    for f in findings {
        let mut l = with(base, &[("kind", f.kind.name().into())]);
        l.extend(subject_labels(&f.subject));
        info.set(&l, 1.0);
    }
}

/// `host/rest` endpoint names of a link matrix split into host and the part after `/`.
fn split_end(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((h, d)) => (h.to_string(), d.to_string()),
        None => (name.to_string(), String::new()),
    }
}

/// Per link of a `links` matrix: one-way and both-ways bandwidth, expected, efficiency,
/// latency, low. Labels: `a`, `b` (endpoint names), `a_host`, `b_host`, `a_device`,
/// `b_device` (intra-node links), `class`; `ends(i)` adds labels of link `i` (NIC, rail).
pub fn links(
    set: &mut MetricSet,
    base: &[(String, String)],
    m: &Matrix,
    ends: impl Fn(usize) -> Labels,
) {
    for (i, k) in m.links.iter().enumerate() {
        let (an, bn) = (&m.names[k.a], &m.names[k.b]);
        let ((ah, ad), (bh, bd)) = (split_end(an), split_end(bn));
        let mut l = with(
            base,
            &[
                ("a", an.clone()),
                ("b", bn.clone()),
                ("a_host", ah),
                ("b_host", bh),
                ("class", k.class.to_string()),
            ],
        );
        let extra = ends(i);
        if extra.is_empty() {
            l.extend(with(&[], &[("a_device", ad), ("b_device", bd)]));
        }
        l.extend(extra);
        let bw = set.gauge(
            "link_bandwidth_bytes_per_second",
            "A link of `links`: direction=\"one_way\" a to b alone in its pair, \"both_ways\" each direction while both run, bytes per second.",
        );
        bw.set(
            &with(&l, &[("direction", "one_way".into())]),
            bps(k.uni_gbs),
        );
        bw.set(
            &with(&l, &[("direction", "both_ways".into())]),
            bps(k.bi_gbs),
        );
        let eff = set.gauge(
            "link_efficiency_ratio",
            "A link's bandwidth over what the topology (or its class's median) expects; links are judged on direction=\"one_way\".",
        );
        eff.set(&with(&l, &[("direction", "one_way".into())]), k.efficiency);
        eff.set(
            &with(&l, &[("direction", "both_ways".into())]),
            k.bi_efficiency,
        );
        set.gauge(
            "link_expected_bytes_per_second",
            "What a link should carry one way in its round, from the topology or its class's median, bytes per second.",
        )
        .set(&l, bps(k.expected_gbs));
        set.gauge(
            "link_latency_seconds",
            "Half the round-trip time of an 8-byte message over a link.",
        )
        .set(&l, k.latency_us * 1e-6);
        set.gauge(
            "link_low",
            "1 when a link is below the threshold of expected (one way), else 0.",
        )
        .set(&l, f64::from(u8::from(k.low)));
    }
}

/// The NIC and rail labels of each link of a rail matrix (per-NIC `links`): `a_nic`,
/// `a_rail`, `b_nic`, `b_rail` between nodes; `a_device`, `b_device` within one.
pub fn rail_ends<'a>(m: &'a RailMatrix, f: &'a RailFabric) -> impl Fn(usize) -> Labels + 'a {
    move |i| {
        let s = |k: &str, v: String| (k.to_string(), v);
        match m.ends.get(i) {
            Some(Ends::Inter(a, b)) => vec![
                s("a_nic", f.nic_names[a.node][a.rail].clone()),
                s("a_rail", a.rail.to_string()),
                s("b_nic", f.nic_names[b.node][b.rail].clone()),
                s("b_rail", b.rail.to_string()),
            ],
            Some(Ends::Intra { i, j, .. }) => {
                vec![s("a_device", i.to_string()), s("b_device", j.to_string())]
            }
            None => vec![],
        }
    }
}
