#include <cstring>

#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace mln::kernels {

void cast(const TensorView& x, const TensorView& y) {
    visit_dtype(x.dtype, [&](auto from_tag) {
        using From = typename decltype(from_tag)::type;
        visit_dtype(y.dtype, [&](auto to_tag) {
            using To = typename decltype(to_tag)::type;
            const auto loop = make_strided_loop<2>({&y, &x});
            run_strided_loop(loop, kElementwiseGrain, [](char* const* p, const int64_t* s, int64_t n) {
                for (int64_t i = 0; i < n; ++i) {
                    From value;
                    std::memcpy(&value, p[1] + i * s[1], sizeof(From));
                    const To converted = convert_element<To>(value);
                    std::memcpy(p[0] + i * s[0], &converted, sizeof(To));
                }
            });
        });
    });
}

}  // namespace mln::kernels
