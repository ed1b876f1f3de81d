//! `xccl-bench list`: the collectives, types and ops of the vocabulary, and which
//! backends this binary can use on this machine.

use crate::coll::CollKind;
use crate::error::Result;
use crate::types::{DataType, ReduceOp};

pub fn run() -> Result<i32> {
    print_list();
    Ok(0)
}

fn print_list() {
    println!("collectives:");
    for c in CollKind::ALL {
        let i = c.imp();
        println!(
            "  {:<15} busbw factor {:<9} {}{}",
            c.name(),
            i.bus_factor_formula(),
            if i.has_op() { "op " } else { "" },
            if i.has_root() { "root" } else { "" }
        );
    }
    let types: Vec<String> = DataType::ALL
        .iter()
        .map(|t| format!("{} ({})", t.name(), t.aliases().join("/")))
        .collect();
    println!("types: {}", types.join(", "));
    let ops: Vec<&str> = ReduceOp::ALL.iter().map(|o| o.name()).collect();
    println!("ops: {} (mpi: avg as sum then scale)", ops.join(", "));
    println!("backends:");
    for (name, status) in backend_status() {
        println!("  {name:<5} {status}");
    }
}

/// Usability of every backend on this machine, for `xccl-bench list`.
fn backend_status() -> Vec<(&'static str, String)> {
    let mpi = if cfg!(feature = "mpi") {
        "usable (MPI built in; host memory)".to_string()
    } else {
        "not built (binary built with --no-default-features)".to_string()
    };
    let show = |r: std::result::Result<String, String>| match r {
        Ok(s) => format!("usable: {s}"),
        Err(e) => format!("not usable: {e}"),
    };
    vec![
        ("mpi", mpi),
        ("nccl", show(crate::backend::nccl::probe())),
        ("hccl", show(crate::backend::hccl::probe())),
    ]
}
