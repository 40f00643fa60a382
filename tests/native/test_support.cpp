#include "test_support.hpp"

#include <algorithm>
#include <numeric>

#include "core/validation.hpp"

namespace mln::test {

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
    std::vector<int64_t> strides(shape.size(), 1);
    for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) {
        strides[static_cast<size_t>(d)] =
            strides[static_cast<size_t>(d) + 1] * std::max<int64_t>(shape[static_cast<size_t>(d) + 1], 1);
    }
    return strides;
}

TensorView view_of(const mln_tensor_desc* desc) { return validate_tensor("test", desc, Access::read); }

void CpuDeviceTest::SetUp() { ASSERT_EQ(mln_device_create(MLN_DEVICE_KIND_CPU, 0, &device_), MLN_STATUS_OK); }

void CpuDeviceTest::TearDown() { mln_device_destroy(device_); }

::testing::AssertionResult failed_with(mln_status status, mln_status expected,
                                       std::initializer_list<std::string> fragments) {
    const std::string message = mln_last_error();
    if (status != expected) {
        return ::testing::AssertionFailure() << "status " << status << " but expected " << expected
                                             << "; message: \"" << message << "\"";
    }
    for (const std::string& fragment : fragments) {
        if (message.find(fragment) == std::string::npos) {
            return ::testing::AssertionFailure() << "message \"" << message << "\" lacks \"" << fragment << "\"";
        }
    }
    return ::testing::AssertionSuccess();
}

std::mt19937_64& rng() {
    static std::mt19937_64 generator(12345);
    return generator;
}

double uniform(double low, double high) { return std::uniform_real_distribution<double>(low, high)(rng()); }

int64_t uniform_int(int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(rng()); }

std::vector<int64_t> random_strides(const std::vector<int64_t>& shape) {
    std::vector<size_t> order(shape.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::shuffle(order.begin(), order.end(), rng());
    std::vector<int64_t> strides(shape.size(), 0);
    int64_t step = uniform_int(1, 2);
    for (size_t k = order.size(); k-- > 0;) {
        const size_t d = order[k];
        strides[d] = uniform_int(0, 3) == 0 ? -step : step;
        step *= std::max<int64_t>(shape[d], 1) + uniform_int(0, 1);
    }
    return strides;
}

ScopedIsa::ScopedIsa(mln_isa isa) {
    EXPECT_EQ(mln_cpu_get_isa(&previous_), MLN_STATUS_OK);
    EXPECT_EQ(mln_cpu_set_isa(isa), MLN_STATUS_OK) << mln_last_error();
}

ScopedIsa::~ScopedIsa() { EXPECT_EQ(mln_cpu_set_isa(previous_), MLN_STATUS_OK); }

std::vector<mln_isa> available_isas() {
    std::vector<mln_isa> isas;
    for (mln_isa isa : {MLN_ISA_SCALAR, MLN_ISA_AVX2, MLN_ISA_AVX512, MLN_ISA_NEON}) {
        mln_isa current;
        mln_cpu_get_isa(&current);
        if (mln_cpu_set_isa(isa) == MLN_STATUS_OK) isas.push_back(isa);
        mln_cpu_set_isa(current);
    }
    return isas;
}

}  // namespace mln::test

// The out-of-memory tests ask for absurd sizes on purpose; AddressSanitizer would abort on
// them instead of letting the allocator return null as it does in a normal build.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif
#endif
