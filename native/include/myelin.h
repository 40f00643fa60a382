/*
 * Myelin native C ABI.
 *
 * This header is the single source of truth for the managed bindings:
 * bindings/Myelin.Native/NativeMethods.g.cs is generated from it by
 * bindings/Myelin.Bindings.Generator. After changing it, regenerate and commit both.
 *
 * Rules every entry point follows:
 *  - A call that can fail returns mln_status (MLN_STATUS_OK = 0). On failure its
 *    out-parameters are left untouched and mln_last_error() returns a message for this
 *    thread that names the function and the offending values.
 *  - No C++ exception, assert or abort ever crosses this boundary.
 *  - Opaque handles come in create/destroy pairs; destroy returns void and accepts NULL.
 *  - Tensors cross as mln_tensor_desc passed by pointer. The library never owns memory it
 *    did not allocate and never keeps a descriptor after the call returns.
 *  - Strides and shapes are counted in elements, never in bytes.
 */
#ifndef MYELIN_H
#define MYELIN_H

#include <stddef.h>
#include <stdint.h>

/* Bumped on every incompatible change; the managed side refuses a library with another. */
#define MLN_ABI_VERSION 1
/* Largest tensor rank a descriptor can carry. */
#define MLN_MAX_RANK 8

#if defined(_WIN32)
#if defined(MLN_BUILDING_LIBRARY)
#define MLN_API __declspec(dllexport)
#else
#define MLN_API __declspec(dllimport)
#endif
#else
#define MLN_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status ------------------------------------------------------------------------- */

typedef enum mln_status {
    MLN_STATUS_OK = 0,
    MLN_STATUS_INVALID_ARGUMENT = 1, /* a caller error: null, shape, dtype, range */
    MLN_STATUS_OUT_OF_MEMORY = 2,
    MLN_STATUS_NOT_SUPPORTED = 3,    /* valid request this build or device cannot serve */
    MLN_STATUS_DEVICE_ERROR = 4,     /* the driver or hardware failed */
    MLN_STATUS_INTERNAL = 5          /* a bug in Myelin */
} mln_status;

/* Message of the last failed call on this thread; "" if none. Valid until the next call
 * on this thread. */
MLN_API const char* mln_last_error(void);

/* Library version as "major.minor.patch". */
MLN_API const char* mln_version(void);

/* MLN_ABI_VERSION as compiled into the library. */
MLN_API int32_t mln_abi_version(void);

/* ---- Data types --------------------------------------------------------------------- */

/* Values equal ONNX TensorProto.DataType so that serialization is a plain mapping. */
typedef enum mln_dtype {
    MLN_DTYPE_F32 = 1,
    MLN_DTYPE_U8 = 2,
    MLN_DTYPE_I8 = 3,
    MLN_DTYPE_I32 = 6,
    MLN_DTYPE_I64 = 7,
    MLN_DTYPE_BOOL = 9,
    MLN_DTYPE_F16 = 10,
    MLN_DTYPE_F64 = 11,
    MLN_DTYPE_BF16 = 16
} mln_dtype;

/* Size of one element in bytes, or 0 for a value that is not an mln_dtype. */
MLN_API size_t mln_dtype_size(mln_dtype dtype);

/* ---- CPU ---------------------------------------------------------------------------- */

typedef enum mln_cpu_features {
    MLN_CPU_FEATURES_NONE = 0,
    MLN_CPU_FEATURES_SSE4_2 = 1,
    MLN_CPU_FEATURES_AVX = 2,
    MLN_CPU_FEATURES_AVX2 = 4,
    MLN_CPU_FEATURES_FMA = 8,
    MLN_CPU_FEATURES_F16C = 16,
    MLN_CPU_FEATURES_AVX512F = 32,
    MLN_CPU_FEATURES_AVX512BW = 64,
    MLN_CPU_FEATURES_AVX512VL = 128,
    MLN_CPU_FEATURES_NEON = 256
} mln_cpu_features;

/* Instruction-set level of the CPU kernels. */
typedef enum mln_isa {
    MLN_ISA_SCALAR = 0, /* portable C++, any CPU */
    MLN_ISA_AVX2 = 1,   /* AVX2 + FMA + F16C */
    MLN_ISA_AVX512 = 2, /* AVX-512 F/BW/VL */
    MLN_ISA_NEON = 3
} mln_isa;

