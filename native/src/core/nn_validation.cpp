#include "core/nn_validation.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/kernel_validation.hpp"
#include "core/shape.hpp"
#include "core/text.hpp"
#include "core/validation.hpp"

namespace mln {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(MLN_STATUS_INVALID_ARGUMENT, message); }

std::string list_to_string(const int64_t* values, int32_t count) {
    std::string text = "[";
    for (int32_t i = 0; i < count; ++i) {
        if (i > 0) text += ",";
        text += std::to_string(values[i]);
    }
    return text + "]";
}

std::string conv_params_to_string(const mln_conv_params& p) {
    const int32_t r = p.spatial_rank;
    return cat("strides=", list_to_string(p.strides, r), " dilations=", list_to_string(p.dilations, r),
               " pads_begin=", list_to_string(p.pads_begin, r), " pads_end=", list_to_string(p.pads_end, r),
               " groups=", p.groups);
}

// Names of the three tensors of a convolution call as that call spells them.
struct ConvNames {
    const char* x;
    const char* w;
    const char* y;
};

// The NC(D)(H)W layout of a tensor with r spatial axes (1-3), as rank errors name it.
const char* channels_first_layout(int32_t r) { return r == 1 ? "N x C x W" : r == 2 ? "N x C x H x W" : "N x C x D x H x W"; }

void require_rank(const char* name, const TensorView& view, int32_t rank, const char* layout) {
    if (view.rank != rank) {
        invalid(cat(name, " is ", shape_to_string(view), " (rank ", view.rank, ") but must have rank ", rank, " (",
                    layout, ")"));
    }
}

// The geometry of x and w alone: conv_geometry without y (out computed, not checked).
ConvArgs conv_input_geometry(const mln_conv_params* params, const TensorView& x, const TensorView& w,
                             const ConvNames& names) {
    const mln_conv_params& p = require_not_null(params, "params");
    const int32_t r = p.spatial_rank;
    if (r < 1 || r > 3) invalid(cat("params.spatial_rank is ", r, " but must be 1, 2 or 3"));
    const char* layout = channels_first_layout(r);
    require_rank(names.x, x, r + 2, layout);
    require_rank(names.w, w, r + 2, "out_channels x channels/groups x kernel");
    for (int32_t i = 0; i < r; ++i) {
        if (p.strides[i] < 1) invalid(cat("params.strides[", i, "] is ", p.strides[i], " but must be >= 1"));
        if (p.dilations[i] < 1) invalid(cat("params.dilations[", i, "] is ", p.dilations[i], " but must be >= 1"));
        if (p.pads_begin[i] < 0 || p.pads_end[i] < 0) {
            invalid(cat("params.pads_begin[", i, "] = ", p.pads_begin[i], " and pads_end[", i, "] = ", p.pads_end[i],
                        " must be >= 0"));
        }
    }
    if (p.groups < 1) invalid(cat("params.groups is ", p.groups, " but must be >= 1"));

    ConvArgs args;
    args.batch = x.shape[0];
    args.channels = x.shape[1];
    args.out_channels = w.shape[0];
    args.groups = p.groups;
    if (args.channels % p.groups != 0 || args.out_channels % p.groups != 0) {
        invalid(cat("groups = ", p.groups, " must divide the channels of ", names.x, " (", shape_to_string(x),
                    ") and the out_channels of ", names.w, " (", shape_to_string(w), ")"));
    }
    if (w.shape[1] != args.channels / p.groups) {
        invalid(cat(names.w, " is ", shape_to_string(w), " but ", names.x, " is ", shape_to_string(x), " with groups = ",
                    p.groups, ", so ", names.w, ".shape[1] must be ", args.channels / p.groups));
    }
    WindowGeometry& g = args.geometry;
    g.spatial_rank = r;
    for (int32_t i = 0; i < r; ++i) {
        const int32_t d = 3 - r + i;  // 1-d and 2-d problems fill the trailing slots
        const int64_t in = x.shape[2 + i];
        const int64_t k = w.shape[2 + i];
        if (k < 1) invalid(cat(names.w, " is ", shape_to_string(w), ": kernel dimension ", i, " is 0"));
        const int64_t span = p.dilations[i] * (k - 1) + 1;
        const int64_t padded = in + p.pads_begin[i] + p.pads_end[i];
        if (padded < span) {
            invalid(cat(names.x, " is ", shape_to_string(x), ": spatial dimension ", i, " padded to ", padded,
                        " is smaller than the dilated kernel extent ", span, " (", names.w, " is ", shape_to_string(w),
                        ", ", conv_params_to_string(p), ")"));
        }
        g.in[d] = in;
        g.kernel[d] = k;
        g.stride[d] = p.strides[i];
        g.dilation[d] = p.dilations[i];
        g.pad_begin[d] = p.pads_begin[i];
        g.pad_end[d] = p.pads_end[i];
        g.out[d] = (padded - span) / p.strides[i] + 1;
    }
    return args;
}

// Checks parameters and the shapes of x, w and y against each other; fills everything but the
// data views' roles.
ConvArgs conv_geometry(const mln_conv_params* params, const TensorView& x, const TensorView& w,
                       const TensorView& y, const ConvNames& names) {
    ConvArgs args = conv_input_geometry(params, x, w, names);
    const int32_t r = params->spatial_rank;
    require_rank(names.y, y, r + 2, channels_first_layout(r));
    int64_t expected[MLN_MAX_RANK] = {args.batch, args.out_channels};
    for (int32_t i = 0; i < r; ++i) expected[2 + i] = args.geometry.out[3 - r + i];
    const mln_conv_params& p = *params;
    if (y.shape[0] != args.batch || y.shape[1] != args.out_channels ||
        !std::equal(expected + 2, expected + 2 + r, y.shape + 2)) {
        invalid(cat(names.y, " is ", shape_to_string(y), " but ", names.x, " ", shape_to_string(x), " and ", names.w, " ",
                    shape_to_string(w), " with ", conv_params_to_string(p), " give ", shape_to_string(r + 2, expected)));
    }
    return args;
}

