// Convolution drivers. Forward: an implicit GEMM that lowers the image block by block straight
// into the GEMM's packed panels (conv_implicit_gemm.hpp), Winograd F(4x4, 3x3) for the 3x3
// stride-1 convs where it wins (conv_winograd.hpp), or the depthwise path. Backward:
// depthwise has direct kernels (conv_depthwise_backward.hpp). Backward data with stride 1 is the
// forward convolution of dy with the flipped, transposed filters (so it runs the forward
// drivers); other strides, and small images whose weights would cost more to rearrange than
// they are used, take an implicit GEMM into columns + col2im by chunks of channels
// (conv_backward_data.hpp). Backward filter: an implicit GEMM over the
// output positions (conv_backward_filter.hpp). Pointwise convs (1x1, no padding, any stride) need
// no lowering and have their own drivers for all three passes (conv_pointwise.hpp).
//
// Threading: GEMM called inside a parallel region runs on the calling thread (pool policy), so
// each driver picks one level to parallelize. The implicit GEMMs and the pointwise kernels split
// their own tasks (see their files).
#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "core/dtype.hpp"
#include "cpu/aligned_allocator.hpp"
#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/conv/conv_backward_data.hpp"
#include "kernels/cpu/conv/conv_backward_filter.hpp"
#include "kernels/cpu/conv/conv_depthwise.hpp"
#include "kernels/cpu/conv/conv_depthwise_backward.hpp"
#include "kernels/cpu/conv/conv_implicit_gemm.hpp"
#include "kernels/cpu/conv/conv_phase_direct.hpp"
#include "kernels/cpu/conv/conv_pointwise.hpp"
#include "kernels/cpu/conv/conv_pointwise_filter.hpp"
#include "kernels/cpu/conv/conv_winograd.hpp"
#include "kernels/cpu/conv/gemm_rowmajor.hpp"
#include "kernels/cpu/conv/im2col.hpp"
#include "kernels/cpu/gemm/gemm_epilogue.hpp"
#include "kernels/cpu/nn_kernels.hpp"

