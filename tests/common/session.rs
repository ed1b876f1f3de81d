//! A private Open MPI session directory per `mpirun`.
//!
//! Why: concurrent `mpirun`s (tests run two at a time) share `/tmp/ompi.HOST.UID`, and
//! one job's clean-up can remove that top directory while another creates its own below
//! it: "orte_session_dir failed", a failure of the launcher, not of the code under test.

use std::path::PathBuf;
use std::process::Command;

/// Removes the directory when the run is over.
pub struct SessionDir(PathBuf);

impl Drop for SessionDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Points `cmd` (an `mpirun`) at a fresh session directory of its own.
pub fn private_session_dir(cmd: &mut Command) -> SessionDir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "xccl-ompi-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create the mpirun session directory");
    cmd.env("OMPI_MCA_orte_tmpdir_base", &dir);
    SessionDir(dir)
}
