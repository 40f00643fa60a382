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
    MLN_CPU_FEATURES_NEON = 256,
    MLN_CPU_FEATURES_AVX512DQ = 512
} mln_cpu_features;

/* Instruction-set level of the CPU kernels. */
typedef enum mln_isa {
    MLN_ISA_SCALAR = 0, /* portable C++, any CPU */
    MLN_ISA_AVX2 = 1,   /* AVX2 + FMA + F16C */
    MLN_ISA_AVX512 = 2, /* AVX-512 F/BW/VL/DQ, and everything AVX2 has */
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
    MLN_KERNEL_GEMM = 6,
    MLN_KERNEL_WHERE = 7,
    MLN_KERNEL_SOFTMAX = 8,
    MLN_KERNEL_OPTIMIZER = 9,
    MLN_KERNEL_DROPOUT = 10,
    MLN_KERNEL_CONV = 11,
    MLN_KERNEL_POOL = 12,
    MLN_KERNEL_NORMALIZATION = 13,
    MLN_KERNEL_INDEXING = 14,
    MLN_KERNEL_ELTWISE_PROGRAM = 15,
    MLN_KERNEL_RESIZE = 20
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
    MLN_UNARY_OP_TANH = 8,
    /* Activations. Parameterized ops read mln_unary's alpha/beta (listed); as a GEMM
     * activation they take the default given here. Other ops ignore alpha and beta. */
    MLN_UNARY_OP_LEAKY_RELU = 9,    /* x < 0 ? alpha x : x; alpha default 0.01 */
    MLN_UNARY_OP_ELU = 10,          /* x < 0 ? alpha (e^x - 1) : x; alpha default 1 */
    MLN_UNARY_OP_SELU = 11,         /* x < 0 ? beta alpha (e^x - 1) : beta x; alpha default 1.67326.., beta (ONNX gamma) 1.05070.. */
    MLN_UNARY_OP_CELU = 12,         /* max(0,x) + min(0, alpha (e^(x/alpha) - 1)); alpha default 1 */
    MLN_UNARY_OP_GELU = 13,         /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
    MLN_UNARY_OP_GELU_TANH = 14,    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    MLN_UNARY_OP_SILU = 15,         /* swish: x sigmoid(x) */
    MLN_UNARY_OP_MISH = 16,         /* x tanh(softplus(x)) */
    MLN_UNARY_OP_SOFTPLUS = 17,     /* log(1 + e^x) */
    MLN_UNARY_OP_SOFTSIGN = 18,     /* x / (1 + |x|) */
    MLN_UNARY_OP_HARD_SIGMOID = 19, /* clamp(alpha x + beta, 0, 1); defaults 0.2, 0.5 (ONNX) */
    MLN_UNARY_OP_HARD_SWISH = 20,   /* x clamp(x/6 + 1/2, 0, 1) */
    /* Math. */
    MLN_UNARY_OP_RECIPROCAL = 21,
    MLN_UNARY_OP_SQUARE = 22,
    MLN_UNARY_OP_SIN = 23,
    MLN_UNARY_OP_COS = 24,
    MLN_UNARY_OP_ERF = 25,
    MLN_UNARY_OP_FLOOR = 26,
    MLN_UNARY_OP_CEIL = 27,
    MLN_UNARY_OP_ROUND = 28,        /* halves to even */
    MLN_UNARY_OP_SIGN = 29,         /* -1, 0 or 1; keeps -0 and NaN; also signed integers */
    MLN_UNARY_OP_LOG1P = 30,
    MLN_UNARY_OP_EXPM1 = 31,
    MLN_UNARY_OP_TAN = 32,
    MLN_UNARY_OP_ASIN = 33,
    MLN_UNARY_OP_ACOS = 34,
    MLN_UNARY_OP_ATAN = 35,
    MLN_UNARY_OP_SINH = 36,
    MLN_UNARY_OP_COSH = 37,
    MLN_UNARY_OP_ASINH = 38,
    MLN_UNARY_OP_ACOSH = 39,
    MLN_UNARY_OP_ATANH = 40,
    MLN_UNARY_OP_SHRINK = 41,           /* x < -alpha ? x + beta : x > alpha ? x - beta : 0; alpha (lambd) default 0.5, beta (bias) 0 */
    MLN_UNARY_OP_THRESHOLDED_RELU = 42  /* x > alpha ? x : 0; alpha default 1 */
} mln_unary_op;

