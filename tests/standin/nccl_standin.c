/* Stand-in libnccl.so.2 (tests only): the NCCL calls xccl-bench makes, on the CUDA
 * stand-in's host memory, over MPI (the calling process has initialized it). Not
 * NVIDIA's library. Signatures and numbering follow nccl.h; every call checks its
 * arguments as NCCL would (type and op codes, counts against the allocation, buffers
 * and stream on the communicator's device, root and peers in range, a unique id that
 * ncclGetUniqueId made). Group semantics are kept: calls between ncclGroupStart and
 * ncclGroupEnd run together at the end (so grouped send/recv cannot deadlock), and work
 * on a capturing stream is recorded into the CUDA graph instead of run.
 *
 * STANDIN_NCCL_VERSION (compile time) is the version reported; below 22800 the library
 * has no ncclAlltoAll/ncclGather/ncclScatter, as NCCL before 2.28. With
 * XCCL_STANDIN_LOG=FILE every call is logged with the raw codes received. */
#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mpi_standin.h"
#include "rendezvous.h"

#ifndef STANDIN_NCCL_VERSION
#define STANDIN_NCCL_VERSION 22803
#endif

typedef int ncclResult_t;
enum { ncclSuccess = 0, ncclUnhandledCudaError = 1, ncclSystemError = 2, ncclInternalError = 3,
       ncclInvalidArgument = 4, ncclInvalidUsage = 5 };
typedef struct { char internal[128]; } ncclUniqueId;
typedef void *cudaStream_t;

/* from the CUDA stand-in */
typedef void (*xccl_work_fn)(void *arg);
int xccl_cuda_current_device(void);
int xccl_cuda_mem_ok(const void *p, size_t bytes, int dev);
int xccl_cuda_stream_ok(void *s, int dev);
int xccl_cuda_issue(void *s, xccl_work_fn fn, void *arg);

static char g_last[768] = "";
static int g_rank = -1;

static ncclResult_t fail(ncclResult_t code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_last, sizeof g_last, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[nccl stand-in] %s\n", g_last);
    return code;
}
#define TRY(x) do { ncclResult_t r_ = (x); if (r_) return r_; } while (0)

ncclResult_t ncclGetVersion(int *v) {
    if (!v) return ncclInvalidArgument;
    *v = STANDIN_NCCL_VERSION;
    return ncclSuccess;
}
const char *ncclGetErrorString(ncclResult_t r) {
    switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error";
    case ncclInvalidArgument: return "invalid argument";
    case ncclInvalidUsage: return "invalid usage";
    default: return "stand-in error";
    }
}

/* ---- types: nccl.h numbering, the element each code names ---- */
static const enum standin_elem ELEM[] = {E_I8, E_U8, E_I32, E_U32, E_I64, E_U64, E_F16, E_F32, E_F64, E_BF16, E_F8E4M3,
                                         E_F8E5M2};
static size_t tsize(int t) { return t >= 0 && t <= 11 ? standin_elem_size(ELEM[t]) : 0; }

/* ---- communicators ---- */
#define COMM_MAGIC 0x4e43434cu
/* `local`: one process drives every rank (nccl-tests -g N without MPI); calls are then
 * matched across the communicators inside ncclGroupEnd instead of over MPI. */
struct comm { unsigned magic; MPI_Comm mpi; int rank, size, dev, local; };

static ncclResult_t check_comm(const char *f, void *comm, void *stream, struct comm **out) {
    struct comm *c = (struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC) return fail(ncclInvalidArgument, "%s: comm %p is not a live communicator", f, comm);
    if (!xccl_cuda_stream_ok(stream, c->dev))
        return fail(ncclInvalidArgument, "%s: stream %p is not a live stream of the communicator's GPU %d", f, stream, c->dev);
    *out = c;
    return ncclSuccess;
}
static ncclResult_t check_type(const char *f, int t) {
    if (tsize(t) == 0) return fail(ncclInvalidArgument, "%s: datatype %d is not an ncclDataType_t", f, t);
    return ncclSuccess;
}
static ncclResult_t check_op(const char *f, int op) {
    if (op < 0 || op > 4) return fail(ncclInvalidArgument, "%s: op %d is not an ncclRedOp_t", f, op);
    return ncclSuccess;
}
static ncclResult_t check_mem(const char *f, const char *what, const void *p, size_t bytes, struct comm *c) {
    if (!xccl_cuda_mem_ok(p, bytes, c->dev))
        return fail(ncclInvalidArgument, "%s: %s %p is not %zu bytes of memory on GPU %d", f, what, p, bytes, c->dev);
    return ncclSuccess;
}
static ncclResult_t check_rank(const char *f, const char *what, int r, struct comm *c) {
    if (r < 0 || r >= c->size) return fail(ncclInvalidArgument, "%s: %s %d out of range for %d ranks", f, what, r, c->size);
    return ncclSuccess;
}

