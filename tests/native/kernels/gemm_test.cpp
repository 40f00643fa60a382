#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/kernel_validation.hpp"
#include "core/text.hpp"
#include "cpu/isa.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/gemm/gemm_microkernel.hpp"
#include "kernels/cpu/gemm/gemm_pack.hpp"
#include "kernels/cpu/reference/reference_kernels.hpp"

namespace mln::test {
namespace {

struct GemmCase {
    int64_t m, n, k;
    bool transpose_a, transpose_b;
    double alpha, beta;
    bool bias;
    mln_unary_op activation;
    bool strided;  // random strides (negative, gapped) on a, b and c
};

std::string describe(const GemmCase& g) {
    return cat("m=", g.m, " n=", g.n, " k=", g.k, " ta=", g.transpose_a, " tb=", g.transpose_b, " alpha=", g.alpha,
               " beta=", g.beta, " bias=", g.bias, " act=", g.activation, " strided=", g.strided);
}

template <class T>
std::vector<int64_t> layout(const std::vector<int64_t>& shape, bool strided) {
    return strided ? random_strides(shape) : contiguous_strides(shape);
}

// Runs mln_gemm and the reference twin on the same inputs and compares within a tolerance
// that grows with k (the optimized kernel accumulates in T, the reference in double).
template <class T>
void check_gemm(mln_device* device, const GemmCase& g) {
    const std::vector<int64_t> a_shape = g.transpose_a ? std::vector<int64_t>{g.k, g.m} : std::vector<int64_t>{g.m, g.k};
    const std::vector<int64_t> b_shape = g.transpose_b ? std::vector<int64_t>{g.n, g.k} : std::vector<int64_t>{g.k, g.n};
    const std::vector<int64_t> c_shape = {g.m, g.n};
    HostTensor<T> a(a_shape, layout<T>(a_shape, g.strided));
    HostTensor<T> b(b_shape, layout<T>(b_shape, g.strided));
    HostTensor<T> c(c_shape, layout<T>(c_shape, g.strided));
    HostTensor<T> want(c_shape);
    HostTensor<T> bias({g.n});
    fill_random(a);
    fill_random(b);
    fill_random(bias);
    for (int64_t i = 0; i < c.count(); ++i) {
        // With beta == 0, c must not be read: NaN there must not reach the result.
        c.at(i) = g.beta == 0.0 ? std::numeric_limits<T>::quiet_NaN() : random_value<T>();
        want.at(i) = c.at(i);
    }
    const GemmArgs reference_args =
        validate_gemm(*device, a.desc(), g.transpose_a, b.desc(), g.transpose_b, want.desc(), g.alpha, g.beta,
                      g.bias ? bias.desc() : nullptr, g.activation);
    reference::gemm(reference_args);
    ASSERT_EQ(mln_gemm(device, a.desc(), g.transpose_a, b.desc(), g.transpose_b, c.desc(), g.alpha, g.beta,
                       g.bias ? bias.desc() : nullptr, g.activation, nullptr),
              MLN_STATUS_OK)
        << mln_last_error();
    // Inputs are in [-4, 4]: each product is below 16 in magnitude.
    const double tolerance =
        std::numeric_limits<T>::epsilon() * (16.0 * static_cast<double>(g.k + 2) * std::fabs(g.alpha) + 64.0);
    for (int64_t i = 0; i < want.count(); ++i) {
        ASSERT_FALSE(std::isnan(c.at(i))) << describe(g) << " element " << i;
        ASSERT_NEAR(c.at(i), want.at(i), tolerance * (1.0 + std::fabs(want.at(i)))) << describe(g) << " element " << i;
    }
}

// f32 m x n x k in each transpose combination, each with its own epilogue: plain (NN), bias (TN),
// ReLU (NT), beta 0.5 (TT).
void check_every_transpose_f32(mln_device* device, int64_t m, int64_t n, int64_t k) {
    for (int t = 0; t < 4; ++t) {
        check_gemm<float>(device, {m, n, k, (t & 1) != 0, (t & 2) != 0, 1.0, t == 3 ? 0.5 : 0.0, t == 1,
                                   t == 2 ? MLN_UNARY_OP_RELU : MLN_UNARY_OP_IDENTITY, false});
    }
}

class GemmTest : public CpuDeviceTest {};

TEST_F(GemmTest, MatchesReferenceOnEdgeSizesEveryIsaAndTranspose) {
    // Tile multiples and their neighbours for the 6 x 16 (AVX2) and 8 x 32 (AVX-512) kernels.
    const int64_t sizes[][3] = {{0, 0, 0},    {0, 5, 3},    {5, 0, 3},    {5, 3, 0},     {1, 1, 1},
                                {1, 17, 1},   {7, 13, 5},   {6, 16, 9},   {13, 31, 17},  {37, 41, 43},
                                {5, 2, 263},  {8, 32, 9},   {9, 33, 8},   {17, 63, 15},  {16, 64, 1}};
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const auto& size : sizes) {
            for (int t = 0; t < 4; ++t) {
                const GemmCase g{size[0], size[1], size[2], (t & 1) != 0, (t & 2) != 0, 1.0, 0.0,
                                 false,   MLN_UNARY_OP_IDENTITY, false};
                check_gemm<float>(device_, g);
                check_gemm<double>(device_, g);
            }
        }
    }
}

