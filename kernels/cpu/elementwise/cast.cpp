#include <cstring>
#include <type_traits>

#include "cpu/isa.hpp"
#include "kernels/cpu/common/element_types.hpp"
#include "kernels/cpu/common/half_convert.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace mln::kernels {
namespace {

template <class T>
constexpr bool is_half_v = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

}  // namespace

void cast(const TensorView& x, const TensorView& y) {
    visit_dtype(x.dtype, [&](auto from_tag) {
        using From = typename decltype(from_tag)::type;
        visit_dtype(y.dtype, [&](auto to_tag) {
            using To = typename decltype(to_tag)::type;
            // f32 <-> f16/bf16 on contiguous runs: the vector converters (same bits as the
            // scalar rules below; a double source keeps its one rounding there).
            constexpr bool widens = is_half_v<From> && std::is_same_v<To, float>;
            constexpr bool narrows = std::is_same_v<From, float> && is_half_v<To>;
            HalfConverter converter{};
            if constexpr (widens || narrows) converter = half_converter(widens ? x.dtype : y.dtype, cpu::active_isa());
            const auto loop = make_strided_loop<2>({&y, &x});
            run_strided_loop(loop, kElementwiseGrain, [&](char* const* p, const int64_t* s, int64_t n) {
                if constexpr (widens || narrows) {
                    if (s[0] == sizeof(To) && s[1] == sizeof(From)) {
                        if constexpr (widens) {
                            converter.widen(reinterpret_cast<const uint16_t*>(p[1]), reinterpret_cast<float*>(p[0]), n);
                        } else {
                            converter.narrow(reinterpret_cast<const float*>(p[1]), reinterpret_cast<uint16_t*>(p[0]), n);
                        }
                        return;
                    }
                }
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