static uint32_t pattern(uint32_t seed, int i) { return (seed * 2246822519u + (uint32_t)i * 3266489917u) >> 24; }

ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
    if (!id) return ncclInvalidArgument;
    /* Distinct per call and per run: the id names the rendezvous of a group. */
    uint32_t seed = standin_fresh_id();
    memcpy(id->internal, "XCCLNCCL", 8);
    memcpy(id->internal + 8, &seed, 4);
    for (int i = 12; i < 128; i++) id->internal[i] = (char)pattern(seed, i);
    return ncclSuccess;
}

ncclResult_t ncclCommInitRank(void **comm, int nranks, ncclUniqueId id, int rank) {
    int dev = xccl_cuda_current_device();
    if (!comm) return ncclInvalidArgument;
    if (dev < 0) return fail(ncclInvalidUsage, "ncclCommInitRank: no current CUDA device");
    if (memcmp(id.internal, "XCCLNCCL", 8) != 0) return fail(ncclInvalidArgument, "ncclCommInitRank: unique id not from ncclGetUniqueId");
    uint32_t seed;
    memcpy(&seed, id.internal + 8, 4);
    for (int i = 12; i < 128; i++)
        if ((unsigned char)id.internal[i] != pattern(seed, i))
            return fail(ncclInvalidArgument, "ncclCommInitRank: unique id corrupt at byte %d", i);
    int init = 0, wr, ws;
    MPI_Initialized(&init);
    if (!init) return fail(ncclSystemError, "ncclCommInitRank: the stand-in needs MPI initialized by its caller");
    MPI_Comm_rank(MPI_COMM_WORLD, &wr);
    MPI_Comm_size(MPI_COMM_WORLD, &ws);
    int local = ws == 1 && nranks > 1;
    if (rank < 0 || rank >= nranks) return fail(ncclInvalidArgument, "ncclCommInitRank: rank %d of %d", rank, nranks);
    if (!local && nranks > ws)
        return fail(ncclInvalidArgument, "ncclCommInitRank: nranks %d, but the MPI world has %d ranks (the stand-in runs one GPU per process, or all ranks in one process)", nranks, ws);
    if (!local && nranks == ws && rank != wr)
        return fail(ncclInvalidArgument, "ncclCommInitRank: rank %d, but the MPI world rank is %d (the stand-in keeps the world's order)", rank, wr);
    MPI_Comm group = MPI_COMM_NULL;
    if (!local && nranks < ws) {
        /* A group of some world ranks (before 2.18, one unique id per group). */
        char err[256];
        if (standin_rendezvous("nccl", seed, nranks, rank, &group, err, sizeof err) != 0)
            return fail(ncclSystemError, "ncclCommInitRank: %s", err);
    }
    struct comm *c = (struct comm *)calloc(1, sizeof *c);
    c->magic = COMM_MAGIC;
    c->local = local;
    if (group != MPI_COMM_NULL) c->mpi = group;
    else if (!local) MPI_Comm_dup(MPI_COMM_WORLD, &c->mpi);
    c->rank = rank;
    c->size = nranks;
    c->dev = dev;
    g_rank = wr;
    *comm = c;
    standin_log(g_rank, "ncclCommInitRank nranks=%d rank=%d device=%d", nranks, rank, dev);
    return ncclSuccess;
}
ncclResult_t ncclCommCount(const void *comm, int *count) {
    const struct comm *c = (const struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC) return fail(ncclInvalidArgument, "ncclCommCount: comm %p is not a live communicator", comm);
    if (!count) return fail(ncclInvalidArgument, "ncclCommCount: count is NULL");
    *count = c->size;
    return ncclSuccess;
}
ncclResult_t ncclCommUserRank(const void *comm, int *rank) {
    const struct comm *c = (const struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC) return fail(ncclInvalidArgument, "ncclCommUserRank: comm %p is not a live communicator", comm);
    if (!rank) return fail(ncclInvalidArgument, "ncclCommUserRank: rank is NULL");
    *rank = c->rank;
    return ncclSuccess;
}
#if STANDIN_NCCL_VERSION >= 21800
/* nccl.h: "Creates one or more communicators from an existing one. Ranks with the same
 * color will end up in the same communicator. Within the new communicator, key will be
 * used to order ranks. NCCL_SPLIT_NOCOLOR as color will indicate the rank will not be
 * part of any group and will therefore return a NULL communicator. If config is NULL,
 * the new communicator will inherit the original communicator's configuration."
 * Collective over the parent; the new communicator is on the parent's device. A config,
 * when given, must come from NCCL_CONFIG_INITIALIZER (size, magic, version). */
