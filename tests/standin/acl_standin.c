/* Stand-in libascendcl.so: the ACL runtime calls xccl-bench makes, on host memory.
 * See standin.h. Signatures follow acl.h / acl_rt.h (CANN, as shipped in torch-npu). */
#include "standin.h"
#include "device_memory.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __cplusplus
#define EXTERN_C extern "C"
#else
#define EXTERN_C
#endif

#ifdef XCCL_VENDOR_HEADERS
/* ABI check (tests/hccl_standin.rs): compiled as C++ against the real header, every
 * definition below must match its declaration there or the compiler rejects it. */
#include "acl/acl.h"
#else
/* The same types as acl_base.h / acl_rt.h, spelled for C: its enums are int-sized. */
typedef int aclError;
typedef void *aclrtStream;
typedef void *aclrtEvent;
typedef int aclrtMemcpyKind;
typedef int aclrtMemMallocPolicy;
typedef int aclrtMemAttr;
typedef int aclrtEventRecordedStatus;
#define ACL_SUCCESS 0
#define ACL_ERROR_INVALID_PARAM 100000
#define ACL_ERROR_UNINITIALIZE 100001
#define ACL_ERROR_REPEAT_INITIALIZE 100002
#define ACL_ERROR_BAD_ALLOC 200000
#endif

static int g_init = 0;
static int g_device = -1;
static char g_msg[1024] = "";

EXTERN_C void xccl_standin_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[stand-in] %s\n", g_msg);
}

static int ndevices(void) {
    const char *s = getenv("XCCL_STANDIN_NPUS");
    return s ? atoi(s) : 8;
}

/* ---- allocations (device_memory.h), on any device ---- */
EXTERN_C int xccl_standin_mem_ok(const void *p, size_t bytes) { return alloc_holds(p, bytes, -1); }

/* ---- streams and events ---- */
#define STREAM_MAGIC 0x5354524dU
#define EVENT_MAGIC 0x4556544eU
struct stream { unsigned magic; int device; };
struct event { unsigned magic; int recorded; double t; };

EXTERN_C int xccl_standin_stream_ok(void *s) {
    return s && ((struct stream *)s)->magic == STREAM_MAGIC && ((struct stream *)s)->device == g_device;
}
EXTERN_C int xccl_standin_current_device(void) { return g_device; }

static int need_device(const char *call) {
    if (!g_init) { xccl_standin_error("%s: aclInit was not called", call); return ACL_ERROR_UNINITIALIZE; }
    if (g_device < 0) { xccl_standin_error("%s: no device set (aclrtSetDevice)", call); return ACL_ERROR_INVALID_PARAM; }
    return ACL_SUCCESS;
}

EXTERN_C aclError aclInit(const char *configPath) {
    (void)configPath;
    if (g_init) { xccl_standin_error("aclInit: already initialized"); return ACL_ERROR_REPEAT_INITIALIZE; }
    g_init = 1;
    return ACL_SUCCESS;
}
EXTERN_C aclError aclFinalize(void) {
    if (!g_init) { xccl_standin_error("aclFinalize: not initialized"); return ACL_ERROR_UNINITIALIZE; }
    g_init = 0;
    return ACL_SUCCESS;
}
EXTERN_C const char *aclGetRecentErrMsg(void) { return g_msg[0] ? g_msg : NULL; }
EXTERN_C aclError aclrtGetVersion(int32_t *major, int32_t *minor, int32_t *patch) {
    if (!major || !minor || !patch) return ACL_ERROR_INVALID_PARAM;
    *major = 0; *minor = 0; *patch = 0; /* 0.0.0: not a CANN release */
    return ACL_SUCCESS;
}
EXTERN_C const char *aclrtGetSocName(void) { return "xccl-standin"; }

