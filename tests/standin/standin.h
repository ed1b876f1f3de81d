/* Shared between the stand-in libascendcl.so and libhccl.so (tests only).
 *
 * These are not Ascend's libraries. They implement, on host memory, the subset of the
 * ACL runtime and HCCL C API that xccl-bench calls, with the signatures and numbering
 * of the real headers (acl_rt.h, acl.h, hccl.h, hccl_types.h), and check every argument
 * a real library would reject: unknown type/op codes, types a collective does not take,
 * counts that overrun the device allocation, roots out of range, streams and
 * communicators that were never created. Collectives run over MPI (the calling process
 * has already initialized it). See docs/BACKENDS.md: this is an ABI conformance test,
 * not a run on Ascend hardware. */
#ifndef XCCL_STANDIN_H
#define XCCL_STANDIN_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported by the ACL stand-in for the HCCL stand-in. */
int xccl_standin_stream_ok(void *stream);
/* Whether [p, p+bytes) lies inside one live device allocation. */
int xccl_standin_mem_ok(const void *p, size_t bytes);
int xccl_standin_current_device(void);
/* Records the message aclGetRecentErrMsg returns and prints it to stderr. */
void xccl_standin_error(const char *fmt, ...);

#ifdef __cplusplus
}
#endif
#endif
