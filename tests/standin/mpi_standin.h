/* What the collective stand-ins over MPI (libhccl.so, libnccl.so.2; tests only) share:
 * the call log, the gathering of every rank's bytes, and the arithmetic on the element
 * types they reduce, named here whatever each library's numbering (hccl_types.h and
 * nccl.h map their codes to `enum standin_elem`). 16-bit floats are rounded after each
 * step, integers wrap. */
#ifndef XCCL_MPI_STANDIN_H
#define XCCL_MPI_STANDIN_H
#include <mpi.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* With XCCL_STANDIN_LOG=FILE: appends "rank=RANK " and the message as one line, so that
 * tests can assert the calls and the raw codes a library received. */
static inline void standin_log(int rank, const char *fmt, ...) {
    static FILE *log = NULL;
    if (!log) {
        const char *p = getenv("XCCL_STANDIN_LOG");
        if (!p || !(log = fopen(p, "a"))) return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(log, "rank=%d ", rank);
    vfprintf(log, fmt, ap);
    fprintf(log, "\n");
    fflush(log);
    va_end(ap);
}

/* Every rank's `bytes` from `src`, in rank order (copied first: send and receive may
 * alias); the caller frees it. */
static inline char *standin_allgather(MPI_Comm comm, const void *src, size_t bytes) {
    int size;
    MPI_Comm_size(comm, &size);
    char *mine = (char *)malloc(bytes + 1), *all = (char *)malloc(bytes * size + 1);
    memcpy(mine, src, bytes);
    MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, comm);
    free(mine);
    return all;
}

enum standin_elem { E_I8, E_U8, E_I16, E_U16, E_I32, E_U32, E_I64, E_U64, E_F16, E_BF16, E_F32, E_F64,
                    E_F8E4M3, E_F8E5M2 };

static inline size_t standin_elem_size(enum standin_elem e) {
    static const size_t s[] = {1, 1, 2, 2, 4, 4, 8, 8, 2, 2, 4, 8, 1, 1};
    return s[e];
}

/* ---- conversions: IEEE half, bfloat16, fp8 (E5M2 is the top byte of a half; E4M3,
 * bias 7, finite, by hand; no saturation handling: test values are small) ---- */
static inline float h2f(uint16_t h) {
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
static inline uint16_t f2h(float f) {
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
static inline float b2f(uint16_t b) { uint32_t x = (uint32_t)b << 16; float f; memcpy(&f, &x, 4); return f; }
static inline uint16_t f2b(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
static inline float e52f(uint8_t b) { return h2f((uint16_t)((uint16_t)b << 8)); }
static inline uint8_t f2e5(float f) { uint16_t h = f2h(f); return (uint8_t)((h + 0x7f + ((h >> 8) & 1)) >> 8); }
static inline float e42f(uint8_t b) {
    int e = (b >> 3) & 0xf, m = b & 7;
    float v = e == 0 ? ldexpf((float)m, -9) : ldexpf((float)(8 + m), e - 10);
    return (b & 0x80) ? -v : v;
}
static inline uint8_t f2e4(float f) {
    uint8_t s = f < 0 ? 0x80 : 0;
    float x = fabsf(f);
    if (x == 0) return s;
    int ex;
    frexpf(x, &ex); /* x = fr * 2^ex, fr in [0.5, 1) */
    int E = ex - 1 + 7;
    if (E < 1) return (uint8_t)(s | (int)nearbyintf(ldexpf(x, 9)));
    int m = (int)nearbyintf((ldexpf(x, -(ex - 1)) - 1.0f) * 8.0f);
    if (m == 8) { m = 0; E++; }
    if (E > 15) { E = 15; m = 6; }
    return (uint8_t)(s | (E << 3) | m);
}

/* ---- dst[i] = dst[i] op src[i] for i < n: op 1 prod, 2 max, 3 min, any other sum
 * (NCCL's avg, 4, accumulates as a sum; see standin_divide) ---- */
#define STANDIN_OP(a, b, SUM, PROD) (op == 1 ? (PROD) : op == 2 ? ((a) > (b) ? (a) : (b)) : op == 3 ? ((a) < (b) ? (a) : (b)) : (SUM))
/* T stored, wrapping as the unsigned U */
#define STANDIN_RED_INT(T, U) do { T *d = (T *)dst; const T *s = (const T *)src; for (size_t i = 0; i < n; i++) { \
    T a = d[i], b = s[i]; d[i] = STANDIN_OP(a, b, (T)((U)a + (U)b), (T)((U)a * (U)b)); } } while (0)
/* S stored, computed as the float type C (TO and FROM convert) */
#define STANDIN_RED_AS(S, C, TO, FROM) do { S *d = (S *)dst; const S *s = (const S *)src; for (size_t i = 0; i < n; i++) { \
    C a = TO(d[i]), b = TO(s[i]); d[i] = FROM(STANDIN_OP(a, b, a + b, a * b)); } } while (0)