EXTERN_C aclError aclrtGetDeviceCount(uint32_t *count) {
    if (!g_init) { xccl_standin_error("aclrtGetDeviceCount: aclInit was not called"); return ACL_ERROR_UNINITIALIZE; }
    if (!count) return ACL_ERROR_INVALID_PARAM;
    *count = (uint32_t)ndevices();
    return ACL_SUCCESS;
}
EXTERN_C aclError aclrtSetDevice(int32_t id) {
    if (!g_init) { xccl_standin_error("aclrtSetDevice: aclInit was not called"); return ACL_ERROR_UNINITIALIZE; }
    if (id < 0 || id >= ndevices()) { xccl_standin_error("aclrtSetDevice: device %d of %d", id, ndevices()); return ACL_ERROR_INVALID_PARAM; }
    g_device = id;
    return ACL_SUCCESS;
}
EXTERN_C aclError aclrtResetDevice(int32_t id) {
    if (id != g_device) { xccl_standin_error("aclrtResetDevice(%d): current device is %d", id, g_device); return ACL_ERROR_INVALID_PARAM; }
    g_device = -1;
    return ACL_SUCCESS;
}
EXTERN_C aclError aclrtSynchronizeDevice(void) { return need_device("aclrtSynchronizeDevice"); }

EXTERN_C aclError aclrtGetMemInfo(aclrtMemAttr attr, size_t *free_, size_t *total) {
    int r = need_device("aclrtGetMemInfo");
    if (r) return r;
    if (!free_ || !total || (int)attr < 0) return ACL_ERROR_INVALID_PARAM;
    *total = (size_t)64 << 30;
    *free_ = (size_t)32 << 30;
    return ACL_SUCCESS;
}

EXTERN_C aclError aclrtMalloc(void **p, size_t size, aclrtMemMallocPolicy policy) {
    int r = need_device("aclrtMalloc");
    if (r) return r;
    if (!p || size == 0) { xccl_standin_error("aclrtMalloc: size 0 or null out pointer"); return ACL_ERROR_INVALID_PARAM; }
    if ((int)policy != 0) { xccl_standin_error("aclrtMalloc: policy %d, expected ACL_MEM_MALLOC_HUGE_FIRST (0)", (int)policy); return ACL_ERROR_INVALID_PARAM; }
    *p = alloc_new(size, g_device);
    return *p ? ACL_SUCCESS : ACL_ERROR_BAD_ALLOC;
}
EXTERN_C aclError aclrtFree(void *p) {
    if (alloc_free(p)) return ACL_SUCCESS;
    xccl_standin_error("aclrtFree(%p): not a device allocation", p);
    return ACL_ERROR_INVALID_PARAM;
}

/* kinds: H2H 0, H2D 1, D2H 2, D2D 3 (aclrtMemcpyKind) */
EXTERN_C aclError aclrtMemcpy(void *dst, size_t destMax, const void *src, size_t count, aclrtMemcpyKind kind) {
    int r = need_device("aclrtMemcpy");
    if (r) return r;
    if (count > destMax) { xccl_standin_error("aclrtMemcpy: count %zu > destMax %zu", count, destMax); return ACL_ERROR_INVALID_PARAM; }
    int k = (int)kind;
    int dst_dev = k == 1 || k == 3, src_dev = k == 2 || k == 3;
    if (k < 0 || k > 3) { xccl_standin_error("aclrtMemcpy: kind %d", k); return ACL_ERROR_INVALID_PARAM; }
    if (dst_dev ? !xccl_standin_mem_ok(dst, count) : alloc_find(dst) != NULL) {
        xccl_standin_error("aclrtMemcpy(kind %d): destination %p is %s", k, dst, dst_dev ? "not enough device memory" : "device memory");
        return ACL_ERROR_INVALID_PARAM;
    }
    if (src_dev ? !xccl_standin_mem_ok(src, count) : alloc_find(src) != NULL) {
        xccl_standin_error("aclrtMemcpy(kind %d): source %p has the wrong side", k, src);
        return ACL_ERROR_INVALID_PARAM;
    }
    memmove(dst, src, count);
    return ACL_SUCCESS;
}

