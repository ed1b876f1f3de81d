/* Stand-in libhccl.so: the HCCL calls xccl-bench makes, on host memory over MPI.
 * See standin.h. Signatures and numbering follow hccl.h / hccl_types.h. Every call is
 * checked as a real HCCL would check it, and, with XCCL_STANDIN_LOG=FILE, logged one
 * line per call with the raw codes received, so tests can assert the numbering. */
#include "standin.h"
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mpi_standin.h"
#include "rendezvous.h"

#ifdef __cplusplus
#define EXTERN_C extern "C"
#else
#define EXTERN_C
#endif

#define ROOT_INFO_BYTES 4108
#ifdef XCCL_VENDOR_HEADERS
/* ABI check (tests/hccl_standin.rs): compiled as C++ against the real header, every
 * definition below must match its declaration there or the compiler rejects it. */
#include "third_party/hccl/inc/hccl/hccl.h"
#else
/* The same types as hccl_types.h, spelled for C: its enums are int-sized. */
typedef void *HcclComm;
typedef void *aclrtStream;
typedef int HcclResult;
typedef int HcclDataType;
typedef int HcclReduceOp;
typedef int HcclSendRecvType;
enum {
    HCCL_SUCCESS = 0, HCCL_E_PARA = 1, HCCL_E_PTR = 2, HCCL_E_MEMORY = 3, HCCL_E_INTERNAL = 4,
    HCCL_E_NOT_SUPPORT = 5
};
typedef struct { char internal[ROOT_INFO_BYTES]; } HcclRootInfo;
typedef struct HcclCommConfigDef HcclCommConfig; /* read through its 24-byte head */
typedef struct {
    HcclSendRecvType sendRecvType; /* HCCL_SEND 0, HCCL_RECV 1 */
    void *buf;
    uint64_t count;
    HcclDataType dataType;
    uint32_t remoteRank;
} HcclSendRecvItem;
#endif

/* ---- types: hccl_types.h numbering ---- */
enum { T_INT8 = 0, T_INT16 = 1, T_INT32 = 2, T_FP16 = 3, T_FP32 = 4, T_INT64 = 5, T_UINT64 = 6,
       T_UINT8 = 7, T_UINT16 = 8, T_UINT32 = 9, T_FP64 = 10, T_BFP16 = 11 };
static const char *type_name(int t) {
    static const char *n[] = {"int8", "int16", "int32", "fp16", "fp32", "int64", "uint64",
                              "uint8", "uint16", "uint32", "fp64", "bfp16"};
    return t >= 0 && t <= 11 ? n[t] : "?";
}
/* The element each code names. */
static const enum standin_elem ELEM[] = {E_I8, E_I16, E_I32, E_F16, E_F32, E_I64, E_U64, E_U8, E_U16, E_U32, E_F64, E_BF16};
static size_t type_size(int t) { return t >= 0 && t <= 11 ? standin_elem_size(ELEM[t]) : 0; }
/* Type lists as hccl.h documents them per collective. */
static const int REDUCE_TYPES[] = {T_INT8, T_INT16, T_INT32, T_FP16, T_FP32, T_BFP16, -1};
static const int RS_TYPES[] = {T_INT8, T_INT32, T_FP16, T_FP32, T_BFP16, -1};
static const int SCATTER_TYPES[] = {T_INT8, T_INT32, T_FP16, T_FP32, -1};
static const int MOVE_TYPES[] = {T_INT8, T_INT16, T_INT32, T_INT64, T_UINT8, T_UINT16, T_UINT32,
                                 T_UINT64, T_FP16, T_FP32, T_FP64, T_BFP16, -1};

static int type_in(int t, const int *list) {
    for (; *list >= 0; list++)
        if (*list == t) return 1;
    return 0;
}

/* ---- communicator ---- */
#define COMM_MAGIC 0x48434f4dU
struct comm { unsigned magic; MPI_Comm mpi; int rank, size; };

static int fail(int code, const char *fmt, ...) {
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    xccl_standin_error("%s", buf);
    return code;
}

