//! Reading the wiring: ibnetdiscover output and lldpctl JSON into cables, and the exact
//! comparison of declared NIC → leaf attachments with them.

use xccl_topo::wiring::{
    attachments, compare, ibnetdiscover, lldp, parse, Attachment, Cable, Difference, Format,
};

const IBND: &str = include_str!("fixtures/ibnetdiscover-2leaf.txt");
const IBND_BAD: &str = include_str!("fixtures/ibnetdiscover-bad.txt");
const LLDP1: &str = include_str!("fixtures/lldp-1.json");
const LLDP2: &str = include_str!("fixtures/lldp-2.json");

fn row(c: &Cable) -> String {
    format!(
        "{} {}/{} {}[{}]",
        c.host, c.nic, c.nic_port, c.switch, c.port
    )
}

#[test]
fn ibnetdiscover_gives_each_hca_port_its_leaf_and_port() {
    let cables = ibnetdiscover::parse("f.txt", IBND).unwrap();
    let rows: Vec<String> = cables.iter().map(row).collect();
    assert_eq!(
        rows,
        [
            "node01 mlx5_0/1 leaf-1[1]",
            "node01 mlx5_1/1 leaf-2[1]",
            "node02 mlx5_0/1 leaf-1[2]",
            "node02 mlx5_1/1 leaf-2[2]",
            "node03 mlx5_0/1 leaf-1[3]",
            "node03 mlx5_1/1 leaf-1[5]",
            "node04 mlx5_0/1 leaf-1[4]",
            "node04 mlx5_1/1 leaf-2[4]",
        ]
    );
    assert_eq!(cables[1].switch_id.as_deref(), Some("b8cef60300e5d2c0"));
    // The switch blocks alone say the same as the CA blocks alone.
    let switches_only: String = IBND
        .split("\nvendid=0x2c9\ndevid=0x1021")
        .next()
        .unwrap()
        .into();
    assert_eq!(ibnetdiscover::parse("f", &switches_only).unwrap(), cables);
    for (description, name) in [
        ("MF0;leaf-1:MQM9700/U1", "leaf-1"),
        ("SW-6IB4 Voltaire", "SW-6IB4 Voltaire"),
    ] {
        assert_eq!(ibnetdiscover::switch_name(description), name);
    }
}

#[test]
fn ibnetdiscover_reads_the_man_page_example_form() {
    // ibnetdiscover(8): a CA with two ports, and descriptions that are no `HOST HCA`.
    let text = "vendid=0x2c9\ndevid=0x5a44\ncaguid=0x8f10403960558\n\
        Ca      2 \"H-0008f10403960558\"          # \"MT23108 InfiniHost Mellanox Technologies\"\n\
        [2](8f1040396055a)     \"S-005442ba00003080\"[8]         # lid 14 lmc 1 \"ISR9024 Voltaire\" lid 6 4xSDR\n\
        [1](8f10403960559)     \"S-005442ba00003080\"[12]                # lid 10 lmc 1 \"ISR9024 Voltaire\" lid 6 1xSDR\n";
    let c = ibnetdiscover::parse("x", text).unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].host, "MT23108 InfiniHost Mellanox Technologies");
    assert_eq!(c[0].nic, "H-0008f10403960558");
    assert_eq!((c[0].nic_port, c[0].port.as_str()), (1, "12"));
    assert_eq!(c[0].switch, "ISR9024 Voltaire");
}

#[test]
fn a_file_that_does_not_parse_is_one_line_with_file_and_line() {
    let e = ibnetdiscover::parse("bad.txt", IBND_BAD).unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("bad.txt:9: expected a port line"), "{s}");
    assert_eq!(s.lines().count(), 1);
    let e = ibnetdiscover::parse("x", "hello world\n").unwrap_err();
    assert!(
        e.to_string().starts_with("x:1: expected a node line"),
        "{e}"
    );
    assert!(e.to_string().contains("found `hello world`"), "{e}");
    let e = ibnetdiscover::parse("x", "[1] \"S-1\"[2] # \"a\"\n").unwrap_err();
    assert!(
        e.to_string()
            .contains("x:1: port line before any node line"),
        "{e}"
    );
    let e = ibnetdiscover::parse("x", "# nothing\n").unwrap_err();
    assert!(e.to_string().starts_with("x: no HCA port cabled"), "{e}");
    let e = lldp::parse("l.json", "{\"lldp\": {\n\"interface\": [}", "h").unwrap_err();
    assert!(e.to_string().starts_with("l.json:2: not JSON"), "{e}");
    let e = lldp::parse("l.json", "{\"x\": 1}", "h").unwrap_err();
    assert!(e.to_string().contains("key `lldp`"), "{e}");
}

#[test]
fn lldp_one_interface_is_an_object_two_are_an_array() {
    let one = lldp::parse("a", LLDP1, "node05").unwrap();
    assert_eq!(
        one.iter().map(row).collect::<Vec<_>>(),
        ["node05 eth2/1 leaf-3[Ethernet12]"]
    );
    assert_eq!(one[0].switch_id.as_deref(), Some("1c:34:da:aa:00:03"));
    let two = lldp::parse("b", LLDP2, "node05").unwrap();
    assert_eq!(
        two.iter().map(row).collect::<Vec<_>>(),
        [
            "node05 eth2/1 leaf-3[Ethernet12]",
            // No system name: the chassis id; a MAC port id: the port description.
            "node05 eth3/1 1c:34:da:aa:00:04[swp16]",
        ]
    );
    assert!(lldp::parse("c", "{\"lldp\": {}}", "h").unwrap().is_empty());
}

#[test]
fn auto_format_tells_json_from_text() {
    assert_eq!(parse("a", LLDP1, Format::Auto, "h").unwrap()[0].nic, "eth2");
    assert_eq!(parse("a", IBND, Format::Auto, "h").unwrap().len(), 8);
    assert!(parse("a", LLDP1, Format::Ibnetdiscover, "h").is_err());
}

#[test]
fn compare_names_every_difference_exactly() {
    let wired = attachments(&ibnetdiscover::parse("f", IBND).unwrap());
    // The plan: rail 0 on leaf-1, rail 1 on leaf-2.
    let mut declared: Vec<Attachment> = (1..=4)
        .flat_map(|n| {
            let h = format!("node{n:02}");
            [
                Attachment::new(&h, "mlx5_0", "leaf-1"),
                Attachment::new(&h, "mlx5_1", "leaf-2"),
            ]
        })
        .collect();
    let d = compare(&declared, &wired);
    assert_eq!(
        d,
        [Difference::Miswired {
            host: "node03".into(),
            nic: "mlx5_1".into(),
            declared: "leaf-2".into(),
            wired: "leaf-1".into(),
        }]
    );
    assert_eq!(d[0].kind(), "miswired_nic");
    assert_eq!(
        d[0].to_string(),
        "node03 mlx5_1: cabled to leaf-1, declared on leaf-2"
    );

    declared[5].switch = "leaf-1".into(); // what the cable says: no difference
    assert!(compare(&declared, &wired).is_empty());

    declared.push(Attachment::new("node05", "mlx5_0", "leaf-1"));
    declared.retain(|a| !(a.host == "node01" && a.nic == "mlx5_1"));
    let mut wired2 = wired.clone();
    wired2[0].switch = "leaf-9".into();
    let kinds: Vec<&str> = compare(&declared, &wired2)
        .iter()
        .map(|d| d.kind())
        .collect();
    assert_eq!(kinds, ["unknown_switch", "undeclared_nic", "nic_not_wired"]);
}