/* Features of this CPU that the OS also enables (AVX state saved by XGETBV, for example). */
MLN_API mln_status mln_cpu_get_features(mln_cpu_features* out_features);

/* CPU model name as reported by the processor; "" where unknown. Valid for the process. */
MLN_API mln_status mln_cpu_get_name(const char** out_name);

/* Number of physical cores (the default thread count). */
MLN_API mln_status mln_cpu_get_physical_core_count(int32_t* out_count);

/* ISA the CPU kernels use now: the best supported one, picked once at load. */
MLN_API mln_status mln_cpu_get_isa(mln_isa* out_isa);

/* Selects a lower ISA (tests and benchmarks compare paths this way). Fails with
 * MLN_STATUS_NOT_SUPPORTED for an ISA this CPU or build lacks. Process-wide. */
MLN_API mln_status mln_cpu_set_isa(mln_isa isa);

/* ---- Devices ------------------------------------------------------------------------ */

typedef enum mln_device_kind {
    MLN_DEVICE_KIND_CPU = 0,
    MLN_DEVICE_KIND_CUDA = 1
} mln_device_kind;

/* Kernel families a device may provide; see mln_device_supports. */
typedef enum mln_kernel {
    MLN_KERNEL_FILL = 0,
    MLN_KERNEL_COPY = 1,
    MLN_KERNEL_CAST = 2,
    MLN_KERNEL_UNARY = 3,
    MLN_KERNEL_BINARY = 4,
    MLN_KERNEL_REDUCE = 5,
    MLN_KERNEL_GEMM = 6
} mln_kernel;

typedef struct mln_device mln_device;

/* Number of devices of this kind: 1 for the CPU; 0 for CUDA where no driver or GPU is present. */
MLN_API mln_status mln_device_count(mln_device_kind kind, int32_t* out_count);

/* Opens device `ordinal` of `kind`. All CPU handles share one thread pool and allocator. */
MLN_API mln_status mln_device_create(mln_device_kind kind, int32_t ordinal, mln_device** out_device);
MLN_API void mln_device_destroy(mln_device* device);

MLN_API mln_status mln_device_get_kind(const mln_device* device, mln_device_kind* out_kind);

/* Human-readable name, such as "cpu:0". Valid while the device lives. */
MLN_API mln_status mln_device_get_name(const mln_device* device, const char** out_name);

/* Threads the device's kernels use. For the CPU this is the process-wide pool. */
MLN_API mln_status mln_device_get_thread_count(const mln_device* device, int32_t* out_count);

/* Sets the kernel thread count; 0 restores the default (physical cores). */
MLN_API mln_status mln_device_set_thread_count(mln_device* device, int32_t count);

/* Whether `kernel` is implemented for `dtype` on this device (1) or not (0). */
MLN_API mln_status mln_device_supports(const mln_device* device, mln_kernel kernel, mln_dtype dtype,
                                       int32_t* out_supported);

/* Waits for all work issued to the device. */
MLN_API mln_status mln_device_synchronize(mln_device* device);

/* ---- Memory ------------------------------------------------------------------------- */

/* Counters of one device's allocator since the process started. */
typedef struct mln_memory_stats {
    int64_t live_bytes;        /* bytes allocated and not yet freed */
    int64_t peak_bytes;        /* highest live_bytes seen */
    int64_t live_allocations;  /* allocations not yet freed */
    int64_t allocation_count;  /* successful mln_memory_alloc calls */
    int64_t free_count;        /* mln_memory_free calls with a non-null pointer */
} mln_memory_stats;

/* Allocates `bytes` (0 allowed) aligned to 64 bytes. Memory is uninitialized. */
MLN_API mln_status mln_memory_alloc(mln_device* device, size_t bytes, void** out_ptr);

/* Frees memory from mln_memory_alloc on the same device; NULL is ignored. */
MLN_API void mln_memory_free(mln_device* device, void* ptr);

/* Copies `bytes` between devices (either may be the CPU). Ranges must not overlap. */
MLN_API mln_status mln_memory_copy(mln_device* dst_device, void* dst, mln_device* src_device, const void* src,
                                   size_t bytes);

MLN_API mln_status mln_memory_get_stats(const mln_device* device, mln_memory_stats* out_stats);