TEST_F(GemmTest, MatchesReferenceWithEpiloguesAndStrides) {
    const mln_unary_op activations[] = {MLN_UNARY_OP_IDENTITY, MLN_UNARY_OP_RELU, MLN_UNARY_OP_TANH,
                                        MLN_UNARY_OP_SIGMOID};
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (int trial = 0; trial < 24; ++trial) {
            GemmCase g{uniform_int(1, 40), uniform_int(1, 40), uniform_int(1, 40), uniform_int(0, 1) == 1,
                       uniform_int(0, 1) == 1, uniform(-2.0, 2.0), trial % 3 == 0 ? 0.0 : uniform(-1.0, 1.0),
                       uniform_int(0, 1) == 1, activations[trial % 4], trial % 2 == 0};
            check_gemm<float>(device_, g);
            check_gemm<double>(device_, g);
        }
    }
}

TEST_F(GemmTest, LargeMultiBlockMultiThreaded) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        check_gemm<float>(device_, {157, 301, 290, false, true, 0.75, 0.5, true, MLN_UNARY_OP_RELU, false});
        check_gemm<double>(device_, {131, 89, 300, true, false, 1.0, 0.0, true, MLN_UNARY_OP_IDENTITY, true});
        check_gemm<float>(device_, {131, 97, 270, true, false, 1.0, 0.0, false, MLN_UNARY_OP_IDENTITY, false});
        check_gemm<double>(device_, {157, 301, 290, false, true, 0.75, 0.5, true, MLN_UNARY_OP_RELU, false});
    }
}

// One thread: both sides of each limit of the unblocked path (gemm_driver.cpp): operands in
// place up to 48 KiB for B (96 x 128 exactly, then one more row and column) and 512 KiB for A^T
// (256 x 512, then 257 x 513) while its rows are under 4 KiB (1023 x 64 in place, 1024 x 64
// packed), at most 2 MiB packed (A^T of 980 x 512 just under with B's edge
// panel, 1040 x 512 over; B of 512 x 980 just under with A's edge panel, 512 x 1040 over), the
// AVX2 kernel's 96^3 work limit, and a depth past the old 512 limit with edge tiles everywhere.
// Where B is packed whole, the first row tile packs each full panel as it reads it
// (strided_copying_b): an edge row tile first (5 rows), with packed A (1024 x 40 x 64 transposed),
// and with an edge panel packed before (33, 129 columns).
TEST_F(GemmTest, UnblockedAndBlockedPathsAgreeOnOneThread) {
    ASSERT_EQ(mln_device_set_thread_count(device_, 1), MLN_STATUS_OK);
    const int64_t sizes[][3] = {{64, 128, 96},  {65, 129, 97}, {256, 33, 512}, {257, 33, 513},
                                {980, 9, 512},  {1040, 9, 512}, {9, 980, 512}, {9, 1040, 512},
                                {97, 95, 96},   {97, 97, 97},  {40, 33, 513},  {203, 77, 784},
                                {1023, 40, 64}, {1024, 40, 64}, {5, 300, 200}};
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const auto& size : sizes) {
            check_every_transpose_f32(device_, size[0], size[1], size[2]);
            check_gemm<double>(device_, {size[0], size[1], size[2], true, false, 1.0, 0.0, true, MLN_UNARY_OP_RELU,
                                         false});
        }
    }
}