typedef enum mln_binary_op {
    /* Arithmetic: f32, f64 and every integer dtype (integers wrap; integer div truncates toward
     * zero and x / 0 is 0; integer pow multiplies, a negative exponent truncates 1 / a^-b). max
     * and min also take f16. */
    MLN_BINARY_OP_ADD = 0,
    MLN_BINARY_OP_SUB = 1,
    MLN_BINARY_OP_MUL = 2,
    MLN_BINARY_OP_DIV = 3,
    MLN_BINARY_OP_MAX = 4,
    MLN_BINARY_OP_MIN = 5,
    MLN_BINARY_OP_POW = 6,
    /* Comparisons: a and b of one numeric dtype (bool for eq/ne too), y is MLN_DTYPE_BOOL.
     * Any comparison with NaN is false except ne. */
    MLN_BINARY_OP_EQ = 7,
    MLN_BINARY_OP_NE = 8,
    MLN_BINARY_OP_LT = 9,
    MLN_BINARY_OP_LE = 10,
    MLN_BINARY_OP_GT = 11,
    MLN_BINARY_OP_GE = 12,
    /* Logic: a, b and y are MLN_DTYPE_BOOL. */
    MLN_BINARY_OP_LOGICAL_AND = 13,
    MLN_BINARY_OP_LOGICAL_OR = 14,
    MLN_BINARY_OP_LOGICAL_XOR = 15,
    /* Remainders: mod has the divisor's sign (integers only, as ONNX Mod with fmod = 0), fmod the
     * dividend's (C fmod; floats, f16 included, and integers). x mod 0 and x fmod 0 are 0 on integers. */
    MLN_BINARY_OP_MOD = 16,
    MLN_BINARY_OP_FMOD = 17,
    /* Shifts of unsigned integers (u8); a shift by the bit width or more gives 0. */
    MLN_BINARY_OP_SHIFT_LEFT = 18,
    MLN_BINARY_OP_SHIFT_RIGHT = 19
} mln_binary_op;

typedef enum mln_reduce_op {
    MLN_REDUCE_OP_SUM = 0,
    MLN_REDUCE_OP_MEAN = 1,
    MLN_REDUCE_OP_MAX = 2,
    MLN_REDUCE_OP_MIN = 3,
    MLN_REDUCE_OP_PROD = 4,       /* floats and integers (which wrap) */
    MLN_REDUCE_OP_L1 = 5,         /* sum of |x|; floats and integers */
    MLN_REDUCE_OP_L2 = 6,         /* sqrt of the sum of x^2; floats */
    MLN_REDUCE_OP_SUM_SQUARE = 7, /* sum of x^2; floats and integers */
    MLN_REDUCE_OP_LOG_SUM_EXP = 8 /* log of the sum of e^x, shifted by the running maximum so nothing overflows; floats */
} mln_reduce_op;

/* y[...] = value, converted to y's dtype. */
MLN_API mln_status mln_fill(mln_device* device, const mln_tensor_desc* y, double value);

/* y = x elementwise; same dtype and shape, any strides (x may broadcast with stride 0). */
MLN_API mln_status mln_copy(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* y);

/* y = (y.dtype) x elementwise; same shape. Floats to integers truncate toward zero; to bool
 * gives 1 for nonzero (NaN included); f16/bf16 round to nearest even. */
MLN_API mln_status mln_cast(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* y);

/* y = op(x); same dtype and shape. alpha and beta are the parameters of the ops that take
 * them (see mln_unary_op: leaky_relu, elu, celu use alpha; hard_sigmoid alpha and beta);
 * other ops ignore them. On f16/bf16 an op defined for f32 computes in f32 and rounds the
 * result once to nearest even. */
MLN_API mln_status mln_unary(mln_device* device, mln_unary_op op, double alpha, double beta,
                             const mln_tensor_desc* x, const mln_tensor_desc* y);

/* y = op(a, b) with NumPy broadcasting; y's shape must be the broadcast shape of a and b.
 * a and b have one dtype; y has it too, except for comparisons (y is bool). On f16/bf16 an
 * op defined for f32 computes in f32 and rounds the result once to nearest even. */
MLN_API mln_status mln_binary(mln_device* device, mln_binary_op op, const mln_tensor_desc* a,
                              const mln_tensor_desc* b, const mln_tensor_desc* y);

/* y = op of x over `axes` (negative counts from the end; axis_count 0 means all axes).
 * With keepdims != 0 the reduced axes stay in y's shape with size 1; otherwise they are
 * removed. Float sums, products and norms accumulate in double. Reducing an empty set: sum,
 * L1, L2 and sum_square 0, prod 1, mean NaN, log_sum_exp -inf, max and min fail. */
MLN_API mln_status mln_reduce(mln_device* device, mln_reduce_op op, const mln_tensor_desc* x,
                              const int32_t* axes, int32_t axis_count, int32_t keepdims,
                              const mln_tensor_desc* y);

/* The position along `axis` (negative counts from the end) of the maximum (op
 * MLN_REDUCE_OP_MAX) or minimum (MLN_REDUCE_OP_MIN) of x, as ONNX ArgMax and ArgMin. y is i64
 * with x's shape, the axis kept with size 1 (keepdims != 0) or removed. Ties give the first
 * position, or the last with select_last_index != 0. NaN is the extreme, as it is for
 * mln_reduce's max and min. x (f32, f64, i32 or i64) and y are contiguous; the axis must not
 * be empty unless y is. */
MLN_API mln_status mln_arg_reduce(mln_device* device, mln_reduce_op op, const mln_tensor_desc* x, int32_t axis,
                                  int32_t keepdims, int32_t select_last_index, const mln_tensor_desc* y);

/* The k largest (largest != 0) or smallest elements of x along `axis`, as ONNX TopK:
 * values (x's dtype) and indices (i64, positions along the axis) have x's shape with that axis
 * of size k, 0 <= k <= its size. They are ordered from the most extreme; equal values keep
 * x's order (lower index first). NaN ranks above every number. x is f32, f64, i32 or i64;
 * all three are contiguous. */
