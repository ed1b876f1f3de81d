/* Meeting of a group's ranks by the id its root made (tests only), for the MPI-backed
 * stand-ins: NCCL before 2.18 builds each group from its own unique id, HCCL without
 * HcclCreateSubCommConfig from its own root info; the real libraries meet at the root
 * over TCP. Here (one host) each rank leaves its world rank in a directory named by the
 * id under its group rank, waits for all, then MPI_Comm_create_group: collective over
 * the group only, as the vendor call is. Returns 0, or -1 with `err` set. */
#ifndef XCCL_STANDIN_RENDEZVOUS_H
#define XCCL_STANDIN_RENDEZVOUS_H
#include <mpi.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A 32-bit id distinct per call and per run, for the root to embed. */
static uint32_t standin_fresh_id(void) {
    static uint32_t calls;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint32_t)getpid() * 2654435761u ^ ++calls * 40503u ^ (uint32_t)ts.tv_nsec;
}

static int standin_rendezvous(const char *lib, uint32_t id, int nranks, int rank, MPI_Comm *out,
                              char *err, size_t errlen) {
    char dir[96], path[128], tmp[160];
    int wr;
    MPI_Comm_rank(MPI_COMM_WORLD, &wr);
    snprintf(dir, sizeof dir, "/tmp/xccl-%s-standin-%08x", lib, id);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s", dir);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%d", dir, rank);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", wr) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    int *world = (int *)calloc((size_t)nranks, sizeof *world);
    for (int r = 0; r < nranks; r++) {
        snprintf(path, sizeof path, "%s/%d", dir, r);
        FILE *g = NULL;
        for (int ms = 0; !(g = fopen(path, "r")) && ms < 60000; ms++) usleep(1000);
        int ok = g && fscanf(g, "%d", &world[r]) == 1;
        if (g) fclose(g);
        if (!ok) {
            free(world);
            snprintf(err, errlen, "rank %d of the group never arrived in %s", r, dir);
            return -1;
        }
    }
    MPI_Group wg, gg;
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    MPI_Group_incl(wg, nranks, world, &gg);
    free(world);
    MPI_Comm_create_group(MPI_COMM_WORLD, gg, (int)(id & 0x7fff), out);
    MPI_Group_free(&gg);
    MPI_Group_free(&wg);
    /* Everyone has read every file before the group's rank 0 removes them. */
    MPI_Barrier(*out);
    if (rank == 0) {
        for (int r = 0; r < nranks; r++) {
            snprintf(path, sizeof path, "%s/%d", dir, r);
            unlink(path);
        }
        rmdir(dir);
    }
    return 0;
}
#endif