// Edge tiles on one thread, where the AVX-512 kernels and the AVX2 float one run them in place
// through the edge micro-kernel: a last column panel of one vector (float 48: 16 columns, 65: 1,
// 47: 15) or of two (49: 17 columns, 63: 31; double 30: 14) and a last row tile of 1 to 7 rows
// (up to 4 with two vectors: the half-height tile), every transpose (B transposed is packed; A
// transposed is read in place). Where B is read in place, the AVX-512 kernels run a last panel
// of up to 16 columns (double 8) with the full one before it as one tile (edge_extra_cols):
// float 48, 65, 47, 97 (1 column past 96), 45 and 40 with 3 and 4 rows (the half-height form);
// double 65, 47, 97, 40.
TEST_F(GemmTest, EdgeTilesOfEveryWidthMatchReference) {
    ASSERT_EQ(mln_device_set_thread_count(device_, 1), MLN_STATUS_OK);
    const int64_t sizes[][3] = {{48, 48, 48}, {65, 65, 65}, {63, 47, 33}, {7, 49, 40}, {15, 63, 64},
                                {36, 30, 20}, {29, 97, 53}, {3, 45, 9},   {4, 40, 71}};
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        for (const auto& size : sizes) {
            check_every_transpose_f32(device_, size[0], size[1], size[2]);
            check_gemm<double>(device_, {size[0], size[1], size[2], false, false, 0.5, 0.25, true,
                                         MLN_UNARY_OP_RELU, false});
        }
    }
    ASSERT_EQ(mln_device_set_thread_count(device_, 0), MLN_STATUS_OK);
}

// Teams of two and three (more members than this machine may have cores, so some start late)
// on the unblocked path split by columns only (AVX-512 float: 128^3, just over the 2 M
// multiply-adds from which a second thread runs; 160 x 170; 128 x 784 x 256 and 203 x 77 x 784
// with an edge panel, the latter with an edge row tile too; the AVX2 kernels and double: 96^3),
// where B transposed is packed panel by panel by the blocks, and by rows too (one column panel:
// 1003 x 9 x 512 with an edge row tile, A^T of 2 MB read in place, B transposed packed by the
// team first; 1024 x 40 x 128 on three, A^T rows of 4 KiB packed by the team; 300 x 112 x 96,
// B in place, the last block's full and 16-column panels one tile: edge_extra_cols), and on the
// blocked path (A^T of 1040 x 512 and B of 512 x 1040 are over the unblocked path's 2 MiB),
// every transpose. At AVX2, 128 x 784 x 256 and 40 x 1000 x 300 (edge panels and tile, bias,
// ReLU, random strides) run the blocked path with the columns split between the members (rows
// in one block, B over team_column_split_b_bytes).
TEST_F(GemmTest, TeamPathsAgreeWithReference) {
    const int64_t sizes[][3] = {{128, 128, 128}, {160, 170, 161}, {128, 784, 256}, {96, 96, 96},  {203, 77, 784},
                                {1003, 9, 512},  {1024, 40, 128}, {1040, 9, 512},  {9, 1040, 512}, {300, 112, 96}};
    for (int32_t members : {2, 3}) {
        ASSERT_EQ(mln_device_set_thread_count(device_, members), MLN_STATUS_OK);
        for (mln_isa isa : available_isas()) {
            ScopedIsa scoped(isa);
            for (const auto& size : sizes) {
                check_every_transpose_f32(device_, size[0], size[1], size[2]);
            }
            check_gemm<double>(device_, {203, 77, 784, true, false, 1.0, 0.0, true, MLN_UNARY_OP_RELU, false});
            check_gemm<double>(device_, {96, 96, 96, false, true, 1.0, 0.0, true, MLN_UNARY_OP_RELU, false});
            check_gemm<float>(device_, {128, 784, 256, false, false, 1.0, 0.0, true, MLN_UNARY_OP_RELU, true});
            check_gemm<float>(device_, {40, 1000, 300, true, true, 0.5, 0.5, true, MLN_UNARY_OP_RELU, true});
        }
    }
    ASSERT_EQ(mln_device_set_thread_count(device_, 0), MLN_STATUS_OK);
}

