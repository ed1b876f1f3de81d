//! The MPI world (OpenMPI, MPICH, `srun` via PMI) and its sub-communicators.

use super::api::{Aborter, World};
use super::launch::{check_launcher, hostname, library_name};
use crate::error::{BenchError, Result};
use mpi::collective::{CommunicatorCollectives, Root};
use mpi::datatype::PartitionMut;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::Count;

/// The thread level MPI is initialized at (docs/PERFORMANCE.md, *MPI's thread level*):
/// - `MPI_THREAD_SINGLE`, what `MPI_Init` asks for (as OSU and nccl-tests call it):
///   every MPI call comes from the main thread. Threads that never call MPI (the
///   progress bar's ticker, CUDA's and NCCL's, Open MPI's own two) do not raise it: under
///   Open MPI 4.1 any higher level, FUNNELED included, turns on locking inside every
///   call (8 B all_reduce about 1.3x slower, as with MULTIPLE).
/// - `MPI_THREAD_MULTIPLE` with `-T` (`watchdog`): the watchdog thread calls MPI_Abort
///   while the main thread may be inside a collective.
fn threading(watchdog: bool) -> mpi::Threading {
    if watchdog {
        mpi::Threading::Multiple
    } else {
        mpi::Threading::Single
    }
}

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
    /// The MPI world behind `world`, for `what`, which needs MPI's communicator.
    pub fn of<'a>(world: &'a dyn World, what: &str) -> Result<&'a MpiWorld> {
        world
            .as_any()
            .downcast_ref::<MpiWorld>()
            .ok_or_else(|| BenchError::Launch(format!("{what} needs an MPI world")))
    }

    /// Initializes MPI as OSU and nccl-tests do (`MPI_Init`), for calls from the
    /// main thread only ([`threading`]).
    pub fn new() -> Result<Self> {
        Self::init(threading(false))
    }

    /// Initializes MPI so that the `-T` watchdog may call MPI_Abort from its own
    /// thread ([`threading`]).
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

#[cfg(test)]
mod tests {
    /// Only `-T` raises the thread level; FUNNELED would cost as much as MULTIPLE.
    #[test]
    fn thread_level_is_single_unless_watchdog() {
        assert_eq!(super::threading(false), mpi::Threading::Single);
        assert_eq!(super::threading(true), mpi::Threading::Multiple);
    }
}
