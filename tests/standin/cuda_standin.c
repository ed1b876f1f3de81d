/* Stand-in libcuda.so (tests only): the CUDA driver API calls xccl-bench makes through
 * cudarc, on host memory. Not NVIDIA's driver. Device pointers are host addresses;
 * streams execute work when it is issued, except while capturing, when the NCCL
 * stand-in appends its work to the stream and a graph launch replays it. Every call
 * checks its handles (context current, stream/event/graph live, memory allocated) the
 * way the real driver would refuse them. See nccl_standin.c. */
#include "device_memory.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
enum {
    CUDA_SUCCESS = 0, CUDA_ERROR_INVALID_VALUE = 1, CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_NO_DEVICE = 100, CUDA_ERROR_INVALID_DEVICE = 101, CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_INVALID_HANDLE = 400, CUDA_ERROR_NOT_READY = 600
};

static int g_init = 0;
static int g_current = -1; /* device whose primary context is current */
static int g_retained[64];

static void err(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[cuda stand-in] ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}
static int ndev(void) {
    const char *s = getenv("XCCL_STANDIN_GPUS");
    return s ? atoi(s) : 2;
}

/* The codes the stand-in names, and describes where the text is not NULL. */
static const struct { CUresult code; const char *name, *text; } ERRORS[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", NULL},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", NULL},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", NULL},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
};
CUresult cuGetErrorName(CUresult e, const char **s) {
    *s = "CUDA_ERROR_UNKNOWN";
    for (size_t i = 0; i < sizeof ERRORS / sizeof *ERRORS; i++)
        if (ERRORS[i].code == e) *s = ERRORS[i].name;
    return CUDA_SUCCESS;
}
CUresult cuGetErrorString(CUresult e, const char **s) {
    *s = "stand-in error";
    for (size_t i = 0; i < sizeof ERRORS / sizeof *ERRORS; i++)
        if (ERRORS[i].code == e && ERRORS[i].text) *s = ERRORS[i].text;
    return CUDA_SUCCESS;
}

CUresult cuInit(unsigned flags) {
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    g_init = 1;
    return ndev() > 0 ? CUDA_SUCCESS : CUDA_ERROR_NO_DEVICE;
}
#define NEED_INIT() do { if (!g_init) { err("%s: cuInit not called", __func__); return CUDA_ERROR_NOT_INITIALIZED; } } while (0)
#define NEED_CTX() do { NEED_INIT(); if (g_current < 0) { err("%s: no current context", __func__); return CUDA_ERROR_INVALID_CONTEXT; } } while (0)

CUresult cuDeviceGetCount(int *n) { NEED_INIT(); *n = ndev(); return CUDA_SUCCESS; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) {
    NEED_INIT();
    if (ordinal < 0 || ordinal >= ndev()) return CUDA_ERROR_INVALID_DEVICE;
    *d = ordinal;
    return CUDA_SUCCESS;
}
CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
    NEED_INIT();
    if (d < 0 || d >= ndev()) return CUDA_ERROR_INVALID_DEVICE;
    snprintf(name, (size_t)len, "xccl stand-in GPU %d", d);
    return CUDA_SUCCESS;
}
CUresult cuDeviceGetPCIBusId(char *id, int len, CUdevice d) {
    NEED_INIT();
    if (d < 0 || d >= ndev()) return CUDA_ERROR_INVALID_DEVICE;
    snprintf(id, (size_t)len, "0000:%02X:00.0", 0x10 + d);
    return CUDA_SUCCESS;
}
/* A context handle is the device ordinal + 1, disguised as a pointer. */
CUresult cuDevicePrimaryCtxRetain(void **ctx, CUdevice d) {
    NEED_INIT();
    if (d < 0 || d >= ndev() || d >= 64) return CUDA_ERROR_INVALID_DEVICE;
    g_retained[d]++;
    *ctx = (void *)(intptr_t)(d + 1);
    return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
    if (d < 0 || d >= 64 || g_retained[d] <= 0) { err("cuDevicePrimaryCtxRelease: device %d not retained", d); return CUDA_ERROR_INVALID_CONTEXT; }
    g_retained[d]--;
    return CUDA_SUCCESS;
}
CUresult cuCtxSetCurrent(void *ctx) {
    NEED_INIT();
    int d = (int)(intptr_t)ctx - 1;
    if (ctx == NULL) { g_current = -1; return CUDA_SUCCESS; }
    if (d < 0 || d >= 64 || g_retained[d] <= 0) { err("cuCtxSetCurrent: %p is not a retained context", ctx); return CUDA_ERROR_INVALID_CONTEXT; }
    g_current = d;
    return CUDA_SUCCESS;
}
int xccl_cuda_current_device(void) { return g_current; }