namespace mln::kernels {
namespace {

// Backward data's flipped filters.
struct FlippedFilters;

// Sizes shared by the drivers.
struct ConvSizes {
    int64_t group_channels, group_out_channels, depth, in_size, out_size;
    explicit ConvSizes(const ConvArgs& a)
        : group_channels(a.channels / a.groups),
          group_out_channels(a.out_channels / a.groups),
          depth(a.channels / a.groups * a.geometry.kernel_size()),
          in_size(a.geometry.in_size()),
          out_size(a.geometry.out_size()) {}
};

// The epilogue over `size` contiguous values of y that already hold part of the sum, while they
// are in cache: y = activation(y + addend), addend a residual block or nullptr.
template <class T>
void finish_block(T* y_block, const T* addend, GemmActivation<T> activation, int64_t size) {
    if (addend != nullptr) {
        for (int64_t i = 0; i < size; ++i) y_block[i] += addend[i];
    }
    if (activation != nullptr) activation(y_block, 1, size, size, 1);
}

// The channel-blocked kernel (every tap one full-width FMA over a block of channels) beat the
// per-channel one on every MobileNet-v2 depthwise layer, 112-wide rows included (conv_vs_onednn,
// 1 thread, AVX-512: 2.2-3x faster at 112 and 56 wide, 3-5x at 28, 14 and 7; AVX2: 1.3x at 112,
// 2-6x from 28 down). Per-channel stays for
// images with under half a block of channels on rows of a register or more of outputs, where
// the blocked kernel's lanes would mostly be idle.
template <class T>
bool depthwise_forward_blocked(const ConvArgs& a) {
    return a.channels >= kDepthwiseBlock<T> / 2 || a.geometry.out[2] < kDepthwiseBlock<T>;
}

// A task range [begin, end) of (image, block of kDepthwiseBlock channels) tasks as runs of
// consecutive blocks of one image, at most max_blocks a run: run(image, first channel, channels).
template <class T, class Run>
void for_each_depthwise_run(int64_t begin, int64_t end, int64_t channels, int64_t max_blocks, Run&& run) {
    const int64_t blocks = (channels + kDepthwiseBlock<T> - 1) / kDepthwiseBlock<T>;
    for (int64_t task = begin; task < end;) {
        const int64_t n = task / blocks, block = task % blocks;
        const int64_t run_blocks = std::min({end - task, blocks - block, max_blocks});
        const int64_t c = block * kDepthwiseBlock<T>;
        run(n, c, std::min(run_blocks * kDepthwiseBlock<T>, channels - c));
        task += run_blocks;
    }
}

// Per-channel tasks, or tasks of (image, block of kDepthwiseBlock channels) for the NCHW 3x3
// kernel where it runs (conv_depthwise_3x3.hpp) or the blocked one; either finishes its outputs
// (residual, activation) while they are in cache. The 3x3 kernel takes any number of channels:
// a task range's blocks of one image go to it in one call, the epilogue then over the range:
// called block by block, its setup per call (the geometry's lane masks and permute indices)
// cost MobileNet-v2 dw384 and dw576 @ 14, dw576/2 @ 14 and dw960 @ 7 1.03-1.15x (one thread,
// batch 1 and 8, same-process A/B both ways round; larger planes within noise, which in these
// runs was up to 8% between two builds of the same kernel code). With residual + ReLU, calls of
// at most 32 KiB of outputs (the epilogue reading them from L1) ran 1.01-1.07x slower than
// whole ranges on those layers and dw192 @ 28.
template <class T>
void conv_depthwise_forward(const ConvArgs& a) {
    const ConvSizes s(a);
    const T* x = static_cast<const T*>(a.x.data);
    const T* w = static_cast<const T*>(a.w.data);
    const T* bias = a.has_bias ? static_cast<const T*>(a.bias.data) : nullptr;
    const T* residual = a.has_residual ? static_cast<const T*>(a.residual.data) : nullptr;
    const GemmActivation<T> activation = select_gemm_activation<T>(a.activation);
    T* y = static_cast<T*>(a.y.data);
    const int64_t kernel_size = a.geometry.kernel_size();
    DepthwiseForwardBlockKernel<T> kernel = conv_depthwise_3x3_forward_kernel<T>(cpu::active_isa(), a.geometry);
    const bool any_channels = kernel != nullptr;
    if (kernel == nullptr && depthwise_forward_blocked<T>(a)) {
        kernel = conv_depthwise_forward_block_kernel<T>(cpu::active_isa());
    }
    if (kernel != nullptr) {
        const int64_t blocks = (a.channels + kDepthwiseBlock<T> - 1) / kDepthwiseBlock<T>;
        const int64_t max_blocks = any_channels ? blocks : 1;
        cpu::parallel_for(a.batch * blocks, 1, [&](int64_t begin, int64_t end) {
            for_each_depthwise_run<T>(begin, end, a.channels, max_blocks, [&](int64_t n, int64_t c, int64_t channels) {
                const int64_t first = n * a.channels + c;
                T* y_block = y + first * s.out_size;
                kernel(x + first * s.in_size, w + c * kernel_size, bias != nullptr ? bias + c : nullptr, a.geometry,
                       channels, y_block);
                finish_block(y_block, residual != nullptr ? residual + first * s.out_size : nullptr, activation,
                             channels * s.out_size);
            });
        });
        return;
    }
    const DepthwiseChannelKernel<T> channel_kernel = conv_depthwise_channel_kernel<T>(cpu::active_isa());
    cpu::parallel_for(a.batch * a.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t c = task % a.channels;
            T* y_channel = y + task * s.out_size;
            channel_kernel(x + task * s.in_size, w + c * kernel_size, bias != nullptr ? bias[c] : T(0), a.geometry, y_channel);
            finish_block(y_channel, residual != nullptr ? residual + task * s.out_size : nullptr, activation,
                         s.out_size);
        }
    });
}

