// Inverted dropout with a Philox mask. Elements are visited by their row-major index (not in
// memory order), and each element's keep decision reads only word (offset + index) of the
// Philox stream, so the result is the same for any thread count, chunking or strides.
#include <cstdint>

#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/random/philox.hpp"

namespace mln::kernels {
namespace {

// Keep iff u >= p with u = (word >> 8) / 2^24, uniform on a 2^-24 grid in [0, 1).
struct KeepTest {
    explicit KeepTest(double p) : p(p) {}
    bool operator()(uint32_t word) const { return static_cast<double>(word >> 8) * 0x1p-24 >= p; }
    double p;
};

template <class T>
void dropout_typed(const DropoutArgs& args) {
    const TensorView& x = args.x;
    const int32_t rank = x.rank;
    const KeepTest keep(args.p);
    const T scale = static_cast<T>(1.0 / (1.0 - args.p));
    cpu::parallel_for(x.element_count, kElementwiseGrain / 4, [&](int64_t begin, int64_t end) {
        PhiloxStream stream(args.seed);
        int64_t index[MLN_MAX_RANK] = {};
        int64_t x_offset = 0;
        int64_t y_offset = 0;
        int64_t mask_offset = 0;
        int64_t remainder = begin;
        for (int32_t d = rank - 1; d >= 0; --d) {
            index[d] = remainder % x.shape[d];
            remainder /= x.shape[d];
            x_offset += index[d] * x.strides[d];
            y_offset += index[d] * args.y.strides[d];
            if (args.has_mask) mask_offset += index[d] * args.mask.strides[d];
        }
        const T* x_data = static_cast<const T*>(x.data);
        T* y_data = static_cast<T*>(args.y.data);
        auto* mask_data = static_cast<Bool8*>(args.mask.data);
        for (int64_t i = begin; i < end; ++i) {
            const bool kept = keep(stream.word(args.offset + static_cast<uint64_t>(i)));
            y_data[y_offset] = kept ? x_data[x_offset] * scale : T(0);
            if (args.has_mask) mask_data[mask_offset] = Bool8{kept};
            // Row-major odometer step.
            for (int32_t d = rank - 1; d >= 0; --d) {
                x_offset += x.strides[d];
                y_offset += args.y.strides[d];
                if (args.has_mask) mask_offset += args.mask.strides[d];
                if (++index[d] < x.shape[d]) break;
                x_offset -= x.shape[d] * x.strides[d];
                y_offset -= x.shape[d] * args.y.strides[d];
                if (args.has_mask) mask_offset -= x.shape[d] * args.mask.strides[d];
                index[d] = 0;
            }
        }
    });
}

}  // namespace

void dropout(const DropoutArgs& args) {
    if (args.x.dtype == MLN_DTYPE_F32) return dropout_typed<float>(args);
    if (args.x.dtype == MLN_DTYPE_F64) return dropout_typed<double>(args);
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("dropout is not supported for dtype ", dtype_name(args.x.dtype)));
}

}  // namespace mln::kernels