static int check_comm(const char *call, HcclComm comm, aclrtStream stream, struct comm **out) {
    struct comm *c = (struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC) return (HcclResult)fail(HCCL_E_PTR, "%s: comm %p is not a live communicator", call, comm);
    if (!xccl_standin_stream_ok(stream))
        return (HcclResult)fail(HCCL_E_PARA, "%s: stream %p is not a live stream of the current device", call, stream);
    *out = c;
    return HCCL_SUCCESS;
}
static int check_type(const char *call, int t, const int *list) {
    if (type_size(t) == 0) return (HcclResult)fail(HCCL_E_PARA, "%s: dataType %d is not an HcclDataType", call, t);
    if (!type_in(t, list)) return (HcclResult)fail(HCCL_E_NOT_SUPPORT, "%s: hccl.h does not offer dataType %s (%d) here", call, type_name(t), t);
    return HCCL_SUCCESS;
}
static int check_op(const char *call, int op) {
    if (op < 0 || op > 3) return (HcclResult)fail(HCCL_E_PARA, "%s: op %d is not an HcclReduceOp (sum 0, prod 1, max 2, min 3)", call, op);
    return HCCL_SUCCESS;
}
static int check_mem(const char *call, const char *what, const void *p, uint64_t bytes) {
    if (!xccl_standin_mem_ok(p, (size_t)bytes))
        return (HcclResult)fail(HCCL_E_PTR, "%s: %s %p does not hold %llu bytes of device memory", call, what, p, (unsigned long long)bytes);
    return HCCL_SUCCESS;
}
static int check_root(const char *call, struct comm *c, uint32_t root) {
    if ((int)root >= c->size) return (HcclResult)fail(HCCL_E_PARA, "%s: root %u out of range for %d ranks", call, root, c->size);
    return HCCL_SUCCESS;
}

#define TRY(x) do { int r_ = (x); if (r_) return (HcclResult)r_; } while (0)
/* Opens a call on `comm` and `stream`: its name `f`, its communicator `c`. */
#define START(F) const char *f = F; struct comm *c; TRY(check_comm(f, comm, stream, &c))
/* The checks of a call with a root that moves `count` elements of type `t` (HcclBroadcast,
 * HcclScatter): the type among `types`, the root one of the ranks; `*bytes` = count's bytes. */
static int check_rooted(const char *call, struct comm *c, int t, const int *types, uint32_t root, uint64_t count,
                        uint64_t *bytes) {
    TRY(check_type(call, t, types));
    TRY(check_root(call, c, root));
    *bytes = count * type_size(t);
    return HCCL_SUCCESS;
}

/* ---- set-up ---- */
static uint32_t pattern(uint32_t seed, int i) { return (seed * 2654435761u + (uint32_t)i * 40503u) >> 24; }