// The blocked path split every way, edge tiles in each direction: 190 x 500 x 2100 on one
// thread (float: 3 depth blocks, so beta applies on the first and the epilogue on the last,
// 2 row and 2 column blocks; double: 5 x 2 x 3), and 100 x 1000 x 1100 on a team of three
// (2 depth, 3 row, 2 column blocks) and 100 x 520 x 1100 (one column block, packed by the team).
// At AVX2 on one thread, B under packed_path_copy_b_bytes is packed by the first row tile of
// each depth block (250 x 115 x 1100: 2 depth and 2 row blocks, an edge panel of 3 columns and
// an edge row tile; with gapped random strides, beta and ReLU; 5 x 200 x 1000: a first row tile
// of 5 rows).
TEST_F(GemmTest, BlockedPathSplitsDepthRowsAndColumns) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        ASSERT_EQ(mln_device_set_thread_count(device_, 1), MLN_STATUS_OK);
        check_every_transpose_f32(device_, 190, 500, 2100);
        check_every_transpose_f32(device_, 250, 115, 1100);
        check_every_transpose_f32(device_, 5, 200, 1000);
        check_gemm<float>(device_, {250, 115, 1100, false, false, 0.75, 0.5, true, MLN_UNARY_OP_RELU, true});
        check_gemm<double>(device_, {190, 500, 2100, true, false, 0.75, 0.5, true, MLN_UNARY_OP_RELU, false});
        ASSERT_EQ(mln_device_set_thread_count(device_, 3), MLN_STATUS_OK);
        check_every_transpose_f32(device_, 100, 1000, 1100);
        check_gemm<float>(device_, {100, 520, 1100, false, true, 1.0, 0.5, true, MLN_UNARY_OP_RELU, false});
    }
    ASSERT_EQ(mln_device_set_thread_count(device_, 0), MLN_STATUS_OK);
}

TEST_F(GemmTest, EmptyDepthAppliesBetaBiasAndActivation) {
    HostTensor<float> a({2, 0});
    HostTensor<float> b({0, 3});
    HostTensor<float> c({2, 3});
    HostTensor<float> bias({3});
    for (int i = 0; i < 6; ++i) c.at(i) = static_cast<float>(i) - 3.0f;
    for (int j = 0; j < 3; ++j) bias.at(j) = 1.0f;
    ASSERT_EQ(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1.0, 2.0, bias.desc(), MLN_UNARY_OP_RELU, nullptr),
              MLN_STATUS_OK)
        << mln_last_error();
    for (int i = 0; i < 6; ++i) EXPECT_EQ(c.at(i), std::max(0.0f, 2.0f * (static_cast<float>(i) - 3.0f) + 1.0f));
    for (int i = 0; i < 6; ++i) c.at(i) = NAN;
    ASSERT_EQ(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1.0, 0.0, nullptr, MLN_UNARY_OP_IDENTITY, nullptr),
              MLN_STATUS_OK);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(c.at(i), 0.0f);
}

TEST_F(GemmTest, NonFiniteInputsPropagateLikeReference) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        HostTensor<float> a({9, 20});
        HostTensor<float> b({20, 19});
        HostTensor<float> c({9, 19});
        HostTensor<float> want({9, 19});
        fill_random(a);
        fill_random(b);
        a.at(3 * 20 + 4) = INFINITY;  // row 3 becomes +-inf (or NaN where b is 0)
        b.at(5 * 19 + 7) = NAN;       // column 7 becomes NaN
        reference::gemm(validate_gemm(*device_, a.desc(), 0, b.desc(), 0, want.desc(), 1.0, 0.0, nullptr,
                                      MLN_UNARY_OP_IDENTITY));
        ASSERT_EQ(mln_gemm(device_, a.desc(), 0, b.desc(), 0, c.desc(), 1.0, 0.0, nullptr, MLN_UNARY_OP_IDENTITY,
                           nullptr),
                  MLN_STATUS_OK);
        for (int64_t i = 0; i < want.count(); ++i) {
            if (std::isfinite(want.at(i))) {
                EXPECT_NEAR(c.at(i), want.at(i), 1e-4 * (1.0 + std::fabs(want.at(i))));
            } else {
                EXPECT_TRUE(same_element(c.at(i), want.at(i))) << "element " << i << ": " << c.at(i) << " vs "
                                                               << want.at(i);
            }
        }
    }
}

