// GEMM on f16/bf16 storage with f32 compute: the f32 driver (gemm_driver.cpp) on widened
// copies. op(a) is widened once (M x K f32); B, c, bias and the residual go in column blocks of
// NC columns, each widened, multiplied by the f32 driver (with the whole epilogue, since every
// block spans all of K) and narrowed into c. Conversion costs O(MK + KN + MN) against the
// product's O(MNK); the column blocks bound the scratch for B and c and keep the widened B
// block in cache while the driver packs it.
#include <algorithm>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/common/half_convert.hpp"
#include "kernels/cpu/common/thread_scratch.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/half_kernels.hpp"

namespace mln::kernels {
namespace {

// A widened K x NC block of B: 8 MiB (the f32 driver packs its own 4 MiB share of L3 from it);
// wide blocks keep N large enough for the driver to split it across threads.
constexpr int64_t kColumnBlockBytes = int64_t{8} << 20;
constexpr int64_t kMinimumColumnBlock = 64;
// Elements from which a conversion is split across the thread pool: 256K take about 0.1 ms
// (measured ~2.5 G elements/s by half_vs_f32), too little to pay for waking a worker.
constexpr int64_t kConvertGrain = int64_t{1} << 18;

// A 2-D view as lines along its unit-stride dimension (rows when neither has unit stride):
// its f32 copy stores line after line, so both are walked contiguously where possible.
struct Lines {
    int64_t count = 0;
    int64_t length = 0;
    int64_t line_stride = 0;     // elements between lines in the view
    int64_t element_stride = 0;  // elements between neighbours within a line
    bool column_major = false;
};

Lines lines_of(const TensorView& view) {
    const int64_t rows = view.shape[0];
    const int64_t cols = view.shape[1];
    if (view.strides[0] == 1 && view.strides[1] != 1 && rows > 1) return {cols, rows, view.strides[1], 1, true};
    return {rows, cols, view.strides[0], view.strides[1], false};
}

// The f32 view over `storage` laid out as `lines` of `like`.
TensorView f32_view_like(const TensorView& like, const Lines& lines, float* storage) {
    TensorView view = like;
    view.data = storage;
    view.dtype = MLN_DTYPE_F32;
    view.strides[0] = lines.column_major ? 1 : lines.length;
    view.strides[1] = lines.column_major ? lines.length : 1;
    view.element_count = like.shape[0] * like.shape[1];
    return view;
}

// Runs body(line_begin, line_end) over the lines, in parallel when there is enough to convert.
template <class Body>
void for_each_line_range(const Lines& lines, Body body) {
    const int64_t grain = std::max<int64_t>(1, kConvertGrain / std::max<int64_t>(1, lines.length));
    cpu::parallel_for(lines.count, grain, body);
}

// Widens the 2-D half view `source` into `destination`, laid out as lines_of(source).
TensorView widen_matrix(const TensorView& source, const HalfConverter& converter, std::vector<float>& storage) {
    const Lines lines = lines_of(source);
    storage.resize(static_cast<size_t>(std::max<int64_t>(1, lines.count * lines.length)));
    float* const destination = storage.data();
    const auto* const base = static_cast<const uint16_t*>(source.data);
    for_each_line_range(lines, [&](int64_t begin, int64_t end) {
        std::vector<uint16_t> gathered;
        for (int64_t line = begin; line < end; ++line) {
            const uint16_t* from = base + line * lines.line_stride;
            if (lines.element_stride != 1) {
                gathered.resize(static_cast<size_t>(lines.length));
                for (int64_t i = 0; i < lines.length; ++i) gathered[i] = from[i * lines.element_stride];
                from = gathered.data();
            }
            converter.widen(from, destination + line * lines.length, lines.length);
        }
    });
    return f32_view_like(source, lines, destination);
}

// Narrows `source` (laid out as lines_of(destination)) into the 2-D half view `destination`.
void narrow_matrix(const float* source, const HalfConverter& converter, const TensorView& destination) {
    const Lines lines = lines_of(destination);
    auto* const base = static_cast<uint16_t*>(destination.data);
    for_each_line_range(lines, [&](int64_t begin, int64_t end) {
        std::vector<uint16_t> narrowed;
        for (int64_t line = begin; line < end; ++line) {
            uint16_t* to = base + line * lines.line_stride;
            const float* from = source + line * lines.length;
            if (lines.element_stride == 1) {
                converter.narrow(from, to, lines.length);
            } else {
                narrowed.resize(static_cast<size_t>(lines.length));
                converter.narrow(from, narrowed.data(), lines.length);
                for (int64_t i = 0; i < lines.length; ++i) to[i * lines.element_stride] = narrowed[i];
            }
        }
    });
}

// Columns [first, first + count) of a 2-D view (or of a vector).
TensorView column_slice(const TensorView& view, int64_t first, int64_t count) {
    TensorView slice = view;
    const int32_t column_dim = view.rank - 1;
    slice.data = static_cast<uint16_t*>(view.data) + first * view.strides[column_dim];
    slice.shape[column_dim] = count;
    slice.element_count = view.rank == 1 ? count : view.shape[0] * count;
    return slice;
}

// Grow-only f32 scratch of the calling thread.
struct Scratch {
    std::vector<float> a, b, c, bias, residual;
};


void gemm_half_matrix(const GemmArgs& args, const HalfConverter& converter) {
    if (args.m == 0 || args.n == 0) return;
    Scratch& scratch = thread_scratch<Scratch>();
    GemmArgs wide = args;
    wide.a = widen_matrix(args.a, converter, scratch.a);
    const int64_t fitting = kColumnBlockBytes / static_cast<int64_t>(sizeof(float)) / std::max<int64_t>(1, args.k);
    const int64_t column_block = std::min(args.n, std::max(kMinimumColumnBlock, fitting / 16 * 16));
    for (int64_t first = 0; first < args.n; first += column_block) {
        const int64_t count = std::min(column_block, args.n - first);
        wide.n = count;
        wide.b = widen_matrix(column_slice(args.b, first, count), converter, scratch.b);
        const TensorView c_block = column_slice(args.c, first, count);
        if (args.beta != 0.0) {
            wide.c = widen_matrix(c_block, converter, scratch.c);
        } else {  // beta == 0: c is not read, only laid out
            const Lines lines = lines_of(c_block);
            scratch.c.resize(static_cast<size_t>(std::max<int64_t>(1, lines.count * lines.length)));
            wide.c = f32_view_like(c_block, lines, scratch.c.data());
        }
        if (args.has_bias) {
            // A vector as a 1 x count matrix: widen_matrix's lines handle its stride.
            TensorView bias = column_slice(args.bias, first, count);
            bias.rank = 2;
            bias.shape[0] = 1;
            bias.shape[1] = count;
            bias.strides[0] = count;
            bias.strides[1] = args.bias.strides[0];
            wide.bias = widen_matrix(bias, converter, scratch.bias);
            wide.bias.rank = 1;
            wide.bias.shape[0] = count;
            wide.bias.strides[0] = 1;
        }
        if (args.has_residual) wide.residual = widen_matrix(column_slice(args.residual, first, count), converter, scratch.residual);
        gemm(wide);
        narrow_matrix(static_cast<const float*>(wide.c.data), converter, c_block);
    }
}

// The operands of batch element `index` (row-major over batch_shape) as one matrix product.
GemmArgs batch_element(const GemmArgs& args, int64_t index) {
    GemmArgs element = args;
    element.batch_rank = 0;
    for (int32_t d = args.batch_rank - 1; d >= 0; --d) {
        const int64_t i = index % args.batch_shape[d];
        index /= args.batch_shape[d];
        const auto step = [&](TensorView& view, const int64_t* strides) {
            view.data = static_cast<uint16_t*>(view.data) + i * strides[d];
        };
        step(element.a, args.a_batch_strides);
        step(element.b, args.b_batch_strides);
        step(element.c, args.c_batch_strides);
        if (args.has_residual) step(element.residual, args.residual_batch_strides);
    }
    return element;
}

}  // namespace

void gemm_half(const GemmArgs& args) {
    const HalfConverter converter = half_converter(args.c.dtype, cpu::active_isa());
    int64_t count = 1;
    for (int32_t d = 0; d < args.batch_rank; ++d) count *= args.batch_shape[d];
    // Batch elements one after the other, each threaded inside (conversion and f32 driver).
    for (int64_t index = 0; index < count; ++index) gemm_half_matrix(batch_element(args, index), converter);
}

}  // namespace mln::kernels
