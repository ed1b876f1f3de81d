//! `topo wiring FILE`: the cables the fabric reports (ibnetdiscover output or
//! `lldpctl -f json`), as a table; the reading is xccl-topo's (`wiring`).

use crate::error::{BenchError, Result};
use crate::rules::ExitCode;
use std::path::Path;
use xccl_topo::wiring::{self, Format};

/// `--format` of `topo wiring`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WiringFormat {
    Ibnetdiscover,
    Lldp,
    /// lldp when FILE starts with `{`, ibnetdiscover otherwise.
    Auto,
}

/// The cables in `file`; a file that does not parse is a usage error (exit 2) of one line.
fn read(file: &Path, format: WiringFormat, host: Option<&str>) -> Result<Vec<wiring::Cable>> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file)
        .map_err(|e| BenchError::Usage(format!("cannot read {name}: {e}")))?;
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
    let host = host.map(str::to_string).or(stem).unwrap_or_default();
    let format = match format {
        WiringFormat::Ibnetdiscover => Format::Ibnetdiscover,
        WiringFormat::Lldp => Format::Lldp,
        WiringFormat::Auto => Format::Auto,
    };
    wiring::parse(&name, &text, format, &host).map_err(|e| BenchError::Usage(e.to_string()))
}

/// `topo validate FILE --wired WIRING`: every NIC FILE attaches to a leaf, against where
/// WIRING says it is cabled, exactly (host and NIC names as both spell them). Prints one
/// `finding:` line per difference; exit 4 with any, 0 without.
pub fn against(
    topology: &Path,
    wired: &Path,
    format: WiringFormat,
    host: Option<&str>,
    metrics: Option<&Path>,
) -> Result<i32> {
    if let Some(p) = metrics {
        crate::output::metrics::check_target(p)?;
    }
    let topo = xccl_topo::Topology::load(topology)?;
    let declared = wiring::declared(&topo);
    let cabled = wiring::attachments(&read(wired, format, host)?);
    let differences = wiring::compare(&declared, &cabled);
    println!(
        "# {} NIC(s) declared on a leaf in {}, {} cable(s) in {}",
        declared.len(),
        topology.display(),
        cabled.len(),
        wired.display()
    );
    if differences.is_empty() {
        println!("# no finding: every declared NIC is cabled to the leaf the file names");
    }
    for d in &differences {
        println!("finding: {}: {d}", d.kind());
    }
    crate::output::metrics::write_if(metrics, || {
        let mut set = crate::output::metrics::MetricSet::new();
        crate::output::metrics::families::run_info(&mut set, "topo validate --wired", None);
        crate::output::metrics::analysis::wiring(&mut set, &differences);
        set
    })?;
    Ok(if differences.is_empty() {
        ExitCode::Ok
    } else {
        ExitCode::Findings
    }
    .code())
}

/// Prints host, NIC, switch, port and switch id of every cable in `file`.
pub fn run(file: &Path, format: WiringFormat, host: Option<&str>) -> Result<i32> {
    let cables = read(file, format, host)?;
    let mut rows = vec![["host", "nic", "switch", "port", "switch id"].map(String::from)];
    for c in &cables {
        rows.push([
            c.host.clone(),
            format!("{}/{}", c.nic, c.nic_port),
            c.switch.clone(),
            c.port.clone(),
            c.switch_id.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let w: Vec<usize> = (0..4).map(width).collect();
    for r in &rows {
        println!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        );
    }
    Ok(ExitCode::Ok.code())
}