void require_same_float_dtype(std::initializer_list<std::pair<const char*, const TensorView*>> views) {
    const auto& [first_name, first] = *views.begin();
    require_float(first_name, *first);
    for (const auto& [name, view] : views) require_same_dtype(first_name, *first, name, *view);
}

void require_contiguous_float_operands(std::initializer_list<std::pair<const char*, const TensorView*>> views) {
    require_same_float_dtype(views);
    for (const auto& [name, view] : views) require_contiguous(name, *view);
}

TensorView validate_channel_vector(const char* name, const mln_tensor_desc* desc, Access access, int64_t length,
                                   const char* what) {
    TensorView view = validate_tensor(name, desc, access);
    if (view.rank != 1 || view.shape[0] != length) {
        invalid(cat(name, " is ", shape_to_string(view), " but must be a vector of length ", length, " (", what, ")"));
    }
    require_contiguous(name, view);
    return view;
}


std::string pool_params_to_string(const mln_pool_params& p) {
    const int32_t r = p.spatial_rank;
    return cat("kernel=", list_to_string(p.kernel, r), " strides=", list_to_string(p.strides, r),
               " dilations=", list_to_string(p.dilations, r), " pads_begin=", list_to_string(p.pads_begin, r),
               " pads_end=", list_to_string(p.pads_end, r), " ceil_mode=", p.ceil_mode);
}

// Checks parameters and the shapes of x and y; `x_name`/`y_name` as the call spells them.
PoolArgs pool_geometry(int32_t mode, const mln_pool_params* params, const TensorView& x, const TensorView& y,
                       const char* x_name, const char* y_name) {
    if (mode != MLN_POOL_MODE_MAX && mode != MLN_POOL_MODE_AVERAGE) {
        invalid(cat("mode is ", mode, " but must be MLN_POOL_MODE_MAX (0) or MLN_POOL_MODE_AVERAGE (1)"));
    }
    const mln_pool_params& p = require_not_null(params, "params");
    const int32_t r = p.spatial_rank;
    if (r < 1 || r > 3) invalid(cat("params.spatial_rank is ", r, " but must be 1, 2 or 3"));
    const char* layout = channels_first_layout(r);
    require_rank(x_name, x, r + 2, layout);
    require_rank(y_name, y, r + 2, layout);
    PoolArgs args;
    args.mode = static_cast<mln_pool_mode>(mode);
    args.count_include_pad = p.count_include_pad != 0;
    args.batch = x.shape[0];
    args.channels = x.shape[1];
    WindowGeometry& g = args.geometry;
    g.spatial_rank = r;
    int64_t expected[MLN_MAX_RANK] = {args.batch, args.channels};
    for (int32_t i = 0; i < r; ++i) {
        if (p.kernel[i] < 1) invalid(cat("params.kernel[", i, "] is ", p.kernel[i], " but must be >= 1"));
        if (p.strides[i] < 1) invalid(cat("params.strides[", i, "] is ", p.strides[i], " but must be >= 1"));
        if (p.dilations[i] < 1) invalid(cat("params.dilations[", i, "] is ", p.dilations[i], " but must be >= 1"));
        const int64_t span = p.dilations[i] * (p.kernel[i] - 1) + 1;
        if (p.pads_begin[i] < 0 || p.pads_end[i] < 0 || p.pads_begin[i] >= span || p.pads_end[i] >= span) {
            invalid(cat("params.pads_begin[", i, "] = ", p.pads_begin[i], " and pads_end[", i, "] = ", p.pads_end[i],
                        " must be >= 0 and smaller than the dilated window extent ", span));
        }
        const int32_t d = 3 - r + i;
        const int64_t in = x.shape[2 + i];
        const int64_t padded = in + p.pads_begin[i] + p.pads_end[i];
        if (padded < span) {
            invalid(cat(x_name, " is ", shape_to_string(x), ": spatial dimension ", i, " padded to ", padded,
                        " is smaller than the dilated window extent ", span, " (", pool_params_to_string(p), ")"));
        }
        int64_t out = (padded - span + (p.ceil_mode != 0 ? p.strides[i] - 1 : 0)) / p.strides[i] + 1;
        // With ceil_mode, a last window that would start in the end padding is dropped.
        if (p.ceil_mode != 0 && (out - 1) * p.strides[i] >= in + p.pads_begin[i]) --out;
        g.in[d] = in;
        g.out[d] = out;
        g.kernel[d] = p.kernel[i];
        g.stride[d] = p.strides[i];
        g.dilation[d] = p.dilations[i];
        g.pad_begin[d] = p.pads_begin[i];
        g.pad_end[d] = p.pads_end[i];
        expected[2 + i] = out;
    }
    if (!std::equal(expected, expected + r + 2, y.shape)) {
        invalid(cat(y_name, " is ", shape_to_string(y), " but ", x_name, " ", shape_to_string(x), " with ",
                    pool_params_to_string(p), " gives ", shape_to_string(r + 2, expected)));
    }
    return args;
}

// Taps of a window a workspace can name: u8 keeps 255 for the empty window; i32 keeps the
// kernels' int32 arithmetic (an empty window's -2^30 plus a tap) negative.
constexpr int64_t kMaxU8WorkspaceTaps = 255;
constexpr int64_t kMaxWorkspaceTaps = int64_t{1} << 30;