EXTERN_C aclError aclrtCreateStream(aclrtStream *s) {
    int r = need_device("aclrtCreateStream");
    if (r) return r;
    struct stream *st = (struct stream *)malloc(sizeof *st);
    st->magic = STREAM_MAGIC;
    st->device = g_device;
    *s = st;
    return ACL_SUCCESS;
}
EXTERN_C aclError aclrtDestroyStream(aclrtStream s) {
    if (!xccl_standin_stream_ok(s)) { xccl_standin_error("aclrtDestroyStream: not a live stream"); return ACL_ERROR_INVALID_PARAM; }
    ((struct stream *)s)->magic = 0;
    free(s);
    return ACL_SUCCESS;
}
EXTERN_C aclError aclrtSynchronizeStream(aclrtStream s) {
    if (!xccl_standin_stream_ok(s)) { xccl_standin_error("aclrtSynchronizeStream: not a live stream"); return ACL_ERROR_INVALID_PARAM; }
    return ACL_SUCCESS; /* work runs when issued */
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
EXTERN_C aclError aclrtCreateEvent(aclrtEvent *e) {
    int r = need_device("aclrtCreateEvent");
    if (r) return r;
    struct event *ev = (struct event *)calloc(1, sizeof *ev);
    ev->magic = EVENT_MAGIC;
    *e = ev;
    return ACL_SUCCESS;
}
EXTERN_C aclError aclrtDestroyEvent(aclrtEvent e) {
    if (!e || ((struct event *)e)->magic != EVENT_MAGIC) { xccl_standin_error("aclrtDestroyEvent: not a live event"); return ACL_ERROR_INVALID_PARAM; }
    ((struct event *)e)->magic = 0;
    free(e);
    return ACL_SUCCESS;
}
EXTERN_C aclError aclrtRecordEvent(aclrtEvent e, aclrtStream s) {
    if (!e || ((struct event *)e)->magic != EVENT_MAGIC) { xccl_standin_error("aclrtRecordEvent: not a live event"); return ACL_ERROR_INVALID_PARAM; }
    if (!xccl_standin_stream_ok(s)) { xccl_standin_error("aclrtRecordEvent: not a live stream"); return ACL_ERROR_INVALID_PARAM; }
    ((struct event *)e)->recorded = 1;
    ((struct event *)e)->t = now();
    return ACL_SUCCESS;
}
/* Work runs when issued: a recorded event is complete, one never recorded is not
 * (acl_rt.h: ACL_EVENT_RECORDED_STATUS_NOT_READY 0, _COMPLETE 1). */
EXTERN_C aclError aclrtQueryEventStatus(aclrtEvent e, aclrtEventRecordedStatus *status) {
    if (!e || ((struct event *)e)->magic != EVENT_MAGIC || !status) { xccl_standin_error("aclrtQueryEventStatus: not a live event, or no status"); return ACL_ERROR_INVALID_PARAM; }
    *status = ((struct event *)e)->recorded ? (aclrtEventRecordedStatus)1 : (aclrtEventRecordedStatus)0;
    return ACL_SUCCESS;
}
EXTERN_C aclError aclrtSynchronizeEvent(aclrtEvent e) {
    if (!e || ((struct event *)e)->magic != EVENT_MAGIC) { xccl_standin_error("aclrtSynchronizeEvent: not a live event"); return ACL_ERROR_INVALID_PARAM; }
    return ACL_SUCCESS;
}
EXTERN_C aclError aclrtEventElapsedTime(float *ms, aclrtEvent a, aclrtEvent b) {
    struct event *x = (struct event *)a, *y = (struct event *)b;
    if (!ms || !x || !y || x->magic != EVENT_MAGIC || y->magic != EVENT_MAGIC || !x->recorded || !y->recorded) {
        xccl_standin_error("aclrtEventElapsedTime: events must be live and recorded");
        return ACL_ERROR_INVALID_PARAM;
    }
    *ms = (float)((y->t - x->t) * 1e3);
    return ACL_SUCCESS;
}
