/* The reference of benches/harness_overhead.rs: MPI all_reduce (float, sum, out of place)
 * timed the way the standard benchmarks time it, in a process of its own that has
 * nothing of xccl-bench, initialized as OSU initializes (MPI_Init). The bench compiles
 * it with `mpicc -O2` and runs it under mpirun.
 *
 *   osu_ref ROUND SIZE:ITERS:WARMUP...
 *
 * For each size, in the order given, and each method, in the order the harness side
 * uses (per-call first where ROUND + the size's index is even):
 *   per-call (OSU's osu_allreduce, whose barrier after each call is the one before
 *            the next here): barrier; warm-up calls; then per call
 *            barrier; t0 = MPI_Wtime; call; t1; the mean of t1 - t0;
 *   loop (nccl-tests'): barrier; warm-up calls; barrier; t0; ITERS calls; t1;
 *            (t1 - t0) / ITERS;
 * each on a page-aligned buffer pair mapped for that measurement alone and every page
 * written (as OSU's one-size run `-m S:S` allocates; the harness maps its own the same
 * way, src/backend/mpi.rs HostBuf), each rank's mean averaged over ranks. Rank 0 prints
 * one line per measurement: "SIZE per-call|loop MICROSECONDS". */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void *map(size_t len) {
    void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("osu_ref: mmap");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(p, 1, len);
    return p;
}

/* One measurement of `method` (0 per-call, 1 loop), in microseconds averaged over ranks. */
static double measure(int method, size_t bytes, long iters, long warmup) {
    void *send = map(bytes), *recv = map(bytes);
    int count = (int)(bytes / sizeof(float)), nranks;
    double total = 0.0, sum = 0.0;
    MPI_Barrier(MPI_COMM_WORLD);
    for (long i = 0; i < warmup; i++)
        MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (method == 0) {
        for (long i = 0; i < iters; i++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            total += MPI_Wtime() - t0;
        }
    } else {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (long i = 0; i < iters; i++)
            MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        total = MPI_Wtime() - t0;
    }
    total /= (double)iters;
    MPI_Allreduce(&total, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    munmap(send, bytes ? bytes : 1);
    munmap(recv, bytes ? bytes : 1);
    return sum / nranks * 1e6;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (argc < 3) {
        if (rank == 0)
            fprintf(stderr, "usage: osu_ref ROUND SIZE:ITERS:WARMUP...\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    long round = atol(argv[1]);
    static const char *names[2] = {"per-call", "loop"};
    for (int j = 2; j < argc; j++) {
        size_t bytes;
        long iters, warmup;
        if (sscanf(argv[j], "%zu:%ld:%ld", &bytes, &iters, &warmup) != 3 || iters < 1) {
            if (rank == 0)
                fprintf(stderr, "osu_ref: bad measurement '%s'\n", argv[j]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        int first = (round + (j - 2)) % 2 == 0 ? 0 : 1;
        for (int k = 0; k < 2; k++) {
            int method = k == 0 ? first : 1 - first;
            double us = measure(method, bytes, iters, warmup);
            if (rank == 0)
                printf("%zu %s %.6f\n", bytes, names[method], us);
        }
    }
    MPI_Finalize();
    return 0;
}