#define NCCL_SPLIT_NOCOLOR -1
#define NCCL_API_MAGIC 0xcafebeef
struct config_head { size_t size; unsigned int magic; unsigned int version; };
ncclResult_t ncclCommSplit(void *comm, int color, int key, void **newcomm, void *config) {
    struct comm *c = (struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC) return fail(ncclInvalidArgument, "ncclCommSplit: comm %p is not a live communicator", comm);
    standin_log(g_rank, "ncclCommSplit color=%d key=%d config=%s", color, key, config ? "set" : "NULL");
    if (!newcomm) return fail(ncclInvalidArgument, "ncclCommSplit: newcomm is NULL");
    if (color < 0 && color != NCCL_SPLIT_NOCOLOR)
        return fail(ncclInvalidArgument, "ncclCommSplit: color %d is negative and not NCCL_SPLIT_NOCOLOR (%d)", color, NCCL_SPLIT_NOCOLOR);
    if (config) {
        const struct config_head *h = (const struct config_head *)config;
        if (h->magic != NCCL_API_MAGIC || h->size < sizeof *h)
            return fail(ncclInvalidArgument, "ncclCommSplit: config not from NCCL_CONFIG_INITIALIZER (magic 0x%x, size %zu)", h->magic, h->size);
    }
    if (c->local) return fail(ncclInvalidUsage, "ncclCommSplit: the stand-in splits only communicators of one GPU per process");
    if (xccl_cuda_current_device() != c->dev)
        return fail(ncclInvalidUsage, "ncclCommSplit: current device %d is not the communicator's GPU %d", xccl_cuda_current_device(), c->dev);
    MPI_Comm sub;
    MPI_Comm_split(c->mpi, color == NCCL_SPLIT_NOCOLOR ? MPI_UNDEFINED : color, key, &sub);
    if (sub == MPI_COMM_NULL) {
        *newcomm = NULL;
        return ncclSuccess;
    }
    struct comm *n = (struct comm *)calloc(1, sizeof *n);
    n->magic = COMM_MAGIC;
    n->mpi = sub;
    MPI_Comm_rank(sub, &n->rank);
    MPI_Comm_size(sub, &n->size);
    n->dev = c->dev;
    *newcomm = n;
    standin_log(g_rank, "ncclCommSplit -> rank=%d nranks=%d", n->rank, n->size);
    return ncclSuccess;
}
#endif
ncclResult_t ncclCommInitAll(void **comms, int ndev, const int *devlist) {
    (void)comms; (void)devlist;
    return fail(ncclInvalidUsage, "ncclCommInitAll(%d): the stand-in runs one GPU per process", ndev);
}
static ncclResult_t destroy(void *comm) {
    struct comm *c = (struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC) return fail(ncclInvalidArgument, "ncclCommDestroy: not a live communicator");
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin && !c->local) MPI_Comm_free(&c->mpi);
    c->magic = 0;
    free(c);
    return ncclSuccess;
}
ncclResult_t ncclCommDestroy(void *comm) { return destroy(comm); }
ncclResult_t ncclCommAbort(void *comm) { return destroy(comm); }
const char *ncclGetLastError(void *comm) { (void)comm; return g_last; }
ncclResult_t ncclCommGetAsyncError(void *comm, ncclResult_t *e) {
    struct comm *c = (struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC || !e) return ncclInvalidArgument;
    *e = ncclSuccess;
    return ncclSuccess;
}

/* ---- work: one call, or one group of calls ---- */
enum { W_ALLREDUCE, W_REDUCE, W_BCAST, W_ALLGATHER, W_RS, W_ALLTOALL, W_GATHER, W_SCATTER, W_SEND, W_RECV };
struct op { int kind; const void *send; void *recv; size_t count; int t, redop, root, peer; struct comm *c; void *stream; };
struct unit { int n; struct op ops[64]; };

