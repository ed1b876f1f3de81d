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
static size_t type_size(int t) {
    switch (t) {
    case T_INT8: case T_UINT8: return 1;
    case T_INT16: case T_UINT16: case T_FP16: case T_BFP16: return 2;
    case T_INT32: case T_UINT32: case T_FP32: return 4;
    case T_INT64: case T_UINT64: case T_FP64: return 8;
    default: return 0;
    }
}
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

static FILE *g_log = NULL;
static void logf_(struct comm *c, const char *fmt, ...) {
    if (!g_log) {
        const char *p = getenv("XCCL_STANDIN_LOG");
        if (!p) return;
        g_log = fopen(p, "a");
        if (!g_log) return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(g_log, "rank=%d ", c ? c->rank : -1);
    vfprintf(g_log, fmt, ap);
    fprintf(g_log, "\n");
    fflush(g_log);
    va_end(ap);
}

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

/* ---- element-wise reduction, wrapping integers, rounding 16-bit floats ---- */
static float h2f(uint16_t h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0) {
        if (m == 0) bits = s;
        else { /* subnormal */
            e = 127 - 15 + 1;
            while (!(m & 0x400)) { m <<= 1; e--; }
            m &= 0x3ff;
            bits = s | (e << 23) | (m << 13);
        }
    } else if (e == 31) bits = s | 0x7f800000 | (m << 13);
    else bits = s | ((e - 15 + 127) << 23) | (m << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
static uint16_t f2h(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t s = (x >> 16) & 0x8000;
    int e = (int)((x >> 23) & 0xff) - 127 + 15;
    uint32_t m = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(s | 0x7c00 | (m ? 0x200 : 0));
    if (e >= 31) return (uint16_t)(s | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)s;
        m |= 0x800000;
        int shift = 14 - e;
        uint32_t hm = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (hm & 1))) hm++;
        return (uint16_t)(s | hm);
    }
    uint32_t hm = m >> 13, rem = m & 0x1fff;
    uint32_t out = s | ((uint32_t)e << 10) | hm;
    if (rem > 0x1000 || (rem == 0x1000 && (hm & 1))) out++;
    return (uint16_t)out;
}
static float b2f(uint16_t b) { uint32_t x = (uint32_t)b << 16; float f; memcpy(&f, &x, 4); return f; }
static uint16_t f2b(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

#define INT_OP(T, U) do { T *d = (T *)dst; const T *s = (const T *)src; \
    for (uint64_t i = 0; i < n; i++) { T a = d[i], b = s[i]; \
        switch (op) { case 0: d[i] = (T)((U)a + (U)b); break; case 1: d[i] = (T)((U)a * (U)b); break; \
        case 2: d[i] = a > b ? a : b; break; default: d[i] = a < b ? a : b; } } } while (0)
#define FLT_OP(T) do { T *d = (T *)dst; const T *s = (const T *)src; \
    for (uint64_t i = 0; i < n; i++) { T a = d[i], b = s[i]; \
        switch (op) { case 0: d[i] = a + b; break; case 1: d[i] = a * b; break; \
        case 2: d[i] = a > b ? a : b; break; default: d[i] = a < b ? a : b; } } } while (0)
#define HALF_OP(TO, FROM) do { uint16_t *d = (uint16_t *)dst; const uint16_t *s = (const uint16_t *)src; \
    for (uint64_t i = 0; i < n; i++) { float a = TO(d[i]), b = TO(s[i]), r; \
        switch (op) { case 0: r = a + b; break; case 1: r = a * b; break; \
        case 2: r = a > b ? a : b; break; default: r = a < b ? a : b; } d[i] = FROM(r); } } while (0)

static void reduce_into(int t, int op, void *dst, const void *src, uint64_t n) {
    switch (t) {
    case T_INT8: INT_OP(int8_t, uint8_t); break;
    case T_UINT8: INT_OP(uint8_t, uint8_t); break;
    case T_INT16: INT_OP(int16_t, uint16_t); break;
    case T_UINT16: INT_OP(uint16_t, uint16_t); break;
    case T_INT32: INT_OP(int32_t, uint32_t); break;
    case T_UINT32: INT_OP(uint32_t, uint32_t); break;
    case T_INT64: INT_OP(int64_t, uint64_t); break;
    case T_UINT64: INT_OP(uint64_t, uint64_t); break;
    case T_FP32: FLT_OP(float); break;
    case T_FP64: FLT_OP(double); break;
    case T_FP16: HALF_OP(h2f, f2h); break;
    case T_BFP16: HALF_OP(b2f, f2b); break;
    }
}

