//! Matrix products on the host's CPU: `matrixmultiply::sgemm` (f32, one thread, its own
//! packing and AVX/FMA kernels; <https://docs.rs/matrixmultiply>), row-major, in slices of
//! rows of about 1 ms so the caller can progress messages between them.

use super::engine::{extents, Engine};
use std::time::Instant;
use xccl_train::gemm::Gemm;

/// FLOPs of one slice: ~1 ms at the ~30 GFLOP/s one core gives. (Smaller slices repack
/// B for every few rows: at 4e6 the large products ran at a tenth of that rate.)
const SLICE_FLOPS: f64 = 3e7;

pub struct CpuGemm {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

impl CpuGemm {
    pub fn new<'a>(shapes: impl Iterator<Item = &'a Gemm>) -> CpuGemm {
        let (a, b, c) = extents(shapes);
        // Small non-zero values: no denormals, no special case for zeros.
        CpuGemm {
            a: vec![1e-3; a],
            b: vec![1e-3; b],
            c: vec![0.0; c],
        }
    }
}

impl Engine for CpuGemm {
    fn describe(&self) -> String {
        "matrixmultiply sgemm (f32, 1 thread per rank)".into()
    }
    fn device(&self) -> String {
        "host".into()
    }

    fn run(&mut self, g: &Gemm, between: &mut dyn FnMut()) -> Result<f64, String> {
        let (m, n, k) = (g.m as usize, g.n as usize, g.k as usize);
        let rows = ((SLICE_FLOPS / (2.0 * (n * k) as f64)) as usize).clamp(1, m);
        let mut busy = 0.0;
        for _ in 0..g.count {
            let mut r0 = 0;
            while r0 < m {
                let r = rows.min(m - r0);
                let t = Instant::now();
                // Row-major: A rows r0.. of k, B k×n, C rows r0.. of n; all inside the
                // buffers, sized for the largest product (`extents`).
                unsafe {
                    matrixmultiply::sgemm(
                        r,
                        k,
                        n,
                        1.0,
                        self.a.as_ptr().add(r0 * k),
                        k as isize,
                        1,
                        self.b.as_ptr(),
                        n as isize,
                        1,
                        0.0,
                        self.c.as_mut_ptr().add(r0 * n),
                        n as isize,
                        1,
                    );
                }
                busy += t.elapsed().as_secs_f64();
                r0 += r;
                between();
            }
        }
        Ok(busy)
    }
}