// The fused epilogues a micro-kernel test runs: none, then subsets of bias, residual and ReLU
// (each store variant of a kernel, with and without the residual; without ReLU the residual's
// NaN must come through the store as it does through ReLU).
struct TileEpilogue {
    bool fused, bias, residual, relu;
};
constexpr TileEpilogue kTileEpilogues[] = {{false, false, false, false}, {true, true, true, true},
                                           {true, true, false, false},   {true, true, false, true},
                                           {true, false, true, false}};

template <class T>
kernels::GemmTileExtras<T> tile_extras(const TileEpilogue& e, const T* bias, const T* residual, int64_t ldc) {
    return {e.bias ? bias : nullptr, e.residual ? residual : nullptr, ldc, e.relu};
}

// The epilogue on a tile element's expected value (NaN stays NaN).
template <class T>
double with_epilogue(const TileEpilogue& e, double value, T bias, T residual) {
    if (e.bias) value += static_cast<double>(bias);
    if (e.residual) value += static_cast<double>(residual);
    if (e.relu && value < 0.0) value = 0.0;
    return value;
}

// The micro-kernels on their own, against their contract: packed A (strides 1, MR) and, through
// `strided` and `strided_copying_b` (where the set has one; B read at a gapped row stride and
// copied), row-major A with a gap after each row; beta 0 (C holds NaN and must not be read)
// and not; without extras and with the fused epilogues of kTileEpilogues.
template <class T>
void check_microkernel(const kernels::GemmMicroKernelInfo<T>& micro) {
    const int mr = micro.mr;
    const int nr = micro.nr;
    const int64_t ldc = nr + 3;
    for (int form = 0; form < 3; ++form) {  // packed A, strided A, strided A copying B
        const bool packed = form == 0;
        const bool copying = form == 2;
        if (copying && micro.strided_copying_b == nullptr) continue;
        for (const TileEpilogue& epilogue : kTileEpilogues) {
            for (int64_t kc : {0, 1, 7, 64}) {
                for (T beta : {T(0), T(0.5)}) {
                    // A(i, p) at a[i * a_row + p * a_col].
                    const int64_t a_row = packed ? 1 : kc + 5;
                    const int64_t a_col = packed ? mr : 1;
                    std::vector<T> a(static_cast<size_t>(packed ? kc * mr : mr * (kc + 5)));
                    std::vector<T> b(static_cast<size_t>(kc * nr));
                    std::vector<T> c(static_cast<size_t>(mr * ldc));
                    std::vector<T> bias(static_cast<size_t>(nr));
                    std::vector<T> residual(static_cast<size_t>(mr * ldc));
                    for (auto* v : {&a, &b, &bias, &residual}) {
                        for (auto& x : *v) x = random_value<T>();
                    }
                    residual[static_cast<size_t>(1 * ldc + 2)] = std::numeric_limits<T>::quiet_NaN();
                    for (auto& v : c) v = beta == T(0) ? std::numeric_limits<T>::quiet_NaN() : random_value<T>();
                    const std::vector<T> c_before = c;
                    const T alpha = T(1.5);
                    const kernels::GemmTileExtras<T> extras = tile_extras(epilogue, bias.data(), residual.data(), ldc);
                    const kernels::GemmTileExtras<T>* const extras_or_none = epilogue.fused ? &extras : nullptr;
                    // The copying kernel reads B at a row stride with a gap and must copy it packed.
                    const int64_t b_line = nr + 7;
                    std::vector<T> b_source(static_cast<size_t>(kc * b_line));
                    std::vector<T> b_copy(static_cast<size_t>(kc * nr), std::numeric_limits<T>::quiet_NaN());
                    for (int64_t p = 0; p < kc; ++p) {
                        for (int j = 0; j < nr; ++j) {
                            b_source[static_cast<size_t>(p * b_line + j)] = b[static_cast<size_t>(p * nr + j)];
                        }
                    }
                    if (copying) {
                        micro.strided_copying_b(kc, a.data(), a_row, a_col, b_source.data(), b_line, b_copy.data(),
                                                c.data(), ldc, alpha, beta, extras_or_none);
                        EXPECT_EQ(b_copy, b) << micro.name << " copy of B, kc=" << kc;
                    } else {
                        (packed ? micro.packed : micro.strided)(kc, a.data(), a_row, a_col, b.data(), nr, c.data(),
                                                                ldc, alpha, beta, extras_or_none);
                    }
                    for (int i = 0; i < mr; ++i) {
                        for (int j = 0; j < ldc; ++j) {
                            const size_t at = static_cast<size_t>(i * ldc + j);
                            if (j >= nr) {  // outside the tile: untouched
                                EXPECT_TRUE(same_element(c[at], c_before[at])) << micro.name;
                                continue;
                            }
                            double sum = 0.0;
                            for (int64_t p = 0; p < kc; ++p) {
                                sum += static_cast<double>(a[static_cast<size_t>(i * a_row + p * a_col)]) *
                                       static_cast<double>(b[static_cast<size_t>(p * nr + j)]);
                            }
                            double expected = alpha * sum;
                            if (beta != T(0)) expected += beta * static_cast<double>(c_before[at]);
                            expected = with_epilogue(epilogue, expected, bias[static_cast<size_t>(j)], residual[at]);
                            if (std::isnan(expected)) {
                                EXPECT_TRUE(std::isnan(c[at])) << micro.name << " i=" << i << " j=" << j;
                                continue;
                            }
                            EXPECT_NEAR(c[at], expected, 1e-4 * (1.0 + std::fabs(expected)))
                                << micro.name << (packed ? " packed" : copying ? " copying B" : " strided")
                                << " epilogue=" << epilogue.bias << epilogue.residual << epilogue.relu
                                << " kc=" << kc << " i=" << i << " j=" << j;
                        }
                    }
                }
            }
        }
    }
}

