// Validated arguments of the neural-network kernel families (convolution, pooling,
// normalization, indexing). Every tensor here is contiguous row-major (NCHW for images) and
// of one float dtype unless stated; the api layer has checked shapes against each other.
#pragma once

#include <myelin.h>

#include <cstdint>

#include "core/tensor_view.hpp"

namespace mln {

// Spatial geometry of a convolution or pooling window, always seen as 3-d: a 1-d or 2-d
// problem is padded with leading dimensions of size 1 (kernel 1, stride 1, dilation 1, no
// padding), so kernels have one code path for every spatial rank.
struct WindowGeometry {
    int32_t spatial_rank = 0;  // as given (1..3), for messages
    int64_t in[3] = {1, 1, 1};
    int64_t out[3] = {1, 1, 1};
    int64_t kernel[3] = {1, 1, 1};
    int64_t stride[3] = {1, 1, 1};
    int64_t dilation[3] = {1, 1, 1};
    int64_t pad_begin[3] = {0, 0, 0};
    int64_t pad_end[3] = {0, 0, 0};

    int64_t in_size() const { return in[0] * in[1] * in[2]; }
    int64_t out_size() const { return out[0] * out[1] * out[2]; }
    int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// x: batch x channels x in, w: out_channels x channels/groups x kernel, y: batch x
// out_channels x out. For backward data, x and y are the gradients dx and dy; for backward
// filter, w is dw and bias is dbias. Forward only: y = activation(conv + bias + residual), the
// residual contiguous, of y's shape and not overlapping y.
struct ConvArgs {
    WindowGeometry geometry;
    int64_t batch = 0;
    int64_t channels = 0;
    int64_t out_channels = 0;
    int64_t groups = 1;
    TensorView x;
    TensorView w;
    TensorView y;
    TensorView bias;
    bool has_bias = false;
    TensorView residual;
    bool has_residual = false;
    mln_unary_op activation = MLN_UNARY_OP_IDENTITY;
    // Forward only, set by a caller that runs one convolution's batch in pieces whose size
    // depends on the thread count and promises the same bits at any thread count (backward data
    // by polyphase): every output is summed the same way whatever the batch and thread count,
    // the kernels' rules that pick a sum order by how many images a task holds then off.
    bool batch_invariant_sums = false;
};

// Filters a backend prepared once for one convolution (mln_conv_weights), in its own layout;
// owned by the handle.
class PreparedConvFilters {
public:
    virtual ~PreparedConvFilters() = default;
    // Whether they are in a kernel's layout (not a plain copy).
    virtual bool packed() const = 0;
    // Device memory they hold (from the device's allocator, so its counters include it).
    virtual int64_t bytes() const = 0;
};

// x: batch x channels x in, y (and indices, for max) batch x channels x out. For backward, x
// is dx and y is dy. Indices are flat row-major positions in x (ONNX MaxPool Indices), -1
// for a window that holds no element of x.
struct PoolArgs {
    WindowGeometry geometry;
    mln_pool_mode mode = MLN_POOL_MODE_MAX;
    bool count_include_pad = false;
    int64_t batch = 0;
    int64_t channels = 0;
    TensorView x;
    TensorView y;
    TensorView indices;
    bool has_indices = false;
    bool column_major_indices = false;  // forward only: storage_order 1
};

// Normalization over x seen as batch x channels x spatial (contiguous). Batch norm: one set of
// statistics per channel, over batch and spatial. Group norm: one set per (image, group) over
// channels/groups x spatial, a contiguous block. Layer norm is group norm with one group, x seen
// as outer x inner x 1. scale and bias (per channel) are optional: absent means 1 and 0.
// mean and invstd hold one value per set: channels (batch norm) or batch x groups.
struct NormArgs {
    int64_t batch = 0;
    int64_t channels = 0;
    int64_t spatial = 1;
    int64_t groups = 1;
    double epsilon = 0.0;
    double momentum = 0.0;
    TensorView x, y, scale, bias, mean, invstd;
    TensorView running_mean, running_var;  // batch norm: read (inference) or updated (training)
    TensorView dy, dx, dscale, dbias;      // backward
    bool has_scale = false, has_bias = false, has_running = false, has_dscale = false, has_dbias = false;
};

// Gather and scatter-add along one axis: `table` is indexed along `axis` (size axis_size) and
// `rows` has the table's shape with that axis replaced by indices' shape. gather:
// rows = table[indices]; scatter-add: table[indices] += rows. All contiguous; indices i32 or
// i64 (values not yet checked: the kernel checks them before writing anything).
struct GatherArgs {
    TensorView table;
    TensorView indices;
    TensorView rows;
    int32_t axis = 0;
    int64_t outer = 1;       // product of table dimensions before axis
    int64_t axis_size = 0;
    int64_t inner = 1;       // product of table dimensions after axis
    int64_t index_count = 0;
};

// y = x padded (or cropped, where negative) by pad_begin/pad_end per dimension; contiguous.
struct PadArgs {
    mln_pad_mode mode = MLN_PAD_MODE_CONSTANT;
    TensorView x;
    TensorView y;
    int64_t pad_begin[MLN_MAX_RANK] = {};
    double value = 0.0;
};

// GatherElements and ScatterElements: `table` (gathered from, or scattered into) and `indices`
// share a rank; `rows` (gathered into, or the updates) has indices' shape. Contiguous; indices
// i32 or i64, values checked by the kernel before anything is written.
struct ElementIndexArgs {
    TensorView table;
    TensorView indices;
    TensorView rows;
    int32_t axis = 0;
    mln_scatter_reduction reduction = MLN_SCATTER_REDUCTION_NONE;  // scatter only
};

// GatherND and ScatterND over contiguous tensors: `table` is x (gather) or y (scatter); `rows`
// is y (gather) or the updates (scatter). Each of `batch` batches holds `lookups` index tuples
// of `depth` values addressing the batch's sub-tensor of table (dims table.shape[batch_dims:]);
// each tuple selects a run of `slice` contiguous elements.
struct GatherNdArgs {
    TensorView table;
    TensorView indices;
    TensorView rows;
    int32_t batch_dims = 0;
    int32_t depth = 0;
    int64_t batch = 1;
    int64_t lookups = 0;
    int64_t slice = 1;
    mln_scatter_reduction reduction = MLN_SCATTER_REDUCTION_NONE;  // scatter only
};

// Trilu over the last two dimensions of x and y (same shape, contiguous).
struct TriluArgs {
    TensorView x;
    TensorView y;
    bool upper = true;
    int64_t k = 0;
};

// y = resize(x) (forward) or x = adjoint(y) (backward, x and y being dx and dy); contiguous,
// one float dtype, one rank. params as given by the caller, enums checked.
struct ResizeArgs {
    mln_resize_params params{};
    TensorView x;
    TensorView y;
};

}  // namespace mln