MLN_API mln_status mln_top_k(mln_device* device, const mln_tensor_desc* x, int32_t axis, int64_t k,
                             int32_t largest, const mln_tensor_desc* values, const mln_tensor_desc* indices);

/* Cumulative sum along `axis`, as ONNX CumSum: y[i] = sum of x[j] over j <= i, or j < i with
 * exclusive != 0 (the first sum is then 0); reverse != 0 sums from the end instead (j >= i,
 * or j > i). x and y have one dtype (f32, f64, i32, i64; floats accumulate in double,
 * integers wrap) and shape, and are contiguous. */
MLN_API mln_status mln_cumsum(mln_device* device, const mln_tensor_desc* x, int32_t axis, int32_t exclusive,
                              int32_t reverse, const mln_tensor_desc* y);

/* ---- Elementwise: backward, selection, softmax, optimizers, dropout ---- */

/* dx = dy * op'(x) elementwise for every mln_unary_op on f32/f64 (alpha, beta as mln_unary).
 * x, y = op(x), dy and dx have one shape and float dtype. Ops whose derivative comes from y
 * (identity, neg, sqrt, exp, relu, sigmoid, tanh, reciprocal, expm1, floor, ceil, round,
 * sign) accept x == NULL when y is given, and compute y from x when y is NULL; all other ops
 * need x and ignore y. floor/ceil/round/sign have derivative 0, abs and relu 0 at 0. */
MLN_API mln_status mln_unary_backward(mln_device* device, mln_unary_op op, double alpha, double beta,
                                      const mln_tensor_desc* x, const mln_tensor_desc* y,
                                      const mln_tensor_desc* dy, const mln_tensor_desc* dx);

/* y = cond ? a : b elementwise with NumPy broadcasting over all three; cond is bool, a and b
 * have y's dtype (any dtype), y's shape is the broadcast shape. */
MLN_API mln_status mln_where(mln_device* device, const mln_tensor_desc* cond, const mln_tensor_desc* a,
                             const mln_tensor_desc* b, const mln_tensor_desc* y);

typedef enum mln_softmax_op {
    MLN_SOFTMAX_OP_SOFTMAX = 0,     /* y = e^(x - max) / sum e^(x - max) */
    MLN_SOFTMAX_OP_LOG_SOFTMAX = 1  /* y = x - max - log(sum e^(x - max)) */
} mln_softmax_op;

/* y = op(x) along `axis` (negative counts from the end); x and y of one float dtype and shape.
 * A row containing +Inf or NaN gives NaN in that row; a row of all -Inf gives NaN. */
MLN_API mln_status mln_softmax(mln_device* device, mln_softmax_op op, int32_t axis, const mln_tensor_desc* x,
                               const mln_tensor_desc* y);

/* dx from the forward output y and dy along `axis`:
 * softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - e^y * sum(dy). */
MLN_API mln_status mln_softmax_backward(mln_device* device, mln_softmax_op op, int32_t axis,
                                        const mln_tensor_desc* y, const mln_tensor_desc* dy,
                                        const mln_tensor_desc* dx);

/* Fused optimizer updates with PyTorch semantics (torch.optim, defaults there). g below is
 * grad + weight_decay * param (L2) for every kind except AdamW, which decays param by
 * (1 - lr * weight_decay) first (decoupled).
 *  SGD:       param -= lr * g
 *  MOMENTUM:  buf = step == 1 ? g : momentum * buf + (1 - dampening) * g; param -= lr * buf
 *  NESTEROV:  buf as MOMENTUM; param -= lr * (g + momentum * buf)
 *  RMSPROP:   (momentum must be 0) sq = alpha sq + (1 - alpha) g^2; centered: ga = alpha ga + (1 - alpha) g,
 *             avg = sq - ga^2 (else avg = sq); param -= lr * g / (sqrt(avg) + eps)
 *  ADAGRAD:   sum += g^2; param -= lr * g / (sqrt(sum) + eps)
 *  ADAM/ADAMW: m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
 *             param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
 * States: MOMENTUM/NESTEROV state0 = buf; RMSPROP state0 = sq, state1 = ga (centered only);
 * ADAGRAD state0 = sum; ADAM/ADAMW state0 = m, state1 = v. Unused states must be NULL.
 * States start at zero (the caller fills them), param/grad/states share shape and float dtype. */
typedef enum mln_optimizer_kind {
    MLN_OPTIMIZER_KIND_SGD = 0,
    MLN_OPTIMIZER_KIND_MOMENTUM = 1,
    MLN_OPTIMIZER_KIND_NESTEROV = 2,
    MLN_OPTIMIZER_KIND_RMSPROP = 3,
    MLN_OPTIMIZER_KIND_ADAGRAD = 4,
    MLN_OPTIMIZER_KIND_ADAM = 5,
    MLN_OPTIMIZER_KIND_ADAMW = 6
} mln_optimizer_kind;

typedef struct mln_optimizer_params {
    mln_optimizer_kind kind;
    int32_t centered;     /* RMSprop: nonzero for the centered variant */
    int64_t step;         /* 1 on the first update; bias correction (Adam) and buffer start */
    double lr;
    double momentum;      /* MOMENTUM, NESTEROV */
    double dampening;     /* MOMENTUM (NESTEROV requires 0) */
    double weight_decay;
    double alpha;         /* RMSprop smoothing constant (PyTorch alpha, Keras rho) */
    double beta1;
    double beta2;
    double eps;
} mln_optimizer_params;

