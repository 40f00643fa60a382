#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace mln::kernels {

void fill(const TensorView& y, double value) {
    visit_dtype(y.dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T converted = convert_element<T>(value);
        const auto loop = make_strided_loop<1>({&y});
        run_strided_loop(loop, kElementwiseGrain, [converted](char* const* p, const int64_t* s, int64_t n) {
            if (s[0] == sizeof(T)) {
                T* out = reinterpret_cast<T*>(p[0]);
                for (int64_t i = 0; i < n; ++i) out[i] = converted;
            } else {
                for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = converted;
            }
        });
    });
}

}  // namespace mln::kernels