EXTERN_C HcclResult HcclGetRootInfo(HcclRootInfo *ri) {
    if (!ri) return (HcclResult)fail(HCCL_E_PTR, "HcclGetRootInfo: null rootInfo");
    int init = 0;
    MPI_Initialized(&init);
    if (!init) return (HcclResult)fail(HCCL_E_INTERNAL, "HcclGetRootInfo: the stand-in needs MPI initialized by its caller");
    /* Magic, then a seeded pattern over every byte, so a short or partial broadcast of
     * the 4108 bytes is caught in HcclCommInitRootInfo. */
    uint32_t seed = standin_fresh_id(); /* per call: it names a group's rendezvous */
    memset(ri->internal, 0, ROOT_INFO_BYTES);
    memcpy(ri->internal, "XCCLSTANDIN", 11);
    memcpy(ri->internal + 12, &seed, 4);
    for (int i = 16; i < ROOT_INFO_BYTES; i++) ri->internal[i] = (char)pattern(seed, i);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclCommInitRootInfo(uint32_t nRanks, const HcclRootInfo *ri, uint32_t rank, HcclComm *comm) {
    if (!ri || !comm) return (HcclResult)fail(HCCL_E_PTR, "HcclCommInitRootInfo: null argument");
    if (xccl_standin_current_device() < 0) return (HcclResult)fail(HCCL_E_PARA, "HcclCommInitRootInfo: no device set (aclrtSetDevice)");
    if (memcmp(ri->internal, "XCCLSTANDIN", 11) != 0)
        return (HcclResult)fail(HCCL_E_PARA, "HcclCommInitRootInfo: rank %u got a root info HcclGetRootInfo did not make", rank);
    uint32_t seed;
    memcpy(&seed, ri->internal + 12, 4);
    for (int i = 16; i < ROOT_INFO_BYTES; i++)
        if ((unsigned char)ri->internal[i] != pattern(seed, i))
            return (HcclResult)fail(HCCL_E_PARA, "HcclCommInitRootInfo: rank %u root info corrupt at byte %d of %d", rank, i, ROOT_INFO_BYTES);
    int wr, ws;
    MPI_Comm_rank(MPI_COMM_WORLD, &wr);
    MPI_Comm_size(MPI_COMM_WORLD, &ws);
    if ((int)nRanks > ws || rank >= nRanks || ((int)nRanks == ws && (int)rank != wr))
        return (HcclResult)fail(HCCL_E_PARA, "HcclCommInitRootInfo: nRanks %u rank %u, but the MPI world is rank %d of %d", nRanks, rank, wr, ws);
    MPI_Comm mpi;
    if ((int)nRanks < ws) {
        /* A group of some world ranks, from its own root info (no HcclCreateSubCommConfig). */
        char err[256];
        if (standin_rendezvous("hccl", seed, (int)nRanks, (int)rank, &mpi, err, sizeof err) != 0)
            return (HcclResult)fail(HCCL_E_INTERNAL, "HcclCommInitRootInfo: %s", err);
    } else {
        MPI_Comm_dup(MPI_COMM_WORLD, &mpi);
    }
    uint32_t lo = seed, hi = seed;
    MPI_Allreduce(&seed, &lo, 1, MPI_UINT32_T, MPI_MIN, mpi);
    MPI_Allreduce(&seed, &hi, 1, MPI_UINT32_T, MPI_MAX, mpi);
    if (lo != hi) return (HcclResult)fail(HCCL_E_PARA, "HcclCommInitRootInfo: ranks hold different root infos");
    struct comm *c = (struct comm *)calloc(1, sizeof *c);
    c->magic = COMM_MAGIC;
    c->mpi = mpi;
    c->rank = (int)rank;
    c->size = (int)nRanks;
    *comm = c;
    standin_log(c->rank, "HcclCommInitRootInfo nRanks=%u rank=%u device=%d", nRanks, rank, xccl_standin_current_device());
    return HCCL_SUCCESS;
}

/* hccl.h: "Initialize HCCL sub communication based on global communication with config
 * params": rankIds are ranks of *comm in the new communicator's order, subCommId the
 * same on every member, subCommRankId this rank's index in rankIds. Collective over the
 * members only. config, when given, must have been set by HcclCommConfigInit (the
 * header's inline function writes size, magic word 0xf0f0f0f0 and version first). */
#ifndef STANDIN_HCCL_NO_SUBCOMM /* defined: a CANN without it (groups by root info) */
struct config_head { size_t size; uint32_t magicWord; uint32_t version; uint64_t reserved; };
static uint64_t mix(uint64_t h, uint64_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); return h; }

