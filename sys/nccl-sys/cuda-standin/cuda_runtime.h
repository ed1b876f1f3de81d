/* Minimal stand-in for the CUDA runtime headers, used only to run bindgen over nccl.h
 * without a CUDA toolkit. It declares the few CUDA names nccl.h mentions with the same
 * ABI the real headers give them: streams and events are opaque pointers. Written for
 * this project; not NVIDIA's header. */
#ifndef XCCL_CUDA_RUNTIME_STANDIN_H
#define XCCL_CUDA_RUNTIME_STANDIN_H
#include <stddef.h> /* the real cuda_runtime.h brings size_t */
#define CUDART_VERSION 12000
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
#define cudaEventDisableTiming 0x02
#endif
