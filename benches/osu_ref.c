/* The reference of benches/harness_overhead.rs: MPI all_reduce (float, sum, out of place)
 * timed the way the standard benchmarks time it, in a process of its own that has
 * nothing of xccl-bench, initialized as OSU initializes (MPI_Init). The bench compiles
 * it with `mpicc -O2` and runs it under mpirun.
 *
 *   osu_ref ROUND PLACEMENTS SIZE:ITERS:WARMUP...
 *
 * For each size, in the order given, and each method, in the order the harness side
 * uses (per-call first where ROUND + the size's index is even), PLACEMENTS measurements,
 * each on a page-aligned buffer pair mapped for it alone and every page written (as
 * OSU's one-size run `-m S:S` allocates; the harness maps its own the same way,
 * src/backend/mpi/host_buf.rs):
 *   per-call (OSU's osu_allreduce, whose barrier after each call is the one before
 *            the next here): barrier; WARMUP calls; then per call
 *            barrier; t0 = MPI_Wtime; call; t1; the mean of t1 - t0;
 *   loop (nccl-tests'): barrier; WARMUP calls; barrier; t0; ITERS calls; t1;
 *            (t1 - t0) / ITERS;
 * each rank's mean averaged over ranks. After each placement's pair is unmapped, a hold
 * as large (two mappings, written) takes its pages until the PLACEMENTS measurements
 * are done: the kernel hands the pages freed last out first, so without it every pair
 * of a size would land on the same pages. Rank 0 prints one line per size and method,
 * "SIZE per-call|loop MICROSECONDS", the mean over the placements (why the mean:
 * harness_overhead.rs, `placement_mean`). */
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

/* `method` measured on `placements` buffer pairs, each kept off the pages of the ones
 * before by a hold: the mean over placements, in microseconds. */
static double measure_placements(int method, size_t bytes, long iters, long warmup, long placements) {
    size_t len = bytes ? bytes : 1;
    void **holds = calloc(2 * (size_t)placements, sizeof(void *));
    double sum = 0.0;
    if (!holds) {
        perror("osu_ref: calloc");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (long k = 0; k < placements; k++) {
        sum += measure(method, bytes, iters, warmup);
        if (k + 1 < placements) {
            holds[2 * k] = map(bytes);
            holds[2 * k + 1] = map(bytes);
        }
    }
    for (long k = 0; k + 1 < placements; k++) {
        munmap(holds[2 * k], len);
        munmap(holds[2 * k + 1], len);
    }
    free(holds);
    return sum / (double)placements;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (argc < 4) {
        if (rank == 0)
            fprintf(stderr, "usage: osu_ref ROUND PLACEMENTS SIZE:ITERS:WARMUP...\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    long round = atol(argv[1]), placements = atol(argv[2]);
    if (placements < 1) {
        if (rank == 0)
            fprintf(stderr, "osu_ref: PLACEMENTS must be at least 1, not '%s'\n", argv[2]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    static const char *names[2] = {"per-call", "loop"};
    for (int j = 3; j < argc; j++) {
        size_t bytes;
        long iters, warmup;
        if (sscanf(argv[j], "%zu:%ld:%ld", &bytes, &iters, &warmup) != 3 || iters < 1) {
            if (rank == 0)
                fprintf(stderr, "osu_ref: bad measurement '%s'\n", argv[j]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        int first = (round + (j - 3)) % 2 == 0 ? 0 : 1;
        for (int k = 0; k < 2; k++) {
            int method = k == 0 ? first : 1 - first;
            double us = measure_placements(method, bytes, iters, warmup, placements);
            if (rank == 0)
                printf("%zu %s %.6f\n", bytes, names[method], us);
        }
    }
    MPI_Finalize();
    return 0;
}
