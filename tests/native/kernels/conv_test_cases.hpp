// One convolution's shapes and params for the conv kernel tests (conv_test, conv_prepared_test):
// x's shape, M, the kernel, and per spatial axis stride, dilation and padding.
#pragma once

#include <myelin.h>

#include <cstdint>
#include <vector>

namespace mln::test {

struct ConvCase {
    std::vector<int64_t> x_shape;  // N x C x spatial
    int64_t out_channels;
    std::vector<int64_t> kernel;
    std::vector<int64_t> strides, dilations, pads_begin, pads_end;
    int64_t groups;
};

inline mln_conv_params params_of(const ConvCase& c) {
    mln_conv_params p{};
    p.spatial_rank = static_cast<int32_t>(c.kernel.size());
    for (size_t i = 0; i < c.kernel.size(); ++i) {
        p.strides[i] = c.strides[i];
        p.dilations[i] = c.dilations[i];
        p.pads_begin[i] = c.pads_begin[i];
        p.pads_end[i] = c.pads_end[i];
    }
    p.groups = c.groups;
    return p;
}

inline std::vector<int64_t> w_shape_of(const ConvCase& c) {
    std::vector<int64_t> shape = {c.out_channels, c.x_shape[1] / c.groups};
    shape.insert(shape.end(), c.kernel.begin(), c.kernel.end());
    return shape;
}

inline std::vector<int64_t> y_shape_of(const ConvCase& c) {
    std::vector<int64_t> shape = {c.x_shape[0], c.out_channels};
    for (size_t i = 0; i < c.kernel.size(); ++i) {
        const int64_t span = c.dilations[i] * (c.kernel[i] - 1) + 1;
        shape.push_back((c.x_shape[2 + i] + c.pads_begin[i] + c.pads_end[i] - span) / c.strides[i] + 1);
    }
    return shape;
}

}  // namespace mln::test