EXTERN_C HcclResult HcclCreateSubCommConfig(HcclComm *comm, uint32_t rankNum, uint32_t *rankIds, uint64_t subCommId,
                                            uint32_t subCommRankId, HcclCommConfig *config, HcclComm *subComm) {
    const char *f = "HcclCreateSubCommConfig";
    if (!comm || !subComm || !rankIds) return (HcclResult)fail(HCCL_E_PTR, "%s: null comm, rankIds or subComm", f);
    struct comm *c = (struct comm *)*comm;
    if (!c || c->magic != COMM_MAGIC) return (HcclResult)fail(HCCL_E_PTR, "%s: *comm %p is not a live communicator", f, (void *)c);
    standin_log(c->rank, "%s rankNum=%u subCommId=%llu subCommRankId=%u", f, rankNum, (unsigned long long)subCommId, subCommRankId);
    if (rankNum == 0 || (int)rankNum > c->size) return (HcclResult)fail(HCCL_E_PARA, "%s: rankNum %u for a communicator of %d", f, rankNum, c->size);
    for (uint32_t i = 0; i < rankNum; i++) {
        if ((int)rankIds[i] >= c->size) return (HcclResult)fail(HCCL_E_PARA, "%s: rankIds[%u] = %u out of range for %d ranks", f, i, rankIds[i], c->size);
        for (uint32_t j = 0; j < i; j++)
            if (rankIds[j] == rankIds[i]) return (HcclResult)fail(HCCL_E_PARA, "%s: rank %u listed twice", f, rankIds[i]);
    }
    if (subCommRankId >= rankNum) return (HcclResult)fail(HCCL_E_PARA, "%s: subCommRankId %u of %u", f, subCommRankId, rankNum);
    if ((int)rankIds[subCommRankId] != c->rank)
        return (HcclResult)fail(HCCL_E_PARA, "%s: rankIds[subCommRankId=%u] = %u, but this is rank %d", f, subCommRankId, rankIds[subCommRankId], c->rank);
    if (config) {
        const struct config_head *h = (const struct config_head *)(const void *)config;
        if (h->magicWord != 0xf0f0f0f0u || h->size < sizeof *h || h->version == 0)
            return (HcclResult)fail(HCCL_E_PARA, "%s: config not initialized by HcclCommConfigInit (size %zu, magic 0x%x, version %u)", f,
                                    h->size, h->magicWord, h->version);
    }
    MPI_Group all, grp;
    MPI_Comm_group(c->mpi, &all);
    MPI_Group_incl(all, (int)rankNum, (const int *)rankIds, &grp);
    MPI_Comm sub;
    MPI_Comm_create_group(c->mpi, grp, (int)(subCommId & 0x7fff), &sub);
    MPI_Group_free(&grp);
    MPI_Group_free(&all);
    if (sub == MPI_COMM_NULL) return (HcclResult)fail(HCCL_E_INTERNAL, "%s: no communicator", f);
    /* every member must have passed the same id and list */
    uint64_t h = mix(subCommId, rankNum), lo, hi;
    for (uint32_t i = 0; i < rankNum; i++) h = mix(h, rankIds[i]);
    MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, sub);
    MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, sub);
    if (lo != hi) {
        MPI_Comm_free(&sub);
        return (HcclResult)fail(HCCL_E_PARA, "%s: members passed different subCommId or rankIds", f);
    }
    struct comm *n = (struct comm *)calloc(1, sizeof *n);
    n->magic = COMM_MAGIC;
    n->mpi = sub;
    MPI_Comm_rank(sub, &n->rank);
    MPI_Comm_size(sub, &n->size);
    *subComm = n;
    return HCCL_SUCCESS;
}
#endif

