// When kernels write their outputs with non-temporal stores.
#pragma once

#include <cstdint>

namespace mln::kernels {

// Outputs of at least this many bytes are written with non-temporal stores: they would not stay
// in cache anyway, and a plain store first reads each line it writes (read-for-ownership), the
// elementwise kernels' bound. Measured per kernel family: elementwise, norm, pooling and the
// polyphase direct convolution (MobileNet-v2's stem at batch 32, 51 MB of y, same-run A/B on a
// loaded machine: one thread 0.90 of the time, two 0.63-0.86).
constexpr int64_t kStreamingStoreBytes = int64_t{16} << 20;

}  // namespace mln::kernels
