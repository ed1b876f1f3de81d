//! Matrix products on the rank's GPU: cuBLAS `cublasGemmEx` (bf16 operands, f32
//! accumulation, the default algorithm; <https://docs.nvidia.com/cuda/cublas/#cublasgemmex>)
//! through cudarc's thin `cublas::result` layer, on a stream of its own on the GPU NCCL
//! uses (local rank modulo the visible GPUs). Each product is synchronized before the
//! next, so the host clock around it is the device's time for it. Not yet run on a GPU
//! as part of `train-sim` (the compute path was added without a multi-GPU machine).

use super::engine::{extents, Engine};
use crate::backend::nccl::cuda::{self as cu, DevMem, Gpu, Stream};
use cudarc::cublas::{result as blas, sys as bsys};
use std::rc::Rc;
use std::time::Instant;
use xccl_train::gemm::Gemm;

pub struct CublasGemm {
    gpu: Rc<Gpu>,
    stream: Stream,
    handle: bsys::cublasHandle_t,
    a: DevMem,
    b: DevMem,
    c: DevMem,
}

impl CublasGemm {
    pub fn new<'a>(
        local_rank: usize,
        shapes: impl Iterator<Item = &'a Gemm>,
    ) -> Result<CublasGemm, String> {
        if !cu::driver_present() {
            return Err(format!("--compute device: {}", cu::driver_missing_reason()));
        }
        let n = cu::init_and_count()?;
        if n == 0 {
            return Err("--compute device: no GPU visible".into());
        }
        let gpu = Gpu::open((local_rank % n) as i32)?;
        let stream = Stream::new(&gpu)?;
        let (ea, eb, ec) = extents(shapes);
        let one = half::bf16::from_f32(1e-3).to_bits().to_le_bytes();
        let mk = |elems: usize, fill: bool| -> Result<DevMem, String> {
            let mut m = DevMem::alloc(&gpu, 2 * elems)?;
            if fill {
                m.write(0, &one.repeat(elems))?;
            }
            Ok(m)
        };
        let (a, b, c) = (mk(ea, true)?, mk(eb, true)?, mk(ec, false)?);
        let handle = blas::create_handle()
            .map_err(|e| format!("cublasCreate (libcublas loaded at run time): {e:?}"))?;
        unsafe { blas::set_stream(handle, stream.raw() as bsys::cudaStream_t) }
            .map_err(|e| format!("cublasSetStream: {e:?}"))?;
        Ok(CublasGemm {
            gpu,
            stream,
            handle,
            a,
            b,
            c,
        })
    }
}

impl Engine for CublasGemm {
    fn describe(&self) -> String {
        "cuBLAS cublasGemmEx (bf16, f32 accumulation)".into()
    }
    fn device(&self) -> String {
        self.gpu.name()
    }

    fn run(&mut self, g: &Gemm, between: &mut dyn FnMut()) -> Result<f64, String> {
        let (m, n, k) = (g.m as i32, g.n as i32, g.k as i32);
        let (alpha, beta) = (1.0f32, 0.0f32);
        let mut busy = 0.0;
        for _ in 0..g.count {
            let t = Instant::now();
            // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: B first, n × m result.
            let r = unsafe {
                blas::gemm_ex(
                    self.handle,
                    bsys::cublasOperation_t::CUBLAS_OP_N,
                    bsys::cublasOperation_t::CUBLAS_OP_N,
                    n,
                    m,
                    k,
                    &alpha as *const f32 as *const _,
                    self.b.at(0),
                    bsys::cudaDataType_t::CUDA_R_16BF,
                    n,
                    self.a.at(0),
                    bsys::cudaDataType_t::CUDA_R_16BF,
                    k,
                    &beta as *const f32 as *const _,
                    self.c.at(0),
                    bsys::cudaDataType_t::CUDA_R_16BF,
                    n,
                    bsys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
                    bsys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
                )
            };
            r.map_err(|e| format!("cublasGemmEx {m}x{n}x{k}: {e:?}"))?;
            self.stream.synchronize()?;
            busy += t.elapsed().as_secs_f64();
            between();
        }
        Ok(busy)
    }
}

impl Drop for CublasGemm {
    fn drop(&mut self) {
        let _ = self.gpu.make_current();
        unsafe {
            let _ = blas::destroy_handle(self.handle);
        }
    }
}
