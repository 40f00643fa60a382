#include <cstring>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "kernels/cpu/common/strided_loop.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace mln::kernels {
namespace {

// Copying moves bytes, so it is instantiated per element size, not per dtype.
template <class Word>
void copy_words(const TensorView& x, const TensorView& y) {
    const auto loop = make_strided_loop<2>({&y, &x});
    run_strided_loop(loop, kElementwiseGrain, [](char* const* p, const int64_t* s, int64_t n) {
        if (s[0] == sizeof(Word) && s[1] == sizeof(Word)) {
            if (p[0] != p[1]) std::memcpy(p[0], p[1], static_cast<size_t>(n) * sizeof(Word));
        } else {
            for (int64_t i = 0; i < n; ++i) {
                std::memcpy(p[0] + i * s[0], p[1] + i * s[1], sizeof(Word));
            }
        }
    });
}

}  // namespace

void copy(const TensorView& x, const TensorView& y) {
    switch (dtype_size(y.dtype)) {
        case 1: return copy_words<uint8_t>(x, y);
        case 2: return copy_words<uint16_t>(x, y);
        case 4: return copy_words<uint32_t>(x, y);
        case 8: return copy_words<uint64_t>(x, y);
    }
    throw Error(MLN_STATUS_INTERNAL, cat("copy: unexpected element size of ", dtype_name(y.dtype)));
}

}  // namespace mln::kernels