/* One update of param in place from grad; see mln_optimizer_kind. */
MLN_API mln_status mln_optimizer_step(mln_device* device, const mln_optimizer_params* params,
                                      const mln_tensor_desc* param, const mln_tensor_desc* grad,
                                      const mln_tensor_desc* state0, const mln_tensor_desc* state1);

/* Inverted dropout: mask = u >= p, y = mask ? x / (1 - p) : 0. For the element at row-major
 * index i, u = (w >> 8) / 2^24 where w is 32-bit word k = offset + i of the Philox4x32-10
 * stream keyed by seed (word k % 4 of the block at counter (k / 4, 0, 0) as two 32-bit
 * halves). So the mask depends only on (seed, offset, index), never on threads or strides;
 * the backward is this same call on dy with the same seed and offset, and a caller advances
 * offset by the element count between calls. p in [0, 1): p == 0 copies. x and y of one float
 * dtype and shape; mask is NULL or bool of that shape. */
MLN_API mln_status mln_dropout(mln_device* device, double p, uint64_t seed, uint64_t offset,
                               const mln_tensor_desc* x, const mln_tensor_desc* y, const mln_tensor_desc* mask);

/* ---- GEMM ---- */
/* c = activation(alpha * op(a) * op(b) + beta * c + bias + residual), op(m) = m or its transpose.
 * a, b, c are of one float dtype (f32, f64, or f16/bf16 storage: widened exactly, multiplied
 * and accumulated in f32, the result rounded once to nearest even) and rank >= 2; op
 * applies to the last two dimensions: op(a) is MxK, op(b) is KxN, c ends in MxN. Leading
 * (batch) dimensions follow NumPy matmul: a's and b's broadcast against each other (aligned at the end, size 1 stretches, missing
 * ones count as 1) and c's must equal that broadcast; rank 2 everywhere is one product.
 * With beta == 0, c is not read (NaN in c does not propagate). bias is NULL or rank 1 of
 * length N, added to every row of every matrix. residual is NULL or a tensor of c's dtype
 * whose shape broadcasts to c's (a skip connection; any strides); it may be the very same
 * view as c (same data and strides: it then adds c's value before the call) but must not
 * otherwise overlap c. activation is MLN_UNARY_OP_IDENTITY for none. */
MLN_API mln_status mln_gemm(mln_device* device, const mln_tensor_desc* a, int32_t transpose_a,
                            const mln_tensor_desc* b, int32_t transpose_b, const mln_tensor_desc* c,
                            double alpha, double beta, const mln_tensor_desc* bias,
                            mln_unary_op activation, const mln_tensor_desc* residual);

/* ---- Convolution ---- */
/* N-d convolution (ONNX Conv semantics) on contiguous row-major NCHW tensors of one float
 * dtype (f32 or f64). Shapes, with spatial_rank r in 1..3 and G = groups:
 *   x: N x C x in[0..r),  w: M x C/G x k[0..r),  bias: M,  y: N x M x out[0..r),
 *   out[i] = floor((in[i] + pads_begin[i] + pads_end[i] - dilations[i]*(k[i]-1) - 1) / strides[i]) + 1.
 * C and M must be multiples of G. Only the first spatial_rank entries of each array are read. */
typedef struct mln_conv_params {
    int32_t spatial_rank;   /* 1, 2 or 3 */
    int64_t strides[3];     /* >= 1 */
    int64_t dilations[3];   /* >= 1 */
    int64_t pads_begin[3];  /* >= 0 */
    int64_t pads_end[3];    /* >= 0 */
    int64_t groups;         /* >= 1 */
} mln_conv_params;

/* y = activation(conv(x, w) + bias + residual), the epilogue of mln_gemm, applied to each
 * output block while it is still in cache. bias is NULL or one value per output channel (M).
 * residual is NULL or a contiguous tensor of y's dtype and exactly y's shape (no broadcasting;
 * a skip connection), not overlapping y. activation is MLN_UNARY_OP_IDENTITY for none; any
 * mln_unary_op, parameterized ones with the defaults listed there, as for mln_gemm. */
MLN_API mln_status mln_conv_forward(mln_device* device, const mln_conv_params* params, const mln_tensor_desc* x,
                                    const mln_tensor_desc* w, const mln_tensor_desc* bias,
                                    mln_unary_op activation, const mln_tensor_desc* residual,
                                    const mln_tensor_desc* y);

typedef struct mln_conv_weights mln_conv_weights;

/* Filters prepared once for many mln_conv_forward_prepared calls on inputs of one shape (an
 * inference engine's constant weights): rearranged into the layout the forward's kernels read
 * where one exists for this convolution on the active ISA (so a call does not repack them),
 * otherwise a plain copy. The handle owns its memory, taken from the device's allocator (so
 * mln_memory_get_stats counts it): w may be freed or changed afterwards (changed weights need a
 * new handle). x gives only the input shape and dtype (its data is not
 * read, but the descriptor must be valid as for mln_conv_forward); w as for mln_conv_forward.
 * Any convolution mln_conv_forward accepts can be prepared. */
