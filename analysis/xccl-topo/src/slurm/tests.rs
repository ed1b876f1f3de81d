use super::*;
use std::path::Path;

/// Host → its switch, switch → its parent, sorted.
type Grouping = (Vec<(String, String)>, Vec<(String, Option<String>)>);

fn load(name: &str) -> Topology {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies");
    Topology::load(root.join(name)).unwrap()
}

/// Host → the name of the switch it hangs on, and switch → parent name: the grouping.
fn grouping(t: &Topology) -> Grouping {
    let mut hosts: Vec<(String, String)> = (0..t.node_count())
        .map(|n| {
            (
                t.nodes[n].clone(),
                t.switches[t.leaf_of_node[n].unwrap()].name.clone(),
            )
        })
        .collect();
    hosts.sort();
    let mut sw: Vec<(String, Option<String>)> = t
        .switches
        .iter()
        .map(|s| (s.name.clone(), s.parent.map(|p| t.switches[p].name.clone())))
        .collect();
    sw.sort();
    (hosts, sw)
}

fn import(text: &str, node: &Topology) -> Topology {
    let st = parse("t.conf", text).unwrap();
    let toml = st
        .to_toml("t.conf", "imported", node, "the preset")
        .unwrap();
    Topology::from_toml_str(&toml, "imported.toml").unwrap_or_else(|e| panic!("{e}\n{toml}"))
}

/// Host → its switch and switch → parent, as topology.conf says them.
fn slurm_grouping(st: &SlurmTopology) -> Grouping {
    let mut hosts = vec![];
    let mut sw = vec![];
    for s in &st.switches {
        hosts.extend(s.nodes.iter().map(|n| (n.clone(), s.name.clone())));
        let parent = st.switches.iter().find(|p| p.switches.contains(&s.name));
        sw.push((s.name.clone(), parent.map(|p| p.name.clone())));
    }
    hosts.sort();
    sw.sort();
    (hosts, sw)
}

/// A tree whose nodes all hang on leaves: import(export(T)) has T's grouping exactly.
/// Its nodes: tests/fixtures/node-8x400.toml (8 devices on NVSwitch, 8 × 400 Gbit/s RDMA);
/// its switches: tests/fixtures/tree-3tier-switches.toml.
const TREE: &str = concat!(
    r#"
version = 1
name = "tree"
hosts = ["gpu01", "gpu02", "gpu03", "gpu04", "gpu05", "gpu10", "login1"]
"#,
    include_str!("../../tests/fixtures/node-8x400.toml"),
    include_str!("../../tests/fixtures/tree-3tier-switches.toml")
);

#[test]
fn export_then_import_gives_the_same_grouping() {
    let node = load("atlas-800t-a2.toml");
    let t = Topology::from_toml_str(TREE, "tree.toml").unwrap();
    let text = render(&SlurmTopology::from_topology(&t).unwrap(), &[]).unwrap();
    assert_eq!(
        text,
        "SwitchName=leaf1 Nodes=gpu[01-02,05]\nSwitchName=leaf2 Nodes=gpu[03-04,10]\nSwitchName=leaf3 Nodes=login1\nSwitchName=agg Switches=leaf[2-3]\nSwitchName=spine Switches=leaf1,agg\n"
    );
    let back = import(&text, &node);
    assert_eq!(grouping(&back), grouping(&t), "{text}");
    let tiers = |t: &Topology| t.switches.iter().map(|s| s.tier).collect::<Vec<_>>();
    assert_eq!(tiers(&back), tiers(&t));
    assert_eq!(back.devices_per_node, 8, "the node type is the preset's");
    // Files with nodes on a higher switch too: topology.conf's grouping is a fixed point.
    for file in [
        "emu-4node-2sw.toml",
        "emu-6node-3sw.toml",
        "emu-8node-2sw.toml",
        "atlas-3x8-2switch.toml",
    ] {
        let st = SlurmTopology::from_topology(&load(file)).unwrap();
        let text = render(&st, &[]).unwrap();
        let back = SlurmTopology::from_topology(&import(&text, &node)).unwrap();
        assert_eq!(slurm_grouping(&back), slurm_grouping(&st), "{file}");
        assert_eq!(render(&back, &[]).unwrap(), text, "{file}");
    }
}

#[test]
fn export_writes_the_leaves_and_the_tree() {
    let text = render(
        &SlurmTopology::from_topology(&load("emu-6node-3sw.toml")).unwrap(),
        &[],
    )
    .unwrap();
    assert_eq!(
        text,
        "SwitchName=emu-sw1 Nodes=emu-n[1-2]\nSwitchName=emu-sw2 Nodes=emu-n[3-4]\nSwitchName=emu-sw3-nodes Nodes=emu-n[5-6]\nSwitchName=emu-sw3 Switches=emu-sw[1-2],emu-sw3-nodes\n"
    );
}

#[test]
fn nodes_on_a_higher_switch_get_a_leaf_of_their_own() {
    // atlas-b1 hangs on switch-b, the parent of switch-a: Slurm refuses a switch with both.
    let t = load("atlas-3x8-2switch.toml");
    let text = render(&SlurmTopology::from_topology(&t).unwrap(), &[]).unwrap();
    assert_eq!(
        text,
        "SwitchName=switch-a Nodes=atlas-a[1-2]\nSwitchName=switch-b-nodes Nodes=atlas-b1\nSwitchName=switch-b Switches=switch-a,switch-b-nodes\n"
    );
    assert!(parse("x", &text).unwrap().check("x").is_ok());
}

