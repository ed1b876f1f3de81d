//! NCCL communicator set-up, written once for the benchmark's NCCL backend and
//! `train-sim`'s NCCL transport: NCCL and the CUDA driver loaded, this process's GPUs
//! opened (local rank × GPUs per process + i, modulo the visible ones, as nccl-tests
//! does), and communicators initialized from rank 0's unique id (`ncclGetUniqueId`,
//! carried by a [`Rendezvous`], then `ncclCommInitRank`). [`probe`] says, for
//! `xccl-bench list`, whether the first steps can work here.

use super::cuda::{self, Gpu};
use crate::backend::rendezvous::Rendezvous;
use crate::error::{BenchError, Result};
use crate::world::World;
use nccl_sys::{Comm, Group, NcclLib, UniqueId, UNIQUE_ID_BYTES};
use std::rc::Rc;

fn backend_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Backend(e.to_string())
}

/// NCCL and a CUDA driver that sees at least one GPU.
pub struct Loaded {
    pub lib: &'static NcclLib,
    /// GPUs the driver sees.
    count: usize,
}

impl Loaded {
    /// Loads NCCL and the CUDA driver (`rank`: this process's first rank, for errors).
    /// `context` starts the message when there is no driver (e.g. the command's name).
    pub fn load(world: &dyn World, rank: usize, context: &str) -> Result<Loaded> {
        let host = world.hostname();
        let lib = nccl_sys::load().map_err(backend_err)?;
        if !cuda::driver_present() {
            return Err(BenchError::Backend(format!(
                "{context}no CUDA driver on {host}: {}; NCCL {} was found at {}",
                cuda::driver_missing_reason(),
                lib.version(),
                lib.path.display()
            )));
        }
        let count = cuda::init_and_count()
            .map_err(|e| BenchError::Backend(format!("rank {rank} ({host}): {e}")))?;
        if count == 0 {
            return Err(BenchError::Backend(format!(
                "no CUDA device visible on {host}"
            )));
        }
        Ok(Loaded { lib, count })
    }

    /// GPU `i` of the `per_process` this process drives, for communicator rank `rank`:
    /// local rank × `per_process` + `i`, modulo the visible GPUs.
    pub fn open(
        &self,
        world: &dyn World,
        per_process: usize,
        i: usize,
        rank: usize,
    ) -> Result<Rc<Gpu>> {
        let ordinal = ((world.local_rank() * per_process + i) % self.count) as i32;
        Gpu::open(ordinal)
            .map_err(|e| BenchError::Backend(format!("rank {rank} ({}): {e}", world.hostname())))
    }
}

/// Rank 0's unique id on every rank of `via`.
pub fn unique_id<R: Rendezvous + ?Sized>(lib: &'static NcclLib, via: &R) -> Result<UniqueId> {
    let id = via.id(UNIQUE_ID_BYTES, "ncclGetUniqueId", || {
        UniqueId::new(lib)
            .map(|id| id.to_bytes().to_vec())
            .map_err(backend_err)
    })?;
    Ok(UniqueId::from_bytes(&id))
}

/// One communicator over the ranks of `via` (`ncclCommInitRank` on rank 0's unique id),
/// on the current GPU.
pub fn init<R: Rendezvous + ?Sized>(lib: &'static NcclLib, via: &R) -> Result<Comm> {
    let id = unique_id(lib, via)?;
    Comm::init_rank(lib, via.size(), &id, via.rank()).map_err(backend_err)
}

/// A communicator of `nranks` ranks per GPU in `gpus`, ranks `first`, `first` + 1, ...:
/// one `ncclCommInitRank` each, grouped (nccl-tests' `-g`).
pub fn init_ranks<'a>(
    lib: &'static NcclLib,
    id: &UniqueId,
    nranks: usize,
    first: usize,
    gpus: impl IntoIterator<Item = &'a Rc<Gpu>>,
) -> Result<Vec<Comm>> {
    let group = Group::start(lib).map_err(backend_err)?;
    let mut comms = Vec::new();
    for (i, gpu) in gpus.into_iter().enumerate() {
        gpu.make_current().map_err(backend_err)?;
        comms.push(Comm::init_rank(lib, nranks, id, first + i).map_err(backend_err)?);
    }
    group.end().map_err(backend_err)?;
    Ok(comms)
}

/// `Ok(library path and version)` when NCCL loads and a CUDA driver with at least one
/// device is present, else why not (every place looked). For `xccl-bench list`.
pub fn probe() -> std::result::Result<String, String> {
    let lib = nccl_sys::load().map_err(|e| e.to_string())?;
    let found = format!("NCCL {} at {}", lib.version(), lib.path.display());
    if !cuda::driver_present() {
        return Err(format!(
            "{found}, but no CUDA driver: {}",
            cuda::driver_missing_reason()
        ));
    }
    match cuda::init_and_count() {
        Ok(0) => Err(format!("{found}, but the CUDA driver sees no GPU")),
        Ok(k) => Ok(format!("{found}; {k} GPU(s) visible")),
        Err(e) => Err(format!("{found}, but CUDA is unusable: {e}")),
    }
}
