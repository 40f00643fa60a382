// y = cond ? a : b over the shared strided loop; only the element size matters, so one
// instantiation per size serves every dtype.
#include <cstdint>
#include <cstring>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace mln::kernels {
namespace {

template <class Word>
void where_typed(const WhereArgs& args) {
    const auto loop = make_strided_loop<4>({&args.y, &args.cond, &args.a, &args.b});
    run_strided_loop(loop, kElementwiseGrain, [](char* const* p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            const bool take_a = *reinterpret_cast<const uint8_t*>(p[1] + i * s[1]) != 0;
            const char* source = take_a ? p[2] + i * s[2] : p[3] + i * s[3];
            std::memcpy(p[0] + i * s[0], source, sizeof(Word));
        }
    });
}

}  // namespace

void where(const WhereArgs& args) {
    switch (dtype_size(args.y.dtype)) {
        case 1: return where_typed<uint8_t>(args);
        case 2: return where_typed<uint16_t>(args);
        case 4: return where_typed<uint32_t>(args);
        case 8: return where_typed<uint64_t>(args);
    }
    throw Error(MLN_STATUS_INTERNAL, cat("where: unexpected element size ", dtype_size(args.y.dtype)));
}

}  // namespace mln::kernels