static void run_coll(struct op *o) {
    struct comm *c = o->c;
    size_t e = tsize(o->t), b = o->count * e, n = (size_t)c->size;
    char *all, *tmp;
    switch (o->kind) {
    case W_ALLREDUCE: case W_REDUCE:
        all = standin_allgather(c->mpi, o->send, b);
        for (size_t r = 1; r < n; r++) standin_reduce(ELEM[o->t], o->redop, all, all + r * b, o->count);
        if (o->redop == 4) standin_divide(ELEM[o->t], all, o->count, c->size);
        if (o->kind == W_ALLREDUCE || o->root == c->rank) memcpy(o->recv, all, b);
        free(all);
        break;
    case W_BCAST:
        tmp = (char *)malloc(b + 1);
        if (o->root == c->rank) memcpy(tmp, o->send, b);
        MPI_Bcast(tmp, (int)b, MPI_BYTE, o->root, c->mpi);
        memcpy(o->recv, tmp, b);
        free(tmp);
        break;
    case W_ALLGATHER:
        all = standin_allgather(c->mpi, o->send, b);
        memcpy(o->recv, all, b * n);
        free(all);
        break;
    case W_RS:
        all = standin_allgather(c->mpi, o->send, b * n);
        for (size_t r = 1; r < n; r++) standin_reduce(ELEM[o->t], o->redop, all + c->rank * b, all + r * b * n + c->rank * b, o->count);
        if (o->redop == 4) standin_divide(ELEM[o->t], all + c->rank * b, o->count, c->size);
        memcpy(o->recv, all + c->rank * b, b);
        free(all);
        break;
    case W_ALLTOALL:
        tmp = (char *)malloc(b * n + 1);
        memcpy(tmp, o->send, b * n);
        MPI_Alltoall(tmp, (int)b, MPI_BYTE, o->recv, (int)b, MPI_BYTE, c->mpi);
        free(tmp);
        break;
    case W_GATHER:
        tmp = (char *)malloc(b + 1);
        memcpy(tmp, o->send, b);
        all = (char *)malloc(b * n + 1);
        MPI_Gather(tmp, (int)b, MPI_BYTE, all, (int)b, MPI_BYTE, o->root, c->mpi);
        if (o->root == c->rank) memcpy(o->recv, all, b * n);
        free(tmp);
        free(all);
        break;
    case W_SCATTER:
        all = (char *)malloc(b * n + 1);
        if (o->root == c->rank) memcpy(all, o->send, b * n);
        tmp = (char *)malloc(b + 1);
        MPI_Scatter(all, (int)b, MPI_BYTE, tmp, (int)b, MPI_BYTE, o->root, c->mpi);
        memcpy(o->recv, tmp, b);
        free(tmp);
        free(all);
        break;
    }
}

/* Runs a unit: receives posted, sends from copies, collectives in order, then wait. */
static void run_unit(void *arg) {
    struct unit *u = (struct unit *)arg;
    MPI_Request req[64];
    char *copies[64] = {0};
    int nr = 0;
    for (int i = 0; i < u->n; i++) {
        struct op *o = &u->ops[i];
        size_t b = o->count * tsize(o->t);
        if (o->kind == W_RECV) MPI_Irecv(o->recv, (int)b, MPI_BYTE, o->peer, 99, o->c->mpi, &req[nr++]);
    }
    for (int i = 0; i < u->n; i++) {
        struct op *o = &u->ops[i];
        size_t b = o->count * tsize(o->t);
        if (o->kind == W_SEND) {
            copies[i] = (char *)malloc(b + 1);
            memcpy(copies[i], o->send, b);
            MPI_Isend(copies[i], (int)b, MPI_BYTE, o->peer, 99, o->c->mpi, &req[nr++]);
        }
    }
    for (int i = 0; i < u->n; i++)
        if (u->ops[i].kind != W_SEND && u->ops[i].kind != W_RECV) run_coll(&u->ops[i]);
    MPI_Waitall(nr, req, MPI_STATUSES_IGNORE);
    for (int i = 0; i < u->n; i++) free(copies[i]);
}
static void run_and_free(void *arg) { run_unit(arg); }

