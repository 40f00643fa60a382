// Normalization: forward against the reference twin, gradients by finite differences in
// double, running statistics and inference by plain formulas, argument validation.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "kernel_test_support.hpp"
#include "kernels/cpu/reference/reference_nn.hpp"

namespace mln::test {
namespace {

enum class Kind { batch, layer, group };

struct NormCase {
    Kind kind;
    std::vector<int64_t> x_shape;
    int64_t attribute;  // normalized_rank (layer) or groups (group)
};

std::string describe(const NormCase& c) {
    std::string shape;
    for (int64_t d : c.x_shape) shape += std::to_string(d) + ",";
    const char* kind = c.kind == Kind::batch ? "batch" : c.kind == Kind::layer ? "layer" : "group";
    return cat(kind, " x=", shape, " attribute=", c.attribute);
}

std::vector<int64_t> parameter_shape(const NormCase& c) {
    if (c.kind == Kind::layer) {
        return std::vector<int64_t>(c.x_shape.end() - c.attribute, c.x_shape.end());
    }
    return {c.x_shape[1]};
}

std::vector<int64_t> statistics_shape(const NormCase& c) {
    if (c.kind == Kind::batch) return {c.x_shape[1]};
    if (c.kind == Kind::group) return {c.x_shape[0], c.attribute};
    return std::vector<int64_t>(c.x_shape.begin(), c.x_shape.end() - c.attribute);
}

const mln_tensor_desc* desc_or_null(const HostTensor<float>* t) { return t != nullptr ? t->desc() : nullptr; }
const mln_tensor_desc* desc_or_null(const HostTensor<double>* t) { return t != nullptr ? t->desc() : nullptr; }

template <class T>
mln_status forward(mln_device* device, const NormCase& c, HostTensor<T>& x, const HostTensor<T>* scale,
                   const HostTensor<T>* bias, double epsilon, HostTensor<T>& y, HostTensor<T>& mean,
                   HostTensor<T>& invstd) {
    switch (c.kind) {
        case Kind::batch:
            return mln_batch_norm_forward_training(device, x.desc(), desc_or_null(scale), desc_or_null(bias), epsilon,
                                                   0.9, nullptr, nullptr, y.desc(), mean.desc(), invstd.desc());
        case Kind::layer:
            return mln_layer_norm_forward(device, x.desc(), static_cast<int32_t>(c.attribute), desc_or_null(scale),
                                          desc_or_null(bias), epsilon, y.desc(), mean.desc(), invstd.desc());
        case Kind::group:
            return mln_group_norm_forward(device, x.desc(), c.attribute, desc_or_null(scale), desc_or_null(bias),
                                          epsilon, y.desc(), mean.desc(), invstd.desc());
    }
    return MLN_STATUS_INTERNAL;
}

template <class T>
mln_status backward(mln_device* device, const NormCase& c, HostTensor<T>& x, HostTensor<T>& dy,
                    const HostTensor<T>* scale, HostTensor<T>& mean, HostTensor<T>& invstd, HostTensor<T>& dx,
                    HostTensor<T>& dscale, HostTensor<T>& dbias) {
    switch (c.kind) {
        case Kind::batch:
            return mln_batch_norm_backward(device, x.desc(), dy.desc(), desc_or_null(scale), mean.desc(), invstd.desc(),
                                           dx.desc(), dscale.desc(), dbias.desc());
        case Kind::layer:
            return mln_layer_norm_backward(device, x.desc(), dy.desc(), static_cast<int32_t>(c.attribute),
                                           desc_or_null(scale), mean.desc(), invstd.desc(), dx.desc(), dscale.desc(),
                                           dbias.desc());
        case Kind::group:
            return mln_group_norm_backward(device, x.desc(), dy.desc(), c.attribute, desc_or_null(scale), mean.desc(),
                                           invstd.desc(), dx.desc(), dscale.desc(), dbias.desc());
    }
    return MLN_STATUS_INTERNAL;
}

template <class T>
void reference_forward(const NormCase& c, HostTensor<T>& x, const HostTensor<T>* scale, const HostTensor<T>* bias,
                       double epsilon, HostTensor<T>& y, HostTensor<T>& mean, HostTensor<T>& invstd) {
    const TensorView scale_view = scale != nullptr ? scale->view() : TensorView{};
    const TensorView bias_view = bias != nullptr ? bias->view() : TensorView{};
    const TensorView* s = scale != nullptr ? &scale_view : nullptr;
    const TensorView* b = bias != nullptr ? &bias_view : nullptr;
    switch (c.kind) {
        case Kind::batch: return reference::batch_norm_training(x.view(), s, b, epsilon, y.view(), mean.view(), invstd.view());
        case Kind::layer:
            return reference::layer_norm_forward(x.view(), static_cast<int32_t>(c.attribute), s, b, epsilon, y.view(),
                                                 mean.view(), invstd.view());
        case Kind::group:
            return reference::group_norm_forward(x.view(), c.attribute, s, b, epsilon, y.view(), mean.view(),
                                                 invstd.view());
    }
}

std::vector<NormCase> cases() {
    return {
        {Kind::batch, {4, 3, 5, 7}, 0}, {Kind::batch, {1, 5, 3}, 0},   {Kind::batch, {7, 2}, 0},
        {Kind::batch, {2, 3, 2, 3, 5}, 0}, {Kind::layer, {3, 4, 9}, 1}, {Kind::layer, {2, 3, 5, 2}, 2},
        {Kind::layer, {17}, 1},          {Kind::layer, {2, 6}, 2},     {Kind::group, {2, 6, 5, 3}, 3},
        {Kind::group, {3, 4, 7}, 1},     {Kind::group, {1, 8, 2, 2}, 8}, {Kind::group, {2, 5}, 5},
    };
}

template <class T>
void check_forward(mln_device* device, const NormCase& c, bool affine, double offset) {
    SCOPED_TRACE(cat(describe(c), " affine=", affine, " offset=", offset));
    HostTensor<T> x(c.x_shape), y(c.x_shape), y_want(c.x_shape), scale(parameter_shape(c)), bias(parameter_shape(c));
    HostTensor<T> mean(statistics_shape(c)), invstd(statistics_shape(c)), mean_want(statistics_shape(c)),
        invstd_want(statistics_shape(c));
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = static_cast<T>(offset + uniform(-2.0, 2.0));
    fill_random(scale);
    fill_random(bias);
    const double epsilon = 1e-5;
    ASSERT_EQ(forward<T>(device, c, x, affine ? &scale : nullptr, affine ? &bias : nullptr, epsilon, y, mean, invstd),
              MLN_STATUS_OK)
        << mln_last_error();
    reference_forward<T>(c, x, affine ? &scale : nullptr, affine ? &bias : nullptr, epsilon, y_want, mean_want,
                         invstd_want);
    const double tol = std::numeric_limits<T>::epsilon() * 64;
    EXPECT_TRUE(near_all(y, y_want, tol)) << "y";
    EXPECT_TRUE(near_all(mean, mean_want, tol)) << "mean";
    EXPECT_TRUE(near_all(invstd, invstd_want, tol)) << "invstd";
}

class NormTest : public CpuDeviceTest {};

TEST_F(NormTest, ForwardMatchesReferenceF32AndF64WithAndWithoutAffine) {
    for (const NormCase& c : cases()) {
        for (bool affine : {true, false}) {
            check_forward<float>(device_, c, affine, 0.0);
            check_forward<double>(device_, c, affine, 0.0);
        }
    }
}

// A mean far from zero relative to the spread: a one-pass E[x^2] - E[x]^2 in f32 would lose
// every digit of the variance.
TEST_F(NormTest, StatisticsStayAccurateForALargeMean) {
    for (const NormCase& c : cases()) check_forward<float>(device_, c, true, 3000.0);
}

// L = sum(y * r): dx, dscale and dbias against central differences of L.
TEST_F(NormTest, GradientsMatchFiniteDifferences) {
    for (const NormCase& c : cases()) {
        for (bool affine : {true, false}) {
            SCOPED_TRACE(cat(describe(c), " affine=", affine));
            HostTensor<double> x(c.x_shape), y(c.x_shape), r(c.x_shape), dx(c.x_shape);
            HostTensor<double> scale(parameter_shape(c)), bias(parameter_shape(c)), dscale(parameter_shape(c)),
                dbias(parameter_shape(c));
            HostTensor<double> mean(statistics_shape(c)), invstd(statistics_shape(c));
            fill_random(x);
            fill_random(r);
            fill_random(scale);
            fill_random(bias);
            HostTensor<double>* s = affine ? &scale : nullptr;
            HostTensor<double>* b = affine ? &bias : nullptr;
            const double epsilon = 1e-3;
            ASSERT_EQ(forward<double>(device_, c, x, s, b, epsilon, y, mean, invstd), MLN_STATUS_OK) << mln_last_error();
            ASSERT_EQ(backward<double>(device_, c, x, r, s, mean, invstd, dx, dscale, dbias), MLN_STATUS_OK)
                << mln_last_error();
            auto loss = [&] {
                HostTensor<double> m(statistics_shape(c)), v(statistics_shape(c));
                EXPECT_EQ(forward<double>(device_, c, x, s, b, epsilon, y, m, v), MLN_STATUS_OK);
                double sum = 0.0;
                for (int64_t i = 0; i < y.count(); ++i) sum += y.at(i) * r.at(i);
                return sum;
            };
            auto check = [&](HostTensor<double>& v, HostTensor<double>& grad, const char* name) {
                for (int64_t i = 0; i < v.count(); ++i) {
                    const double saved = v.at(i);
                    v.at(i) = saved + 1e-6;
                    const double plus = loss();
                    v.at(i) = saved - 1e-6;
                    const double minus = loss();
                    v.at(i) = saved;
                    EXPECT_NEAR(grad.at(i), (plus - minus) / 2e-6, 2e-6 * (1.0 + std::fabs(grad.at(i))))
                        << name << " element " << i;
                }
            };
            check(x, dx, "dx");
            if (affine) {
                check(scale, dscale, "dscale");
                check(bias, dbias, "dbias");
            }
        }
    }
}

// Shapes for the f32 vector paths: batch norm planes on both sides of the span/column switch
// (spatial 64), strips wider than a column block (256), more images than a row block (64),
// sets longer than a sum chunk (1024), layer norm with more rows than a gradient block (32)
// (70 short sets: the forward's groups of 4 and 2 left over),
// sizes that leave a tail in every register width, and many short spans in one sum chunk.
std::vector<NormCase> vector_path_cases() {
    return {
        {Kind::batch, {3, 5, 67}, 0},   {Kind::batch, {2, 3, 9, 9}, 0}, {Kind::batch, {1, 2, 1031}, 0},
        {Kind::batch, {70, 300}, 0},    {Kind::batch, {67, 7, 3}, 0},   {Kind::batch, {5, 1, 1}, 0},
        {Kind::layer, {33, 1030}, 1},   {Kind::layer, {70, 17}, 1},     {Kind::layer, {3, 5, 13}, 2},
        {Kind::layer, {1, 1}, 1},       {Kind::group, {3, 6, 70}, 3},   {Kind::group, {65, 4}, 2},
        {Kind::group, {2, 4, 300}, 1},
        // Batch norm planes on either side of the column (16) and streaming (forward 1024,
        // backward 4096) thresholds,
        // ResNet's 7x7 and 14x14, several image blocks (1024 floats of a channel) and channel
        // groups (64), streamed planes longer than a sum chunk (1024).
        {Kind::batch, {4, 3, 1}, 0},    {Kind::batch, {3, 4, 7}, 0},    {Kind::batch, {5, 3, 15}, 0},
        {Kind::batch, {3, 2, 4, 4}, 0}, {Kind::batch, {3, 3, 17}, 0},   {Kind::batch, {5, 3, 7, 7}, 0},
        {Kind::batch, {3, 2, 14, 14}, 0}, {Kind::batch, {40, 2, 49}, 0},  {Kind::batch, {70, 2, 17}, 0},
        {Kind::batch, {3, 70, 16}, 0},  {Kind::batch, {2, 3, 255}, 0},  {Kind::batch, {4, 3, 256}, 0},
        {Kind::batch, {2, 3, 1023}, 0}, {Kind::batch, {3, 2, 1024}, 0}, {Kind::batch, {3, 2, 56, 56}, 0},
        {Kind::batch, {2, 3, 4095}, 0}, {Kind::batch, {1, 2, 4096}, 0},
        // Short planes walked image by image at each register: a channel group of 64 and one of
        // 3, registers across channel boundaries, images not on register boundaries.
        {Kind::batch, {20, 67, 23}, 0},
    };
}

template <class To, class From>
void copy_into(HostTensor<To>& to, HostTensor<From>& from) {
    for (int64_t i = 0; i < from.count(); ++i) to.at(i) = static_cast<To>(from.at(i));
}

// Puts t's elements (zeros) `shift` floats past a 64-byte boundary of its own storage.
void place_past_boundary(HostTensor<float>& t, int64_t shift) {
    std::vector<float>& storage = t.storage();
    storage.assign(static_cast<size_t>(t.count() + 32), 0.0f);
    const uintptr_t address = reinterpret_cast<uintptr_t>(storage.data());
    t.mutable_desc().data = storage.data() + (64 - address % 64) % 64 / sizeof(float) + shift;
}

// The f32 kernels (vector spans at `isa`) against the f64 plain loops, which the finite-
// difference test checks: forward y and statistics, backward dx, dscale, dbias, and batch norm
// inference. `nan_at` >= 0 puts a NaN into x there: it must spread over its set only. `shift`
// >= 0 puts x, dy, y and dx that many floats past a 64-byte boundary.
void check_f32_against_f64(mln_device* device, const NormCase& c, bool affine, double offset, int64_t nan_at,
                           int64_t shift = -1) {
    SCOPED_TRACE(cat(describe(c), " affine=", affine, " offset=", offset, " nan_at=", nan_at, " shift=", shift));
    const std::vector<int64_t> ps = parameter_shape(c), ss = statistics_shape(c);
    HostTensor<float> x(c.x_shape), dy(c.x_shape), y(c.x_shape), dx(c.x_shape), scale(ps), bias(ps), dscale(ps),
        dbias(ps), mean(ss), invstd(ss);
    if (shift >= 0) {
        for (HostTensor<float>* t : {&x, &dy, &y, &dx}) place_past_boundary(*t, shift);
    }
    HostTensor<double> x64(c.x_shape), dy64(c.x_shape), y64(c.x_shape), dx64(c.x_shape), scale64(ps), bias64(ps),
        dscale64(ps), dbias64(ps), mean64(ss), invstd64(ss);
    for (int64_t i = 0; i < x.count(); ++i) x.at(i) = static_cast<float>(offset + uniform(-2.0, 2.0));
    if (nan_at >= 0) x.at(nan_at % x.count()) = std::numeric_limits<float>::quiet_NaN();
    fill_random(dy);
    fill_random(scale);
    fill_random(bias);
    copy_into(x64, x);
    copy_into(dy64, dy);
    copy_into(scale64, scale);
    copy_into(bias64, bias);
    const double epsilon = 1e-5;
    ASSERT_EQ(forward<float>(device, c, x, affine ? &scale : nullptr, affine ? &bias : nullptr, epsilon, y, mean, invstd),
              MLN_STATUS_OK)
        << mln_last_error();
    ASSERT_EQ(forward<double>(device, c, x64, affine ? &scale64 : nullptr, affine ? &bias64 : nullptr, epsilon, y64,
                              mean64, invstd64),
              MLN_STATUS_OK)
        << mln_last_error();
    HostTensor<float> want(c.x_shape), want_stats(ss);
    const double tol = std::numeric_limits<float>::epsilon() * 64;
    copy_into(want, y64);
    EXPECT_TRUE(near_all(y, want, tol)) << "y";
    copy_into(want_stats, mean64);
    EXPECT_TRUE(near_all(mean, want_stats, tol)) << "mean";
    copy_into(want_stats, invstd64);
    EXPECT_TRUE(near_all(invstd, want_stats, tol)) << "invstd";

    // Backward from the f32 statistics in both, so only the backward arithmetic differs.
    copy_into(mean64, mean);
    copy_into(invstd64, invstd);
    ASSERT_EQ(backward<float>(device, c, x, dy, affine ? &scale : nullptr, mean, invstd, dx, dscale, dbias), MLN_STATUS_OK)
        << mln_last_error();
    ASSERT_EQ(backward<double>(device, c, x64, dy64, affine ? &scale64 : nullptr, mean64, invstd64, dx64, dscale64,
                               dbias64),
              MLN_STATUS_OK)
        << mln_last_error();
    HostTensor<float> want_parameter(ps);
    copy_into(want, dx64);
    EXPECT_TRUE(near_all(dx, want, 1e-4)) << "dx";
    copy_into(want_parameter, dscale64);
    EXPECT_TRUE(near_all(dscale, want_parameter, 1e-4)) << "dscale";
    copy_into(want_parameter, dbias64);
    EXPECT_TRUE(near_all(dbias, want_parameter, 1e-4)) << "dbias";

    if (c.kind != Kind::batch) return;
    // Inference with the running statistics: a large running mean tests the centring.
    HostTensor<float> running_mean(ss), running_var(ss);
    HostTensor<double> running_mean64(ss), running_var64(ss);
    for (int64_t i = 0; i < running_mean.count(); ++i) {
        running_mean.at(i) = static_cast<float>(offset + uniform(-1.0, 1.0));
        running_var.at(i) = static_cast<float>(uniform(0.5, 2.0));
    }
    copy_into(running_mean64, running_mean);
    copy_into(running_var64, running_var);
    ASSERT_EQ(mln_batch_norm_forward_inference(device, x.desc(), affine ? scale.desc() : nullptr,
                                               affine ? bias.desc() : nullptr, running_mean.desc(), running_var.desc(),
                                               epsilon, y.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    ASSERT_EQ(mln_batch_norm_forward_inference(device, x64.desc(), affine ? scale64.desc() : nullptr,
                                               affine ? bias64.desc() : nullptr, running_mean64.desc(),
                                               running_var64.desc(), epsilon, y64.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    copy_into(want, y64);
    EXPECT_TRUE(near_all(y, want, tol)) << "inference y";
}

TEST_F(NormTest, F32VectorPathsMatchF64AtEveryIsa) {
    for (mln_isa isa : available_isas()) {
        ScopedIsa scoped(isa);
        SCOPED_TRACE(cat("isa ", static_cast<int>(isa)));
        for (const NormCase& c : vector_path_cases()) {
            for (bool affine : {true, false}) check_f32_against_f64(device_, c, affine, 0.0, -1);
            check_f32_against_f64(device_, c, true, 3000.0, -1);
            check_f32_against_f64(device_, c, true, 0.0, 12345);
        }
    }
}

// Every walk starts its spans on register boundaries with a masked head register, but the
// writes of spans under 4 registers, which start at the span: tensors at each float offset
// within a 64-byte line, on batch norm planes that are a multiple of the register (56x56: the
// streamed spans and sums longer than a sum chunk; 64x64: channel by channel; 16x16: sums over
// images at each register), 7x7 across channel boundaries (short writes at AVX-512), and layer
// norm rows of 256.
TEST_F(NormTest, F32PathsMatchF64AtEveryOffsetWithinARegister) {
    for (mln_isa isa : available_isas()) {
        if (isa == MLN_ISA_SCALAR) continue;
        ScopedIsa scoped(isa);
        SCOPED_TRACE(cat("isa ", static_cast<int>(isa)));
        for (const NormCase& c : {NormCase{Kind::batch, {3, 2, 56, 56}, 0}, NormCase{Kind::batch, {2, 2, 64, 64}, 0},
                                  NormCase{Kind::batch, {6, 3, 16, 16}, 0}, NormCase{Kind::batch, {9, 5, 7, 7}, 0},
                                  NormCase{Kind::layer, {9, 256}, 1}}) {
            for (int64_t shift = 0; shift < 16; ++shift) check_f32_against_f64(device_, c, true, 0.0, -1, shift);
        }
    }
}

// Outputs of 16 MiB and more are written with non-temporal stores from the first aligned
// register (spans here start off alignment and end in a partial register): channel by channel
// (long planes), the streamed backward's dx (planes under 4096), and 7x7 planes, whose
// consecutive spans are written as one run of registers, many across a channel boundary
// (forward, backward and inference). The vector ISAs only: the one-lane scalar kernels have no
// streaming stores, and the cases are large.
TEST_F(NormTest, LargeOutputsWithStreamingStoresMatchF64AtEveryVectorIsa) {
    for (mln_isa isa : available_isas()) {
        if (isa == MLN_ISA_SCALAR) continue;
        ScopedIsa scoped(isa);
        SCOPED_TRACE(cat("isa ", static_cast<int>(isa)));
        check_f32_against_f64(device_, {Kind::batch, {2, 3, 700001}, 0}, true, 0.0, -1);
        check_f32_against_f64(device_, {Kind::batch, {1100, 2, 1999}, 0}, true, 0.0, -1);
        check_f32_against_f64(device_, {Kind::batch, {1400, 62, 7, 7}, 0}, true, 0.0, -1);
    }
}

// Every path (column strips, streamed images in several blocks and channel groups, channel by
// channel, layer norm) gives the same bits with 1, 2 and 3 threads.
TEST_F(NormTest, F32ResultsAreTheSameBitsForOneTwoAndThreeThreads) {
    for (const NormCase& c : {NormCase{Kind::batch, {70, 3, 7}, 0}, NormCase{Kind::batch, {45, 130, 49}, 0},
                              NormCase{Kind::batch, {5, 3, 300}, 0}, NormCase{Kind::batch, {3, 2, 4100}, 0},
                              NormCase{Kind::layer, {70, 33}, 1}}) {
        SCOPED_TRACE(describe(c));
        const std::vector<int64_t> ps = parameter_shape(c), ss = statistics_shape(c);
        HostTensor<float> x(c.x_shape), dy(c.x_shape), scale(ps), bias(ps);
        fill_random(x);
        fill_random(dy);
        fill_random(scale);
        fill_random(bias);
        std::vector<std::vector<float>> results;
        at_thread_counts(device_, {1, 2, 3}, [&] {
            HostTensor<float> y(c.x_shape), dx(c.x_shape), mean(ss), invstd(ss), dscale(ps), dbias(ps);
            ASSERT_EQ(forward<float>(device_, c, x, &scale, &bias, 1e-5, y, mean, invstd), MLN_STATUS_OK) << mln_last_error();
            ASSERT_EQ(backward<float>(device_, c, x, dy, &scale, mean, invstd, dx, dscale, dbias), MLN_STATUS_OK)
                << mln_last_error();
            results.emplace_back();
            for (HostTensor<float>* t : {&y, &dx, &mean, &invstd, &dscale, &dbias}) {
                for (int64_t i = 0; i < t->count(); ++i) results.back().push_back(t->at(i));
            }
        });
        ASSERT_EQ(results.size(), 3u);
        // Bitwise: NaN-free random data, so == compares the bits that matter.
        EXPECT_EQ(results[0], results[1]);
        EXPECT_EQ(results[0], results[2]);
    }
}

TEST_F(NormTest, BatchNormUpdatesRunningStatisticsAndInfersWithThem) {
    const int64_t n = 3, channels = 2, spatial = 5;
    HostTensor<float> x({n, channels, spatial}), y({n, channels, spatial}), mean({channels}), invstd({channels});
    HostTensor<float> running_mean({channels}), running_var({channels}), scale({channels}), bias({channels});
    fill_random(x);
    fill_random(scale);
    fill_random(bias);
    const float old_mean[] = {0.5f, -1.0f};
    const float old_var[] = {2.0f, 0.25f};
    for (int c = 0; c < 2; ++c) {
        running_mean.at(c) = old_mean[c];
        running_var.at(c) = old_var[c];
    }
    const double momentum = 0.9;
    const double epsilon = 1e-5;
    ASSERT_EQ(mln_batch_norm_forward_training(device_, x.desc(), scale.desc(), bias.desc(), epsilon, momentum,
                                              running_mean.desc(), running_var.desc(), y.desc(), mean.desc(),
                                              invstd.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    for (int64_t c = 0; c < channels; ++c) {
        double sum = 0.0;
        double squares = 0.0;
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t s = 0; s < spatial; ++s) sum += x.at((i * channels + c) * spatial + s);
        }
        const double m = sum / (n * spatial);
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t s = 0; s < spatial; ++s) {
                const double d = x.at((i * channels + c) * spatial + s) - m;
                squares += d * d;
            }
        }
        const double var = squares / (n * spatial);
        EXPECT_NEAR(running_mean.at(c), momentum * old_mean[c] + (1 - momentum) * m, 1e-5);
        EXPECT_NEAR(running_var.at(c), momentum * old_var[c] + (1 - momentum) * var, 1e-5);
    }
    ASSERT_EQ(mln_batch_norm_forward_inference(device_, x.desc(), scale.desc(), bias.desc(), running_mean.desc(),
                                               running_var.desc(), epsilon, y.desc()),
              MLN_STATUS_OK)
        << mln_last_error();
    for (int64_t i = 0; i < x.count(); ++i) {
        const int64_t c = i / spatial % channels;
        const double want =
            (x.at(i) - running_mean.at(c)) / std::sqrt(running_var.at(c) + epsilon) * scale.at(c) + bias.at(c);
        EXPECT_NEAR(y.at(i), want, 1e-5 * (1 + std::fabs(want))) << "element " << i;
    }
}

TEST_F(NormTest, RejectsBadArgumentsWithClearMessages) {
    HostTensor<float> x({2, 6, 3}), y({2, 6, 3}), c6({6}), c5({5}), stats4({4}), stats6({6});
    HostTensor<double> y64({2, 6, 3});
    EXPECT_TRUE(failed_with(mln_batch_norm_forward_training(device_, x.desc(), c5.desc(), nullptr, 1e-5, 0.9, nullptr,
                                                            nullptr, y.desc(), c6.desc(), c6.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_batch_norm_forward_training: scale is 5 but must be 6"}));
    EXPECT_TRUE(failed_with(mln_batch_norm_forward_training(device_, x.desc(), nullptr, nullptr, 1e-5, 1.5, nullptr,
                                                            nullptr, y.desc(), c6.desc(), c6.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"momentum is 1.5"}));
    EXPECT_TRUE(failed_with(mln_batch_norm_forward_training(device_, x.desc(), nullptr, nullptr, 1e-5, 0.9, c6.desc(),
                                                            nullptr, y.desc(), c6.desc(), c6.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"both be given or both be null"}));
    EXPECT_TRUE(failed_with(mln_batch_norm_forward_inference(device_, x.desc(), nullptr, nullptr, c6.desc(), c6.desc(),
                                                             -1.0, y.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"epsilon is -1"}));
    EXPECT_TRUE(failed_with(mln_group_norm_forward(device_, x.desc(), 4, nullptr, nullptr, 1e-5, y.desc(),
                                                   stats4.desc(), stats4.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"mln_group_norm_forward: groups is 4 but must be >= 1 and divide the 6 channels"}));
    EXPECT_TRUE(failed_with(mln_group_norm_forward(device_, x.desc(), 3, nullptr, nullptr, 1e-5, y.desc(),
                                                   stats4.desc(), stats4.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"saved_mean is 4 (4 elements) but must hold 6 values (N x groups = 2x3)"}));
    EXPECT_TRUE(failed_with(mln_layer_norm_forward(device_, x.desc(), 4, nullptr, nullptr, 1e-5, y.desc(),
                                                   stats6.desc(), stats6.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"normalized_rank is 4 but x is 2x6x3 (valid 1..3)"}));
    EXPECT_TRUE(failed_with(mln_layer_norm_forward(device_, x.desc(), 1, c6.desc(), nullptr, 1e-5, y.desc(),
                                                   stats6.desc(), stats6.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"scale is 6 but must be 3"}));
    EXPECT_TRUE(failed_with(mln_layer_norm_forward(device_, x.desc(), 1, nullptr, nullptr, 1e-5, y64.desc(),
                                                   stats6.desc(), stats6.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"dtype"}));
    HostTensor<float> empty({0, 6, 3});
    EXPECT_TRUE(failed_with(mln_batch_norm_forward_training(device_, empty.desc(), nullptr, nullptr, 1e-5, 0.9, nullptr,
                                                            nullptr, empty.desc(), c6.desc(), c6.desc()),
                            MLN_STATUS_INVALID_ARGUMENT, {"at least one element per channel"}));
}

}  // namespace
}  // namespace mln::test
