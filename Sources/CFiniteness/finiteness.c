#include "CFiniteness.h"
#include <stdint.h>
#include <string.h>

// A float is NaN or ±∞ exactly when its exponent bits are all ones. Blocks of 64 are OR-reduced
// without branches (the compiler vectorizes them), then tested once.
__attribute__((target_clones("avx512f", "avx2", "default")))
bool CFiniteness_all_finite(const float *x, size_t n) {
    const uint32_t exponent = 0x7F800000u;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        uint32_t block[64];
        memcpy(block, x + i, sizeof block);
        uint32_t any = 0;
        for (size_t j = 0; j < 64; j++) any |= (block[j] & exponent) == exponent;
        if (any) return false;
    }
    uint32_t any = 0;
    for (; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, x + i, sizeof bits);
        any |= (bits & exponent) == exponent;
    }
    return any == 0;
}