// The edge micro-kernel (where the set has one) against its contract on every rows x cols up
// to MR x (NR + edge_extra_cols): A rows and B columns outside the edge, bias lanes past it and the residual outside
// it hold NaN (read in place, unpadded, none may reach C), and C outside the edge is untouched.
template <class T>
void check_edge_microkernel(const kernels::GemmMicroKernelInfo<T>& micro) {
    if (micro.edge == nullptr) return;
    const int mr = micro.mr;
    const int nr = micro.nr + micro.edge_extra_cols;  // the widest edge tile
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const int64_t ldc = nr + 3;
    for (int rows = 1; rows <= mr; ++rows) {
        for (int cols = 1; cols <= nr; ++cols) {
            for (const TileEpilogue& epilogue : kTileEpilogues) {
                // 32, 37: depth vectors, without and with a tail (dot-product form)
                for (int64_t kc : {0, 1, 9, 32, 37}) {
                    const T beta = kc == 1 ? T(0) : T(0.5);
                    const int64_t a_row = kc + 2;  // row-major A with a gap
                    const int64_t b_line = nr + 5;
                    std::vector<T> a(static_cast<size_t>(mr * a_row), nan);
                    std::vector<T> b(static_cast<size_t>(std::max<int64_t>(kc, 1) * b_line), nan);
                    std::vector<T> bias(static_cast<size_t>(nr), nan);
                    std::vector<T> residual(static_cast<size_t>(mr * ldc), nan);
                    std::vector<T> c(static_cast<size_t>(mr * ldc));
                    for (int i = 0; i < rows; ++i) {
                        for (int64_t p = 0; p < kc; ++p) a[static_cast<size_t>(i * a_row + p)] = random_value<T>();
                        for (int j = 0; j < cols; ++j) residual[static_cast<size_t>(i * ldc + j)] = random_value<T>();
                    }
                    for (int64_t p = 0; p < kc; ++p) {
                        for (int j = 0; j < cols; ++j) b[static_cast<size_t>(p * b_line + j)] = random_value<T>();
                    }
                    for (int j = 0; j < cols; ++j) bias[static_cast<size_t>(j)] = random_value<T>();
                    for (auto& v : c) v = beta == T(0) ? nan : random_value<T>();
                    const std::vector<T> c_before = c;
                    const T alpha = T(-1.25);
                    const kernels::GemmTileExtras<T> extras = tile_extras(epilogue, bias.data(), residual.data(), ldc);
                    const kernels::GemmTileExtras<T>* const extras_or_none = epilogue.fused ? &extras : nullptr;
                    // A also as a packed panel (A(i, p) at i + p * mr), the layout of the packed paths.
                    std::vector<T> packed_a(static_cast<size_t>(std::max<int64_t>(kc, 1) * mr), nan);
                    for (int i = 0; i < rows; ++i) {
                        for (int64_t p = 0; p < kc; ++p) {
                            packed_a[static_cast<size_t>(p * mr + i)] = a[static_cast<size_t>(i * a_row + p)];
                        }
                    }
                    std::vector<T> c_packed = c;
                    micro.edge(rows, cols, kc, a.data(), a_row, 1, b.data(), b_line, c.data(), ldc, alpha, beta,
                               extras_or_none);
                    micro.edge(rows, cols, kc, packed_a.data(), 1, mr, b.data(), b_line, c_packed.data(), ldc, alpha,
                               beta, extras_or_none);
                    for (int i = 0; i < mr; ++i) {
                        for (int j = 0; j < ldc; ++j) {
                            const size_t at = static_cast<size_t>(i * ldc + j);
                            if (i >= rows || j >= cols) {
                                EXPECT_TRUE(same_element(c[at], c_before[at]) &&
                                            same_element(c_packed[at], c_before[at]))
                                    << micro.name << " edge " << rows << "x" << cols << " wrote i=" << i << " j=" << j;
                                continue;
                            }
                            double sum = 0.0;
                            for (int64_t p = 0; p < kc; ++p) {
                                sum += static_cast<double>(a[static_cast<size_t>(i * a_row + p)]) *
                                       static_cast<double>(b[static_cast<size_t>(p * b_line + j)]);
                            }
                            double expected = alpha * sum;
                            if (beta != T(0)) expected += beta * static_cast<double>(c_before[at]);
                            expected = with_epilogue(epilogue, expected, bias[static_cast<size_t>(j)], residual[at]);
                            EXPECT_NEAR(c[at], expected, 1e-4 * (1.0 + std::fabs(expected)))
                                << micro.name << " edge " << rows << "x" << cols << " epilogue=" << epilogue.bias
                                << epilogue.residual << epilogue.relu << " kc=" << kc << " i=" << i << " j=" << j;
                            EXPECT_NEAR(c_packed[at], expected, 1e-4 * (1.0 + std::fabs(expected)))
                                << micro.name << " edge, packed A " << rows << "x" << cols
                                << " epilogue=" << epilogue.bias << epilogue.residual << epilogue.relu << " kc=" << kc
                                << " i=" << i << " j=" << j;
                        }
                    }
                }
            }
        }
    }
}