MLN_API mln_status mln_conv_weights_create(mln_device* device, const mln_conv_params* params,
                                           const mln_tensor_desc* x, const mln_tensor_desc* w,
                                           mln_conv_weights** out_weights);
/* Frees the weights; NULL is ignored. */
MLN_API void mln_conv_weights_destroy(mln_conv_weights* weights);

/* 1 where the weights are held in a kernel's layout, 0 for a plain copy. */
MLN_API mln_status mln_conv_weights_is_packed(const mln_conv_weights* weights, int32_t* out_packed);

/* Bytes of device memory the weights hold (freed by mln_conv_weights_destroy). */
MLN_API mln_status mln_conv_weights_get_bytes(const mln_conv_weights* weights, int64_t* out_bytes);

/* mln_conv_forward with the prepared weights and the params they were prepared with; x must
 * have exactly the shape and dtype given to mln_conv_weights_create (INVALID_ARGUMENT otherwise)
 * and device must be the one they were prepared on. Results equal mln_conv_forward's up to
 * rounding (the same kernels; a call may split the depth into other partial sums). */
MLN_API mln_status mln_conv_forward_prepared(mln_device* device, const mln_conv_weights* weights,
                                             const mln_tensor_desc* x, const mln_tensor_desc* bias,
                                             mln_unary_op activation, const mln_tensor_desc* residual,
                                             const mln_tensor_desc* y);

/* dx = gradient of conv_forward with respect to x, given dy (dx is overwritten). dx's spatial
 * shape is any `in` that gives dy's `out` by the formula above, so this call is also the
 * forward pass of ConvTranspose: Y = mln_conv_backward_data(dy = X, w = W, dx = Y) with W
 * shaped C_in x C_out/G x k (ONNX ConvTranspose layout, C_in playing M), Y's spatial size
 * (in[i]-1)*strides[i] - pads_begin[i] - pads_end[i] + dilations[i]*(k[i]-1) + 1 + output_padding[i]
 * (output_padding < strides), and ConvTranspose's bias added afterwards by broadcasting. */
MLN_API mln_status mln_conv_backward_data(mln_device* device, const mln_conv_params* params,
                                          const mln_tensor_desc* dy, const mln_tensor_desc* w,
                                          const mln_tensor_desc* dx);

/* dw = gradient of conv_forward with respect to w (overwritten), summed over the batch; dbias
 * (NULL for none) = dy summed over batch and space, per output channel. */
MLN_API mln_status mln_conv_backward_filter(mln_device* device, const mln_conv_params* params,
                                            const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                            const mln_tensor_desc* dw, const mln_tensor_desc* dbias);

/* ---- Pooling ---- */
/* N-d max and average pooling (ONNX MaxPool / AveragePool) on contiguous NCHW tensors of one
 * float dtype. x: N x C x in, y: N x C x out with, per spatial dimension,
 *   span = dilations*(kernel-1) + 1,  out = floor_or_ceil((in + pads_begin + pads_end - span) / strides) + 1,
 * and with ceil_mode a last window that would start inside the end padding is dropped. Pads
 * must be smaller than span. Average divides by the taps inside x, or with count_include_pad by
 * the taps inside the padded extent [-pads_begin, in + pads_end). A window holding no element of
 * x (possible only with dilation) gives -inf and index -1 (max) or NaN (average without pads).
 * Max propagates NaN; ties take the first tap in row-major window order. Global pooling is
 * mln_reduce over the spatial axes. */
typedef enum mln_pool_mode {
    MLN_POOL_MODE_MAX = 0,
    MLN_POOL_MODE_AVERAGE = 1
} mln_pool_mode;

typedef struct mln_pool_params {
    int32_t spatial_rank;      /* 1, 2 or 3 */
    int64_t kernel[3];         /* >= 1 */
    int64_t strides[3];        /* >= 1 */
    int64_t dilations[3];      /* >= 1 */
    int64_t pads_begin[3];     /* 0 <= pad < span */
    int64_t pads_end[3];
    int32_t ceil_mode;         /* 0: floor, else ceil */
    int32_t count_include_pad; /* average only */
    int32_t storage_order;     /* i64 max indices: 0 row-major, 1 column-major in each (n, c) plane
                                * (ONNX MaxPool storage_order); the backward reads 0; workspace: any */
} mln_pool_params;

/* y = pool(x). indices: NULL, or (max only) y's shape of i64, the flat position in x of each maximum as ONNX
 * MaxPool's Indices ((n*C + c) * plane size + the position in the plane, storage_order's way), or of u8 or i32, the
 * workspace: the tap in the kernel, row-major, 255 / -1 for a window without x (u8: windows of <= 255 taps). */
MLN_API mln_status mln_pool_forward(mln_device* device, mln_pool_mode mode, const mln_pool_params* params,
                                    const mln_tensor_desc* x, const mln_tensor_desc* y,
                                    const mln_tensor_desc* indices);

/* dx = gradient of pooling given dy (dx is overwritten; its shape is x's). Max needs the forward's indices (i64:
 * each -1 or inside its own (n, c) plane) or workspace (each tap inside x, or 255 / -1); average takes NULL. */
MLN_API mln_status mln_pool_backward(mln_device* device, mln_pool_mode mode, const mln_pool_params* params,
                                     const mln_tensor_desc* dy, const mln_tensor_desc* indices,
                                     const mln_tensor_desc* dx);

