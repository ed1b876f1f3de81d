//! Ring collectives over nodes predicted from 2-rank sweeps (issue 17): the bandwidth
//! term is the NIC's one-way rate, bus(p)·n·share bytes per NIC and direction (Thakur
//! et al. 2005, docs/SOURCES.md [thakur2005]; nccl-tests PERFORMANCE.md), α per ring step
//! from the measured curve. Answers computed by hand in the comments.

mod common;

use xccl_schema::{CollKind, Report};
use xccl_train::comm::Group;
use xccl_train::timer::{CommTimer, Measured};

/// NIC one-way rate (B/s) and α per ring step (s) of the synthetic cluster.
const NIC: f64 = 1e10;
const ALPHA: f64 = 50e-6;
const SIZES: [f64; 4] = [1e6, 1e7, 1e8, 1e9];

/// A report of `coll` on 2 ranks, one per node, with t(n) at SIZES.
fn report(coll: CollKind, t: impl Fn(f64) -> f64) -> Report {
    common::two_node_report(coll, &SIZES, |x, n| x.time_us.p50 = t(n) * 1e6)
}

/// A 2-rank all_reduce across two nodes that gets half the NIC (an exchange between two
/// ranks, as Open MPI over TCP on the emulated cluster): 2 steps of α + n/(NIC/2)
/// bytes of bus traffic (bus(2) = 1); with `one_way`, also a 2-rank broadcast at the
/// NIC's rate (20 µs + n/NIC).
fn cluster(one_way: bool) -> Measured {
    let mut m = Measured::default();
    let ar = report(CollKind::AllReduce, |n| 2.0 * ALPHA + n / (NIC / 2.0));
    m.add(&ar, "ar-2r2n").unwrap();
    if one_way {
        let bc = report(CollKind::Broadcast, |n| 20e-6 + n / NIC);
        m.add(&bc, "bc-2r2n").unwrap();
    }
    m
}

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-9 * want.max(1.0), "{got} != {want}");
}

#[test]
fn the_nic_is_the_best_one_way_rate() {
    close(cluster(true).nic_bytes_per_s().unwrap(), NIC);
    close(cluster(false).nic_bytes_per_s().unwrap(), NIC / 2.0);
}

#[test]
fn eight_ranks_on_four_nodes() {
    // 2 ranks per node, one NIC: one ring edge out of and into each node.
    // 2·7 = 14 steps of 50 µs + 2·7/8·1e8 B at 1e10 B/s = 0.7 ms + 17.5 ms = 18.2 ms.
    let g = Group::strided(8, 1, 2).sharing(2, 1, 1);
    assert_eq!((g.nodes, g.ranks_per_node, g.share), (4, 2, 1));
    let t = cluster(true).time(CollKind::AllReduce, 100_000_000, &g);
    close(t.seconds, 18.2e-3);
    assert!(t.extrapolated.unwrap().contains("bandwidth of the NIC"));
}

#[test]
fn sixteen_ranks_on_two_nodes() {
    // 8 per node: still one edge per NIC and direction. 30 steps · 50 µs + 2·15/16·1e8 B
    // at 1e10 B/s = 1.5 ms + 18.75 ms = 20.25 ms.
    let g = Group::strided(16, 1, 8).sharing(8, 1, 1);
    assert_eq!((g.nodes, g.share), (2, 1));
    close(
        cluster(true)
            .time(CollKind::AllReduce, 100_000_000, &g)
            .seconds,
        20.25e-3,
    );
}

#[test]
fn strided_groups_share_the_nic() {
    // DP groups of dp=4 beside tp=2 on 4 devices per node: ranks 0,2,4,6 (nodes 0,0,1,1)
    // and 1,3,5,7. Both rings leave node 0 through its one NIC: 6 steps · 50 µs +
    // 2 · 1.5·1e8 B at 1e10 B/s = 0.3 ms + 30 ms = 30.3 ms; with 2 NICs, one each:
    // 0.3 ms + 15 ms.
    let g = Group::strided(4, 2, 4).sharing(4, 1, 2);
    assert_eq!((g.nodes, g.ranks_per_node, g.share), (2, 2, 2));
    let m = cluster(true);
    close(
        m.time(CollKind::AllReduce, 100_000_000, &g).seconds,
        30.3e-3,
    );
    let g2 = Group::strided(4, 2, 4).sharing(4, 2, 2);
    close(
        m.time(CollKind::AllReduce, 100_000_000, &g2).seconds,
        15.3e-3,
    );
}

#[test]
fn without_a_one_way_sweep_the_exchange_rate_is_all_there_is() {
    // Only the half-rate 2-rank all_reduce: NIC = 5e9 B/s, and the rule gives what scaling
    // that curve's α and β by the ring's steps and bus factor gives: 0.7 ms +
    // 1.75·1e8 B at 5e9 B/s = 35.7 ms for 8 ranks on 4 nodes.
    let g = Group::strided(8, 1, 2).sharing(2, 1, 1);
    close(
        cluster(false)
            .time(CollKind::AllReduce, 100_000_000, &g)
            .seconds,
        35.7e-3,
    );
}