// Each ISA's vector packers against the portable packing loops (no packers) on the same
// source: both transposes of A and B, depths around the packers' step runs (8 and 16), one to
// three full panels plus an edge panel (several widths for B), source strides with a gap.
template <class T>
void check_packers(const kernels::GemmMicroKernelInfo<T>& micro) {
    const kernels::GemmPanelPackers<T> portable{};
    for (int64_t depth : {0, 1, 7, 8, 9, 16, 17, 40}) {
        for (int64_t panels : {1, 2, 3}) {
            for (bool transposed : {false, true}) {
                const int64_t rows = panels * micro.mr + 3;
                const int64_t cols = panels * micro.nr + micro.nr - 1;  // with the widest edge panel below
                // Source big enough for either orientation, with a gap of 3 after each line.
                std::vector<T> source(static_cast<size_t>((std::max(rows, cols) + 3) * (depth + 3) + 64));
                for (auto& x : source) x = random_value<T>();
                const int64_t a_line = transposed ? rows + 3 : depth + 3;
                const kernels::MatrixRef<T> a = transposed ? kernels::MatrixRef<T>{source.data(), 1, a_line}
                                                           : kernels::MatrixRef<T>{source.data(), a_line, 1};
                std::vector<T> want(static_cast<size_t>((panels + 1) * micro.mr * depth));
                std::vector<T> got(want.size());
                kernels::pack_a_panels(a, 0, rows, 0, depth, micro.mr, portable, want.data());
                kernels::pack_a_panels(a, 0, rows, 0, depth, micro.mr, micro.packers, got.data());
                EXPECT_EQ(got, want) << micro.name << " A depth=" << depth << " panels=" << panels
                                     << " transposed=" << transposed;
                const int64_t b_line = transposed ? depth + 3 : cols + 3;
                const kernels::MatrixRef<T> b = transposed ? kernels::MatrixRef<T>{source.data(), 1, b_line}
                                                           : kernels::MatrixRef<T>{source.data(), b_line, 1};
                // Edge panels of 1, 5, 8, 13 and NR - 1 columns (whole and partial 8-column
                // groups of the transposing packers); garbage in `got` shows unwritten padding.
                for (int64_t edge_cols : {int64_t{1}, int64_t{5}, int64_t{8}, int64_t{13}, int64_t{micro.nr - 1}}) {
                    if (edge_cols >= micro.nr) continue;
                    const int64_t b_cols = panels * micro.nr + edge_cols;
                    want.assign(static_cast<size_t>((panels + 1) * micro.nr * depth), T(0));
                    got.assign(want.size(), T(-7));
                    kernels::pack_b_panels(b, 0, depth, 0, b_cols, micro.nr, portable, want.data());
                    kernels::pack_b_panels(b, 0, depth, 0, b_cols, micro.nr, micro.packers, got.data());
                    EXPECT_EQ(got, want) << micro.name << " B depth=" << depth << " panels=" << panels
                                         << " edge columns=" << edge_cols << " transposed=" << transposed;
                }
            }
        }
    }
}

