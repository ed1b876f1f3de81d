//! A topology file as the rules of [`crate::rails`] see it, for the nodes a job uses.
//!
//! `links` measures per device (one rank per device, [`crate::rail_plan`]), so a node's
//! device d must have a NIC of its own: `device_nic` a permutation of the node's NICs.
//! The rail of a NIC is its index on the node (NIC i of every node on rail i, as the
//! `[[rails]]` form declares it); its leaf is the switch the file attaches it to
//! (`Topology::nic_leaf`: a rail leaf, a `[[nic]]` attachment, or the node's leaf), and a
//! leaf's way up is its own uplink to its parent. Deeper trees are judged at the leaves'
//! uplinks only (the rules compare a flow's leaf with its peer's).

use crate::rails::RailFabric;
use xccl_topo::{FabricKind, Topology};

/// The rail fabric of `t` over its nodes `nodes` (indices into `t.nodes`, in the job's
/// order) and the rail of each local device. The error names what does not fit.
pub fn rail_fabric(t: &Topology, nodes: &[usize]) -> Result<(RailFabric, Vec<usize>), String> {
    let r = t.devices_per_node;
    let nics = t.nics.count;
    let map: Vec<usize> = (0..r).map(|d| t.nic_of_device(d)).collect();
    let mut seen = vec![false; nics];
    let permutation = nics == r
        && map.iter().all(|&n| {
            let fresh = n < nics && !seen[n];
            if fresh {
                seen[n] = true;
            }
            fresh
        });
    if !permutation {
        return Err(format!(
            "--topology {}: links per device needs one NIC per device (device_nic a \
             permutation of the node's NICs); the file has {r} device(s) per node on {nics} \
             NIC(s), device_nic {map:?}",
            t.name
        ));
    }
    // Leaves: every switch (indices kept), and one ideal switch past them for NICs the
    // file attaches to none.
    let ideal = t.switches.len();
    let mut leaf_names: Vec<String> = t.switches.iter().map(|s| s.name.clone()).collect();
    leaf_names.push("(one switch)".into());
    let mut leaf_spine_gbs: Vec<f64> = t
        .switches
        .iter()
        .map(|s| s.uplink_gbps.map_or(0.0, |g| g / 8.0))
        .collect();
    leaf_spine_gbs.push(0.0);
    let mut leaf_spine_names: Vec<String> = t
        .switches
        .iter()
        .map(|s| {
            s.parent
                .map_or_else(String::new, |p| t.switches[p].name.clone())
        })
        .collect();
    leaf_spine_names.push(String::new());
    let node_names = nodes.iter().map(|&n| t.node_name(n)).collect();
    let nic_leaf = nodes
        .iter()
        .map(|&n| {
            (0..nics)
                .map(|i| t.nic_leaf(n, i).unwrap_or(ideal))
                .collect()
        })
        .collect();
    let nic_devices: Vec<Vec<usize>> = (0..nics)
        .map(|i| (0..r).filter(|&d| map[d] == i).collect())
        .collect();
    // A device pair: one link of a mesh (HCCS, NVLink without a switch), else the
    // device's whole rate (NVSwitch, PCIe, shared memory).
    let intra_gbs = match t.fabric.kind {
        FabricKind::Hccs | FabricKind::Nvlink => t.fabric.link_gbs.unwrap_or(t.fabric.bw_gbs),
        _ => t.fabric.bw_gbs,
    };
    let fabric = RailFabric {
        nodes: node_names,
        rails: nics,
        nic_names: vec![(0..nics).map(|i| t.nics.name(i)).collect(); nodes.len()],
        nic_devices: vec![nic_devices; nodes.len()],
        nic_leaf,
        leaf_names,
        leaf_spine_gbs,
        leaf_spine_names,
        nic_gbs: vec![vec![t.nics.nic_gbs(); nics]; nodes.len()],
        intra_gbs,
    };
    Ok((fabric, map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(text: &str) -> Topology {
        Topology::from_toml_str(text, "t.toml").expect("topology")
    }

    const RAILS: &str = include_str!("../tests/fixtures/rails-3node-hccs.toml");

    #[test]
    fn rails_of_a_file_for_the_jobs_nodes() {
        let t = topo(RAILS);
        let (f, map) = rail_fabric(&t, &[2, 0]).unwrap();
        assert_eq!(map, vec![1, 0]);
        assert_eq!(f.nodes, vec!["c", "a"]);
        assert_eq!(f.rails, 2);
        assert_eq!(f.nic_names[0], vec!["eth1", "eth0"]);
        // NIC 0 ("eth1") serves device 1.
        assert_eq!(f.nic_devices[1], vec![vec![1], vec![0]]);
        let leaf0 = f.nic_leaf[0][0];
        let leaf1 = f.nic_leaf[0][1];
        assert_ne!(leaf0, leaf1);
        assert_eq!(f.nic_leaf[1], vec![leaf0, leaf1]);
        assert_eq!(f.leaf_names[leaf0], "rail0");
        assert_eq!(f.leaf_spine_gbs[leaf1], 2.0);
        // Findings name the file's spine, not a generic word.
        assert_eq!(f.leaf_spine_names[leaf1], "core");
        assert_eq!(f.nic_gbs[1][1], 10.0);
        assert_eq!(f.intra_gbs, 28.0, "one HCCS link per pair");
    }

    #[test]
    fn a_shared_nic_is_refused_by_name() {
        let text = RAILS.replace("device_nic = [1, 0]", "device_nic = [0, 0]");
        let t = topo(&text);
        let e = rail_fabric(&t, &[0]).unwrap_err();
        assert!(
            e.contains("one NIC per device") && e.contains("[0, 0]"),
            "{e}"
        );
    }
}