// Every forward convolution but the depthwise one is an implicit GEMM (conv_implicit_gemm.hpp).
template <class T>
void conv_forward_typed(const ConvArgs& a) {
    if (a.batch == 0 || a.out_channels == 0) return;
    if (a.groups == a.channels && a.groups == a.out_channels) return conv_depthwise_forward<T>(a);
    // Pointwise through implicit_gemm::position_panels instead (AVX2, 14x14 and 7x7: positions in
    // 6-row panels, x lowered and W^T packed per call) ran MobileNet-v2's layers 1.1-2.0x the time
    // (1.04-1.39x with its AVX2 transposing write, Zen 3, batch 1).
    // Output channels in the lanes (oneDNN's 1x1 way; AVX2 tiles of 24 channels x 4 positions, x
    // broadcast from its NCHW rows, 4 x 8 register transposes into y) lost too, Zen 3 vs the strips:
    // 96->24 @56 1.15-1.21x, 32->16 @112 1.25-1.32x, 144->24 @56 0.97-1.09x at batch 1, 0.87-1.11x at 32.
    if (is_pointwise_geometry(a.geometry)) return conv_pointwise_forward<T>(a);
    if (winograd_wins(a, float_dtype_of<T>())) return conv_winograd_forward(a);
    implicit_gemm::conv_forward<T>(a);
}

bool is_depthwise(const ConvArgs& a) { return a.groups == a.channels && a.groups == a.out_channels; }

// Prepared filters (mln_conv_weights): w^T's panels where conv_forward_typed<float> takes the
// implicit GEMM's transposed form (its per-call packing is 12-14% of ResNet-18's layer3/4 3x3
// at batch 1 on one thread), the polyphase direct kernel's panels where it takes that
// (conv_phase_direct.hpp), a plain copy of w elsewhere.
struct CpuPreparedFilters final : PreparedConvFilters {
    enum class Form { kPlain, kTransposed, kPhaseDirect };
    mln_isa isa = MLN_ISA_SCALAR;  // the panels' ISA: another one selected since takes the plain path
    cpu::HostBlock storage;        // the panels, or the plain copy of w
    Form form = Form::kPlain;
    bool packed() const override { return form != Form::kPlain; }
    int64_t bytes() const override { return static_cast<int64_t>(storage.bytes()); }
    const float* panels() const { return static_cast<const float*>(storage.data()); }
};

// Where conv_forward_typed<float> (below) reaches the implicit GEMM's drivers.
[[maybe_unused]] bool forward_takes_implicit_gemm(const ConvArgs& a) {
    return a.x.dtype == MLN_DTYPE_F32 && a.batch > 0 && a.out_channels > 0 && a.geometry.out_size() > 0 &&
           !is_depthwise(a) && !is_pointwise_geometry(a.geometry) && !winograd_wins(a, MLN_DTYPE_F32);
}

// The implicit GEMM's form it reaches there, else nullopt.
[[maybe_unused]] std::optional<implicit_gemm::ForwardForm> forward_implicit_gemm_form(const ConvArgs& a) {
    if (!forward_takes_implicit_gemm(a)) return std::nullopt;
    return implicit_gemm::forward_form<float>(a);
}

// w back from the panels, for a call at another ISA.
struct UnpackedFilters;

// Tasks: (image, block of kDepthwiseBlock channels). The 3x3 kernel takes a task range's blocks
// of one image in one call, as the forward (its setup per call: the same layers 1.05-1.15x faster).
template <class T>
void conv_depthwise_backward_data(const ConvArgs& a) {
    DepthwiseBackwardDataKernel<T> kernel = conv_depthwise_3x3_backward_data_kernel<T>(cpu::active_isa(), a.geometry);
    const bool any_channels = kernel != nullptr;
    if (kernel == nullptr) kernel = conv_depthwise_backward_data_kernel<T>(cpu::active_isa());
    const ConvSizes s(a);
    const T* dy = static_cast<const T*>(a.y.data);
    const T* w = static_cast<const T*>(a.w.data);
    T* dx = static_cast<T*>(a.x.data);
    const int64_t kernel_size = a.geometry.kernel_size();
    const int64_t blocks = (a.channels + kDepthwiseBlock<T> - 1) / kDepthwiseBlock<T>;
    cpu::parallel_for(a.batch * blocks, 1, [&](int64_t begin, int64_t end) {
        for_each_depthwise_run<T>(begin, end, a.channels, any_channels ? blocks : 1,
                                  [&](int64_t n, int64_t c, int64_t channels) {
                                      const int64_t first = n * a.channels + c;
                                      kernel(dy + first * s.out_size, w + c * kernel_size, a.geometry, channels,
                                             dx + first * s.in_size);
                                  });
    });
}