#define STANDIN_SAME(x) (x)
static inline void standin_reduce(enum standin_elem e, int op, void *dst, const void *src, size_t n) {
    switch (e) {
    case E_I8: STANDIN_RED_INT(int8_t, uint8_t); break;
    case E_U8: STANDIN_RED_INT(uint8_t, uint8_t); break;
    case E_I16: STANDIN_RED_INT(int16_t, uint16_t); break;
    case E_U16: STANDIN_RED_INT(uint16_t, uint16_t); break;
    case E_I32: STANDIN_RED_INT(int32_t, uint32_t); break;
    case E_U32: STANDIN_RED_INT(uint32_t, uint32_t); break;
    case E_I64: STANDIN_RED_INT(int64_t, uint64_t); break;
    case E_U64: STANDIN_RED_INT(uint64_t, uint64_t); break;
    case E_F32: STANDIN_RED_AS(float, float, STANDIN_SAME, STANDIN_SAME); break;
    case E_F64: STANDIN_RED_AS(double, double, STANDIN_SAME, STANDIN_SAME); break;
    case E_F16: STANDIN_RED_AS(uint16_t, float, h2f, f2h); break;
    case E_BF16: STANDIN_RED_AS(uint16_t, float, b2f, f2b); break;
    case E_F8E4M3: STANDIN_RED_AS(uint8_t, float, e42f, f2e4); break;
    case E_F8E5M2: STANDIN_RED_AS(uint8_t, float, e52f, f2e5); break;
    }
}

/* p[i] /= k for i < n (an average from a sum) */
#define STANDIN_DIV_AS(S, C, TO, FROM) do { S *d = (S *)p; for (size_t i = 0; i < n; i++) d[i] = FROM((C)(TO(d[i]) / (C)k)); } while (0)
static inline void standin_divide(enum standin_elem e, void *p, size_t n, int k) {
    switch (e) {
    case E_I8: STANDIN_DIV_AS(int8_t, int8_t, STANDIN_SAME, STANDIN_SAME); break;
    case E_U8: STANDIN_DIV_AS(uint8_t, uint8_t, STANDIN_SAME, STANDIN_SAME); break;
    case E_I16: STANDIN_DIV_AS(int16_t, int16_t, STANDIN_SAME, STANDIN_SAME); break;
    case E_U16: STANDIN_DIV_AS(uint16_t, uint16_t, STANDIN_SAME, STANDIN_SAME); break;
    case E_I32: STANDIN_DIV_AS(int32_t, int32_t, STANDIN_SAME, STANDIN_SAME); break;
    case E_U32: STANDIN_DIV_AS(uint32_t, uint32_t, STANDIN_SAME, STANDIN_SAME); break;
    case E_I64: STANDIN_DIV_AS(int64_t, int64_t, STANDIN_SAME, STANDIN_SAME); break;
    case E_U64: STANDIN_DIV_AS(uint64_t, uint64_t, STANDIN_SAME, STANDIN_SAME); break;
    case E_F32: STANDIN_DIV_AS(float, float, STANDIN_SAME, STANDIN_SAME); break;
    case E_F64: STANDIN_DIV_AS(double, double, STANDIN_SAME, STANDIN_SAME); break;
    case E_F16: STANDIN_DIV_AS(uint16_t, float, h2f, f2h); break;
    case E_BF16: STANDIN_DIV_AS(uint16_t, float, b2f, f2b); break;
    case E_F8E4M3: STANDIN_DIV_AS(uint8_t, float, e42f, f2e4); break;
    case E_F8E5M2: STANDIN_DIV_AS(uint8_t, float, e52f, f2e5); break;
    }
}
#endif