/* ---- Resize ---- */
/* Interpolation of every dimension of a contiguous tensor of one float dtype (ONNX Resize and
 * Upsample). Each output coordinate o along a dimension of input length n maps to an input
 * coordinate c by coordinate_mode, with L = scales[d] * n (the fractional resized length, as
 * ONNX's reference computes it; it differs from y's length when the scale does not divide n):
 *   half_pixel (o + 0.5) / s - 0.5;  pytorch_half_pixel the same, or 0 when L <= 1;
 *   align_corners o * (n - 1) / (L - 1), or 0 when L <= 1;  asymmetric o / s;
 *   tf_half_pixel_for_nn (o + 0.5) / s;
 *   half_pixel_symmetric n/2 * (1 - m/L) + (o + 0.5) / s - 0.5 with m = y's length;
 *   tf_crop_and_resize roi_start*(n-1) + o*(roi_end-roi_start)*(n-1)/(L-1) (or the roi's middle
 *   when L <= 1); a coordinate outside [0, n-1] on any dimension gives extrapolation_value.
 * Nearest takes one input element (rounded by nearest_mode); linear takes floor(c) and
 * floor(c)+1 with weights 1-f and f (f = c - floor(c)); cubic takes floor(c)-1..floor(c)+2 with
 * the Keys kernel of parameter cubic_coeff_a. Taps outside [0, n-1] read the border element,
 * or with exclude_outside get weight 0 and the others are renormalized to sum 1. The result is
 * the product of these 1-d filters over the dimensions (separable). */
typedef enum mln_resize_mode {
    MLN_RESIZE_MODE_NEAREST = 0,
    MLN_RESIZE_MODE_LINEAR = 1,
    MLN_RESIZE_MODE_CUBIC = 2
} mln_resize_mode;

typedef enum mln_resize_coordinate_mode {
    MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL = 0,
    MLN_RESIZE_COORDINATE_MODE_PYTORCH_HALF_PIXEL = 1,
    MLN_RESIZE_COORDINATE_MODE_ALIGN_CORNERS = 2,
    MLN_RESIZE_COORDINATE_MODE_ASYMMETRIC = 3,
    MLN_RESIZE_COORDINATE_MODE_TF_HALF_PIXEL_FOR_NN = 4,
    MLN_RESIZE_COORDINATE_MODE_TF_CROP_AND_RESIZE = 5,
    MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL_SYMMETRIC = 6
} mln_resize_coordinate_mode;

typedef enum mln_resize_nearest_mode {
    MLN_RESIZE_NEAREST_MODE_ROUND_PREFER_FLOOR = 0, /* halves round down */
    MLN_RESIZE_NEAREST_MODE_ROUND_PREFER_CEIL = 1,  /* halves round up */
    MLN_RESIZE_NEAREST_MODE_FLOOR = 2,
    MLN_RESIZE_NEAREST_MODE_CEIL = 3
} mln_resize_nearest_mode;

typedef struct mln_resize_params {
    int32_t mode;                  /* mln_resize_mode */
    int32_t coordinate_mode;       /* mln_resize_coordinate_mode */
    int32_t nearest_mode;          /* mln_resize_nearest_mode (nearest only) */
    int32_t exclude_outside;       /* 0 or 1 (linear and cubic) */
    double cubic_coeff_a;          /* cubic only, e.g. -0.75 */
    double extrapolation_value;    /* tf_crop_and_resize only */
    double scales[MLN_MAX_RANK];   /* per dimension of x, > 0 */
    double roi_start[MLN_MAX_RANK]; /* tf_crop_and_resize only: normalized crop per dimension */
    double roi_end[MLN_MAX_RANK];
} mln_resize_params;

/* y = resize(x). x and y have one rank; a dimension of y longer than 0 needs x's to be too. */
MLN_API mln_status mln_resize_forward(mln_device* device, const mln_resize_params* params,
                                      const mln_tensor_desc* x, const mln_tensor_desc* y);

/* dx = the adjoint of mln_resize_forward applied to dy (dx overwritten): the gradient of a
 * resize with respect to x. Elements that took extrapolation_value pass no gradient. */
MLN_API mln_status mln_resize_backward(mln_device* device, const mln_resize_params* params,
                                       const mln_tensor_desc* dy, const mln_tensor_desc* dx);

/* ---- Normalization ---- */
/* Batch, layer and group normalization with their backward passes, on contiguous tensors of
 * one float dtype; statistics accumulate in double, variance is two-pass and biased (divides
 * by the count). y = (x - mean) * invstd * scale + bias with invstd = 1 / sqrt(var + epsilon).
 * scale and bias are optional everywhere (NULL means 1 and 0). The forward passes save mean
 * and invstd for the backward passes, which write dx (overwritten) and, where not NULL,
 * dscale = sum(dy * xhat) and dbias = sum(dy) over the elements each parameter touches. */

/* Batch norm with batch statistics over N and space (ONNX BatchNormalization,
 * training_mode=1). x: N x C x ... (rank >= 2, N x spatial > 0); scale, bias, running_mean,
 * running_var, saved_mean, saved_invstd: C. running_mean and running_var are both NULL or
 * both given; given, they are updated in place the ONNX way:
 * running = momentum * running + (1 - momentum) * batch statistic (the biased variance). */