#[test]
fn rail_nodes_sit_on_the_switch_common_to_their_nics() {
    let t = load("dgx-h100-superpod-su.toml");
    let st = SlurmTopology::from_topology(&t);
    // Its 32 nodes are unnamed (`nodes = 32`): topology.conf needs names.
    assert!(st.unwrap_err().to_string().contains("no host names"));
    let mut t = t;
    t.named_hosts = true;
    let st = SlurmTopology::from_topology(&t).unwrap();
    assert_eq!(st.switches.len(), 1, "{st:?}");
    assert_eq!(st.switches[0].name, "spine");
    assert_eq!(st.switches[0].nodes.len(), 32);
}

#[test]
fn import_checks_the_tree_naming_lines() {
    let node = load("atlas-800t-a2.toml");
    let bad = |text: &str| {
        let st = parse("t.conf", text).unwrap();
        st.to_toml("t.conf", "x", &node, "p")
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        bad("SwitchName=a Nodes=n1\nSwitchName=b Nodes=n2\n"),
        "t.conf: 2 switches have no parent (a, b): Slurm allows separate trees, but a topology here is one tree; add a line `SwitchName=top Switches=a,b`"
    );
    assert_eq!(
        bad("SwitchName=a Nodes=n1\nSwitchName=top Switches=a,b\n"),
        "t.conf:2: Switches=: switch `b` has no SwitchName= line"
    );
    assert_eq!(
        bad("SwitchName=a Nodes=n[1-2]\nSwitchName=b Nodes=n2\nSwitchName=t Switches=a,b\n"),
        "t.conf:2: node `n2` is on switch `a` too (line 1): a node hangs on one switch"
    );
    assert_eq!(
        bad("SwitchName=a Nodes=n1\nSwitchName=a Nodes=n2\n"),
        "t.conf:2: switch `a` again (first on line 1)"
    );
    assert!(bad("SwitchName=a Nodes=n1\nSwitchName=t Switches=a\nSwitchName=u Switches=v\nSwitchName=v Switches=u\n")
        .contains("a cycle"));
}

#[test]
fn import_of_the_man_page_example() {
    // topology.conf(5), Slurm 22.05, EXAMPLE.
    let text = "SwitchName=s0 Nodes=dev[0-5]\nSwitchName=s1 Nodes=dev[6-11]\nSwitchName=s2 Nodes=dev[12-17]\nSwitchName=s3 Switches=s[0-2]\n";
    let t = import(text, &load("dgx-h100.toml"));
    assert_eq!(t.node_count(), 18);
    assert_eq!(t.nodes[6], "dev6");
    let s3 = t.switches.iter().find(|s| s.name == "s3").unwrap();
    assert_eq!((s3.tier, s3.parent), (2, None));
    let s1 = &t.switches[t.leaf_of_node[6].unwrap()];
    assert_eq!((s1.name.as_str(), s1.tier), ("s1", 1));
    // Non-blocking assumed: 6 × 8 × 400 Gbit/s up.
    assert_eq!(s1.uplink_gbps, Some(19200.0));
}

#[test]
fn corrected_moves_the_misplaced_node_to_its_measured_group() {
    // emu-4node-2sw with emu-n2 declared under emu-sw2; measured: {n1, n2}, {n3, n4}.
    let mut text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies/emu-4node-2sw.toml"),
    )
    .unwrap();
    text = text
        .replace("hosts = [\"emu-n1\", \"emu-n2\"]", "hosts = [\"emu-n1\"]")
        .replace(
            "hosts = [\"emu-n3\", \"emu-n4\"]",
            "hosts = [\"emu-n2\", \"emu-n3\", \"emu-n4\"]",
        );
    let t = Topology::from_toml_str(&text, "misplaced.toml").unwrap();
    let hosts: Vec<String> = ["emu-n1", "emu-n2", "emu-n3", "emu-n4"]
        .map(String::from)
        .into();
    let st = corrected(
        &t,
        &hosts,
        &[vec![0, 1], vec![2, 3]],
        &[false, true, false, false],
    )
    .unwrap();
    assert_eq!(
        render(&st, &[]).unwrap(),
        "SwitchName=emu-sw1 Nodes=emu-n[1-2]\nSwitchName=emu-sw2-nodes Nodes=emu-n[3-4]\nSwitchName=emu-sw2 Switches=emu-sw1,emu-sw2-nodes\n"
    );
    // Nothing misplaced: the file as it is.
    let same = corrected(&t, &hosts, &[vec![0], vec![1, 2, 3]], &[false; 4]).unwrap();
    assert_eq!(same, SlurmTopology::from_topology(&t).unwrap());
    // A group of misplaced nodes only: a leaf of their own under the top switch.
    let t6 = load("emu-6node-3sw.toml");
    let h6: Vec<String> = (1..=6).map(|i| format!("emu-n{i}")).collect();
    let st = corrected(
        &t6,
        &h6,
        &[vec![0, 1, 2], vec![3], vec![4, 5]],
        &[false, false, true, true, false, false],
    )
    .unwrap();
    let text = render(&st, &[]).unwrap();
    assert_eq!(
        text,
        "SwitchName=emu-sw1 Nodes=emu-n[1-3]\nSwitchName=emu-sw3-nodes Nodes=emu-n[5-6]\nSwitchName=emu-sw3 Switches=emu-sw1,emu-sw3-nodes,measured-leaf1\nSwitchName=measured-leaf1 Nodes=emu-n4\n"
    );
}
