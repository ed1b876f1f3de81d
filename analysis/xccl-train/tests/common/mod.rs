//! What the timer tests share: a synthetic sweep on 2 ranks, one per node.

use xccl_schema::{CollKind, Report, Row};

/// A report of `coll` on 2 ranks on two nodes (the schema fixture's ranks, the second
/// moved to `node-b`), one row per size in `sizes`, each row's times set by `time`.
pub fn two_node_report(coll: CollKind, sizes: &[f64], time: impl Fn(&mut Row, f64)) -> Report {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../xccl-schema/tests/fixtures/v1-all_reduce.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = xccl_schema::read::parse_report(&text, std::path::Path::new(path)).unwrap();
    r.meta.ranks[1].host = "node-b".into();
    let row = r.rows[0].clone();
    r.rows = sizes
        .iter()
        .map(|&n| {
            let mut x = row.clone();
            x.collective = coll;
            x.size_bytes = n as u64;
            time(&mut x, n);
            x
        })
        .collect();
    r
}
