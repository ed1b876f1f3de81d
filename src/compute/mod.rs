//! The matrix products `train-sim` computes and `calibrate` times: the layer's shapes
//! ([`xccl_train::gemm`]) run for real, on the host's CPU ([`cpu`], the `matrixmultiply`
//! crate's single-threaded SGEMM) or on the rank's GPU ([`cuda`], cuBLAS through cudarc,
//! loaded at run time). Ascend's matmul (ACL/aclnn) is not implemented: `--compute device`
//! on HCCL is refused with that reason ([`open`]).
//!
//! Why one engine for both commands: the calibration is only a measurement of the step's
//! compute if it runs the same code on the same shapes.

pub mod cpu;
pub mod cuda;
pub mod engine;

pub use engine::Engine;

use crate::backend::BackendKind;
use crate::error::{BenchError, Result};
use clap::ValueEnum;
use xccl_train::gemm::Gemm;

/// Where a rank's matrix products run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ComputeOn {
    /// The host's CPU (one thread per rank).
    Host,
    /// The backend's device: cuBLAS on NCCL's GPU; not implemented on HCCL.
    Device,
}

/// The engine of `on` for a rank of `backend` (`local_rank` picks its GPU); buffers sized
/// for every product of `shapes`.
pub fn open<'a>(
    on: ComputeOn,
    backend: BackendKind,
    local_rank: usize,
    shapes: impl Iterator<Item = &'a Gemm>,
) -> Result<Box<dyn Engine>> {
    match (on, backend) {
        (ComputeOn::Host, _) => Ok(Box::new(cpu::CpuGemm::new(shapes))),
        (ComputeOn::Device, BackendKind::Nccl) => Ok(Box::new(
            cuda::CublasGemm::new(local_rank, shapes).map_err(BenchError::Backend)?,
        )),
        (ComputeOn::Device, BackendKind::Hccl) => Err(BenchError::Unsupported(
            "--compute device on hccl: Ascend matmul (aclnnMatmul) is not implemented; use --compute host".into(),
        )),
        (ComputeOn::Device, BackendKind::Mpi) => Err(BenchError::Usage(
            "--compute device: the mpi backend has no device; use --compute host".into(),
        )),
    }
}

/// The default: the device's GEMM on NCCL, the host's elsewhere (MPI has no device;
/// HCCL's matmul is not implemented).
pub fn default_for(backend: BackendKind) -> ComputeOn {
    match backend {
        BackendKind::Nccl => ComputeOn::Device,
        _ => ComputeOn::Host,
    }
}