/* All ranks in this process: the unit holds every rank's calls (one group). */
static ncclResult_t run_local(struct unit *u) {
    int n = u->ops[0].c->size, per[64] = {0};
    struct op *coll[64][64];
    for (int i = 0; i < u->n; i++) {
        struct op *o = &u->ops[i];
        if (o->kind != W_SEND && o->kind != W_RECV) coll[o->c->rank][per[o->c->rank]++] = o;
    }
    for (int r = 1; r < n; r++)
        if (per[r] != per[0]) return fail(ncclInvalidUsage, "group: rank %d made %d collective calls, rank 0 made %d", r, per[r], per[0]);
    for (int j = 0; j < per[0]; j++) {
        struct op *o0 = coll[0][j];
        size_t e = tsize(o0->t), b = o0->count * e;
        for (int r = 1; r < n; r++) {
            struct op *o = coll[r][j];
            if (o->kind != o0->kind || o->count != o0->count || o->t != o0->t || o->redop != o0->redop || o->root != o0->root)
                return fail(ncclInvalidUsage, "group: rank %d's call %d differs from rank 0's (kind/count/type/op/root)", r, j);
        }
        char *res = (char *)calloc((size_t)n * n * b + 1, 1); /* outputs, written after all inputs are read */
        for (int r = 0; r < n; r++) {
            struct op *o = coll[r][j];
            char *out = res + (size_t)r * n * b;
            switch (o0->kind) {
            case W_ALLREDUCE: case W_REDUCE:
                memcpy(out, coll[0][j]->send, b);
                for (int s = 1; s < n; s++) standin_reduce(ELEM[o0->t], o0->redop, out, coll[s][j]->send, o0->count);
                if (o0->redop == 4) standin_divide(ELEM[o0->t], out, o0->count, n);
                break;
            case W_BCAST: memcpy(out, coll[o0->root][j]->send, b); break;
            case W_ALLGATHER: for (int s = 0; s < n; s++) memcpy(out + s * b, coll[s][j]->send, b); break;
            case W_RS:
                memcpy(out, (const char *)coll[0][j]->send + r * b, b);
                for (int s = 1; s < n; s++) standin_reduce(ELEM[o0->t], o0->redop, out, (const char *)coll[s][j]->send + r * b, o0->count);
                if (o0->redop == 4) standin_divide(ELEM[o0->t], out, o0->count, n);
                break;
            case W_ALLTOALL: for (int s = 0; s < n; s++) memcpy(out + s * b, (const char *)coll[s][j]->send + r * b, b); break;
            case W_GATHER: for (int s = 0; s < n; s++) memcpy(out + s * b, coll[s][j]->send, b); break;
            case W_SCATTER: memcpy(out, (const char *)coll[o0->root][j]->send + r * b, b); break;
            }
            (void)o;
        }
        for (int r = 0; r < n; r++) {
            struct op *o = coll[r][j];
            char *out = res + (size_t)r * n * b;
            switch (o0->kind) {
            case W_ALLREDUCE: case W_BCAST: case W_RS: case W_SCATTER: memcpy(o->recv, out, b); break;
            case W_REDUCE: if (r == o0->root) memcpy(o->recv, out, b); break;
            case W_ALLGATHER: case W_ALLTOALL: memcpy(o->recv, out, (size_t)n * b); break;
            case W_GATHER: if (r == o0->root) memcpy(o->recv, out, (size_t)n * b); break;
            }
        }
        free(res);
    }
    /* point to point: each receive takes the first unmatched send from its peer to it */
    char *payload[64] = {0};
    int used[64] = {0};
    for (int i = 0; i < u->n; i++)
        if (u->ops[i].kind == W_SEND) {
            size_t b = u->ops[i].count * tsize(u->ops[i].t);
            payload[i] = (char *)malloc(b + 1);
            memcpy(payload[i], u->ops[i].send, b);
        }
    ncclResult_t rc = ncclSuccess;
    for (int i = 0; i < u->n && rc == ncclSuccess; i++) {
        struct op *rv = &u->ops[i];
        if (rv->kind != W_RECV) continue;
        int k = -1;
        for (int j = 0; j < u->n && k < 0; j++) {
            struct op *sd = &u->ops[j];
            if (sd->kind == W_SEND && !used[j] && sd->c->rank == rv->peer && sd->peer == rv->c->rank) k = j;
        }
        if (k < 0) { rc = fail(ncclInvalidUsage, "group: rank %d receives from %d, which sends nothing to it", rv->c->rank, rv->peer); break; }
        if (u->ops[k].count != rv->count || u->ops[k].t != rv->t) { rc = fail(ncclInvalidUsage, "group: send/recv size mismatch between ranks %d and %d", rv->peer, rv->c->rank); break; }
        used[k] = 1;
        memcpy(rv->recv, payload[k], rv->count * tsize(rv->t));
    }
    for (int i = 0; i < u->n; i++) {
        if (u->ops[i].kind == W_SEND && !used[i] && rc == ncclSuccess)
            rc = fail(ncclInvalidUsage, "group: rank %d sends to %d, which receives nothing from it", u->ops[i].c->rank, u->ops[i].peer);
        free(payload[i]);
    }
    return rc;
}