EXTERN_C HcclResult HcclCommDestroy(HcclComm comm) {
    struct comm *c = (struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC) return (HcclResult)fail(HCCL_E_PTR, "HcclCommDestroy: not a live communicator");
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Comm_free(&c->mpi);
    c->magic = 0;
    free(c);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclGetRankSize(HcclComm comm, uint32_t *n) {
    struct comm *c = (struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC || !n) return HCCL_E_PTR;
    *n = (uint32_t)c->size;
    return HCCL_SUCCESS;
}
EXTERN_C HcclResult HcclGetRankId(HcclComm comm, uint32_t *r) {
    struct comm *c = (struct comm *)comm;
    if (!c || c->magic != COMM_MAGIC || !r) return HCCL_E_PTR;
    *r = (uint32_t)c->rank;
    return HCCL_SUCCESS;
}

EXTERN_C const char *HcclGetErrorString(HcclResult code) {
    switch (code) {
    case HCCL_SUCCESS: return "no error";
    case HCCL_E_PARA: return "parameter error";
    case HCCL_E_PTR: return "empty pointer";
    case HCCL_E_MEMORY: return "memory error";
    case HCCL_E_INTERNAL: return "internal error";
    case HCCL_E_NOT_SUPPORT: return "not support feature";
    default: return "unknown error";
    }
}

/* ---- collectives ---- */
EXTERN_C HcclResult HcclAllReduce(void *send, void *recv, uint64_t count, HcclDataType t, HcclReduceOp op, HcclComm comm,
                                  aclrtStream stream) {
    START("HcclAllReduce");
    standin_log(c->rank, "%s count=%llu dataType=%d op=%d", f, (unsigned long long)count, t, op);
    TRY(check_type(f, t, REDUCE_TYPES));
    TRY(check_op(f, op));
    uint64_t b = count * type_size(t);
    TRY(check_mem(f, "sendBuf", send, b));
    TRY(check_mem(f, "recvBuf", recv, b));
    char *all = standin_allgather(c->mpi, send, b);
    for (int r = 1; r < c->size; r++) standin_reduce(ELEM[t], op, all, all + r * b, count);
    memcpy(recv, all, b);
    free(all);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclReduce(void *send, void *recv, uint64_t count, HcclDataType t, HcclReduceOp op, uint32_t root,
                               HcclComm comm, aclrtStream stream) {
    START("HcclReduce");
    standin_log(c->rank, "%s count=%llu dataType=%d op=%d root=%u", f, (unsigned long long)count, t, op, root);
    TRY(check_type(f, t, REDUCE_TYPES));
    TRY(check_op(f, op));
    TRY(check_root(f, c, root));
    uint64_t b = count * type_size(t);
    TRY(check_mem(f, "sendBuf", send, b));
    if ((int)root == c->rank) TRY(check_mem(f, "recvBuf", recv, b));
    char *all = standin_allgather(c->mpi, send, b);
    if ((int)root == c->rank) {
        for (int r = 1; r < c->size; r++) standin_reduce(ELEM[t], op, all, all + r * b, count);
        memcpy(recv, all, b);
    }
    free(all);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclBroadcast(void *buf, uint64_t count, HcclDataType t, uint32_t root, HcclComm comm, aclrtStream stream) {
    START("HcclBroadcast");
    standin_log(c->rank, "%s count=%llu dataType=%d root=%u", f, (unsigned long long)count, t, root);
    uint64_t b;
    TRY(check_rooted(f, c, t, MOVE_TYPES, root, count, &b));
    TRY(check_mem(f, "buf", buf, b));
    MPI_Bcast(buf, (int)b, MPI_BYTE, (int)root, c->mpi);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclAllGather(void *send, void *recv, uint64_t sendCount, HcclDataType t, HcclComm comm, aclrtStream stream) {
    START("HcclAllGather");
    standin_log(c->rank, "%s sendCount=%llu dataType=%d", f, (unsigned long long)sendCount, t);
    TRY(check_type(f, t, MOVE_TYPES));
    uint64_t b = sendCount * type_size(t);
    TRY(check_mem(f, "sendBuf", send, b));
    TRY(check_mem(f, "recvBuf", recv, b * c->size));
    char *all = standin_allgather(c->mpi, send, b);
    memcpy(recv, all, b * c->size);
    free(all);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclReduceScatter(void *send, void *recv, uint64_t recvCount, HcclDataType t, HcclReduceOp op,
                                      HcclComm comm, aclrtStream stream) {
    START("HcclReduceScatter");
    standin_log(c->rank, "%s recvCount=%llu dataType=%d op=%d", f, (unsigned long long)recvCount, t, op);
    TRY(check_type(f, t, RS_TYPES));
    TRY(check_op(f, op));
    uint64_t b = recvCount * type_size(t);
    TRY(check_mem(f, "sendBuf", send, b * c->size));
    TRY(check_mem(f, "recvBuf", recv, b));
    /* all = every rank's whole input; this rank's block of rank r's input is at
     * r * (b * size) + rank * b. */
    char *all = standin_allgather(c->mpi, send, b * c->size);
    char *mine = all + (uint64_t)c->rank * b;
    for (int r = 1; r < c->size; r++) standin_reduce(ELEM[t], op, mine, all + (uint64_t)r * b * c->size + (uint64_t)c->rank * b, recvCount);
    memcpy(recv, mine, b);
    free(all);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclScatter(void *send, void *recv, uint64_t recvCount, HcclDataType t, uint32_t root, HcclComm comm,
                                aclrtStream stream) {
    START("HcclScatter");
    standin_log(c->rank, "%s recvCount=%llu dataType=%d root=%u", f, (unsigned long long)recvCount, t, root);
    uint64_t b;
    TRY(check_rooted(f, c, t, SCATTER_TYPES, root, recvCount, &b));
    TRY(check_mem(f, "recvBuf", recv, b));
    char *copy = NULL;
    if ((int)root == c->rank) {
        TRY(check_mem(f, "sendBuf", send, b * c->size));
        copy = (char *)malloc(b * c->size + 1);
        memcpy(copy, send, b * c->size);
    }
    char *tmp = (char *)malloc(b + 1);
    MPI_Scatter(copy, (int)b, MPI_BYTE, tmp, (int)b, MPI_BYTE, (int)root, c->mpi);
    memcpy(recv, tmp, b);
    free(tmp);
    free(copy);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclAlltoAll(const void *send, uint64_t sendCount, HcclDataType sendType, const void *recv,
                                 uint64_t recvCount, HcclDataType recvType, HcclComm comm, aclrtStream stream) {
    START("HcclAlltoAll");
    standin_log(c->rank, "%s sendCount=%llu sendType=%d recvCount=%llu recvType=%d", f, (unsigned long long)sendCount, sendType,
          (unsigned long long)recvCount, recvType);
    TRY(check_type(f, sendType, MOVE_TYPES));
    TRY(check_type(f, recvType, MOVE_TYPES));
    if (sendType != recvType || sendCount != recvCount)
        return (HcclResult)fail(HCCL_E_PARA, "%s: send %llu x type %d but receive %llu x type %d", f, (unsigned long long)sendCount,
                    sendType, (unsigned long long)recvCount, recvType);
    uint64_t b = sendCount * type_size(sendType);
    TRY(check_mem(f, "sendBuf", send, b * c->size));
    TRY(check_mem(f, "recvBuf", recv, b * c->size));
    char *copy = (char *)malloc(b * c->size + 1);
    memcpy(copy, send, b * c->size);
    MPI_Alltoall(copy, (int)b, MPI_BYTE, (void *)recv, (int)b, MPI_BYTE, c->mpi);
    free(copy);
    return HCCL_SUCCESS;
}

static int check_item(const char *f, struct comm *c, const HcclSendRecvItem *it) {
    if (it->sendRecvType != 0 && it->sendRecvType != 1)
        return (HcclResult)fail(HCCL_E_PARA, "%s: sendRecvType %d is neither HCCL_SEND (0) nor HCCL_RECV (1)", f, it->sendRecvType);
    TRY(check_type(f, it->dataType, MOVE_TYPES));
    if ((int)it->remoteRank >= c->size) return (HcclResult)fail(HCCL_E_PARA, "%s: remoteRank %u of %d", f, it->remoteRank, c->size);
    return check_mem(f, "buf", it->buf, it->count * type_size(it->dataType));
}

EXTERN_C HcclResult HcclBatchSendRecv(HcclSendRecvItem *items, uint32_t n, HcclComm comm, aclrtStream stream) {
    START("HcclBatchSendRecv");
    if (!items || n == 0) return (HcclResult)fail(HCCL_E_PARA, "%s: no items", f);
    for (uint32_t i = 0; i < n; i++) {
        standin_log(c->rank, "%s item=%u type=%d count=%llu dataType=%d remoteRank=%u", f, i, items[i].sendRecvType,
              (unsigned long long)items[i].count, items[i].dataType, items[i].remoteRank);
        TRY(check_item(f, c, &items[i]));
    }
    MPI_Request *req = (MPI_Request *)malloc(sizeof(MPI_Request) * n);
    char **copies = (char **)calloc(n, sizeof(char *));
    /* sends from copies, so a receive into the same buffer cannot change what is sent */
    for (uint32_t i = 0; i < n; i++) {
        uint64_t b = items[i].count * type_size(items[i].dataType);
        if (items[i].sendRecvType == 0) {
            copies[i] = (char *)malloc(b + 1);
            memcpy(copies[i], items[i].buf, b);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t b = items[i].count * type_size(items[i].dataType);
        if (items[i].sendRecvType == 0)
            MPI_Isend(copies[i], (int)b, MPI_BYTE, (int)items[i].remoteRank, 77, c->mpi, &req[i]);
        else
            MPI_Irecv(items[i].buf, (int)b, MPI_BYTE, (int)items[i].remoteRank, 77, c->mpi, &req[i]);
    }
    MPI_Waitall((int)n, req, MPI_STATUSES_IGNORE);
    for (uint32_t i = 0; i < n; i++) free(copies[i]);
    free(copies);
    free(req);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclSend(void *buf, uint64_t count, HcclDataType t, uint32_t dest, HcclComm comm, aclrtStream stream) {
    HcclSendRecvItem it = {(HcclSendRecvType)0, buf, count, t, dest};
    return HcclBatchSendRecv(&it, 1, comm, stream);
}

EXTERN_C HcclResult HcclRecv(void *buf, uint64_t count, HcclDataType t, uint32_t src, HcclComm comm, aclrtStream stream) {
    HcclSendRecvItem it = {(HcclSendRecvType)1, buf, count, t, src};
    return HcclBatchSendRecv(&it, 1, comm, stream);
}

EXTERN_C HcclResult HcclBarrier(HcclComm comm, aclrtStream stream) {
    struct comm *c;
    TRY(check_comm("HcclBarrier", comm, stream, &c));
    MPI_Barrier(c->mpi);
    return HCCL_SUCCESS;
}