MLN_API mln_status mln_batch_norm_forward_training(mln_device* device, const mln_tensor_desc* x,
                                                   const mln_tensor_desc* scale, const mln_tensor_desc* bias,
                                                   double epsilon, double momentum,
                                                   const mln_tensor_desc* running_mean,
                                                   const mln_tensor_desc* running_var, const mln_tensor_desc* y,
                                                   const mln_tensor_desc* saved_mean,
                                                   const mln_tensor_desc* saved_invstd);

/* Batch norm with the running statistics (inference). */
MLN_API mln_status mln_batch_norm_forward_inference(mln_device* device, const mln_tensor_desc* x,
                                                    const mln_tensor_desc* scale, const mln_tensor_desc* bias,
                                                    const mln_tensor_desc* running_mean,
                                                    const mln_tensor_desc* running_var, double epsilon,
                                                    const mln_tensor_desc* y);

/* Gradients of mln_batch_norm_forward_training. */
MLN_API mln_status mln_batch_norm_backward(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                           const mln_tensor_desc* scale, const mln_tensor_desc* saved_mean,
                                           const mln_tensor_desc* saved_invstd, const mln_tensor_desc* dx,
                                           const mln_tensor_desc* dscale, const mln_tensor_desc* dbias);

/* Layer norm over the trailing normalized_rank dimensions of x (ONNX LayerNormalization with
 * axis = rank - normalized_rank). scale and bias have the shape of those dimensions;
 * saved_mean and saved_invstd hold one value per row (the product of the leading
 * dimensions; any shape with that count, e.g. the leading dimensions with or without
 * trailing 1s). */
MLN_API mln_status mln_layer_norm_forward(mln_device* device, const mln_tensor_desc* x, int32_t normalized_rank,
                                          const mln_tensor_desc* scale, const mln_tensor_desc* bias, double epsilon,
                                          const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                          const mln_tensor_desc* saved_invstd);

MLN_API mln_status mln_layer_norm_backward(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                           int32_t normalized_rank, const mln_tensor_desc* scale,
                                           const mln_tensor_desc* saved_mean, const mln_tensor_desc* saved_invstd,
                                           const mln_tensor_desc* dx, const mln_tensor_desc* dscale,
                                           const mln_tensor_desc* dbias);

/* Group norm (ONNX GroupNormalization, opset 21: per-channel scale and bias). x: N x C x ...
 * with groups dividing C; statistics per (n, group) over C/groups channels and space;
 * saved_mean and saved_invstd hold N x groups values. */
MLN_API mln_status mln_group_norm_forward(mln_device* device, const mln_tensor_desc* x, int64_t groups,
                                          const mln_tensor_desc* scale, const mln_tensor_desc* bias, double epsilon,
                                          const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                          const mln_tensor_desc* saved_invstd);

MLN_API mln_status mln_group_norm_backward(mln_device* device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                           int64_t groups, const mln_tensor_desc* scale,
                                           const mln_tensor_desc* saved_mean, const mln_tensor_desc* saved_invstd,
                                           const mln_tensor_desc* dx, const mln_tensor_desc* dscale,
                                           const mln_tensor_desc* dbias);

/* ---- Indexing ---- */
/* Contiguous tensors. Indices are i32 or i64 and may be negative (counting from the end, as
 * in ONNX); an index outside -n..n-1 fails naming its value and position, before anything is
 * written. */

/* y = x gathered along axis (ONNX Gather): y's shape is x.shape[:axis] + indices.shape +
 * x.shape[axis+1:]. Any dtype. */
MLN_API mln_status mln_gather(mln_device* device, const mln_tensor_desc* x, int32_t axis,
                              const mln_tensor_desc* indices, const mln_tensor_desc* y);

/* y[..., indices[j], ...] += updates[..., j, ...] along axis: the adjoint of mln_gather (its
 * gradient, and the gradient of an embedding lookup: fill dx with 0, then scatter-add dy).
 * updates has the shape mln_gather would give for (y, axis, indices). Repeated indices
 * accumulate in index order, so results are identical for any thread count. f32, f64, i32,
 * i64 (integers wrap). */
MLN_API mln_status mln_scatter_add(mln_device* device, const mln_tensor_desc* updates, int32_t axis,
                                   const mln_tensor_desc* indices, const mln_tensor_desc* y);

typedef enum mln_pad_mode {
    MLN_PAD_MODE_CONSTANT = 0, /* value, converted to the dtype */
    MLN_PAD_MODE_REFLECT = 1,  /* mirror without repeating the border: pads <= size - 1 */
    MLN_PAD_MODE_EDGE = 2      /* repeat the border element */
} mln_pad_mode;

/* y = x padded per dimension d by pads_begin[d] before and pads_end[d] after (ONNX Pad);
 * negative pads crop. y.shape[d] = x.shape[d] + pads_begin[d] + pads_end[d]. Any dtype.
 * The gradient of constant padding is this call with the pads negated. */
MLN_API mln_status mln_pad(mln_device* device, mln_pad_mode mode, const mln_tensor_desc* x,
                           const int64_t* pads_begin, const int64_t* pads_end, double value,
                           const mln_tensor_desc* y);