static int g_depth = 0;
static struct unit *g_pending = NULL;

static ncclResult_t submit(struct unit *u) {
    if (u->ops[0].c->local) {
        ncclResult_t r = run_local(u);
        free(u);
        return r;
    }
    void *s = u->ops[0].stream;
    for (int i = 1; i < u->n; i++)
        if (u->ops[i].stream != s) return fail(ncclInvalidUsage, "group mixes streams (the stand-in runs one GPU per process)");
    if (!xccl_cuda_issue(s, run_and_free, u)) free(u);
    else standin_log(g_rank, "captured ops=%d", u->n);
    return ncclSuccess;
}
static ncclResult_t enqueue(struct op o) {
    if (g_depth == 0 && o.c->local)
        return fail(ncclInvalidUsage, "a process driving several ranks must group its calls (ncclGroupStart/End)");
    if (g_depth == 0) {
        struct unit *u = (struct unit *)calloc(1, sizeof *u);
        u->n = 1;
        u->ops[0] = o;
        return submit(u);
    }
    if (!g_pending) g_pending = (struct unit *)calloc(1, sizeof *g_pending);
    if (g_pending->n == 64) return fail(ncclInvalidUsage, "stand-in group limit of 64 calls");
    g_pending->ops[g_pending->n++] = o;
    return ncclSuccess;
}
ncclResult_t ncclGroupStart(void) { g_depth++; return ncclSuccess; }
ncclResult_t ncclGroupEnd(void) {
    if (g_depth == 0) return fail(ncclInvalidUsage, "ncclGroupEnd without ncclGroupStart");
    if (--g_depth > 0 || !g_pending) return ncclSuccess;
    struct unit *u = g_pending;
    g_pending = NULL;
    standin_log(g_rank, "ncclGroupEnd ops=%d", u->n);
    return submit(u);
}

