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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_compute_is_refused_where_there_is_none() {
        let none = std::iter::empty();
        match open(ComputeOn::Device, BackendKind::Hccl, 0, none) {
            Err(BenchError::Unsupported(m)) => assert!(m.contains("not implemented"), "{m}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("hccl device compute opened"),
        }
        let none = std::iter::empty();
        assert!(matches!(
            open(ComputeOn::Device, BackendKind::Mpi, 0, none),
            Err(BenchError::Usage(_))
        ));
        assert_eq!(default_for(BackendKind::Nccl), ComputeOn::Device);
        assert_eq!(default_for(BackendKind::Mpi), ComputeOn::Host);
    }

    #[test]
    fn host_products_run_and_take_time() {
        let g = Gemm {
            name: "t".into(),
            m: 64,
            n: 64,
            k: 64,
            count: 3,
        };
        let mut e = open(ComputeOn::Host, BackendKind::Mpi, 0, std::iter::once(&g)).unwrap();
        let mut slices = 0;
        let s = e.run(&g, &mut || slices += 1).unwrap();
        assert!(s > 0.0);
        assert_eq!(slices, 3, "one slice per small product");
    }
}
