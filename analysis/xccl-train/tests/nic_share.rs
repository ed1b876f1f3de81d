//! The NIC's rate timed by the slowest rank (a broadcast's root returns before its peer
//! has the data: docs/SOURCES.md [mpi40]), and groups sharing a NIC (LogGP: the wire's
//! per-byte gap is shared, each sender's overhead is its own: [loggp]; their off-wire
//! periods independent: [bianchi2000]). Answers by hand.

mod common;

use xccl_schema::{CollKind, Report};
use xccl_train::timer::{shared_nic_seconds, CommTimer, Measured};

const NIC: f64 = 1e10;

/// A 2-rank broadcast across two nodes: the receiver takes n/NIC, the root's send returns
/// after n/(4·NIC); the row's median is the root's.
fn broadcast() -> Report {
    common::two_node_report(CollKind::Broadcast, &[1e6, 1e7, 1e8, 1e9], |x, n| {
        let (root, peer) = (n / (4.0 * NIC) * 1e6, n / NIC * 1e6);
        x.time_us.p50 = root;
        x.per_rank.p50_us = vec![root, peer];
    })
}

#[test]
fn the_nic_rate_is_when_the_receiver_has_the_data() {
    let mut m = Measured::default();
    m.add(&broadcast(), "bc-2r2n").unwrap();
    let nic = m.nic_bytes_per_s().unwrap();
    // The root's median alone would say 4e10 B/s.
    assert!((nic - NIC).abs() < 1e-6 * NIC, "{nic}");
}

#[test]
fn groups_sharing_a_nic_fill_each_others_idle_time_by_chance() {
    // 1e8 bus bytes at 1e10 B/s: 10 ms on the wire.
    let wire = 10e-3;
    let close = |got: f64, want: f64| assert!((got - want).abs() < 1e-9, "{got} != {want}");
    // Alone at the wire rate (never off it), 3 groups: the NIC saturated, 3 × 10 ms.
    close(shared_nic_seconds(wire, 1e8, NIC, 3), 30e-3);
    // Alone 25 ms: 10 on the wire, 15 off. 2 groups: T − 15²/T = 2 × 10, so
    // T = 10 + √(10² + 15²) ms, between the saturated NIC (25) and no overlap (35).
    close(
        shared_nic_seconds(25e-3, 1e8, NIC, 2),
        10e-3 + (325e-6f64).sqrt(),
    );
    // 3 groups, 15 ms off each, 8.75 ms on the wire (alone 23.75): at T = 30 ms the NIC
    // idles (15/30)³ = 1/8 of the time and carries 3 × 8.75 = 26.25 ms = 30 · 7/8.
    close(shared_nic_seconds(23.75e-3, 8.75e7, NIC, 3), 30e-3);
    // Alone faster than the NIC figure says, 2 groups: still 2 × 10 ms of wire.
    close(shared_nic_seconds(5e-3, 1e8, NIC, 2), 20e-3);
    // One group: as measured.
    close(shared_nic_seconds(25e-3, 1e8, NIC, 1), 25e-3);
}