// Whether the indices are the workspace (u8 or i32 taps within the window), not i64 positions.
bool has_workspace(const PoolArgs& args) { return args.has_indices && args.indices.dtype != MLN_DTYPE_I64; }

void attach_indices(PoolArgs& args, const mln_tensor_desc* indices, Access access, const char* y_name) {
    if (indices == nullptr) {
        if (args.mode == MLN_POOL_MODE_MAX && access == Access::read) {
            invalid("indices is null but max pooling's backward needs the indices of the forward pass");
        }
        return;
    }
    if (args.mode != MLN_POOL_MODE_MAX) invalid("indices must be null for average pooling");
    args.indices = validate_tensor("indices", indices, access);
    args.has_indices = true;
    const mln_dtype dtype = args.indices.dtype;
    if (dtype != MLN_DTYPE_I64 && dtype != MLN_DTYPE_U8 && dtype != MLN_DTYPE_I32) {
        invalid(cat("indices has dtype ", dtype_name(dtype),
                    " but must be i64 (flat positions) or u8 or i32 (the workspace: taps within the window)"));
    }
    const int64_t taps = args.geometry.kernel_size();
    if (dtype == MLN_DTYPE_U8 && taps > kMaxU8WorkspaceTaps) {
        invalid(cat("indices is a u8 workspace but the window has ", taps, " taps (at most ", kMaxU8WorkspaceTaps,
                    "); use i32"));
    }
    if (dtype == MLN_DTYPE_I32 && taps > kMaxWorkspaceTaps) {
        invalid(cat("indices is an i32 workspace but the window has ", taps, " taps (at most ", kMaxWorkspaceTaps,
                    "); use i64"));
    }
    if (!same_shape(args.indices, args.y)) {
        invalid(cat("indices is ", shape_to_string(args.indices), " but ", y_name, " is ", shape_to_string(args.y)));
    }
    require_contiguous("indices", args.indices);
}

// x as batch x channels x spatial (rank >= 2) for batch and group norm.
void image_layout(NormArgs& args, const TensorView& x) {
    if (x.rank < 2) invalid(cat("x is ", shape_to_string(x), " but must have rank >= 2 (N x C x ...)"));
    args.batch = x.shape[0];
    args.channels = x.shape[1];
    args.spatial = 1;
    for (int32_t d = 2; d < x.rank; ++d) args.spatial *= x.shape[d];
}

void require_finite_epsilon(double epsilon) {
    if (!(epsilon >= 0.0) || !std::isfinite(epsilon)) invalid(cat("epsilon is ", epsilon, " but must be finite and >= 0"));
}

// An optional per-channel (or per normalized element) parameter; `shape` is what it must be.
TensorView optional_parameter(const char* name, const mln_tensor_desc* desc, Access access, const TensorView& like,
                              int32_t rank, const int64_t* shape, bool* present) {
    *present = desc != nullptr;
    if (desc == nullptr) return TensorView{};
    TensorView view = validate_tensor(name, desc, access);
    if (view.rank != rank || !std::equal(shape, shape + rank, view.shape)) {
        invalid(cat(name, " is ", shape_to_string(view), " but must be ", shape_to_string(rank, shape)));
    }
    require_contiguous(name, view);
    require_same_dtype(name, view, "x", like);
    return view;
}

// Saved statistics: one value per set, contiguous; `what` describes the expected layout.
TensorView statistics(const char* name, const mln_tensor_desc* desc, Access access, const TensorView& like,
                      int64_t count, const std::string& what) {
    TensorView view = validate_tensor(name, desc, access);
    if (view.element_count != count) {
        invalid(cat(name, " is ", shape_to_string(view), " (", view.element_count, " elements) but must hold ", count,
                    " values (", what, ")"));
    }
    require_contiguous(name, view);
    require_same_dtype(name, view, "x", like);
    return view;
}

// x and y (or dx) of one float dtype and shape, contiguous.
void same_float_layout(const char* x_name, const TensorView& x, const char* y_name, const TensorView& y) {
    require_float(x_name, x);
    require_same_dtype(x_name, x, y_name, y);
    require_same_shape(x_name, x, y_name, y);
    require_contiguous(x_name, x);
    require_contiguous(y_name, y);
}

// Shapes of a gather or scatter-add: table indexed along axis, rows = table's shape with that
// axis replaced by indices' shape.
GatherArgs gather_shapes(const TensorView& table, const char* table_name, int32_t axis, const TensorView& indices,
                         const TensorView& rows, const char* rows_name) {
    GatherArgs args;
    const int32_t r = table.rank;
    if (r < 1) invalid(cat(table_name, " is a scalar but must have rank >= 1"));
    if (axis < -r || axis >= r) {
        invalid(cat("axis is ", axis, " but ", table_name, " has rank ", r, " (valid axes are ", -r, "..", r - 1, ")"));
    }
    args.axis = axis < 0 ? axis + r : axis;
    if (indices.dtype != MLN_DTYPE_I32 && indices.dtype != MLN_DTYPE_I64) {
        invalid(cat("indices has dtype ", dtype_name(indices.dtype), " but must be i32 or i64"));
    }
    const int32_t rows_rank = r - 1 + indices.rank;
    if (rows_rank > MLN_MAX_RANK) {
        invalid(cat(rows_name, " would have rank ", rows_rank, " (", table_name, " rank ", r, ", indices rank ",
                    indices.rank, ") but at most ", MLN_MAX_RANK, " is supported"));
    }
    int64_t expected[MLN_MAX_RANK] = {};
    int32_t k = 0;
    for (int32_t d = 0; d < args.axis; ++d) expected[k++] = table.shape[d];
    for (int32_t d = 0; d < indices.rank; ++d) expected[k++] = indices.shape[d];
    for (int32_t d = args.axis + 1; d < r; ++d) expected[k++] = table.shape[d];
    if (rows.rank != rows_rank || !std::equal(expected, expected + rows_rank, rows.shape)) {
        invalid(cat(rows_name, " is ", shape_to_string(rows), " but ", table_name, " ", shape_to_string(table),
                    " indexed along axis ", args.axis, " by indices ", shape_to_string(indices), " gives ",
                    shape_to_string(rows_rank, expected)));
    }
    require_same_dtype(table_name, table, rows_name, rows);
    require_contiguous(table_name, table);
    require_contiguous("indices", indices);
    require_contiguous(rows_name, rows);
    for (int32_t d = 0; d < args.axis; ++d) args.outer *= table.shape[d];
    for (int32_t d = args.axis + 1; d < r; ++d) args.inner *= table.shape[d];
    args.axis_size = table.shape[args.axis];
    args.index_count = indices.element_count;
    args.table = table;
    args.indices = indices;
    args.rows = rows;
    return args;
}
}  // namespace

