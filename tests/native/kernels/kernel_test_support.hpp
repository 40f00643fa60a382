// Helpers for kernel tests: random shapes and data, element comparison.
#pragma once

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <string>
#include <limits>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

namespace mln::test {

inline std::vector<int64_t> random_shape(int max_rank, int64_t max_dim) {
    std::vector<int64_t> shape(static_cast<size_t>(uniform_int(0, max_rank)));
    for (auto& d : shape) d = uniform_int(1, max_dim);
    return shape;
}

template <class T>
T random_value() {
    if constexpr (std::is_floating_point_v<T>) {
        return static_cast<T>(uniform(-4.0, 4.0));
    } else if constexpr (std::is_same_v<T, kernels::Half>) {
        return kernels::half_from_double(uniform(-100.0, 100.0));
    } else if constexpr (std::is_same_v<T, kernels::BFloat16>) {
        return kernels::bfloat16_from_double(uniform(-1e6, 1e6));
    } else if constexpr (std::is_same_v<T, kernels::Bool8>) {
        return kernels::Bool8{static_cast<uint8_t>(uniform_int(0, 1))};
    } else {
        return static_cast<T>(uniform_int(std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
    }
}

template <class T>
void fill_random(HostTensor<T>& tensor) {
    for (int64_t i = 0; i < tensor.count(); ++i) tensor.at(i) = random_value<T>();
}

// Exact equality, with NaN equal to NaN (bitwise for the storage structs).
template <class T>
bool same_element(const T& a, const T& b) {
    if constexpr (std::is_floating_point_v<T>) {
        return (std::isnan(a) && std::isnan(b)) || a == b;
    } else {
        return std::memcmp(&a, &b, sizeof(T)) == 0;
    }
}

template <class T>
::testing::AssertionResult same_elements(HostTensor<T>& got, HostTensor<T>& want) {
    for (int64_t i = 0; i < want.count(); ++i) {
        if (!same_element(got.at(i), want.at(i))) {
            if constexpr (std::is_arithmetic_v<T>) {
                return ::testing::AssertionFailure() << "element " << i << ": got " << +got.at(i) << ", want "
                                                     << +want.at(i);
            } else {
                return ::testing::AssertionFailure() << "element " << i << " differs";
            }
        }
    }
    return ::testing::AssertionSuccess();
}

// Every element within tol relative to (1 + |want|); NaN matches NaN, infinities match themselves.
template <class T>
::testing::AssertionResult near_all(HostTensor<T>& got, HostTensor<T>& want, double tol) {
    for (int64_t i = 0; i < want.count(); ++i) {
        const double g = got.at(i);
        const double w = want.at(i);
        if (!(std::fabs(g - w) <= tol * (1.0 + std::fabs(w)) || (std::isnan(g) && std::isnan(w)) || g == w)) {
            return ::testing::AssertionFailure() << "element " << i << ": got " << g << ", want " << w;
        }
    }
    return ::testing::AssertionSuccess();
}

// body() at each of `thread_counts` device threads (SCOPED_TRACE names the count), the device's own
// count restored after.
template <class Body>
void at_thread_counts(mln_device* device, std::initializer_list<int32_t> thread_counts, Body&& body) {
    int32_t previous = 0;
    ASSERT_EQ(mln_device_get_thread_count(device, &previous), MLN_STATUS_OK);
    for (int32_t threads : thread_counts) {
        ASSERT_EQ(mln_device_set_thread_count(device, threads), MLN_STATUS_OK);
        SCOPED_TRACE("threads=" + std::to_string(threads));
        body();
    }
    ASSERT_EQ(mln_device_set_thread_count(device, previous), MLN_STATUS_OK);
}

}  // namespace mln::test
