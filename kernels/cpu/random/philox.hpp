// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so the n-th random word is a pure function of (key, n) and any
// thread can produce any part of the stream.
#pragma once

#include <array>
#include <cstdint>

namespace mln::kernels {

using PhiloxBlock = std::array<uint32_t, 4>;

inline PhiloxBlock philox4x32_10(PhiloxBlock counter, std::array<uint32_t, 2> key) {
    constexpr uint32_t kMul0 = 0xD2511F53u;
    constexpr uint32_t kMul1 = 0xCD9E8D57u;
    constexpr uint32_t kWeyl0 = 0x9E3779B9u;
    constexpr uint32_t kWeyl1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        const uint64_t product0 = static_cast<uint64_t>(kMul0) * counter[0];
        const uint64_t product1 = static_cast<uint64_t>(kMul1) * counter[2];
        const auto hi0 = static_cast<uint32_t>(product0 >> 32);
        const auto lo0 = static_cast<uint32_t>(product0);
        const auto hi1 = static_cast<uint32_t>(product1 >> 32);
        const auto lo1 = static_cast<uint32_t>(product1);
        counter = {hi1 ^ counter[1] ^ key[0], lo1, hi0 ^ counter[3] ^ key[1], lo0};
        key[0] += kWeyl0;
        key[1] += kWeyl1;
    }
    return counter;
}

// The `index`-th 32-bit word of the stream keyed by `seed`: word index % 4 of the block at
// counter index / 4.
class PhiloxStream {
public:
    explicit PhiloxStream(uint64_t seed) : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)} {}

    uint32_t word(uint64_t index) {
        const uint64_t block = index >> 2;
        if (!valid_ || block != block_index_) {
            block_ = philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}, key_);
            block_index_ = block;
            valid_ = true;
        }
        return block_[index & 3u];
    }

private:
    std::array<uint32_t, 2> key_;
    PhiloxBlock block_{};
    uint64_t block_index_ = 0;
    bool valid_ = false;
};

}  // namespace mln::kernels
