//! Who we are in the job: rank, size, node, local rank, and the few control-plane
//! exchanges the harness needs (agreeing on iteration counts, gathering per-rank times,
//! broadcasting a vendor's unique id). Data-plane traffic never goes through here.
//!
//! Under a launcher this is MPI (OpenMPI, MPICH, `srun` via PMI); without one, or in a
//! build without the `mpi` feature, it is a world of one process.

use crate::error::{BenchError, Result};

pub trait World {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Rank among the processes on this node (shared-memory split of the world).
    fn local_rank(&self) -> usize;
    fn local_size(&self) -> usize;
    fn hostname(&self) -> &str;
    fn barrier(&self);
    /// Broadcast `buf` from `root`; every rank passes a buffer of the same length.
    fn broadcast_bytes(&self, root: usize, buf: &mut [u8]);
    /// Every rank's `data` (any length), on rank 0 only.
    fn gather_bytes(&self, data: &[u8]) -> Option<Vec<Vec<u8>>>;
    fn allreduce_max(&self, v: f64) -> f64;
    /// Ends every rank of the job at once (used when a collective hangs or a rank fails
    /// alone). Safe to call from the watchdog thread.
    fn aborter(&self) -> Aborter;
    /// Name and version of the MPI library, if any.
    fn mpi_library(&self) -> Option<String>;
    /// For backends that need the concrete world (the MPI backend needs its communicator).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Ends the job; `Send` so the timeout watchdog can hold one.
#[derive(Clone, Copy)]
pub struct Aborter {
    abort_fn: fn(i32) -> !,
}

impl Aborter {
    pub fn abort(&self, code: i32) -> ! {
        (self.abort_fn)(code)
    }
}

/// Every rank's value of `data` on every rank (gather to 0, then broadcast).
pub fn allgather_bytes(world: &dyn World, data: &[u8]) -> Vec<Vec<u8>> {
    let gathered = world.gather_bytes(data);
    let mut blob = gathered
        .map(|v| serde_json::to_vec(&v).expect("serialize"))
        .unwrap_or_default();
    let mut len = (blob.len() as u64).to_le_bytes();
    world.broadcast_bytes(0, &mut len);
    blob.resize(u64::from_le_bytes(len) as usize, 0);
    world.broadcast_bytes(0, &mut blob);
    serde_json::from_slice(&blob).expect("deserialize")
}

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

/// Where the job runs: every rank's (hostname, local rank), and the hosts in the order of
/// their first rank. Collective: every rank calls it.
pub fn job_layout(world: &dyn World) -> (Vec<(String, usize)>, Vec<String>) {
    let all: Vec<(String, usize)> = allgather_bytes(
        world,
        &serde_json::to_vec(&(world.hostname(), world.local_rank())).expect("json"),
    )
    .iter()
    .map(|b| serde_json::from_slice(b).expect("rank info"))
    .collect();
    let mut hosts: Vec<String> = vec![];
    for (h, _) in &all {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    (all, hosts)
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

fn check_launcher(world_size: usize, built_with_mpi: bool) -> Result<()> {
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

#[cfg(test)]
mod tests {
    /// Only `-T` raises the thread level; FUNNELED would cost as much as MULTIPLE.
    #[cfg(feature = "mpi")]
    #[test]
    fn thread_level_is_single_unless_watchdog() {
        assert_eq!(super::threading(false), mpi::Threading::Single);
        assert_eq!(super::threading(true), mpi::Threading::Multiple);
    }

    #[test]
    fn library_names() {
        assert_eq!(
            super::library_name("Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4"),
            "Open MPI v4.1.4"
        );
        assert_eq!(
            super::library_name("MPICH Version:\t4.0.2\nMPICH Release date: x"),
            "MPICH 4.0.2"
        );
    }
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

/// A world of one process.
pub struct SoloWorld {
    host: String,
}

impl SoloWorld {
    pub fn new() -> Result<Self> {
        check_launcher(1, false)?;
        Ok(SoloWorld { host: hostname() })
    }
}

fn exit_now(code: i32) -> ! {
    std::process::exit(code)
}

impl World for SoloWorld {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn local_rank(&self) -> usize {
        0
    }
    fn local_size(&self) -> usize {
        1
    }
    fn hostname(&self) -> &str {
        &self.host
    }
    fn barrier(&self) {}
    fn broadcast_bytes(&self, _root: usize, _buf: &mut [u8]) {}
    fn gather_bytes(&self, data: &[u8]) -> Option<Vec<Vec<u8>>> {
        Some(vec![data.to_vec()])
    }
    fn allreduce_max(&self, v: f64) -> f64 {
        v
    }
    fn aborter(&self) -> Aborter {
        Aborter { abort_fn: exit_now }
    }
    fn mpi_library(&self) -> Option<String> {
        None
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(feature = "mpi")]
pub use mpi_world::{MpiWorld, SubWorld};

/// The thread level MPI is initialized at (docs/PERFORMANCE.md, *MPI's thread level*):
/// - `MPI_THREAD_SINGLE`, what `MPI_Init` asks for (as OSU and nccl-tests call it):
///   every MPI call comes from the main thread. Threads that never call MPI (the
///   progress bar's ticker, CUDA's and NCCL's, Open MPI's own two) do not raise it: under
///   Open MPI 4.1 any higher level, FUNNELED included, turns on locking inside every
///   call (8 B all_reduce about 1.3x slower, as with MULTIPLE).
/// - `MPI_THREAD_MULTIPLE` with `-T` (`watchdog`): the watchdog thread calls MPI_Abort
///   while the main thread may be inside a collective.
#[cfg(feature = "mpi")]
fn threading(watchdog: bool) -> mpi::Threading {
    if watchdog {
        mpi::Threading::Multiple
    } else {
        mpi::Threading::Single
    }
}

#[cfg(feature = "mpi")]
mod mpi_world {
    use super::*;
    use mpi::collective::{CommunicatorCollectives, Root};
    use mpi::datatype::PartitionMut;
    use mpi::topology::{Communicator, SimpleCommunicator};
    use mpi::Count;

    pub struct MpiWorld {
        // Dropping the universe calls MPI_Finalize; it must outlive every communicator.
        pub(crate) world: SimpleCommunicator,
        local: SimpleCommunicator,
        host: String,
        library: String,
        _universe: mpi::environment::Universe,
    }

    fn mpi_abort(code: i32) -> ! {
        unsafe {
            mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, code);
        }
        std::process::exit(code)
    }

    impl MpiWorld {
        /// Initializes MPI as OSU and nccl-tests do (`MPI_Init`), for calls from the
        /// main thread only (`threading`).
        pub fn new() -> Result<Self> {
            Self::init(threading(false))
        }

        /// Initializes MPI so that the `-T` watchdog may call MPI_Abort from its own
        /// thread (`threading`).
        pub fn with_watchdog() -> Result<Self> {
            Self::init(threading(true))
        }

        fn init(threading: mpi::Threading) -> Result<Self> {
            let (universe, _level) = mpi::initialize_with_threading(threading)
                .ok_or_else(|| BenchError::Launch("MPI was already initialized".into()))?;
            let world = universe.world();
            check_launcher(world.size() as usize, true)?;
            let local = world.split_shared(world.rank());
            Ok(MpiWorld {
                world,
                local,
                host: hostname(),
                library: library_name(&mpi::environment::library_version().unwrap_or_default()),
                _universe: universe,
            })
        }

        pub fn comm(&self) -> &SimpleCommunicator {
            &self.world
        }
    }

    /// The maximum of `v` over the ranks of `comm` (MpiWorld and SubWorld alike).
    fn max_on<C: Communicator>(comm: &C, v: f64) -> f64 {
        let mut out = 0.0f64;
        comm.all_reduce_into(&v, &mut out, mpi::collective::SystemOperation::max());
        out
    }

    /// `gather_bytes` over any communicator (the world's, or a `--split` part's).
    fn gather_on(comm: &SimpleCommunicator, data: &[u8]) -> Option<Vec<Vec<u8>>> {
        // Never send an empty slice: its dangling pointer (0x1) is OpenMPI's
        // MPI_IN_PLACE. One leading byte, stripped below.
        let framed: Vec<u8> = std::iter::once(0u8).chain(data.iter().copied()).collect();
        let data = &framed[..];
        let root = comm.process_at_rank(0);
        let len = data.len() as Count;
        if comm.rank() == 0 {
            let mut lens = vec![0 as Count; comm.size() as usize];
            root.gather_into_root(&len, &mut lens[..]);
            let displs: Vec<Count> = lens
                .iter()
                .scan(0, |acc, &l| {
                    let d = *acc;
                    *acc += l;
                    Some(d)
                })
                .collect();
            let total: Count = lens.iter().sum();
            let mut all = vec![0u8; total as usize];
            {
                let mut part = PartitionMut::new(&mut all[..], &lens[..], &displs[..]);
                root.gather_varcount_into_root(data, &mut part);
            }
            Some(
                lens.iter()
                    .zip(&displs)
                    .map(|(&l, &d)| all[d as usize + 1..(d + l) as usize].to_vec())
                    .collect(),
            )
        } else {
            root.gather_into(&len);
            root.gather_varcount_into(data);
            None
        }
    }

    impl World for MpiWorld {
        fn rank(&self) -> usize {
            self.world.rank() as usize
        }
        fn size(&self) -> usize {
            self.world.size() as usize
        }
        fn local_rank(&self) -> usize {
            self.local.rank() as usize
        }
        fn local_size(&self) -> usize {
            self.local.size() as usize
        }
        fn hostname(&self) -> &str {
            &self.host
        }
        fn barrier(&self) {
            self.world.barrier()
        }
        fn broadcast_bytes(&self, root: usize, buf: &mut [u8]) {
            self.world.process_at_rank(root as i32).broadcast_into(buf)
        }
        fn gather_bytes(&self, data: &[u8]) -> Option<Vec<Vec<u8>>> {
            gather_on(&self.world, data)
        }
        fn allreduce_max(&self, v: f64) -> f64 {
            max_on(&self.world, v)
        }
        fn aborter(&self) -> Aborter {
            Aborter {
                abort_fn: mpi_abort,
            }
        }
        fn mpi_library(&self) -> Option<String> {
            Some(self.library.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    /// A part of the job as a world of its own: `--split` runs the sweep again on each
    /// node's ranks and on one rank per node (src/split.rs). Control-plane exchanges go
    /// through the part's communicator; `local_rank`/`local_size` are the part's own
    /// placement (a node's ranks: its rank in the node; one rank per node: 0 of 1).
    /// Aborting still ends the whole job.
    pub struct SubWorld {
        comm: SimpleCommunicator,
        local: (usize, usize),
        host: String,
        library: Option<String>,
    }

    impl SubWorld {
        /// `parent`'s ranks split by `color` (None: this rank takes no part and gets
        /// None), ordered by `key`. Collective over `parent`.
        pub fn split(
            parent: &MpiWorld,
            color: Option<i32>,
            key: i32,
            one_per_node: bool,
        ) -> Option<SubWorld> {
            use mpi::topology::Color;
            let color = color.map_or(Color::undefined(), Color::with_value);
            let comm = parent.world.split_by_color_with_key(color, key)?;
            let local = if one_per_node {
                (0, 1)
            } else {
                (comm.rank() as usize, comm.size() as usize)
            };
            Some(SubWorld {
                comm,
                local,
                host: parent.host.clone(),
                library: Some(parent.library.clone()),
            })
        }

        /// The raw communicator, for the MPI backend; valid while `self` lives.
        pub fn raw(&self) -> mpi::ffi::MPI_Comm {
            use mpi::raw::AsRaw;
            self.comm.as_raw()
        }
    }

    impl World for SubWorld {
        fn rank(&self) -> usize {
            self.comm.rank() as usize
        }
        fn size(&self) -> usize {
            self.comm.size() as usize
        }
        fn local_rank(&self) -> usize {
            self.local.0
        }
        fn local_size(&self) -> usize {
            self.local.1
        }
        fn hostname(&self) -> &str {
            &self.host
        }
        fn barrier(&self) {
            self.comm.barrier()
        }
        fn broadcast_bytes(&self, root: usize, buf: &mut [u8]) {
            self.comm.process_at_rank(root as i32).broadcast_into(buf)
        }
        fn gather_bytes(&self, data: &[u8]) -> Option<Vec<Vec<u8>>> {
            gather_on(&self.comm, data)
        }
        fn allreduce_max(&self, v: f64) -> f64 {
            max_on(&self.comm, v)
        }
        fn aborter(&self) -> Aborter {
            Aborter {
                abort_fn: mpi_abort,
            }
        }
        fn mpi_library(&self) -> Option<String> {
            self.library.clone()
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }
}

/// The world this process is in: MPI when built with it, else one process. `watchdog`:
/// a `-T` watchdog thread will need to abort the job from its own thread.
pub fn init(watchdog: bool) -> Result<Box<dyn World>> {
    #[cfg(feature = "mpi")]
    {
        Ok(Box::new(if watchdog {
            MpiWorld::with_watchdog()?
        } else {
            MpiWorld::new()?
        }))
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = watchdog;
        Ok(Box::new(SoloWorld::new()?))
    }
}

/// Turns a per-rank outcome into one outcome for the whole job: if any rank failed, every
/// rank returns an error with the first failing rank's exit code, and rank 0's error
/// carries that rank's message (so rank 0 alone prints it).
pub fn agree<T>(world: &dyn World, r: Result<T>) -> Result<T> {
    let local = match &r {
        Ok(_) => String::new(),
        Err(e) => format!("{}\n{e}", e.exit_code()),
    };
    let first = world.gather_bytes(local.as_bytes()).and_then(|all| {
        all.iter()
            .enumerate()
            .find(|(_, m)| !m.is_empty())
            .map(|(rank, m)| {
                let m = String::from_utf8_lossy(m).into_owned();
                let (code, text) = m.split_once('\n').unwrap_or(("1", &m));
                (rank, code.parse::<i32>().unwrap_or(1), text.to_string())
            })
    });
    let mut code_bytes = first.as_ref().map_or(0i32, |f| f.1).to_le_bytes();
    world.broadcast_bytes(0, &mut code_bytes);
    let code = i32::from_le_bytes(code_bytes);
    if code == 0 {
        return r;
    }
    let text = match (&first, r) {
        (Some((0, _, t)), _) => t.clone(),
        (Some((k, _, t)), _) => format!("rank {k}: {t}"),
        (None, Err(e)) => e.to_string(),
        (None, Ok(_)) => String::new(),
    };
    Err(if code == 2 {
        BenchError::Usage(text)
    } else {
        BenchError::Backend(text)
    })
}
