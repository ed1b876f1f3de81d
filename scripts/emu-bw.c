/* Bandwidth probe of the emulated cluster (scripts/emu-cluster.sh selftest): rank SRC
 * (default 0) streams 1 MiB messages to rank DST (default 1) for about a second, the other
 * ranks idle, then checks the rate against the shaped rate given in kbit/s. Prints
 * "ok ..." or "off ...".   usage: emu-bw KBIT [SRC DST] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, n;
    char host[MPI_MAX_PROCESSOR_NAME], peer[MPI_MAX_PROCESSOR_NAME];
    int len;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    MPI_Get_processor_name(host, &len);
    double kbit = argc > 1 ? atof(argv[1]) : 0;
    int src = argc > 3 ? atoi(argv[2]) : 0, dst = argc > 3 ? atoi(argv[3]) : 1;
    if (src < 0 || dst < 0 || src >= n || dst >= n || src == dst) {
        if (rank == 0) fprintf(stderr, "emu-bw: SRC %d DST %d: want two different ranks of %d\n", src, dst, n);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const int msg = 1 << 20;
    /* ~1 s of traffic at the shaped rate, at least 4 messages. */
    int count = kbit > 0 ? (int)(kbit * 1000 / 8 / msg) : 16;
    if (count < 4) count = 4;
    char *buf = calloc(msg, 1);
    if (rank == src) MPI_Recv(peer, sizeof peer, MPI_CHAR, dst, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (rank == dst) MPI_Send(host, len + 1, MPI_CHAR, src, 1, MPI_COMM_WORLD);
    /* Warm-up message, then the timed stream; DST acks the last one. */
    if (rank == src) MPI_Send(buf, msg, MPI_CHAR, dst, 0, MPI_COMM_WORLD);
    if (rank == dst) MPI_Recv(buf, msg, MPI_CHAR, src, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < count; i++) {
        if (rank == src) MPI_Send(buf, msg, MPI_CHAR, dst, 0, MPI_COMM_WORLD);
        if (rank == dst) MPI_Recv(buf, msg, MPI_CHAR, src, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    char ack = 0;
    if (rank == dst) MPI_Send(&ack, 1, MPI_CHAR, src, 2, MPI_COMM_WORLD);
    if (rank == src) MPI_Recv(&ack, 1, MPI_CHAR, dst, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    double t = MPI_Wtime() - t0;
    if (rank == src) {
        double mbs = (double)count * msg / t / 1e6;
        double want = kbit * 1000 / 8 / 1e6;
        double ratio = want > 0 ? mbs / want : 0;
        printf("%s %s -> %s: %.2f MB/s over %d MiB, shaped %.2f MB/s (%.2f)\n",
               (ratio > 0.8 && ratio < 1.1) ? "ok" : "off", host, peer, mbs, count, want, ratio);
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
