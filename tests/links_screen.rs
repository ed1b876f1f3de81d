//! `links --screen` at node level on 5 "nodes" of this machine (UTS namespaces, one rank
//! each) without a topology: the relative rule alone (issue 16: with --topology a group is
//! also judged against its expectation, tested on synthetic rings in
//! `xccl_diag::schedule` and on the emulated cluster in tests/diag-emu-test.sh). The
//! screen runs, prints its rounds (without an expectation) and its time, and ends as
//! `links` does. Whether it finds something here is not asserted: these "nodes" share
//! two loaded cores and mix shared-memory and TCP pairs, so a pair can be slow for real
//! (a finding is then confirmed alone, and the exit status says 4).

mod common;

use common::{mpirun_hosts, read_json, tmp};
use std::time::Duration;

#[test]
fn screen_without_topology_judges_groups_against_each_other() {
    let j = tmp("links-screen.json");
    let js = j.display().to_string();
    let hosts: Vec<(&str, usize)> = ["sc-n0", "sc-n1", "sc-n2", "sc-n3", "sc-n4"]
        .iter()
        .map(|h| (*h, 1))
        .collect();
    let r = mpirun_hosts(
        &hosts,
        &[
            "links", "--screen", "--size", "64K", "-n", "2", "--json", &js,
        ],
        &[],
        Duration::from_secs(240),
    );
    assert!(matches!(r.code, 0 | 4), "exit {}: {}", r.code, r.stderr);
    let v = read_json(&j);
    assert_eq!(v["kind"], "links-screen", "{v}");
    let findings = v["findings"].as_array().expect("findings");
    assert_eq!(findings.is_empty(), r.code == 0, "{v}");
    for f in findings {
        let e = f["evidence"].as_str().unwrap_or_default();
        assert!(e.contains("confirmed alone"), "an unconfirmed finding: {f}");
    }
    assert!(v["rounds"].as_u64().unwrap() >= 1, "{v}");
    // Odd count: halves of 2 and 3, each judged against the best group only.
    let first: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("# screen round 1: "))
        .collect();
    assert_eq!(first.len(), 2, "{}", r.stdout);
    assert!(first[0].contains("[sc-n0 sc-n1] ring"), "{}", r.stdout);
    assert!(
        !first[0].contains("expected"),
        "no topology, no expectation: {}",
        r.stdout
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("# screen: ") && l.contains(" s")),
        "{}",
        r.stdout
    );
}