/* ---- memory (device_memory.h) ---- */
/* Whether [p, p+bytes) is inside one allocation on device `dev`. */
int xccl_cuda_mem_ok(const void *p, size_t bytes, int dev) { return dev >= 0 && alloc_holds(p, bytes, dev); }
CUresult cuMemAlloc_v2(CUdeviceptr *dp, size_t n) {
    NEED_CTX();
    if (n == 0) return CUDA_ERROR_INVALID_VALUE;
    void *p = alloc_new(n, g_current);
    *dp = (CUdeviceptr)(uintptr_t)p;
    return p ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
CUresult cuMemFree_v2(CUdeviceptr dp) {
    if (alloc_free((void *)(uintptr_t)dp)) return CUDA_SUCCESS;
    err("cuMemFree: %llx is not an allocation", dp);
    return CUDA_ERROR_INVALID_VALUE;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
    NEED_CTX();
    if (!alloc_holds((void *)(uintptr_t)dst, n, -1)) { err("cuMemcpyHtoD: destination is not %zu bytes of device memory", n); return CUDA_ERROR_INVALID_VALUE; }
    memcpy((void *)(uintptr_t)dst, src, n);
    return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) {
    NEED_CTX();
    if (!alloc_holds((void *)(uintptr_t)src, n, -1)) { err("cuMemcpyDtoH: source is not %zu bytes of device memory", n); return CUDA_ERROR_INVALID_VALUE; }
    memcpy(dst, (void *)(uintptr_t)src, n);
    return CUDA_SUCCESS;
}
CUresult cuMemGetInfo_v2(size_t *free_, size_t *total) {
    NEED_CTX();
    *total = (size_t)80 << 30;
    *free_ = (size_t)40 << 30;
    return CUDA_SUCCESS;
}

/* ---- streams, capture, graphs ---- */
typedef void (*xccl_work_fn)(void *arg);
struct work { xccl_work_fn fn; void *arg; struct work *next; };
#define STREAM_MAGIC 0x43535452u
struct stream { unsigned magic; int dev; int capturing; struct work *head, **tail; };
struct graph { struct work *head; };

int xccl_cuda_stream_ok(void *s, int dev) {
    struct stream *st = (struct stream *)s;
    return st && st->magic == STREAM_MAGIC && st->dev == dev;
}
/* Runs `fn(arg)` now, or appends it to the capture (which then owns `arg`). Returns 1
 * when captured. */
int xccl_cuda_issue(void *s, xccl_work_fn fn, void *arg) {
    struct stream *st = (struct stream *)s;
    if (!st->capturing) { fn(arg); return 0; }
    struct work *w = (struct work *)calloc(1, sizeof *w);
    w->fn = fn;
    w->arg = arg;
    *st->tail = w;
    st->tail = &w->next;
    return 1;
}
CUresult cuStreamCreate(void **s, unsigned flags) {
    NEED_CTX();
    (void)flags;
    struct stream *st = (struct stream *)calloc(1, sizeof *st);
    st->magic = STREAM_MAGIC;
    st->dev = g_current;
    st->tail = &st->head;
    *s = st;
    return CUDA_SUCCESS;
}
CUresult cuStreamDestroy_v2(void *s) {
    struct stream *st = (struct stream *)s;
    if (!st || st->magic != STREAM_MAGIC) { err("cuStreamDestroy: not a live stream"); return CUDA_ERROR_INVALID_HANDLE; }
    st->magic = 0;
    free(st);
    return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize(void *s) {
    struct stream *st = (struct stream *)s;
    if (!st || st->magic != STREAM_MAGIC) { err("cuStreamSynchronize: not a live stream"); return CUDA_ERROR_INVALID_HANDLE; }
    return CUDA_SUCCESS;
}
CUresult cuCtxSynchronize(void) {
    NEED_CTX();
    return CUDA_SUCCESS;
}
CUresult cuStreamBeginCapture_v2(void *s, int mode) {
    struct stream *st = (struct stream *)s;
    if (!st || st->magic != STREAM_MAGIC || st->capturing || mode < 0 || mode > 2) return CUDA_ERROR_INVALID_VALUE;
    st->capturing = 1;
    st->head = NULL;
    st->tail = &st->head;
    return CUDA_SUCCESS;
}
CUresult cuStreamEndCapture(void *s, void **graph) {
    struct stream *st = (struct stream *)s;
    if (!st || st->magic != STREAM_MAGIC || !st->capturing) return CUDA_ERROR_INVALID_VALUE;
    struct graph *g = (struct graph *)calloc(1, sizeof *g);
    g->head = st->head;
    st->capturing = 0;
    st->head = NULL;
    st->tail = &st->head;
    *graph = g;
    return CUDA_SUCCESS;
}
CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
    (void)flags;
    if (!graph) return CUDA_ERROR_INVALID_VALUE;
    *exec = graph; /* the executable is the graph itself */
    return CUDA_SUCCESS;
}
CUresult cuGraphLaunch(void *exec, void *s) {
    struct graph *g = (struct graph *)exec;
    if (!g || !s || ((struct stream *)s)->magic != STREAM_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    for (struct work *w = g->head; w; w = w->next) w->fn(w->arg);
    return CUDA_SUCCESS;
}
CUresult cuGraphExecDestroy(void *exec) { (void)exec; return CUDA_SUCCESS; }
CUresult cuGraphDestroy(void *graph) {
    struct graph *g = (struct graph *)graph;
    if (!g) return CUDA_ERROR_INVALID_VALUE;
    for (struct work *w = g->head, *n; w; w = n) { n = w->next; free(w->arg); free(w); }
    free(g);
    return CUDA_SUCCESS;
}

/* ---- events ---- */
#define EVENT_MAGIC 0x43455654u
struct event { unsigned magic; int recorded; double t; };
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
CUresult cuEventCreate(void **e, unsigned flags) {
    NEED_CTX();
    if (flags & 0x2) { err("cuEventCreate: CU_EVENT_DISABLE_TIMING on a timing event"); return CUDA_ERROR_INVALID_VALUE; }
    struct event *ev = (struct event *)calloc(1, sizeof *ev);
    ev->magic = EVENT_MAGIC;
    *e = ev;
    return CUDA_SUCCESS;
}
CUresult cuEventDestroy_v2(void *e) {
    struct event *ev = (struct event *)e;
    if (!ev || ev->magic != EVENT_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    ev->magic = 0;
    free(ev);
    return CUDA_SUCCESS;
}
CUresult cuEventRecord(void *e, void *s) {
    struct event *ev = (struct event *)e;
    struct stream *st = (struct stream *)s;
    if (!ev || ev->magic != EVENT_MAGIC || !st || st->magic != STREAM_MAGIC) { err("cuEventRecord: bad event or stream"); return CUDA_ERROR_INVALID_HANDLE; }
    ev->recorded = 1;
    ev->t = now();
    return CUDA_SUCCESS;
}
/* Work runs when issued, so a recorded event is complete. */
CUresult cuEventQuery(void *e) {
    struct event *ev = (struct event *)e;
    if (!ev || ev->magic != EVENT_MAGIC) { err("cuEventQuery: not a live event"); return CUDA_ERROR_INVALID_HANDLE; }
    return CUDA_SUCCESS;
}
CUresult cuEventSynchronize(void *e) {
    struct event *ev = (struct event *)e;
    if (!ev || ev->magic != EVENT_MAGIC) { err("cuEventSynchronize: not a live event"); return CUDA_ERROR_INVALID_HANDLE; }
    return CUDA_SUCCESS;
}
static CUresult elapsed(float *ms, void *a, void *b) {
    struct event *x = (struct event *)a, *y = (struct event *)b;
    if (!x || !y || x->magic != EVENT_MAGIC || y->magic != EVENT_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    if (!x->recorded || !y->recorded) return CUDA_ERROR_NOT_READY;
    *ms = (float)((y->t - x->t) * 1e3);
    return CUDA_SUCCESS;
}
CUresult cuEventElapsedTime(float *ms, void *a, void *b) { return elapsed(ms, a, b); }
CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b) { return elapsed(ms, a, b); }