/* How a scatter combines an update with the element it lands on (ONNX reduction attribute). */
typedef enum mln_scatter_reduction {
    MLN_SCATTER_REDUCTION_NONE = 0, /* replace; with repeated indices the last update wins */
    MLN_SCATTER_REDUCTION_ADD = 1,
    MLN_SCATTER_REDUCTION_MUL = 2,
    MLN_SCATTER_REDUCTION_MAX = 3,
    MLN_SCATTER_REDUCTION_MIN = 4
} mln_scatter_reduction;

/* y[i] = x[i with i[axis] replaced by indices[i]] (ONNX GatherElements): indices has x's rank,
 * y has indices' shape, and every other dimension of indices is at most x's. Any dtype. */
MLN_API mln_status mln_gather_elements(mln_device* device, const mln_tensor_desc* x, int32_t axis,
                                       const mln_tensor_desc* indices, const mln_tensor_desc* y);

/* y[j with j[axis] replaced by indices[j]] (reduction)= updates[j] for every position j of
 * updates (ONNX ScatterElements, applied to y in place: copy the data into y first). updates
 * and indices share a shape of y's rank, no larger than y on the other dimensions. Updates
 * apply in row-major order, so repeated indices give the same result for any thread count.
 * NONE: any dtype; the other reductions: f32, f64, i32, i64 (integers wrap). With
 * reduction ADD on zeros this is the adjoint of mln_gather_elements. */
MLN_API mln_status mln_scatter_elements(mln_device* device, mln_scatter_reduction reduction,
                                        const mln_tensor_desc* updates, int32_t axis,
                                        const mln_tensor_desc* indices, const mln_tensor_desc* y);

/* ONNX GatherND: indices (rank q, last dimension k) hold k-tuples addressing x (rank r) after
 * the first batch_dims dimensions, which x and indices share. y's shape is
 * indices.shape[:-1] + x.shape[batch_dims + k:]. Any dtype. */
MLN_API mln_status mln_gather_nd(mln_device* device, const mln_tensor_desc* x, int32_t batch_dims,
                                 const mln_tensor_desc* indices, const mln_tensor_desc* y);

/* ONNX ScatterND on y in place (copy the data into y first): the slice of y addressed by each
 * k-tuple of indices (reduction)= the matching slice of updates, whose shape is the shape
 * mln_gather_nd gives for (y, batch_dims, indices). Row-major order; dtypes as
 * mln_scatter_elements. ONNX has batch_dims 0; with reduction ADD on zeros this is the adjoint
 * of mln_gather_nd for any batch_dims. */
MLN_API mln_status mln_scatter_nd(mln_device* device, mln_scatter_reduction reduction,
                                  const mln_tensor_desc* updates, int32_t batch_dims,
                                  const mln_tensor_desc* indices, const mln_tensor_desc* y);

/* ONNX Trilu over the last two dimensions (rows i, columns j): y = x where j - i >= k (upper
 * != 0) or j - i <= k (upper == 0), else 0. x and y share a shape of rank >= 2. Any dtype. */
MLN_API mln_status mln_trilu(mln_device* device, int32_t upper, int64_t k, const mln_tensor_desc* x,
                             const mln_tensor_desc* y);

/* ---- Fused elementwise programs ---- */

/* A short program of elementwise ops evaluated in one pass over the output, so a chain such
 * as tanh(a * b + c) reads each input once and writes y once. */
#define MLN_ELTWISE_MAX_INSTRUCTIONS 64
#define MLN_ELTWISE_MAX_INPUTS 16
/* Registers 0..input_count-1 hold the inputs; temporaries use input_count..MAX_REGISTERS-1. */
#define MLN_ELTWISE_MAX_REGISTERS 80

typedef enum mln_eltwise_kind {
    MLN_ELTWISE_KIND_UNARY = 0, /* dst = op(src0), op an mln_unary_op; alpha, beta as mln_unary */
    MLN_ELTWISE_KIND_BINARY = 1 /* dst = op(src0, src1), op an mln_binary_op (not a comparison or logic op) */
} mln_eltwise_kind;

typedef struct mln_eltwise_instruction {
    int32_t kind; /* mln_eltwise_kind */
    int32_t op;   /* mln_unary_op or mln_binary_op value */
    int32_t dst;  /* a temporary register (>= input_count); may be overwritten later */
    int32_t src0; /* a register that holds a value: an input or an earlier dst */
    int32_t src1; /* binary only; ignored by unary instructions */
    double alpha;
    double beta;
} mln_eltwise_instruction;

/* Runs `program` (1..MLN_ELTWISE_MAX_INSTRUCTIONS instructions) elementwise over y's shape:
 * inputs[0..input_count-1] (1..MLN_ELTWISE_MAX_INPUTS descriptors, each NumPy-broadcastable
 * to y) are loaded into registers 0..input_count-1, the instructions run in order, and the
 * last instruction's dst is written to y. Inputs and y have one float dtype (f32 or f64);
 * every step rounds to that dtype, exactly as the separate mln_unary/mln_binary calls would. */
MLN_API mln_status mln_eltwise_program(mln_device* device, const mln_eltwise_instruction* program,
                                       int32_t instruction_count, const mln_tensor_desc* inputs,
                                       int32_t input_count, const mln_tensor_desc* y);

#ifdef __cplusplus
}
#endif

#endif /* MYELIN_H */
