//! `topo import` and `topo export --slurm`: Slurm's topology.conf (topology/tree) to and
//! from our topology files; the reading and writing are xccl-topo's (`slurm`).

use crate::error::{BenchError, Result};
use crate::rules::ExitCode;
use std::path::Path;
use xccl_topo::slurm::{self, SlurmTopology};
use xccl_topo::Topology;

/// Writes `text` to `out`, or to stdout for `-`.
fn write_out(out: &Path, text: &str) -> Result<()> {
    if out == Path::new("-") {
        print!("{text}");
        return Ok(());
    }
    std::fs::write(out, text)
        .map_err(|e| BenchError::Usage(format!("cannot write {}: {e}", out.display())))
}

/// `topo import CONF --node PRESET [-o OUT]`: our topology file for topology.conf CONF,
/// checked by loading it before it is written.
pub fn import(conf: &Path, node: &Path, name: Option<&str>, out: &Path) -> Result<i32> {
    let file = conf.display().to_string();
    let text = std::fs::read_to_string(conf)
        .map_err(|e| BenchError::Usage(format!("cannot read {file}: {e}")))?;
    let node_type = Topology::load(node)?;
    let stem = conf
        .file_stem()
        .map_or("imported".into(), |s| s.to_string_lossy());
    let name = name.map_or(stem.as_ref(), |n| n);
    let toml = slurm::parse(&file, &text)?.to_toml(
        &file,
        name,
        &node_type,
        &node.display().to_string(),
    )?;
    // What we write must load; a node type with no NICs for several nodes does not.
    Topology::from_toml_str(&toml, &format!("{file} (imported)"))?;
    write_out(out, &toml)?;
    Ok(ExitCode::Ok.code())
}

/// `topo export FILE --slurm OUT`: topology.conf for FILE's switch tree.
pub fn export(file: &Path, out: &Path) -> Result<i32> {
    let topo = Topology::load(file)?;
    let header = vec![format!(
        "Slurm topology.conf (topology/tree) written by `xccl-bench topo export` from {}",
        file.display()
    )];
    write_out(
        out,
        &slurm::render(&SlurmTopology::from_topology(&topo)?, &header)?,
    )?;
    Ok(ExitCode::Ok.code())
}

/// `topo validate --slurm-out OUT`: topology.conf for the grouping measured (see
/// `slurm::corrected`).
pub fn write_corrected(
    topo: &Topology,
    file: &Path,
    hosts: &[String],
    groups: &[Vec<usize>],
    misplaced: &[bool],
    out: &Path,
) -> Result<()> {
    let moved: Vec<&str> = (0..hosts.len())
        .filter(|&i| misplaced[i])
        .map(|i| hosts[i].as_str())
        .collect();
    let header = vec![
        format!(
            "Slurm topology.conf (topology/tree) written by `xccl-bench topo validate` from {}",
            file.display()
        ),
        if moved.is_empty() {
            "no node measured elsewhere than declared: the file's grouping".to_string()
        } else {
            format!("moved to the leaf measured: {}", moved.join(", "))
        },
    ];
    let st = slurm::corrected(topo, hosts, groups, misplaced)?;
    write_out(out, &slurm::render(&st, &header)?)
}
