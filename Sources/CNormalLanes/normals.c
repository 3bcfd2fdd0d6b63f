#include "CNormalLanes.h"
#include <string.h>

// No fused multiply–adds: each product and sum is rounded on its own, as in the Swift original
// and the numpy reference's tolerance analysis.
#pragma clang fp contract(off)

typedef float lanes __attribute__((vector_size(32)));
typedef int32_t ints __attribute__((vector_size(32)));
typedef uint32_t words __attribute__((vector_size(32)));
typedef uint64_t wide __attribute__((vector_size(64)));

// Philox4x32 with 10 rounds on eight counters (c0, c1, c2, c3) and one key.
static inline __attribute__((always_inline)) void philox(words *x0, words *x1, words *x2, words *x3,
                                                         uint32_t k0, uint32_t k1) {
    for (int round = 0; round < 10; round++) {
        wide p0 = __builtin_convertvector(*x0, wide) * 0xD2511F53u;
        wide p1 = __builtin_convertvector(*x2, wide) * 0xCD9E8D57u;
        words hi0 = __builtin_convertvector(p0 >> 32, words), lo0 = __builtin_convertvector(p0, words);
        words hi1 = __builtin_convertvector(p1 >> 32, words), lo1 = __builtin_convertvector(p1, words);
        words y0 = hi1 ^ *x1 ^ k0, y2 = hi0 ^ *x3 ^ k1;
        *x0 = y0; *x1 = lo1; *x2 = y2; *x3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}

// ln(x) for positive, finite, normal x (Cephes `logf`: x = 2^e·m with m in [√½, √2), a degree-9
// polynomial in m − 1, and e·ln 2 in two parts), the split done in integers on the bits.
// (Vectors pass by pointer: by value they would need AVX's calling convention in the default copy.)
static inline __attribute__((always_inline)) void logarithm(const lanes *x, lanes *result) {
    ints bits;
    memcpy(&bits, x, sizeof bits);
    ints mantissa = bits & 0x007FFFFF;
    ints high = 0 - ((0x003504F3 - mantissa) >> 31);  // 1 where the mantissa is above √2's
    lanes exponent = __builtin_convertvector((bits >> 23) - 127 + high, lanes);
    ints mbits = mantissa | ((127 - high) << 23);
    lanes m;
    memcpy(&m, &mbits, sizeof m);
    lanes f = m - 1.0f;
    lanes z = f * f;
    lanes p = (lanes){0} + 7.0376836292e-2f;
    p = p * f - 1.1514610310e-1f;
    p = p * f + 1.1676998740e-1f;
    p = p * f - 1.2420140846e-1f;
    p = p * f + 1.4249322787e-1f;
    p = p * f - 1.6668057665e-1f;
    p = p * f + 2.0000714765e-1f;
    p = p * f - 2.4999993993e-1f;
    p = p * f + 3.3333331174e-1f;
    lanes y = p * f * z;
    y = y + exponent * -2.12194440e-4f;
    y = y + z * -0.5f;
    *result = f + y + exponent * 0.693359375f;
}

// cos(2π·t) and sin(2π·t) for t = k/2^24, k in [0, 2^24): k = q·2^22 + d exactly in integers, the
// Cephes polynomials on x = 2π·d/2^24 in [−π/4, π/4], then a rotation by q quarter turns.
static inline __attribute__((always_inline)) void cosine_and_sine(const ints *k, lanes *cosine, lanes *sine) {
    ints quarter = (*k + (1 << 21)) >> 22;
    lanes x = __builtin_convertvector(*k - (quarter << 22), lanes) * 0x1.921fb4p-22f;  // 2π/2^24 with π in float
    lanes z = x * x;
    lanes s = (lanes){0} - 1.9515295891e-4f;
    s = s * z + 8.3321608736e-3f;
    s = s * z - 1.6666654611e-1f;
    s = s * z * x + x;
    lanes c = (lanes){0} + 2.443315711809948e-5f;
    c = c * z - 1.388731625493765e-3f;
    c = c * z + 4.166664568298827e-2f;
    c = c * z * z - z * 0.5f + 1.0f;
    ints q = quarter & 3;
    lanes cq = __builtin_convertvector((1 - (q & 1)) * (1 - (q & 2)), lanes);
    lanes sq = __builtin_convertvector((q & 1) * (1 - (q & 2)), lanes);
    *cosine = c * cq - s * sq;
    *sine = s * cq + c * sq;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void CNormalLanes_normals(uint64_t stream, uint64_t first, int64_t groups, uint32_t key0, uint32_t key1,
                          float *out, float scale) {
    const wide offsets = {0, 1, 2, 3, 4, 5, 6, 7};
    const float unit = 1.0f / 16777216.0f;
    for (int64_t g = 0; g < groups; g++, out += 32) {
        wide blocks = first + 8 * (uint64_t)g + offsets;
        words x0 = __builtin_convertvector(blocks, words), x1 = __builtin_convertvector(blocks >> 32, words);
        words x2 = (words){0} + (uint32_t)stream, x3 = (words){0} + (uint32_t)(stream >> 32);
        philox(&x0, &x1, &x2, &x3, key0, key1);
        // Uniforms in (0, 1] for the logarithms, [0, 1) for the angles; 24 bits each.
        lanes u1 = (__builtin_convertvector((ints)(x0 >> 8), lanes) + 1.0f) * unit;
        lanes u2 = (__builtin_convertvector((ints)(x2 >> 8), lanes) + 1.0f) * unit;
        lanes log1, log2;
        logarithm(&u1, &log1);
        logarithm(&u2, &log2);
        lanes radius1 = __builtin_elementwise_sqrt(-2.0f * log1) * scale;
        lanes radius2 = __builtin_elementwise_sqrt(-2.0f * log2) * scale;
        ints t1 = (ints)(x1 >> 8), t2 = (ints)(x3 >> 8);
        lanes cos1, sin1, cos2, sin2;
        cosine_and_sine(&t1, &cos1, &sin1);
        cosine_and_sine(&t2, &cos2, &sin2);
        lanes n0 = radius1 * cos1, n1 = radius1 * sin1, n2 = radius2 * cos2, n3 = radius2 * sin2;
        // out[4·l + j] = n_j[l]: a 4×8 transpose in two rounds of interleaving.
        lanes lo01 = __builtin_shufflevector(n0, n1, 0, 8, 1, 9, 2, 10, 3, 11);
        lanes lo23 = __builtin_shufflevector(n2, n3, 0, 8, 1, 9, 2, 10, 3, 11);
        lanes hi01 = __builtin_shufflevector(n0, n1, 4, 12, 5, 13, 6, 14, 7, 15);
        lanes hi23 = __builtin_shufflevector(n2, n3, 4, 12, 5, 13, 6, 14, 7, 15);
        lanes o0 = __builtin_shufflevector(lo01, lo23, 0, 1, 8, 9, 2, 3, 10, 11);
        lanes o1 = __builtin_shufflevector(lo01, lo23, 4, 5, 12, 13, 6, 7, 14, 15);
        lanes o2 = __builtin_shufflevector(hi01, hi23, 0, 1, 8, 9, 2, 3, 10, 11);
        lanes o3 = __builtin_shufflevector(hi01, hi23, 4, 5, 12, 13, 6, 7, 14, 15);
        memcpy(out, &o0, sizeof o0);
        memcpy(out + 8, &o1, sizeof o1);
        memcpy(out + 16, &o2, sizeof o2);
        memcpy(out + 24, &o3, sizeof o3);
    }
}