#define START(F) struct comm *c; const char *f = F; TRY(check_comm(f, comm, stream, &c))
#define OP(...) ((struct op){__VA_ARGS__})

ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, int t, int op, void *comm, cudaStream_t stream) {
    START("ncclAllReduce");
    standin_log(g_rank, "%s count=%zu datatype=%d op=%d", f, count, t, op);
    TRY(check_type(f, t)); TRY(check_op(f, op));
    TRY(check_mem(f, "sendbuff", send, count * tsize(t), c)); TRY(check_mem(f, "recvbuff", recv, count * tsize(t), c));
    return enqueue(OP(W_ALLREDUCE, send, recv, count, t, op, 0, 0, c, stream));
}
ncclResult_t ncclReduce(const void *send, void *recv, size_t count, int t, int op, int root, void *comm, cudaStream_t stream) {
    START("ncclReduce");
    standin_log(g_rank, "%s count=%zu datatype=%d op=%d root=%d", f, count, t, op, root);
    TRY(check_type(f, t)); TRY(check_op(f, op)); TRY(check_rank(f, "root", root, c));
    TRY(check_mem(f, "sendbuff", send, count * tsize(t), c));
    if (root == c->rank) TRY(check_mem(f, "recvbuff", recv, count * tsize(t), c));
    return enqueue(OP(W_REDUCE, send, recv, count, t, op, root, 0, c, stream));
}
ncclResult_t ncclBroadcast(const void *send, void *recv, size_t count, int t, int root, void *comm, cudaStream_t stream) {
    START("ncclBroadcast");
    standin_log(g_rank, "%s count=%zu datatype=%d root=%d", f, count, t, root);
    TRY(check_type(f, t)); TRY(check_rank(f, "root", root, c));
    if (root == c->rank) TRY(check_mem(f, "sendbuff", send, count * tsize(t), c));
    TRY(check_mem(f, "recvbuff", recv, count * tsize(t), c));
    return enqueue(OP(W_BCAST, send, recv, count, t, 0, root, 0, c, stream));
}
ncclResult_t ncclAllGather(const void *send, void *recv, size_t count, int t, void *comm, cudaStream_t stream) {
    START("ncclAllGather");
    standin_log(g_rank, "%s sendcount=%zu datatype=%d", f, count, t);
    TRY(check_type(f, t));
    TRY(check_mem(f, "sendbuff", send, count * tsize(t), c)); TRY(check_mem(f, "recvbuff", recv, count * tsize(t) * c->size, c));
    return enqueue(OP(W_ALLGATHER, send, recv, count, t, 0, 0, 0, c, stream));
}
ncclResult_t ncclReduceScatter(const void *send, void *recv, size_t count, int t, int op, void *comm, cudaStream_t stream) {
    START("ncclReduceScatter");
    standin_log(g_rank, "%s recvcount=%zu datatype=%d op=%d", f, count, t, op);
    TRY(check_type(f, t)); TRY(check_op(f, op));
    TRY(check_mem(f, "sendbuff", send, count * tsize(t) * c->size, c)); TRY(check_mem(f, "recvbuff", recv, count * tsize(t), c));
    return enqueue(OP(W_RS, send, recv, count, t, op, 0, 0, c, stream));
}
#if STANDIN_NCCL_VERSION >= 22800
ncclResult_t ncclAlltoAll(const void *send, void *recv, size_t count, int t, void *comm, cudaStream_t stream) {
    START("ncclAlltoAll");
    standin_log(g_rank, "%s count=%zu datatype=%d", f, count, t);
    TRY(check_type(f, t));
    TRY(check_mem(f, "sendbuff", send, count * tsize(t) * c->size, c)); TRY(check_mem(f, "recvbuff", recv, count * tsize(t) * c->size, c));
    return enqueue(OP(W_ALLTOALL, send, recv, count, t, 0, 0, 0, c, stream));
}
ncclResult_t ncclGather(const void *send, void *recv, size_t count, int t, int root, void *comm, cudaStream_t stream) {
    START("ncclGather");
    standin_log(g_rank, "%s count=%zu datatype=%d root=%d", f, count, t, root);
    TRY(check_type(f, t)); TRY(check_rank(f, "root", root, c));
    TRY(check_mem(f, "sendbuff", send, count * tsize(t), c));
    if (root == c->rank) TRY(check_mem(f, "recvbuff", recv, count * tsize(t) * c->size, c));
    return enqueue(OP(W_GATHER, send, recv, count, t, 0, root, 0, c, stream));
}
ncclResult_t ncclScatter(const void *send, void *recv, size_t count, int t, int root, void *comm, cudaStream_t stream) {
    START("ncclScatter");
    standin_log(g_rank, "%s count=%zu datatype=%d root=%d", f, count, t, root);
    TRY(check_type(f, t)); TRY(check_rank(f, "root", root, c));
    if (root == c->rank) TRY(check_mem(f, "sendbuff", send, count * tsize(t) * c->size, c));
    TRY(check_mem(f, "recvbuff", recv, count * tsize(t), c));
    return enqueue(OP(W_SCATTER, send, recv, count, t, 0, root, 0, c, stream));
}
#endif
ncclResult_t ncclSend(const void *buf, size_t count, int t, int peer, void *comm, cudaStream_t stream) {
    START("ncclSend");
    standin_log(g_rank, "%s count=%zu datatype=%d peer=%d", f, count, t, peer);
    TRY(check_type(f, t)); TRY(check_rank(f, "peer", peer, c));
    TRY(check_mem(f, "sendbuff", buf, count * tsize(t), c));
    return enqueue(OP(W_SEND, buf, NULL, count, t, 0, 0, peer, c, stream));
}
ncclResult_t ncclRecv(void *buf, size_t count, int t, int peer, void *comm, cudaStream_t stream) {
    START("ncclRecv");
    standin_log(g_rank, "%s count=%zu datatype=%d peer=%d", f, count, t, peer);
    TRY(check_type(f, t)); TRY(check_rank(f, "peer", peer, c));
    TRY(check_mem(f, "recvbuff", buf, count * tsize(t), c));
    return enqueue(OP(W_RECV, NULL, buf, count, t, 0, 0, peer, c, stream));
}