// Below this many dx positions per group (batch x spatial: the columns of the GEMM), the
// flipped filters are used too little to pay for rearranging them (one pass over all weights
// costs about as much as a GEMM with 60 columns). Where the forward takes the implicit GEMM's
// transposed form (AVX-512) or its position panels (AVX2), 14x14 and 7x7 images, there is no
// such pass: it reads the filters flipped as it packs them, at any column count.
constexpr int64_t kFlippedFilterMinColumns = 256;

// The stride-1 backward data as a forward convolution: dx = conv(dy, w') with
// w'[g][c][m][k] = w[g][m][c][K-1-k] (every spatial axis flipped, in and out channels swapped
// within the group) and pads d*(k-1) - pad_begin before, in - out + pad_begin after. Returns
// false where that does not apply (a stride above 1, a pad past the dilated kernel, too few
// columns), leaving dx untouched.
template <class T>
bool conv_backward_data_as_forward(const ConvArgs& a) {
    const WindowGeometry& g = a.geometry;
    const ConvSizes s(a);
    WindowGeometry flipped = g;
    for (int d = 0; d < 3; ++d) {
        const int64_t span = g.dilation[d] * (g.kernel[d] - 1);
        flipped.in[d] = g.out[d];
        flipped.out[d] = g.in[d];
        flipped.pad_begin[d] = span - g.pad_begin[d];
        flipped.pad_end[d] = g.in[d] - g.out[d] + g.pad_begin[d];
        if (g.stride[d] != 1 || flipped.pad_begin[d] < 0 || flipped.pad_end[d] < 0) return false;
    }
    ConvArgs forward;
    forward.geometry = flipped;
    forward.batch = a.batch;
    forward.channels = a.out_channels;
    forward.out_channels = a.channels;
    forward.groups = a.groups;
    forward.x = a.y;
    forward.y = a.x;
    forward.w = a.w;
    if (!winograd_wins(forward, float_dtype_of<T>()) && implicit_gemm::conv_forward_from_flipped_filters<T>(forward)) {
        return true;
    }
    if (a.batch * s.in_size < kFlippedFilterMinColumns) return false;
    const int64_t kernel_size = g.kernel_size();
    // Its own buffer: the forward drivers may use the column buffers. The workers reach it
    // through the pointer (a thread_local named in the lambda would be each worker's own).
    std::vector<T>& w_flipped_buffer = thread_buffer<T, FlippedFilters>();
    w_flipped_buffer.resize(static_cast<size_t>(a.out_channels * s.depth));
    T* w_flipped = w_flipped_buffer.data();
    const T* w = static_cast<const T*>(a.w.data);
    // Row (g, c, m) of w' gathers row (g, m, c) of w reversed.
    cpu::parallel_for(a.channels, 4, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const int64_t group = row / s.group_channels;
            const int64_t c = row % s.group_channels;
            for (int64_t m = 0; m < s.group_out_channels; ++m) {
                const T* src = w + ((group * s.group_out_channels + m) * s.group_channels + c) * kernel_size;
                T* dst = w_flipped + (row * s.group_out_channels + m) * kernel_size;
                for (int64_t k = 0; k < kernel_size; ++k) dst[k] = src[kernel_size - 1 - k];
            }
        }
    });
    forward.w.data = w_flipped;
    conv_forward_typed<T>(forward);
    return true;
}

template <class T>
void conv_backward_data_typed(const ConvArgs& a) {
    if (a.batch == 0 || a.channels == 0) return;
    if (is_depthwise(a)) return conv_depthwise_backward_data<T>(a);
    if (is_pointwise_geometry(a.geometry)) return conv_pointwise_backward_data<T>(a);
    if (conv_backward_data_as_forward<T>(a)) return;
    if (backward_data::conv_backward_data_polyphase<T>(a, [](const ConvArgs& f) { conv_forward_typed<T>(f); })) return;
    backward_data::conv_backward_data<T>(a);
}

