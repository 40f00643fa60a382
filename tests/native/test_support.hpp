// Helpers shared by the native tests: host tensors with arbitrary strides, a CPU device
// fixture, and random data.
#pragma once

#include <gtest/gtest.h>
#include <myelin.h>

#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "core/tensor_view.hpp"
#include "kernels/cpu/common/small_float.hpp"

namespace mln::test {

template <class T>
constexpr mln_dtype dtype_of();
template <> constexpr mln_dtype dtype_of<float>() { return MLN_DTYPE_F32; }
template <> constexpr mln_dtype dtype_of<double>() { return MLN_DTYPE_F64; }
template <> constexpr mln_dtype dtype_of<uint8_t>() { return MLN_DTYPE_U8; }
template <> constexpr mln_dtype dtype_of<int8_t>() { return MLN_DTYPE_I8; }
template <> constexpr mln_dtype dtype_of<int32_t>() { return MLN_DTYPE_I32; }
template <> constexpr mln_dtype dtype_of<int64_t>() { return MLN_DTYPE_I64; }
template <> constexpr mln_dtype dtype_of<kernels::Half>() { return MLN_DTYPE_F16; }
template <> constexpr mln_dtype dtype_of<kernels::BFloat16>() { return MLN_DTYPE_BF16; }
template <> constexpr mln_dtype dtype_of<kernels::Bool8>() { return MLN_DTYPE_BOOL; }

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);

// A host tensor whose descriptor may have any strides (negative and zero included): the
// storage covers every addressed element and data points at element (0, ..., 0).
template <class T>
class HostTensor {
public:
    explicit HostTensor(std::vector<int64_t> shape) : HostTensor(shape, contiguous_strides(shape)) {}

    HostTensor(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) : shape_(shape) {
        int64_t low = 0;
        int64_t high = 0;
        bool empty = false;
        for (size_t d = 0; d < shape.size(); ++d) {
            if (shape[d] == 0) empty = true;
            const int64_t span = (shape[d] - 1) * strides[d];
            (span < 0 ? low : high) += span;
        }
        storage_.assign(empty ? 1 : static_cast<size_t>(high - low + 1), T{});
        desc_ = {};
        desc_.data = storage_.data() - low;
        desc_.dtype = dtype_of<T>();
        desc_.rank = static_cast<int32_t>(shape.size());
        for (size_t d = 0; d < shape.size(); ++d) {
            desc_.shape[d] = shape[d];
            desc_.strides[d] = strides[d];
        }
    }

    HostTensor(const HostTensor&) = delete;
    HostTensor& operator=(const HostTensor&) = delete;

    const mln_tensor_desc* desc() const { return &desc_; }
    mln_tensor_desc& mutable_desc() { return desc_; }
    TensorView view() const;
    int64_t count() const {
        int64_t n = 1;
        for (int64_t s : shape_) n *= s;
        return n;
    }
    const std::vector<int64_t>& shape() const { return shape_; }

    // Element at the row-major linear index `i` of the logical shape.
    T& at(int64_t i) {
        int64_t offset = 0;
        for (int d = static_cast<int>(shape_.size()) - 1; d >= 0; --d) {
            offset += (i % shape_[static_cast<size_t>(d)]) * desc_.strides[d];
            i /= shape_[static_cast<size_t>(d)];
        }
        return static_cast<T*>(desc_.data)[offset];
    }

    std::vector<T>& storage() { return storage_; }

private:
    std::vector<int64_t> shape_;
    std::vector<T> storage_;
    mln_tensor_desc desc_;
};

// Validates a descriptor the way the api layer does (asserts that it is valid).
TensorView view_of(const mln_tensor_desc* desc);

template <class T>
TensorView HostTensor<T>::view() const {
    return view_of(&desc_);
}

// A fixture with an open CPU device.
class CpuDeviceTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    mln_device* device_ = nullptr;
};

// Asserts that `status` is `expected` and the thread's message contains every fragment.
::testing::AssertionResult failed_with(mln_status status, mln_status expected,
                                       std::initializer_list<std::string> fragments);

std::mt19937_64& rng();
double uniform(double low, double high);
int64_t uniform_int(int64_t low, int64_t high);

// Random strides for `shape`: a permutation of a contiguous layout, some padding, and random
// sign flips, so loop drivers see transposed, gapped and reversed views.
std::vector<int64_t> random_strides(const std::vector<int64_t>& shape);

// Sets the ISA for a scope and restores the previous one.
class ScopedIsa {
public:
    explicit ScopedIsa(mln_isa isa);
    ~ScopedIsa();
    ScopedIsa(const ScopedIsa&) = delete;
    ScopedIsa& operator=(const ScopedIsa&) = delete;

private:
    mln_isa previous_;
};

// Every ISA the library accepts on this machine (scalar always).
std::vector<mln_isa> available_isas();

}  // namespace mln::test
