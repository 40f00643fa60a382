// The convolution layers and passes the conv benchmarks time (conv_vs_onednn against oneDNN,
// conv_vs_build against another build of Myelin): ResNet-18's and MobileNet-v2's distinct conv
// layers at 224x224, their tensors in plain NCHW, and the comparison of two outputs.
#pragma once

#include <myelin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "peer_bench.hpp"

namespace conv_layers {

struct Layer {
    const char* name;
    int64_t in_channels, out_channels, size, kernel, stride, pad, groups;
    int count;  // how many times the network has this exact conv
};

// ResNet-18's convolutions: the stem, then per stage the 3x3 convs and the 1x1 stride-2
// downsample of the shortcut.
inline const std::vector<Layer> kResNet18 = {
    {"conv1 7x7/2", 3, 64, 224, 7, 2, 3, 1, 1},         {"layer1 3x3", 64, 64, 56, 3, 1, 1, 1, 4},
    {"layer2 3x3/2", 64, 128, 56, 3, 2, 1, 1, 1},       {"layer2 3x3", 128, 128, 28, 3, 1, 1, 1, 3},
    {"layer2 down 1x1/2", 64, 128, 56, 1, 2, 0, 1, 1},  {"layer3 3x3/2", 128, 256, 28, 3, 2, 1, 1, 1},
    {"layer3 3x3", 256, 256, 14, 3, 1, 1, 1, 3},        {"layer3 down 1x1/2", 128, 256, 28, 1, 2, 0, 1, 1},
    {"layer4 3x3/2", 256, 512, 14, 3, 2, 1, 1, 1},      {"layer4 3x3", 512, 512, 7, 3, 1, 1, 1, 3},
    {"layer4 down 1x1/2", 256, 512, 14, 1, 2, 0, 1, 1},
};

// MobileNet-v2's 52 convolutions as distinct shapes: the 3x3/2 stem, then per inverted residual
// block a pointwise expand ("pw C->C'"), a depthwise 3x3 ("dw", groups = channels, stride 1 or
// 2) and a pointwise project; the last 1x1 to 1280 channels. Sizes are the input's.
inline const std::vector<Layer> kMobileNetV2 = {
    {"stem 3x3/2", 3, 32, 224, 3, 2, 1, 1, 1},        {"dw32 3x3 @112", 32, 32, 112, 3, 1, 1, 32, 1},
    {"pw 32->16 @112", 32, 16, 112, 1, 1, 0, 1, 1},   {"pw 16->96 @112", 16, 96, 112, 1, 1, 0, 1, 1},
    {"dw96 3x3/2 @112", 96, 96, 112, 3, 2, 1, 96, 1}, {"pw 96->24 @56", 96, 24, 56, 1, 1, 0, 1, 1},
    {"pw 24->144 @56", 24, 144, 56, 1, 1, 0, 1, 2},   {"dw144 3x3 @56", 144, 144, 56, 3, 1, 1, 144, 1},
    {"pw 144->24 @56", 144, 24, 56, 1, 1, 0, 1, 1},   {"dw144 3x3/2 @56", 144, 144, 56, 3, 2, 1, 144, 1},
    {"pw 144->32 @28", 144, 32, 28, 1, 1, 0, 1, 1},   {"pw 32->192 @28", 32, 192, 28, 1, 1, 0, 1, 3},
    {"dw192 3x3 @28", 192, 192, 28, 3, 1, 1, 192, 2}, {"pw 192->32 @28", 192, 32, 28, 1, 1, 0, 1, 2},
    {"dw192 3x3/2 @28", 192, 192, 28, 3, 2, 1, 192, 1}, {"pw 192->64 @14", 192, 64, 14, 1, 1, 0, 1, 1},
    {"pw 64->384 @14", 64, 384, 14, 1, 1, 0, 1, 4},   {"dw384 3x3 @14", 384, 384, 14, 3, 1, 1, 384, 4},
    {"pw 384->64 @14", 384, 64, 14, 1, 1, 0, 1, 3},   {"pw 384->96 @14", 384, 96, 14, 1, 1, 0, 1, 1},
    {"pw 96->576 @14", 96, 576, 14, 1, 1, 0, 1, 3},   {"dw576 3x3 @14", 576, 576, 14, 3, 1, 1, 576, 2},
    {"pw 576->96 @14", 576, 96, 14, 1, 1, 0, 1, 2},   {"dw576 3x3/2 @14", 576, 576, 14, 3, 2, 1, 576, 1},
    {"pw 576->160 @7", 576, 160, 7, 1, 1, 0, 1, 1},   {"pw 160->960 @7", 160, 960, 7, 1, 1, 0, 1, 3},
    {"dw960 3x3 @7", 960, 960, 7, 3, 1, 1, 960, 3},   {"pw 960->160 @7", 960, 160, 7, 1, 1, 0, 1, 2},
    {"pw 960->320 @7", 960, 320, 7, 1, 1, 0, 1, 1},   {"pw 320->1280 @7", 320, 1280, 7, 1, 1, 0, 1, 1},
};

// The network named by --layers (resnet18 or mobilenet_v2); nullptr for any other name.
inline const std::vector<Layer>* network(const std::string& name) {
    if (name == "resnet18") return &kResNet18;
    if (name == "mobilenet_v2") return &kMobileNetV2;
    return nullptr;
}

enum class Pass { kForward, kForwardPrepared, kBackwardData, kBackwardFilter };

inline const char* pass_name(Pass pass) {
    switch (pass) {
        case Pass::kForward: return "forward";
        case Pass::kForwardPrepared: return "forward-prepared";
        case Pass::kBackwardData: return "backward-data";
        case Pass::kBackwardFilter: return "backward-filter";
    }
    return "";
}

constexpr const char* kPassChoices = "forward|forward-prepared|forward-both|backward-data|backward-filter|all";

// The passes --pass names (one of kPassChoices); empty for any other name.
inline std::vector<Pass> parse_passes(const std::string& name) {
    if (name == "all") return {Pass::kForward, Pass::kForwardPrepared, Pass::kBackwardData, Pass::kBackwardFilter};
    if (name == "forward-both") return {Pass::kForward, Pass::kForwardPrepared};
    for (Pass pass : {Pass::kForward, Pass::kForwardPrepared, Pass::kBackwardData, Pass::kBackwardFilter}) {
        if (name == pass_name(pass)) return {pass};
    }
    return {};
}

// One layer's tensors at a batch size in plain NCHW, each starting on a cache line as Myelin's
// allocator places tensors: x, w, bias and y, filled from `rng` in that order (so two
// generators in one state give two equal sets), and the conv's params.
struct ConvTensors {
    const Layer& layer;
    int64_t batch, out;
    peer_bench::AlignedVector<float> x, w, bias, y;
    mln_conv_params params{};

