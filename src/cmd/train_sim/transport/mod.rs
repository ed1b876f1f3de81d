//! The transport under `train-sim`: the few things a simulated training step asks of a
//! communication library, behind one trait ([`api::StepComm`]), so the same schedule runs
//! on MPI, NCCL or HCCL.
//!
//! Why a trait of its own and not [`crate::backend::Backend`]: that one times a sweep of
//! one call; a training step needs sub-communicators (split by color and key, as
//! Megatron builds its TP, DP, PP and EP groups), collectives started without waiting
//! (the DP gradient buckets under backward) and tested later, and blocking calls in the
//! layer path.
//!
//! What each implementation does:
//! - [`mpi::MpiStep`]: the MPI calls `train-sim` always made (`MPI_Comm_split`,
//!   `MPI_Allreduce`, `MPI_Iallreduce` ... `MPI_Test`), on host memory.
//! - [`nccl::NcclStep`]: a world communicator from `ncclGetUniqueId` broadcast over MPI,
//!   sub-communicators by `ncclCommSplit` (NCCL 2.18+) or, on older NCCL, one unique id
//!   per group broadcast over the group's MPI communicator and `ncclCommInitRank`. Every
//!   communicator has its own CUDA stream, so the DP stream is separate from the TP, PP
//!   and EP streams and a started DP reduction overlaps whatever the host does next;
//!   "test"/"wait" are `cuEventQuery`/`cuEventSynchronize` on an event recorded after
//!   the call. Buffers are device memory.
//! - [`hccl::HcclStep`]: the same on Ascend: a world communicator from
//!   `HcclCommInitRootInfo`, sub-communicators by `HcclCreateSubCommConfig` or, without
//!   it, one root info per group; one `aclrtStream` per communicator; ACL events.
//!
//! NCCL and HCCL share one shape ([`device::DeviceStep`]: a stream per group, events for
//! completion, the MPI communicator beside each group); their files hold only what
//! differs (the library's calls, [`device::Vendor`], and its device runtime's,
//! [`device::Runtime`]). Their communicator set-up is the benchmark's own
//! ([`crate::backend::nccl::comm`], [`crate::backend::hccl::comm`]), with the ids carried
//! over MPI ([`host`]).
//!
//! Every group also keeps the MPI communicator of its ranks: barriers between steps and
//! the maximum of the step times are bookkeeping on the host, not the measured traffic,
//! and go over MPI on every backend ([`host`]).
//!
//! Compute is not here: on every backend it is a calibrated host-side wait
//! ([`super::wait`]). Errors after set-up (a failed call in the middle of a step) print
//! one line and abort the whole job (exit 1, [`host::fatal`]), as MPI's default error
//! handler does: a rank that returned early would leave its peers blocked in the next
//! collective.
#![cfg(feature = "mpi")]

pub mod api;
pub mod device;
pub mod hccl;
pub mod host;
pub mod mpi;
pub mod nccl;
