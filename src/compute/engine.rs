//! What runs matrix products ([`Engine`]), and the buffer sizes a set of products needs.

use xccl_train::gemm::Gemm;

/// Runs matrix products.
pub trait Engine {
    /// What runs them, for headers and calibration files ("matrixmultiply 0.3 sgemm, f32,
    /// 1 thread").
    fn describe(&self) -> String;
    /// The device as its backend names it ("host", or the GPU's name).
    fn device(&self) -> String;
    /// Runs the `count` products of `g` (complete when it returns), calling `between`
    /// after each slice of at most ~1 ms of work so the caller can progress messages in
    /// flight; returns the seconds spent in the products, `between` excluded, or the
    /// library's error in one line.
    fn run(&mut self, g: &Gemm, between: &mut dyn FnMut()) -> std::result::Result<f64, String>;
}

/// The largest A (m×k), B (k×n) and C (m×n) of `shapes`, in elements.
pub fn extents<'a>(shapes: impl Iterator<Item = &'a Gemm>) -> (usize, usize, usize) {
    shapes.fold((1, 1, 1), |(a, b, c), g| {
        let (m, n, k) = (g.m as usize, g.n as usize, g.k as usize);
        (a.max(m * k), b.max(k * n), c.max(m * n))
    })
}