/* Every rank's `bytes` from `src` (copied first: send and receive may alias). */
static char *allgather_copy(struct comm *c, const void *src, uint64_t bytes) {
    char *mine = (char *)malloc(bytes ? bytes : 1), *all = (char *)malloc(bytes * c->size + 1);
    memcpy(mine, src, bytes);
    MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, c->mpi);
    free(mine);
    return all;
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
    logf_(c, "HcclCommInitRootInfo nRanks=%u rank=%u device=%d", nRanks, rank, xccl_standin_current_device());
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
    logf_(c, "%s rankNum=%u subCommId=%llu subCommRankId=%u", f, rankNum, (unsigned long long)subCommId, subCommRankId);
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
    const char *f = "HcclAllReduce";
    struct comm *c;
    TRY(check_comm(f, comm, stream, &c));
    logf_(c, "%s count=%llu dataType=%d op=%d", f, (unsigned long long)count, t, op);
    TRY(check_type(f, t, REDUCE_TYPES));
    TRY(check_op(f, op));
    uint64_t b = count * type_size(t);
    TRY(check_mem(f, "sendBuf", send, b));
    TRY(check_mem(f, "recvBuf", recv, b));
    char *all = allgather_copy(c, send, b);
    for (int r = 1; r < c->size; r++) reduce_into(t, op, all, all + r * b, count);
    memcpy(recv, all, b);
    free(all);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclReduce(void *send, void *recv, uint64_t count, HcclDataType t, HcclReduceOp op, uint32_t root,
                               HcclComm comm, aclrtStream stream) {
    const char *f = "HcclReduce";
    struct comm *c;
    TRY(check_comm(f, comm, stream, &c));
    logf_(c, "%s count=%llu dataType=%d op=%d root=%u", f, (unsigned long long)count, t, op, root);
    TRY(check_type(f, t, REDUCE_TYPES));
    TRY(check_op(f, op));
    TRY(check_root(f, c, root));
    uint64_t b = count * type_size(t);
    TRY(check_mem(f, "sendBuf", send, b));
    if ((int)root == c->rank) TRY(check_mem(f, "recvBuf", recv, b));
    char *all = allgather_copy(c, send, b);
    if ((int)root == c->rank) {
        for (int r = 1; r < c->size; r++) reduce_into(t, op, all, all + r * b, count);
        memcpy(recv, all, b);
    }
    free(all);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclBroadcast(void *buf, uint64_t count, HcclDataType t, uint32_t root, HcclComm comm, aclrtStream stream) {
    const char *f = "HcclBroadcast";
    struct comm *c;
    TRY(check_comm(f, comm, stream, &c));
    logf_(c, "%s count=%llu dataType=%d root=%u", f, (unsigned long long)count, t, root);
    TRY(check_type(f, t, MOVE_TYPES));
    TRY(check_root(f, c, root));
    uint64_t b = count * type_size(t);
    TRY(check_mem(f, "buf", buf, b));
    MPI_Bcast(buf, (int)b, MPI_BYTE, (int)root, c->mpi);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclAllGather(void *send, void *recv, uint64_t sendCount, HcclDataType t, HcclComm comm, aclrtStream stream) {
    const char *f = "HcclAllGather";
    struct comm *c;
    TRY(check_comm(f, comm, stream, &c));
    logf_(c, "%s sendCount=%llu dataType=%d", f, (unsigned long long)sendCount, t);
    TRY(check_type(f, t, MOVE_TYPES));
    uint64_t b = sendCount * type_size(t);
    TRY(check_mem(f, "sendBuf", send, b));
    TRY(check_mem(f, "recvBuf", recv, b * c->size));
    char *all = allgather_copy(c, send, b);
    memcpy(recv, all, b * c->size);
    free(all);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclReduceScatter(void *send, void *recv, uint64_t recvCount, HcclDataType t, HcclReduceOp op,
                                      HcclComm comm, aclrtStream stream) {
    const char *f = "HcclReduceScatter";
    struct comm *c;
    TRY(check_comm(f, comm, stream, &c));
    logf_(c, "%s recvCount=%llu dataType=%d op=%d", f, (unsigned long long)recvCount, t, op);
    TRY(check_type(f, t, RS_TYPES));
    TRY(check_op(f, op));
    uint64_t b = recvCount * type_size(t);
    TRY(check_mem(f, "sendBuf", send, b * c->size));
    TRY(check_mem(f, "recvBuf", recv, b));
    /* all = every rank's whole input; this rank's block of rank r's input is at
     * r * (b * size) + rank * b. */
    char *all = allgather_copy(c, send, b * c->size);
    char *mine = all + (uint64_t)c->rank * b;
    for (int r = 1; r < c->size; r++) reduce_into(t, op, mine, all + (uint64_t)r * b * c->size + (uint64_t)c->rank * b, recvCount);
    memcpy(recv, mine, b);
    free(all);
    return HCCL_SUCCESS;
}

EXTERN_C HcclResult HcclScatter(void *send, void *recv, uint64_t recvCount, HcclDataType t, uint32_t root, HcclComm comm,
                                aclrtStream stream) {
    const char *f = "HcclScatter";
    struct comm *c;
    TRY(check_comm(f, comm, stream, &c));
    logf_(c, "%s recvCount=%llu dataType=%d root=%u", f, (unsigned long long)recvCount, t, root);
    TRY(check_type(f, t, SCATTER_TYPES));
    TRY(check_root(f, c, root));
    uint64_t b = recvCount * type_size(t);
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
    const char *f = "HcclAlltoAll";
    struct comm *c;
    TRY(check_comm(f, comm, stream, &c));
    logf_(c, "%s sendCount=%llu sendType=%d recvCount=%llu recvType=%d", f, (unsigned long long)sendCount, sendType,
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
    const char *f = "HcclBatchSendRecv";
    struct comm *c;
    TRY(check_comm(f, comm, stream, &c));
    if (!items || n == 0) return (HcclResult)fail(HCCL_E_PARA, "%s: no items", f);
    for (uint32_t i = 0; i < n; i++) {
        logf_(c, "%s item=%u type=%d count=%llu dataType=%d remoteRank=%u", f, i, items[i].sendRecvType,
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
