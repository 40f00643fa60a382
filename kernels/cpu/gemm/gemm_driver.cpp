// Cache-blocked, packed, multithreaded GEMM (BLIS loop structure):
//
//   parallel over blocks of C (MC rows x NC columns)          -> one task each
//     for each depth block of KC                              -> pack A block, pack B block
//       for each NR column panel, for each MR row panel       -> micro-kernel
//     epilogue (bias, activation) on the finished C block
//
// Each task packs its own A and B blocks into thread-local buffers, so tasks never wait on
// each other. beta applies to the first depth block only; later blocks accumulate (beta 1).
#include <algorithm>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/thread_pool.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/gemm/gemm_epilogue.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"
#include "kernels/cpu/gemm/gemm_pack.hpp"

namespace mln::kernels {
namespace {

// Depth of one packed block: A and B panels of this depth stay in L1/L2.
constexpr int64_t kDepthBlock = 256;
// Row and column blocks, in micro-tiles.
constexpr int64_t kRowTilesPerBlock = 24;
constexpr int64_t kColumnTilesPerBlock = 16;
// Below this many multiply-adds a GEMM runs on the calling thread.
constexpr int64_t kParallelMinimumWork = 64 * 64 * 64;

template <class T>
struct PackBuffers {
    std::vector<T> a;
    std::vector<T> b;
};

template <class T>
PackBuffers<T>& thread_pack_buffers() {
    thread_local PackBuffers<T> buffers;
    return buffers;
}

template <class T>
void gemm_block(const GemmArgs& args, const GemmMicroKernelInfo<T>& micro, GemmEpilogue<T> epilogue, int64_t row,
                int64_t rows, int64_t col, int64_t cols) {
    const MatrixRef<T> a{static_cast<const T*>(args.a.data), args.a.strides[0], args.a.strides[1]};
    const MatrixRef<T> b{static_cast<const T*>(args.b.data), args.b.strides[0], args.b.strides[1]};
    T* const c = static_cast<T*>(args.c.data);
    const int64_t c_row_stride = args.c.strides[0];
    const int64_t c_col_stride = args.c.strides[1];
    const T alpha = static_cast<T>(args.alpha);
    const int mr = micro.mr;
    const int nr = micro.nr;

    PackBuffers<T>& buffers = thread_pack_buffers<T>();
    const int64_t padded_rows = (rows + mr - 1) / mr * mr;
    const int64_t padded_cols = (cols + nr - 1) / nr * nr;
    const int64_t depth_block = std::min(args.k, kDepthBlock);
    buffers.a.resize(static_cast<size_t>(padded_rows * depth_block));
    buffers.b.resize(static_cast<size_t>(padded_cols * depth_block));

    T tile[kMaxMicroTile];
    for (int64_t depth_start = 0; depth_start < args.k; depth_start += kDepthBlock) {
        const int64_t depth = std::min(kDepthBlock, args.k - depth_start);
        const T beta = depth_start == 0 ? static_cast<T>(args.beta) : T(1);
        pack_a_panels(a, row, rows, depth_start, depth, mr, buffers.a.data());
        pack_b_panels(b, depth_start, depth, col, cols, nr, buffers.b.data());
        for (int64_t j = 0; j < cols; j += nr) {
            const T* b_panel = buffers.b.data() + j * depth;
            const int64_t tile_cols = std::min<int64_t>(nr, cols - j);
            for (int64_t i = 0; i < rows; i += mr) {
                const T* a_panel = buffers.a.data() + i * depth;
                const int64_t tile_rows = std::min<int64_t>(mr, rows - i);
                T* c_tile = c + (row + i) * c_row_stride + (col + j) * c_col_stride;
                if (tile_rows == mr && tile_cols == nr && c_col_stride == 1) {
                    micro.kernel(depth, a_panel, b_panel, c_tile, c_row_stride, alpha, beta);
                    continue;
                }
                // Edge tile or strided C: compute into scratch, then merge the valid part.
                micro.kernel(depth, a_panel, b_panel, tile, nr, alpha, T(0));
                for (int64_t ti = 0; ti < tile_rows; ++ti) {
                    for (int64_t tj = 0; tj < tile_cols; ++tj) {
                        T& target = c_tile[ti * c_row_stride + tj * c_col_stride];
                        target = beta == T(0) ? tile[ti * nr + tj] : tile[ti * nr + tj] + beta * target;
                    }
                }
            }
        }
    }
    if (epilogue != nullptr) {
        const T* bias = args.has_bias ? static_cast<const T*>(args.bias.data) + col * args.bias.strides[0] : nullptr;
        epilogue(c + row * c_row_stride + col * c_col_stride, rows, cols, c_row_stride, c_col_stride, bias,
                 args.has_bias ? args.bias.strides[0] : 0);
    }
}

// K == 0: op(a) * op(b) is an empty sum, so c = activation(beta * c + bias).
template <class T>
void gemm_empty_depth(const GemmArgs& args, GemmEpilogue<T> epilogue) {
    T* const c = static_cast<T*>(args.c.data);
    const T beta = static_cast<T>(args.beta);
    for (int64_t i = 0; i < args.m; ++i) {
        for (int64_t j = 0; j < args.n; ++j) {
            T& value = c[i * args.c.strides[0] + j * args.c.strides[1]];
            value = beta == T(0) ? T(0) : beta * value;
        }
    }
    if (epilogue != nullptr) {
        epilogue(c, args.m, args.n, args.c.strides[0], args.c.strides[1],
                 args.has_bias ? static_cast<const T*>(args.bias.data) : nullptr,
                 args.has_bias ? args.bias.strides[0] : 0);
    }
}

template <class T>
void gemm_typed(const GemmArgs& args, const GemmMicroKernelInfo<T>& micro) {
    if (args.m == 0 || args.n == 0) return;
    const GemmEpilogue<T> epilogue = select_gemm_epilogue<T>(args.activation, args.has_bias);
    if (args.k == 0) {
        gemm_empty_depth<T>(args, epilogue);
        return;
    }
    const int64_t row_block = micro.mr * kRowTilesPerBlock;
    const int64_t col_block = micro.nr * kColumnTilesPerBlock;
    const int64_t row_blocks = (args.m + row_block - 1) / row_block;
    const int64_t col_blocks = (args.n + col_block - 1) / col_block;
    const int64_t blocks = row_blocks * col_blocks;
    // Saturating estimate of the work: any factor above the threshold decides alone.
    const bool small = args.m < kParallelMinimumWork && args.n < kParallelMinimumWork &&
                       args.k < kParallelMinimumWork && args.m * args.n < kParallelMinimumWork &&
                       args.m * args.n * args.k < kParallelMinimumWork;
    cpu::parallel_for(blocks, small ? blocks : 1, [&](int64_t begin, int64_t end) {
        for (int64_t block = begin; block < end; ++block) {
            const int64_t row = block / col_blocks * row_block;
            const int64_t col = block % col_blocks * col_block;
            gemm_block<T>(args, micro, epilogue, row, std::min(row_block, args.m - row), col,
                          std::min(col_block, args.n - col));
        }
    });
}

}  // namespace

void gemm(const GemmArgs& args) {
    const mln_isa isa = cpu::active_isa();
    if (args.c.dtype == MLN_DTYPE_F32) return gemm_typed<float>(args, sgemm_microkernel(isa));
    if (args.c.dtype == MLN_DTYPE_F64) return gemm_typed<double>(args, dgemm_microkernel(isa));
    throw Error(MLN_STATUS_NOT_SUPPORTED, cat("gemm is not supported for dtype ", dtype_name(args.c.dtype)));
}

}  // namespace mln::kernels