// Adds row[0, size) into the lanes of sums in double. Independent lanes, not one running sum:
// a single chain waits an add latency (4 cycles) per element, kDoubleLanes chains let the
// compiler vectorize the loop (it may not reorder one sum by itself).
constexpr int64_t kDoubleLanes = 8;
template <class T>
void accumulate_row(const T* row, int64_t size, double (&sums)[kDoubleLanes]) {
    int64_t p = 0;
    for (; p + kDoubleLanes <= size; p += kDoubleLanes) {
        for (int64_t lane = 0; lane < kDoubleLanes; ++lane) sums[lane] += static_cast<double>(row[p + lane]);
    }
    for (int64_t lane = 0; p < size; ++p, ++lane) sums[lane] += static_cast<double>(row[p]);
}

// dbias[m] = sum over images and positions of dy[n][m], in double. The lanes are added in a
// fixed order, so the result does not depend on the thread count.
template <class T>
void conv_backward_bias(const ConvArgs& a, const ConvSizes& s) {
    const T* dy = static_cast<const T*>(a.y.data);
    T* dbias = static_cast<T*>(a.bias.data);
    cpu::parallel_for(a.out_channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t m = begin; m < end; ++m) {
            double sums[kDoubleLanes] = {};
            for (int64_t n = 0; n < a.batch; ++n) accumulate_row(dy + (n * a.out_channels + m) * s.out_size, s.out_size, sums);
            double sum = 0.0;
            for (double lane_sum : sums) sum += lane_sum;
            dbias[m] = static_cast<T>(sum);
        }
    });
}

// Each block of kDepthwiseBlock channels summed over the whole batch by one task: no partials
// to add, and a result that does not depend on the thread count. The 3 x 3 kernels take a
// task's blocks in one call: block by block, their setup per call (geometry, the sums' final
// transpose and stores) took 15-30% of a 14 x 14 or 7 x 7 layer at batch 1.
template <class T>
void conv_depthwise_backward_filter(const ConvArgs& a, const ConvSizes& s) {
    DepthwiseBackwardFilterKernel<T> kernel = conv_depthwise_3x3_backward_filter_kernel<T>(cpu::active_isa(), a.geometry);
    const bool any_channels = kernel != nullptr;
    if (kernel == nullptr) kernel = conv_depthwise_backward_filter_kernel<T>(cpu::active_isa());
    const T* x = static_cast<const T*>(a.x.data);
    const T* dy = static_cast<const T*>(a.y.data);
    T* dw = static_cast<T*>(a.w.data);
    const int64_t kernel_size = a.geometry.kernel_size();
    const int64_t blocks = (a.channels + kDepthwiseBlock<T> - 1) / kDepthwiseBlock<T>;
    cpu::parallel_for(blocks, 1, [&](int64_t begin, int64_t end) {
        const int64_t last = std::min(end * kDepthwiseBlock<T>, a.channels);
        const int64_t step = any_channels ? last - begin * kDepthwiseBlock<T> : kDepthwiseBlock<T>;
        for (int64_t c = begin * kDepthwiseBlock<T>; c < last; c += step) {
            kernel(x + c * s.in_size, dy + c * s.out_size, a.geometry, std::min(step, last - c), a.batch,
                   a.channels * s.in_size, a.channels * s.out_size, dw + c * kernel_size);
        }
    });
}

// dW: the depthwise and pointwise drivers, else the implicit GEMM (conv_backward_filter.hpp).
template <class T>
void conv_backward_filter_typed(const ConvArgs& a) {
    const ConvSizes s(a);
    const int64_t filter_size = a.out_channels * s.depth;
    T* dw = static_cast<T*>(a.w.data);
    if (a.has_bias) conv_backward_bias<T>(a, s);
    if (filter_size == 0) return;
    if (a.batch == 0) {
        std::fill(dw, dw + filter_size, T(0));
        return;
    }
    if (is_depthwise(a)) return conv_depthwise_backward_filter<T>(a, s);
    if (is_pointwise_geometry(a.geometry)) {
        if (conv_pointwise_backward_filter_broadcast(a)) return;
        return conv_pointwise_backward_filter<T>(a);
    }
    backward_filter::conv_backward_filter<T>(a);
}

