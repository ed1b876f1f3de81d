/* Bandwidth probe of the emulated cluster (scripts/emu-cluster.sh selftest): rank 0
 * streams 1 MiB messages to rank 1 for about a second, then checks the rate against the
 * shaped rate given in kbit/s. Prints "ok ..." or "off ...". */
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
    const int msg = 1 << 20;
    /* ~1 s of traffic at the shaped rate, at least 4 messages. */
    int count = kbit > 0 ? (int)(kbit * 1000 / 8 / msg) : 16;
    if (count < 4) count = 4;
    char *buf = calloc(msg, 1);
    if (rank == 0) MPI_Recv(peer, sizeof peer, MPI_CHAR, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (rank == 1) MPI_Send(host, len + 1, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
    /* Warm-up message, then the timed stream; rank 1 acks the last one. */
    if (rank == 0) MPI_Send(buf, msg, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
    if (rank == 1) MPI_Recv(buf, msg, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < count; i++) {
        if (rank == 0) MPI_Send(buf, msg, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
        if (rank == 1) MPI_Recv(buf, msg, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    char ack = 0;
    if (rank == 1) MPI_Send(&ack, 1, MPI_CHAR, 0, 2, MPI_COMM_WORLD);
    if (rank == 0) MPI_Recv(&ack, 1, MPI_CHAR, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    double t = MPI_Wtime() - t0;
    if (rank == 0) {
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