/* ---- Tensors ------------------------------------------------------------------------ */

/* A view of device memory. Element (i0..in) lives at data + sum(ik * strides[k]) elements.
 * Strides may be 0 (broadcast) or negative; only the first `rank` entries are read. */
typedef struct mln_tensor_desc {
    void* data;
    mln_dtype dtype;
    int32_t rank;
    int64_t shape[MLN_MAX_RANK];
    int64_t strides[MLN_MAX_RANK];
} mln_tensor_desc;

/* ---- Kernels ------------------------------------------------------------------------ */
/* Every kernel runs on `device` and reads and writes memory of that device. An output may
 * be the very same view as an input (in place); partial overlap is undefined. An output
 * with a zero stride on a dimension larger than 1 is rejected. */

typedef enum mln_unary_op {
    MLN_UNARY_OP_IDENTITY = 0,
    MLN_UNARY_OP_NEG = 1,
    MLN_UNARY_OP_ABS = 2,
    MLN_UNARY_OP_SQRT = 3,
    MLN_UNARY_OP_EXP = 4,
    MLN_UNARY_OP_LOG = 5,
    MLN_UNARY_OP_RELU = 6,
    MLN_UNARY_OP_SIGMOID = 7,
    MLN_UNARY_OP_TANH = 8
} mln_unary_op;

typedef enum mln_binary_op {
    MLN_BINARY_OP_ADD = 0,
    MLN_BINARY_OP_SUB = 1,
    MLN_BINARY_OP_MUL = 2,
    MLN_BINARY_OP_DIV = 3,
    MLN_BINARY_OP_MAX = 4,
    MLN_BINARY_OP_MIN = 5,
    MLN_BINARY_OP_POW = 6
} mln_binary_op;

typedef enum mln_reduce_op {
    MLN_REDUCE_OP_SUM = 0,
    MLN_REDUCE_OP_MEAN = 1,
    MLN_REDUCE_OP_MAX = 2,
    MLN_REDUCE_OP_MIN = 3
} mln_reduce_op;

/* y[...] = value, converted to y's dtype. */
MLN_API mln_status mln_fill(mln_device* device, const mln_tensor_desc* y, double value);

/* y = x elementwise; same dtype and shape, any strides (x may broadcast with stride 0). */
MLN_API mln_status mln_copy(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* y);

/* y = (y.dtype) x elementwise; same shape. Floats to integers truncate toward zero; to bool
 * gives 1 for nonzero (NaN included); f16/bf16 round to nearest even. */
MLN_API mln_status mln_cast(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* y);

/* y = op(x); same dtype and shape. */
MLN_API mln_status mln_unary(mln_device* device, mln_unary_op op, const mln_tensor_desc* x,
                             const mln_tensor_desc* y);

/* y = op(a, b) with NumPy broadcasting; y's shape must be the broadcast shape of a and b. */
MLN_API mln_status mln_binary(mln_device* device, mln_binary_op op, const mln_tensor_desc* a,
                              const mln_tensor_desc* b, const mln_tensor_desc* y);

/* y = op of x over `axes` (negative counts from the end; axis_count 0 means all axes).
 * With keepdims != 0 the reduced axes stay in y's shape with size 1; otherwise they are
 * removed. Reducing an empty set: sum 0, mean NaN, max and min fail. */
MLN_API mln_status mln_reduce(mln_device* device, mln_reduce_op op, const mln_tensor_desc* x,
                              const int32_t* axes, int32_t axis_count, int32_t keepdims,
                              const mln_tensor_desc* y);

/* c = activation(alpha * op(a) * op(b) + beta * c + bias), op(m) = m or its transpose.
 * a, b, c are rank 2 of one float dtype; op(a) is MxK, op(b) is KxN, c is MxN.
 * With beta == 0, c is not read (NaN in c does not propagate). bias is NULL or rank 1 of
 * length N, added to every row. activation is MLN_UNARY_OP_IDENTITY for none. */
MLN_API mln_status mln_gemm(mln_device* device, const mln_tensor_desc* a, int32_t transpose_a,
                            const mln_tensor_desc* b, int32_t transpose_b, const mln_tensor_desc* c,
                            double alpha, double beta, const mln_tensor_desc* bias,
                            mln_unary_op activation);

#ifdef __cplusplus
}
#endif

#endif /* MYELIN_H */