    ConvTensors(const Layer& l, int64_t n, std::mt19937& rng) : layer(l), batch(n) {
        out = (l.size + 2 * l.pad - l.kernel) / l.stride + 1;
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        x.resize(static_cast<size_t>(batch * l.in_channels * l.size * l.size));
        w.resize(static_cast<size_t>(l.out_channels * (l.in_channels / l.groups) * l.kernel * l.kernel));
        bias.resize(static_cast<size_t>(l.out_channels));
        y.resize(static_cast<size_t>(batch * l.out_channels * out * out));
        for (float& v : x) v = uniform(rng);
        for (float& v : w) v = uniform(rng) * 0.1f;
        for (float& v : bias) v = uniform(rng);
        for (float& v : y) v = uniform(rng);
        params.spatial_rank = 2;
        for (int i = 0; i < 2; ++i) {
            params.strides[i] = l.stride;
            params.dilations[i] = 1;
            params.pads_begin[i] = params.pads_end[i] = l.pad;
        }
        params.groups = l.groups;
    }

    mln_tensor_desc x_desc() { return nchw(x, batch, layer.in_channels, layer.size, layer.size); }
    mln_tensor_desc w_desc() {
        return nchw(w, layer.out_channels, layer.in_channels / layer.groups, layer.kernel, layer.kernel);
    }
    mln_tensor_desc y_desc() { return nchw(y, batch, layer.out_channels, out, out); }
    mln_tensor_desc bias_desc() { return peer_bench::contiguous(bias.data(), MLN_DTYPE_F32, {layer.out_channels}); }

    // The tensor `pass` writes: y forward, x backward data, w backward filter.
    const peer_bench::AlignedVector<float>& output(Pass pass) const {
        if (pass == Pass::kBackwardData) return x;
        if (pass == Pass::kBackwardFilter) return w;
        return y;
    }

    double gflop() const {
        return 2.0 * static_cast<double>(batch * layer.out_channels * out * out * (layer.in_channels / layer.groups) *
                                         layer.kernel * layer.kernel) * 1e-9;
    }

private:
    static mln_tensor_desc nchw(peer_bench::AlignedVector<float>& data, int64_t n, int64_t c, int64_t h, int64_t w) {
        return peer_bench::contiguous(data.data(), MLN_DTYPE_F32, {n, c, h, w});
    }
};

// Largest |mine - theirs| relative to 1 + the largest |theirs|: the scale of the tensor, since
// gradient entries that are sums over a whole batch may cancel to near zero. NaN anywhere gives
// NaN.
template <class Mine, class Theirs>
double worst_difference(const Mine& mine, const Theirs& theirs) {
    double scale = 0.0, worst = 0.0;
    for (float v : theirs) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    for (size_t i = 0; i < mine.size(); ++i) {
        const double difference = std::fabs(static_cast<double>(mine[i]) - static_cast<double>(theirs[i]));
        if (std::isnan(difference)) return difference;
        worst = std::max(worst, difference);
    }
    return worst / (1.0 + scale);
}

}  // namespace conv_layers
