// Convolution entry points: validate (core/nn_validation), then dispatch through the device.
#include <myelin.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/nn_validation.hpp"
#include "core/raw_enum.hpp"
#include "core/validation.hpp"
#include "core/text.hpp"

#include <memory>

// The handle behind mln_conv_weights: the params and shapes it was prepared for, and the
// backend's filters.
struct mln_conv_weights {
    static constexpr uint32_t kLiveMagic = 0x4d4c4e57;  // "MLNW"
    uint32_t magic = kLiveMagic;
    mln_device* device = nullptr;
    mln_conv_params params{};
    mln::TensorView x;  // shape and dtype only
    mln::TensorView w;  // shape and dtype only (data null)
    std::unique_ptr<mln::PreparedConvFilters> filters;
};

namespace {
const mln_conv_weights& require_weights(const mln_conv_weights* weights) {
    if (weights == nullptr) throw mln::Error(MLN_STATUS_INVALID_ARGUMENT, "weights is null");
    if (weights->magic != mln_conv_weights::kLiveMagic) {
        throw mln::Error(MLN_STATUS_INVALID_ARGUMENT, "weights is not a live mln_conv_weights handle (destroyed?)");
    }
    return *weights;
}
}  // namespace

extern "C" {

MLN_API mln_status mln_conv_forward(mln_device* device, const mln_conv_params* params, const mln_tensor_desc* x,
                                    const mln_tensor_desc* w, const mln_tensor_desc* bias, mln_unary_op activation,
                                    const mln_tensor_desc* residual, const mln_tensor_desc* y) {
    return mln::guard("mln_conv_forward", [&] {
        mln_device& d = mln::require_device(device);
        const mln_unary_op checked_activation = mln::validate_unary_op(mln::raw_enum(activation), "activation");
        const mln::ConvArgs args = mln::validate_conv_forward(d, params, x, w, bias, checked_activation, residual, y);
        d.ops->conv_forward(d, args);
    });
}

MLN_API mln_status mln_conv_backward_data(mln_device* device, const mln_conv_params* params,
                                          const mln_tensor_desc* dy, const mln_tensor_desc* w,
                                          const mln_tensor_desc* dx) {
    return mln::guard("mln_conv_backward_data", [&] {
        mln_device& d = mln::require_device(device);
        const mln::ConvArgs args = mln::validate_conv_backward_data(d, params, dy, w, dx);
        d.ops->conv_backward_data(d, args);
    });
}

MLN_API mln_status mln_conv_backward_filter(mln_device* device, const mln_conv_params* params,
                                            const mln_tensor_desc* x, const mln_tensor_desc* dy,
                                            const mln_tensor_desc* dw, const mln_tensor_desc* dbias) {
    return mln::guard("mln_conv_backward_filter", [&] {
        mln_device& d = mln::require_device(device);
        const mln::ConvArgs args = mln::validate_conv_backward_filter(d, params, x, dy, dw, dbias);
        d.ops->conv_backward_filter(d, args);
    });
}

MLN_API mln_status mln_conv_weights_create(mln_device* device, const mln_conv_params* params,
                                           const mln_tensor_desc* x, const mln_tensor_desc* w,
                                           mln_conv_weights** out_weights) {
    return mln::guard("mln_conv_weights_create", [&] {
        mln_device& d = mln::require_device(device);
        if (out_weights == nullptr) throw mln::Error(MLN_STATUS_INVALID_ARGUMENT, "out_weights is null");
        const mln::ConvArgs args = mln::validate_conv_weights(d, params, x, w);
        auto weights = std::make_unique<mln_conv_weights>();
        weights->device = device;
        weights->params = *params;
        weights->x = args.x;
        weights->x.data = nullptr;
        weights->w = args.w;
        weights->w.data = nullptr;
        weights->filters = d.ops->conv_prepare_filters(d, args);
        *out_weights = weights.release();
    });
}

MLN_API void mln_conv_weights_destroy(mln_conv_weights* weights) {
    if (weights == nullptr || weights->magic != mln_conv_weights::kLiveMagic) return;
    weights->magic = 0;
    delete weights;
}

MLN_API mln_status mln_conv_weights_is_packed(const mln_conv_weights* weights, int32_t* out_packed) {
    return mln::guard("mln_conv_weights_is_packed", [&] {
        const mln_conv_weights& prepared = require_weights(weights);
        if (out_packed == nullptr) throw mln::Error(MLN_STATUS_INVALID_ARGUMENT, "out_packed is null");
        *out_packed = prepared.filters->packed() ? 1 : 0;
    });
}

MLN_API mln_status mln_conv_weights_get_bytes(const mln_conv_weights* weights, int64_t* out_bytes) {
    return mln::guard("mln_conv_weights_get_bytes", [&] {
        const mln_conv_weights& prepared = require_weights(weights);
        if (out_bytes == nullptr) throw mln::Error(MLN_STATUS_INVALID_ARGUMENT, "out_bytes is null");
        *out_bytes = prepared.filters->bytes();
    });
}

MLN_API mln_status mln_conv_forward_prepared(mln_device* device, const mln_conv_weights* weights,
                                             const mln_tensor_desc* x, const mln_tensor_desc* bias,
                                             mln_unary_op activation, const mln_tensor_desc* residual,
                                             const mln_tensor_desc* y) {
    return mln::guard("mln_conv_forward_prepared", [&] {
        mln_device& d = mln::require_device(device);
        const mln_conv_weights& prepared = require_weights(weights);
        if (prepared.device != device) {
            throw mln::Error(MLN_STATUS_INVALID_ARGUMENT,
                             mln::cat("weights were prepared on another device than ", d.name));
        }
        const mln_unary_op checked_activation = mln::validate_unary_op(mln::raw_enum(activation), "activation");
        const mln::ConvArgs args = mln::validate_conv_forward_prepared(d, prepared.params, prepared.x, prepared.w, x,
                                                                       bias, checked_activation, residual, y);
        d.ops->conv_forward_prepared(d, args, *prepared.filters);
    });
}

}  // extern "C"
