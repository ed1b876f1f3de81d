//! What the launcher says before MPI starts (rank and size from its environment), this
//! host's name, and the MPI library's name: enough to answer on rank 0 alone and to catch
//! a binary built against another MPI.

use crate::error::{BenchError, Result};

/// This process's rank as the launcher numbered it (OpenMPI, MPICH/Hydra, PMIx, Slurm),
/// without initializing MPI: offline commands run under `mpirun` speak only on rank 0.
pub fn launcher_rank() -> Option<usize> {
    [
        "OMPI_COMM_WORLD_RANK",
        "PMI_RANK",
        "PMIX_RANK",
        "SLURM_PROCID",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok().and_then(|s| s.parse().ok()))
}

/// Ranks the launcher meant to start, read from its environment (OpenMPI, MPICH/Hydra,
/// PMIx, Slurm). Used to catch a binary built against another MPI, which then sees itself
/// as a lone rank N times over.
pub fn launcher_size() -> Option<(usize, &'static str)> {
    // Hydra (MPICH) sets PMI_SIZE; its MPI_LOCALNRANKS counts one node only.
    const VARS: [&str; 4] = [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_SIZE",
        "SLURM_STEP_NUM_TASKS",
    ];
    for v in VARS {
        if let Some(n) = std::env::var(v).ok().and_then(|s| s.parse().ok()) {
            // srun sets SLURM_STEP_NUM_TASKS; plain sbatch scripts also export it for the
            // batch step, where the script itself is one task: only trust it with PROCID.
            if v == "SLURM_STEP_NUM_TASKS" && std::env::var("SLURM_PROCID").is_err() {
                continue;
            }
            return Some((n, v));
        }
    }
    None
}

pub fn check_launcher(world_size: usize, built_with_mpi: bool) -> Result<()> {
    if let Some((n, var)) = launcher_size() {
        if n > 1 && world_size == 1 {
            let why = if built_with_mpi {
                "this binary's MPI library is not the launcher's (build against the MPI that provides mpirun/srun)"
            } else {
                "this binary was built without MPI (--no-default-features); use -g for several devices in one process"
            };
            return Err(BenchError::Launch(format!(
                "launcher started {n} ranks ({var}={n}) but this process sees a world of 1: {why}"
            )));
        }
    }
    Ok(())
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// "Open MPI v4.1.4" or "MPICH 4.0.2" from MPI_Get_library_version's first line
/// ("Open MPI v4.1.4, package: ...", "MPICH Version:\t4.0.2").
pub fn library_name(version_text: &str) -> String {
    let first = version_text.lines().next().unwrap_or("");
    let first = first.split(',').next().unwrap_or("");
    first
        .replace("Version:", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn library_names() {
        for (banner, name) in [
            (
                "Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4",
                "Open MPI v4.1.4",
            ),
            (
                "MPICH Version:\t4.0.2\nMPICH Release date: x",
                "MPICH 4.0.2",
            ),
        ] {
            assert_eq!(super::library_name(banner), name);
        }
    }
}