template <template <class> class Fn>
void dispatch_float(const TensorView& view, const ConvArgs& args) {
    if (view.dtype == MLN_DTYPE_F64) return Fn<double>::run(args);
    return Fn<float>::run(args);
}

template <class T>
struct ForwardFn {
    static void run(const ConvArgs& a) { conv_forward_typed<T>(a); }
};
template <class T>
struct BackwardDataFn {
    static void run(const ConvArgs& a) { conv_backward_data_typed<T>(a); }
};
template <class T>
struct BackwardFilterFn {
    static void run(const ConvArgs& a) { conv_backward_filter_typed<T>(a); }
};

}  // namespace

void conv_forward(const ConvArgs& args) { dispatch_float<ForwardFn>(args.y, args); }

std::unique_ptr<PreparedConvFilters> conv_prepare_filters(const ConvArgs& args) {
    auto filters = std::make_unique<CpuPreparedFilters>();
    const auto* w = static_cast<const unsigned char*>(args.w.data);
    const auto bytes = static_cast<size_t>(args.w.element_count) * dtype_size(args.w.dtype);
#if defined(MYELIN_X86_64_KERNELS)
    const std::optional<implicit_gemm::ForwardForm> form = forward_implicit_gemm_form(args);
    if (form == implicit_gemm::ForwardForm::kTransposed) {
        const implicit_gemm::transposed::FilterSource source =
            implicit_gemm::transposed::forward_filters(args, static_cast<const float*>(args.w.data));
        const int64_t size = implicit_gemm::transposed::packed_panels_size(source);
        filters->storage = cpu::HostBlock(static_cast<size_t>(size) * sizeof(float));  // cache-line aligned
        implicit_gemm::transposed::pack_all_panels(source, static_cast<float*>(filters->storage.data()));
        filters->form = CpuPreparedFilters::Form::kTransposed;
        filters->isa = cpu::active_isa();
        return filters;
    }
    if (form == implicit_gemm::ForwardForm::kPhaseDirect) {
        filters->storage = cpu::HostBlock(bytes);
        phase_direct::pack_filters(args, static_cast<const float*>(args.w.data),
                                   static_cast<float*>(filters->storage.data()));
        filters->form = CpuPreparedFilters::Form::kPhaseDirect;
        filters->isa = cpu::active_isa();
        return filters;
    }
#endif
    filters->storage = cpu::HostBlock(bytes);
    std::copy(w, w + bytes, static_cast<unsigned char*>(filters->storage.data()));
    return filters;
}

void conv_forward_prepared(const ConvArgs& args, const PreparedConvFilters& prepared) {
    const auto& filters = static_cast<const CpuPreparedFilters&>(prepared);
    ConvArgs plain = args;
    if (!filters.packed()) {
        plain.w.data = filters.storage.data();
        return conv_forward(plain);
    }
#if defined(MYELIN_X86_64_KERNELS)
    const implicit_gemm::transposed::FilterSource source = implicit_gemm::transposed::forward_filters(args, nullptr);
    const bool phase_direct_panels = filters.form == CpuPreparedFilters::Form::kPhaseDirect;
    if (filters.isa == cpu::active_isa() &&
        forward_implicit_gemm_form(args) == (phase_direct_panels ? implicit_gemm::ForwardForm::kPhaseDirect
                                                                 : implicit_gemm::ForwardForm::kTransposed)) {
        if (phase_direct_panels) return phase_direct::conv_forward(args, filters.panels());
        return implicit_gemm::transposed::conv_forward<float>(args, source, filters.panels());
    }
    std::vector<float>& w = thread_buffer<float, UnpackedFilters>();
    w.resize(static_cast<size_t>(args.out_channels * source.depth));
    if (phase_direct_panels) {
        phase_direct::unpack_filters(args, filters.isa, filters.panels(), w.data());
    } else {
        implicit_gemm::transposed::unpack_all_panels(filters.panels(), source, w.data());
    }
    plain.w.data = w.data();
    conv_forward(plain);
#endif
}
void conv_backward_data(const ConvArgs& args) { dispatch_float<BackwardDataFn>(args.x, args); }
void conv_backward_filter(const ConvArgs& args) { dispatch_float<BackwardFilterFn>(args.w, args); }

}  // namespace mln::kernels
