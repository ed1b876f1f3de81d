//! With the `mpi` feature, compiles a one-line C shim that exports MPI_IN_PLACE: it is a
//! macro whose value differs between MPI implementations (OpenMPI `(void*)1`, MPICH
//! `(void*)-1`), and rsmpi does not expose it.
fn main() {
    println!("cargo:rerun-if-changed=src/backend/mpi_shim.c");
    #[cfg(feature = "mpi")]
    {
        let lib = match build_probe_mpi::probe() {
            Ok(l) => l,
            Err(errs) => {
                for e in errs {
                    println!("cargo:warning=MPI probe: {e}");
                }
                panic!("no MPI library found (install libopenmpi-dev or libmpich-dev, or build with --no-default-features)");
            }
        };
        let mut b = cc::Build::new();
        b.file("src/backend/mpi_shim.c");
        for p in &lib.include_paths {
            b.include(p);
        }
        b.compile("xccl_mpi_shim");
    }
}
