//! The end every diagnosing command shares (`links`, its screen, `topo validate`): rank 0
//! turns its findings into the exit status (0 none, 4 findings) and writes the JSON it
//! was asked for (1 when it cannot), and every rank returns that status, so that the job
//! exits as one.

use crate::error::say;
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
