//! The end every diagnosing command shares (`links`, its screen, `topo validate`): rank 0
//! turns its findings into the exit status (0 none, 4 findings) and writes the JSON it
//! was asked for (1 when it cannot) and then the metrics (`--metrics`: 2 when its
//! directory is gone, [`with_metrics`]), and every rank returns that status, so that the
//! job exits as one.

use crate::error::{say, Result};
use crate::output::metrics::{self, MetricSet};
use crate::result::BackendInfo;
use crate::rules::ExitCode;
use crate::world::World;
use serde::Serialize;
use std::path::Path;
use xccl_schema::Finding;

/// Rank 0's exit status; `doc` is built only when `json` names a file.
pub fn status<T: Serialize>(
    findings: &[Finding],
    json: Option<&Path>,
    doc: impl FnOnce() -> T,
) -> i32 {
    let mut code = if findings.is_empty() {
        ExitCode::Ok
    } else {
        ExitCode::Findings
    };
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&doc()).expect("typed documents serialize");
        if let Err(e) = std::fs::write(path, text) {
            say(&format!(
                "xccl-bench: error: cannot write {}: {e}",
                path.display()
            ));
            code = ExitCode::Failed;
        }
    }
    code.code()
}

/// Rank 0's `status` on every rank (what the others pass is ignored).
pub fn everyone(world: &dyn World, status: i32) -> i32 {
    let mut code = status.to_le_bytes();
    world.broadcast_bytes(0, &mut code);
    i32::from_le_bytes(code)
}

/// Rank 0's `--metrics` directory, checked on every rank's behalf before anything runs
/// (one line, exit 2 on every rank).
pub fn check_metrics(world: &dyn World, path: Option<&Path>) -> Result<()> {
    crate::world::agree(
        world,
        match path {
            Some(p) if world.rank() == 0 => metrics::check_target(p),
            _ => Ok(()),
        },
    )
}

/// Rank 0's status once the metrics are written to `path` (when asked): the error's
/// status, with its one line, when they cannot be (the other outputs are already written).
pub fn with_metrics(code: i32, path: Option<&Path>, set: impl FnOnce() -> MetricSet) -> i32 {
    match metrics::write_if(path, set) {
        Ok(()) => code,
        Err(e) => {
            say(&format!("xccl-bench: error: {e}"));
            e.exit_code()
        }
    }
}

/// Run info of a command whose data moved through `kind`: the MPI library and its
/// version, or the vendor library by name alone.
pub fn backend_info(world: &dyn World, kind: crate::backend::BackendKind) -> BackendInfo {
    match kind {
        crate::backend::BackendKind::Mpi => mpi_info(world),
        other => BackendInfo {
            name: other.name().into(),
            ..Default::default()
        },
    }
}

/// The MPI library the job runs on, as run info (`Open MPI v4.1.4` → library, version).
pub fn mpi_info(world: &dyn World) -> BackendInfo {
    let lib = world.mpi_library().unwrap_or_default();
    let (library, version) = lib.rsplit_once(' ').unwrap_or((lib.as_str(), ""));
    BackendInfo {
        name: "mpi".into(),
        library: library.into(),
        version: version.into(),
        device: "host".into(),
    }
}