void require_contiguous(const char* name, const TensorView& view) {
    int64_t expected = 1;
    for (int32_t d = view.rank - 1; d >= 0; --d) {
        if (view.shape[d] != 1 && view.strides[d] != expected && view.element_count != 0) {
            invalid(cat(name, " is ", shape_to_string(view), " with strides ",
                        index_list_to_string(view.rank, view.strides),
                        " but must be contiguous row-major (copy it first)"));
        }
        expected *= view.shape[d];
    }
}

void require_float(const char* name, const TensorView& view) {
    if (view.dtype != MLN_DTYPE_F32 && view.dtype != MLN_DTYPE_F64) {
        invalid(cat(name, " has dtype ", dtype_name(view.dtype), " but must be f32 or f64"));
    }
}

namespace {
// validate_conv_forward once w is a view (a caller's descriptor or prepared filters' shape).
ConvArgs validate_conv_forward_with(const mln_device& device, const mln_conv_params* params,
                                    const mln_tensor_desc* x, const TensorView& vw, const mln_tensor_desc* bias,
                                    mln_unary_op activation, const mln_tensor_desc* residual,
                                    const mln_tensor_desc* y) {
    const TensorView vx = validate_tensor("x", x, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    ConvArgs args = conv_geometry(params, vx, vw, vy, {"x", "w", "y"});
    args.x = vx;
    args.w = vw;
    args.y = vy;
    if (bias != nullptr) {
        args.bias = validate_channel_vector("bias", bias, Access::read, args.out_channels, "one per output channel");
        args.has_bias = true;
    }
    require_contiguous_float_operands({{"x", &vx}, {"w", &vw}, {"y", &vy}});
    if (args.has_bias) require_same_dtype("bias", args.bias, "y", vy);
    if (residual != nullptr) {
        args.residual = validate_tensor("residual", residual, Access::read);
        args.has_residual = true;
        const TensorView& vr = args.residual;
        if (vr.rank != vy.rank || !std::equal(vr.shape, vr.shape + vr.rank, vy.shape)) {
            invalid(cat("residual is ", shape_to_string(vr), " but must have exactly y's shape ", shape_to_string(vy)));
        }
        require_same_dtype("residual", vr, "y", vy);
        require_contiguous("residual", vr);
        // The kernel writes y block by block before reading the residual of later blocks.
        const auto bytes = static_cast<int64_t>(dtype_size(vy.dtype)) * vy.element_count;
        const char* r_begin = static_cast<const char*>(vr.data);
        const char* y_begin = static_cast<const char*>(vy.data);
        if (bytes > 0 && r_begin < y_begin + bytes && y_begin < r_begin + bytes) {
            invalid(cat("residual (", shape_to_string(vr), ") overlaps y; pass a separate tensor"));
        }
    }
    args.activation = activation;
    require_supported(device, MLN_KERNEL_CONV, vy.dtype);
    return args;
}
}  // namespace

ConvArgs validate_conv_forward(const mln_device& device, const mln_conv_params* params, const mln_tensor_desc* x,
                               const mln_tensor_desc* w, const mln_tensor_desc* bias, mln_unary_op activation,
                               const mln_tensor_desc* residual, const mln_tensor_desc* y) {
    return validate_conv_forward_with(device, params, x, validate_tensor("w", w, Access::read), bias, activation,
                                      residual, y);
}

ConvArgs validate_conv_weights(const mln_device& device, const mln_conv_params* params, const mln_tensor_desc* x,
                               const mln_tensor_desc* w) {
    const TensorView vx = validate_tensor("x", x, Access::read);
    const TensorView vw = validate_tensor("w", w, Access::read);
    ConvArgs args = conv_input_geometry(params, vx, vw, {"x", "w", "y"});
    args.x = vx;
    args.w = vw;
    require_contiguous_float_operands({{"x", &vx}, {"w", &vw}});
    require_supported(device, MLN_KERNEL_CONV, vw.dtype);
    return args;
}

ConvArgs validate_conv_forward_prepared(const mln_device& device, const mln_conv_params& params,
                                        const TensorView& prepared_x, const TensorView& w, const mln_tensor_desc* x,
                                        const mln_tensor_desc* bias, mln_unary_op activation,
                                        const mln_tensor_desc* residual, const mln_tensor_desc* y) {
    const TensorView vx = validate_tensor("x", x, Access::read);
    if (vx.rank != prepared_x.rank || !std::equal(vx.shape, vx.shape + vx.rank, prepared_x.shape) ||
        vx.dtype != prepared_x.dtype) {
        invalid(cat("x is ", shape_to_string(vx), " ", dtype_name(vx.dtype), " but the weights were prepared for x ",
                    shape_to_string(prepared_x), " ", dtype_name(prepared_x.dtype), " (", conv_params_to_string(params),
                    "); prepare them again for this shape"));
    }
    return validate_conv_forward_with(device, &params, x, w, bias, activation, residual, y);
}

ConvArgs validate_conv_backward_data(const mln_device& device, const mln_conv_params* params,
                                     const mln_tensor_desc* dy, const mln_tensor_desc* w, const mln_tensor_desc* dx) {
    const TensorView vdy = validate_tensor("dy", dy, Access::read);
    const TensorView vw = validate_tensor("w", w, Access::read);
    const TensorView vdx = validate_tensor("dx", dx, Access::write);
    ConvArgs args = conv_geometry(params, vdx, vw, vdy, {"dx", "w", "dy"});
    args.x = vdx;
    args.w = vw;
    args.y = vdy;
    require_contiguous_float_operands({{"dy", &vdy}, {"w", &vw}, {"dx", &vdx}});
    require_supported(device, MLN_KERNEL_CONV, vdx.dtype);
    return args;
}

ConvArgs validate_conv_backward_filter(const mln_device& device, const mln_conv_params* params,
                                       const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                       const mln_tensor_desc* dw, const mln_tensor_desc* dbias) {
    const TensorView vx = validate_tensor("x", x, Access::read);
    const TensorView vdy = validate_tensor("dy", dy, Access::read);
    const TensorView vdw = validate_tensor("dw", dw, Access::write);
    ConvArgs args = conv_geometry(params, vx, vdw, vdy, {"x", "dw", "dy"});
    args.x = vx;
    args.w = vdw;
    args.y = vdy;
    if (dbias != nullptr) {
        args.bias = validate_channel_vector("dbias", dbias, Access::write, args.out_channels, "one per output channel");
        args.has_bias = true;
    }
    require_contiguous_float_operands({{"x", &vx}, {"dy", &vdy}, {"dw", &vdw}});
    if (args.has_bias) require_same_dtype("dbias", args.bias, "dw", vdw);
    require_supported(device, MLN_KERNEL_CONV, vdw.dtype);
    return args;
}

PoolArgs validate_pool_forward(const mln_device& device, int32_t mode, const mln_pool_params* params,
                               const mln_tensor_desc* x, const mln_tensor_desc* y, const mln_tensor_desc* indices) {
    const TensorView vx = validate_tensor("x", x, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    PoolArgs args = pool_geometry(mode, params, vx, vy, "x", "y");
    args.x = vx;
    args.y = vy;
    attach_indices(args, indices, Access::write, "y");
    if (params->storage_order != 0 && params->storage_order != 1) {
        invalid(cat("params.storage_order is ", params->storage_order, " but must be 0 (row-major) or 1 (column-major)"));
    }
    args.column_major_indices = params->storage_order == 1 && args.has_indices && !has_workspace(args);
    require_contiguous_float_operands({{"x", &vx}, {"y", &vy}});
    require_supported(device, MLN_KERNEL_POOL, vy.dtype);
    return args;
}

PoolArgs validate_pool_backward(const mln_device& device, int32_t mode, const mln_pool_params* params,
                                const mln_tensor_desc* dy, const mln_tensor_desc* indices, const mln_tensor_desc* dx) {
    const TensorView vdy = validate_tensor("dy", dy, Access::read);
    const TensorView vdx = validate_tensor("dx", dx, Access::write);
    PoolArgs args = pool_geometry(mode, params, vdx, vdy, "dx", "dy");
    args.x = vdx;
    args.y = vdy;
    attach_indices(args, indices, Access::read, "dy");
    if (params->storage_order != 0 && !has_workspace(args)) {
        invalid(cat("params.storage_order is ", params->storage_order, " but the backward reads row-major indices (0)"));
    }
    require_contiguous_float_operands({{"dy", &vdy}, {"dx", &vdx}});
    require_supported(device, MLN_KERNEL_POOL, vdx.dtype);
    return args;
}

NormArgs validate_batch_norm_training(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* scale,
                                      const mln_tensor_desc* bias, double epsilon, double momentum,
                                      const mln_tensor_desc* running_mean, const mln_tensor_desc* running_var,
                                      const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                      const mln_tensor_desc* saved_invstd) {
    NormArgs args;
    args.x = validate_tensor("x", x, Access::read);
    args.y = validate_tensor("y", y, Access::write);
    image_layout(args, args.x);
    same_float_layout("x", args.x, "y", args.y);
    require_finite_epsilon(epsilon);
    if (!(momentum >= 0.0 && momentum <= 1.0)) invalid(cat("momentum is ", momentum, " but must be in [0, 1]"));
    args.epsilon = epsilon;
    args.momentum = momentum;
    const int64_t channels[1] = {args.channels};
    args.scale = optional_parameter("scale", scale, Access::read, args.x, 1, channels, &args.has_scale);
    args.bias = optional_parameter("bias", bias, Access::read, args.x, 1, channels, &args.has_bias);
    if ((running_mean == nullptr) != (running_var == nullptr)) {
        invalid("running_mean and running_var must both be given or both be null");
    }
    args.running_mean =
        optional_parameter("running_mean", running_mean, Access::write, args.x, 1, channels, &args.has_running);
    args.running_var =
        optional_parameter("running_var", running_var, Access::write, args.x, 1, channels, &args.has_running);
    args.mean = statistics("saved_mean", saved_mean, Access::write, args.x, args.channels, "one per channel");
    args.invstd = statistics("saved_invstd", saved_invstd, Access::write, args.x, args.channels, "one per channel");
    if (args.channels > 0 && args.batch * args.spatial == 0) {
        invalid(cat("x is ", shape_to_string(args.x), ": batch statistics need at least one element per channel"));
    }
    require_supported(device, MLN_KERNEL_NORMALIZATION, args.x.dtype);
    return args;
}

NormArgs validate_batch_norm_inference(const mln_device& device, const mln_tensor_desc* x,
                                       const mln_tensor_desc* scale, const mln_tensor_desc* bias,
                                       const mln_tensor_desc* running_mean, const mln_tensor_desc* running_var,
                                       double epsilon, const mln_tensor_desc* y) {
    NormArgs args;
    args.x = validate_tensor("x", x, Access::read);
    args.y = validate_tensor("y", y, Access::write);
    image_layout(args, args.x);
    same_float_layout("x", args.x, "y", args.y);
    require_finite_epsilon(epsilon);
    args.epsilon = epsilon;
    const int64_t channels[1] = {args.channels};
    args.scale = optional_parameter("scale", scale, Access::read, args.x, 1, channels, &args.has_scale);
    args.bias = optional_parameter("bias", bias, Access::read, args.x, 1, channels, &args.has_bias);
    require_not_null(running_mean, "running_mean");
    require_not_null(running_var, "running_var");
    args.running_mean =
        optional_parameter("running_mean", running_mean, Access::read, args.x, 1, channels, &args.has_running);
    args.running_var =
        optional_parameter("running_var", running_var, Access::read, args.x, 1, channels, &args.has_running);
    require_supported(device, MLN_KERNEL_NORMALIZATION, args.x.dtype);
    return args;
}

namespace {

// The backward checks shared by all three norms once the layout (batch, channels, spatial,
// groups) and the expected parameter shape are known.
void norm_backward_tensors(NormArgs& args, const mln_tensor_desc* dy, const mln_tensor_desc* scale,
                           const mln_tensor_desc* mean, const mln_tensor_desc* invstd, const mln_tensor_desc* dx,
                           const mln_tensor_desc* dscale, const mln_tensor_desc* dbias, int32_t parameter_rank,
                           const int64_t* parameter_shape, int64_t sets, const std::string& sets_text) {
    args.dy = validate_tensor("dy", dy, Access::read);
    args.dx = validate_tensor("dx", dx, Access::write);
    same_float_layout("x", args.x, "dy", args.dy);
    same_float_layout("x", args.x, "dx", args.dx);
    args.scale = optional_parameter("scale", scale, Access::read, args.x, parameter_rank, parameter_shape, &args.has_scale);
    args.dscale =
        optional_parameter("dscale", dscale, Access::write, args.x, parameter_rank, parameter_shape, &args.has_dscale);
    args.dbias = optional_parameter("dbias", dbias, Access::write, args.x, parameter_rank, parameter_shape, &args.has_dbias);
    args.mean = statistics("saved_mean", mean, Access::read, args.x, sets, sets_text);
    args.invstd = statistics("saved_invstd", invstd, Access::read, args.x, sets, sets_text);
}

// Layer norm as group norm: x = outer x inner x 1 with one group.
void layer_layout(NormArgs& args, int32_t normalized_rank) {
    const TensorView& x = args.x;
    if (normalized_rank < 1 || normalized_rank > x.rank) {
        invalid(cat("normalized_rank is ", normalized_rank, " but x is ", shape_to_string(x), " (valid 1..", x.rank, ")"));
    }
    args.batch = 1;
    args.channels = 1;
    for (int32_t d = 0; d < x.rank; ++d) (d < x.rank - normalized_rank ? args.batch : args.channels) *= x.shape[d];
    args.spatial = 1;
    args.groups = 1;
}

void group_layout(NormArgs& args, int64_t groups) {
    image_layout(args, args.x);
    if (groups < 1 || args.channels % groups != 0) {
        invalid(cat("groups is ", groups, " but must be >= 1 and divide the ", args.channels, " channels of x (",
                    shape_to_string(args.x), ")"));
    }
    args.groups = groups;
}

}  // namespace

NormArgs validate_batch_norm_backward(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                      const mln_tensor_desc* scale, const mln_tensor_desc* saved_mean,
                                      const mln_tensor_desc* saved_invstd, const mln_tensor_desc* dx,
                                      const mln_tensor_desc* dscale, const mln_tensor_desc* dbias) {
    NormArgs args;
    args.x = validate_tensor("x", x, Access::read);
    image_layout(args, args.x);
    const int64_t channels[1] = {args.channels};
    norm_backward_tensors(args, dy, scale, saved_mean, saved_invstd, dx, dscale, dbias, 1, channels, args.channels,
                          "one per channel");
    require_supported(device, MLN_KERNEL_NORMALIZATION, args.x.dtype);
    return args;
}

NormArgs validate_layer_norm_forward(const mln_device& device, const mln_tensor_desc* x, int32_t normalized_rank,
                                     const mln_tensor_desc* scale, const mln_tensor_desc* bias, double epsilon,
                                     const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                     const mln_tensor_desc* saved_invstd) {
    NormArgs args;
    args.x = validate_tensor("x", x, Access::read);
    args.y = validate_tensor("y", y, Access::write);
    same_float_layout("x", args.x, "y", args.y);
    layer_layout(args, normalized_rank);
    require_finite_epsilon(epsilon);
    args.epsilon = epsilon;
    const int64_t* inner = args.x.shape + (args.x.rank - normalized_rank);
    args.scale = optional_parameter("scale", scale, Access::read, args.x, normalized_rank, inner, &args.has_scale);
    args.bias = optional_parameter("bias", bias, Access::read, args.x, normalized_rank, inner, &args.has_bias);
    const std::string sets = cat("one per row of x's leading ", args.x.rank - normalized_rank, " dimensions");
    args.mean = statistics("saved_mean", saved_mean, Access::write, args.x, args.batch, sets);
    args.invstd = statistics("saved_invstd", saved_invstd, Access::write, args.x, args.batch, sets);
    require_supported(device, MLN_KERNEL_NORMALIZATION, args.x.dtype);
    return args;
}

NormArgs validate_layer_norm_backward(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                      int32_t normalized_rank, const mln_tensor_desc* scale,
                                      const mln_tensor_desc* saved_mean, const mln_tensor_desc* saved_invstd,
                                      const mln_tensor_desc* dx, const mln_tensor_desc* dscale,
                                      const mln_tensor_desc* dbias) {
    NormArgs args;
    args.x = validate_tensor("x", x, Access::read);
    require_float("x", args.x);
    layer_layout(args, normalized_rank);
    const int64_t* inner = args.x.shape + (args.x.rank - normalized_rank);
    norm_backward_tensors(args, dy, scale, saved_mean, saved_invstd, dx, dscale, dbias, normalized_rank, inner,
                          args.batch, cat("one per row of x's leading ", args.x.rank - normalized_rank, " dimensions"));
    require_supported(device, MLN_KERNEL_NORMALIZATION, args.x.dtype);
    return args;
}

NormArgs validate_group_norm_forward(const mln_device& device, const mln_tensor_desc* x, int64_t groups,
                                     const mln_tensor_desc* scale, const mln_tensor_desc* bias, double epsilon,
                                     const mln_tensor_desc* y, const mln_tensor_desc* saved_mean,
                                     const mln_tensor_desc* saved_invstd) {
    NormArgs args;
    args.x = validate_tensor("x", x, Access::read);
    args.y = validate_tensor("y", y, Access::write);
    group_layout(args, groups);
    same_float_layout("x", args.x, "y", args.y);
    require_finite_epsilon(epsilon);
    args.epsilon = epsilon;
    const int64_t channels[1] = {args.channels};
    args.scale = optional_parameter("scale", scale, Access::read, args.x, 1, channels, &args.has_scale);
    args.bias = optional_parameter("bias", bias, Access::read, args.x, 1, channels, &args.has_bias);
    const std::string sets = cat("N x groups = ", args.batch, "x", groups);
    args.mean = statistics("saved_mean", saved_mean, Access::write, args.x, args.batch * groups, sets);
    args.invstd = statistics("saved_invstd", saved_invstd, Access::write, args.x, args.batch * groups, sets);
    require_supported(device, MLN_KERNEL_NORMALIZATION, args.x.dtype);
    return args;
}

NormArgs validate_group_norm_backward(const mln_device& device, const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                      int64_t groups, const mln_tensor_desc* scale, const mln_tensor_desc* saved_mean,
                                      const mln_tensor_desc* saved_invstd, const mln_tensor_desc* dx,
                                      const mln_tensor_desc* dscale, const mln_tensor_desc* dbias) {
    NormArgs args;
    args.x = validate_tensor("x", x, Access::read);
    require_float("x", args.x);
    group_layout(args, groups);
    const int64_t channels[1] = {args.channels};
    norm_backward_tensors(args, dy, scale, saved_mean, saved_invstd, dx, dscale, dbias, 1, channels,
                          args.batch * groups, cat("N x groups = ", args.batch, "x", groups));
    require_supported(device, MLN_KERNEL_NORMALIZATION, args.x.dtype);
    return args;
}

GatherArgs validate_gather(const mln_device& device, const mln_tensor_desc* x, int32_t axis,
                           const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    const TensorView vx = validate_tensor("x", x, Access::read);
    const TensorView vi = validate_tensor("indices", indices, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    GatherArgs args = gather_shapes(vx, "x", axis, vi, vy, "y");
    require_supported(device, MLN_KERNEL_INDEXING, vx.dtype);
    return args;
}

GatherArgs validate_scatter_add(const mln_device& device, const mln_tensor_desc* updates, int32_t axis,
                                const mln_tensor_desc* indices, const mln_tensor_desc* y) {
    const TensorView vu = validate_tensor("updates", updates, Access::read);
    const TensorView vi = validate_tensor("indices", indices, Access::read);
    const TensorView vy = validate_tensor("y", y, Access::write);
    GatherArgs args = gather_shapes(vy, "y", axis, vi, vu, "updates");
    if (vy.dtype != MLN_DTYPE_F32 && vy.dtype != MLN_DTYPE_F64 && vy.dtype != MLN_DTYPE_I32 &&
        vy.dtype != MLN_DTYPE_I64) {
        throw Error(MLN_STATUS_NOT_SUPPORTED,
                    cat("y has dtype ", dtype_name(vy.dtype), " but scatter_add supports f32, f64, i32 and i64"));
    }
    require_supported(device, MLN_KERNEL_INDEXING, vy.dtype);
    return args;
}

PadArgs validate_pad(const mln_device& device, int32_t mode, const mln_tensor_desc* x, const int64_t* pads_begin,
                     const int64_t* pads_end, double value, const mln_tensor_desc* y) {
    PadArgs args;
    if (mode != MLN_PAD_MODE_CONSTANT && mode != MLN_PAD_MODE_REFLECT && mode != MLN_PAD_MODE_EDGE) {
        invalid(cat("mode is ", mode, " but must be MLN_PAD_MODE_CONSTANT (0), REFLECT (1) or EDGE (2)"));
    }
    args.mode = static_cast<mln_pad_mode>(mode);
    args.value = value;
    args.x = validate_tensor("x", x, Access::read);
    args.y = validate_tensor("y", y, Access::write);
    require_same_dtype("x", args.x, "y", args.y);
    const int32_t r = args.x.rank;
    if (r > 0 && (pads_begin == nullptr || pads_end == nullptr)) invalid("pads_begin and pads_end must not be null");
    if (args.y.rank != r) invalid(cat("y has rank ", args.y.rank, " but x (", shape_to_string(args.x), ") has rank ", r));
    int64_t expected[MLN_MAX_RANK] = {};
    for (int32_t d = 0; d < r; ++d) {
        const int64_t n = args.x.shape[d];
        expected[d] = n + pads_begin[d] + pads_end[d];
        if (expected[d] < 0) {
            invalid(cat("pads_begin[", d, "] = ", pads_begin[d], " and pads_end[", d, "] = ", pads_end[d],
                        " crop more than x's dimension ", d, " (", n, ")"));
        }
        const bool grows = pads_begin[d] > 0 || pads_end[d] > 0;
        if (args.mode == MLN_PAD_MODE_REFLECT && grows && (pads_begin[d] > n - 1 || pads_end[d] > n - 1)) {
            invalid(cat("reflect pads_begin[", d, "] = ", pads_begin[d], " and pads_end[", d, "] = ", pads_end[d],
                        " must be at most ", n - 1, " (x's dimension ", d, " is ", n, ")"));
        }
        if (args.mode == MLN_PAD_MODE_EDGE && grows && n == 0) {
            invalid(cat("edge padding of dimension ", d, " needs at least one element but x is ",
                        shape_to_string(args.x)));
        }
        args.pad_begin[d] = pads_begin[d];
    }
    if (!std::equal(expected, expected + r, args.y.shape)) {
        invalid(cat("y is ", shape_to_string(args.y), " but x ", shape_to_string(args.x), " padded gives ",
                    shape_to_string(r, expected)));
    }
    require_contiguous("x", args.x);
    require_contiguous("y", args.y);
    require_supported(device, MLN_KERNEL_INDEXING, args.x.dtype);
    return args;
}

ResizeArgs validate_resize(const mln_device& device, const mln_resize_params* params, const mln_tensor_desc* x,
                           const mln_tensor_desc* y, bool backward) {
    const char* x_name = backward ? "dx" : "x";
    const char* y_name = backward ? "dy" : "y";
    ResizeArgs args;
    args.params = require_not_null(params, "params");
    const mln_resize_params& p = args.params;
    if (p.mode < MLN_RESIZE_MODE_NEAREST || p.mode > MLN_RESIZE_MODE_CUBIC) {
        invalid(cat("params.mode is ", p.mode, " but must be MLN_RESIZE_MODE_NEAREST (0), LINEAR (1) or CUBIC (2)"));
    }
    if (p.coordinate_mode < MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL ||
        p.coordinate_mode > MLN_RESIZE_COORDINATE_MODE_HALF_PIXEL_SYMMETRIC) {
        invalid(cat("params.coordinate_mode is ", p.coordinate_mode, " but must be an mln_resize_coordinate_mode (0..6)"));
    }
    if (p.nearest_mode < MLN_RESIZE_NEAREST_MODE_ROUND_PREFER_FLOOR || p.nearest_mode > MLN_RESIZE_NEAREST_MODE_CEIL) {
        invalid(cat("params.nearest_mode is ", p.nearest_mode, " but must be an mln_resize_nearest_mode (0..3)"));
    }
    if (p.exclude_outside != 0 && p.exclude_outside != 1) {
        invalid(cat("params.exclude_outside is ", p.exclude_outside, " but must be 0 or 1"));
    }
    if (!std::isfinite(p.cubic_coeff_a)) invalid(cat("params.cubic_coeff_a is ", p.cubic_coeff_a, " but must be finite"));
    args.x = validate_tensor(x_name, x, backward ? Access::write : Access::read);
    args.y = validate_tensor(y_name, y, backward ? Access::read : Access::write);
    require_same_dtype(x_name, args.x, y_name, args.y);
    require_float(x_name, args.x);
    if (args.y.rank != args.x.rank) {
        invalid(cat(y_name, " is ", shape_to_string(args.y), " but ", x_name, " is ", shape_to_string(args.x),
                    "; the ranks must agree"));
    }
    const bool crop = p.coordinate_mode == MLN_RESIZE_COORDINATE_MODE_TF_CROP_AND_RESIZE;
    for (int32_t d = 0; d < args.x.rank; ++d) {
        if (!(p.scales[d] > 0.0) || !std::isfinite(p.scales[d])) {
            invalid(cat("params.scales[", d, "] is ", p.scales[d], " but must be positive and finite"));
        }
        if (crop && (!std::isfinite(p.roi_start[d]) || !std::isfinite(p.roi_end[d]))) {
            invalid(cat("params.roi_start[", d, "] = ", p.roi_start[d], " and roi_end[", d, "] = ", p.roi_end[d],
                        " must be finite"));
        }
        if (args.x.shape[d] == 0 && args.y.shape[d] > 0) {
            invalid(cat(y_name, " is ", shape_to_string(args.y), " but ", x_name, " (", shape_to_string(args.x),
                        ") is empty along dimension ", d, ", so there is nothing to interpolate"));
        }
    }
    require_contiguous(x_name, args.x);
    require_contiguous(y_name, args.y);
    require_supported(device, MLN_KERNEL_RESIZE, args.x.dtype);
    return args;
}

}  // namespace mln
