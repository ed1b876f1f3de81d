//! The runtime glue of `links` per device, from records to the rules and back to ranks.

use super::*;

/// Bytes per measurement and a name, nothing measured: `read` needs no more.
struct Fixed;
impl Probe for Fixed {
    fn name(&self) -> &'static str {
        "mpi"
    }
    fn bytes(&self) -> f64 {
        1e9
    }
    fn latency_us(&mut self, _: usize, _: bool) -> Result<f64> {
        Ok(1.0)
    }
    fn one_way(&mut self, _: usize, _: bool) -> Result<f64> {
        Ok(1.0)
    }
    fn both_ways(&mut self, _: usize) -> Result<f64> {
        Ok(1.0)
    }
    fn ring(&mut self, _: usize, _: usize) -> Result<f64> {
        Ok(1.0)
    }
}

const TOPO: &str = include_str!("../../../tests/fixtures/rails-4x2.toml");

/// The runtime's glue from records to the rules and back to ranks: 4 nodes × 2
/// devices, device 0 on NIC 1 (`device_nic`), world ranks interleaved across hosts
/// (world rank = device · 4 + node), the NIC ib1 of n2 at a quarter in every record
/// that crosses it (each end's time, as `measure` gathers them).
#[test]
fn a_slow_nic_in_the_records_is_named_and_measured_again_on_its_own_ranks() {
    let t = xccl_topo::Topology::from_toml_str(TOPO, "t.toml").unwrap();
    let (fabric, map) = xccl_diag::rail_topo::rail_fabric(&t, &[0, 1, 2, 3]).unwrap();
    let plan = RailPlan::new(4, &map, RailOptions::default()).unwrap();
    let world_rank: Vec<usize> = (0..8).map(|p| (p % 2) * 4 + p / 2).collect();
    let s = Setup {
        fabric,
        plan,
        world_rank,
        topology: "t.toml".into(),
        alpha_us: 5.0,
    };
    let slow = |r: usize| s.plan.node_of(r) == 2 && s.plan.rail_of(r) == 1;
    let mut recs = vec![];
    for (phase, round, pairs) in s.plan.all_rounds() {
        for &(a, b) in pairs {
            let gbs = match phase {
                Phase::Intra => 10.0,
                _ if slow(a) || slow(b) => 0.25,
                _ => 1.0,
            };
            for is_a in [true, false] {
                recs.push(Rec {
                    phase,
                    round,
                    a,
                    b,
                    is_a,
                    lat_us: 2.0,
                    uni_s: 1.0 / gbs,
                    bi_s: 1.0 / gbs,
                });
            }
        }
    }
    let a = LinksArgs {
        topology: None,
        size: 1 << 20,
        iters: 1,
        threshold: None,
        serial: false,
        screen: false,
        backend: BackendKind::Mpi,
        json: None,
        metrics: None,
    };
    let r = read(&s, &a, &Fixed, &recs, 0.8);
    let rail = &r.report.rails[1];
    assert!(rail.uni_mb_per_s.iter().all(Option::is_some), "{rail:?}");
    let sus = rails::suspects(&r.m, &s.fabric);
    let names: Vec<String> = sus.iter().map(|x| x.finding.subject.to_string()).collect();
    assert_eq!(sus.len(), 1, "{names:?}");
    assert_eq!(
        sus[0].finding.kind,
        xccl_schema::finding::FindingKind::SlowNic
    );
    assert!(
        names[0].contains("n2") && names[0].contains("ib1"),
        "{names:?}"
    );
    // n2's device on NIC ib1 is device 0 (device_nic[0] = 1): plan rank 4, world
    // rank 0 · 4 + 2 = 2. Every link measured again has it at one end.
    let again: Vec<(usize, usize)> = rails::plan_rechecks(&sus)
        .iter()
        .map(|&i| ends_ranks(&s, &r.m, i))
        .collect();
    assert!(!again.is_empty());
    assert!(again.iter().all(|&(x, y)| x == 2 || y == 2), "{again:?}");
}