TEST(GemmPack, VectorPackersMatchThePortableLoops) {
    for (mln_isa isa : available_isas()) {
        check_packers(kernels::sgemm_microkernel(isa));
        check_packers(kernels::dgemm_microkernel(isa));
    }
}

TEST(GemmMicroKernel, EveryMicroKernelHonoursItsContract) {
    for (mln_isa isa : available_isas()) {
        check_microkernel(kernels::sgemm_microkernel(isa));
        check_microkernel(kernels::dgemm_microkernel(isa));
        check_edge_microkernel(kernels::sgemm_microkernel(isa));
        check_edge_microkernel(kernels::dgemm_microkernel(isa));
    }
    EXPECT_STREQ(kernels::sgemm_microkernel(MLN_ISA_SCALAR).name, "sgemm_scalar_4x8");
    if (cpu::runs_avx2(cpu::best_isa())) {
        EXPECT_STREQ(kernels::sgemm_microkernel(MLN_ISA_AVX2).name, "sgemm_avx2_6x16");
        EXPECT_STREQ(kernels::dgemm_microkernel(MLN_ISA_AVX2).name, "dgemm_avx2_6x8");
    }
    if (cpu::best_isa() == MLN_ISA_AVX512) {
        EXPECT_NE(kernels::sgemm_microkernel(MLN_ISA_AVX512).edge, nullptr);
        EXPECT_NE(kernels::dgemm_microkernel(MLN_ISA_AVX512).edge, nullptr);
        EXPECT_STREQ(kernels::sgemm_microkernel(MLN_ISA_AVX512).name, "sgemm_avx512_8x32");
        EXPECT_STREQ(kernels::dgemm_microkernel(MLN_ISA_AVX512).name, "dgemm_avx512_8x16");
    }
}

}  // namespace
}  // namespace mln::test
