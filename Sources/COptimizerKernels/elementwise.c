#include "COptimizerKernels.h"

// No fused multiply–adds: each product and sum is rounded on its own, as in the Swift formula.
#pragma clang fp contract(off)

__attribute__((target_clones("avx512f", "avx2", "default")))
void COptimizerKernels_adamw(float *restrict x, float *restrict m, float *restrict v, const float *restrict g,
                             size_t n, float beta1, float beta2, float decay, float rate, float correction2,
                             float epsilon) {
    const float keep1 = 1 - beta1, keep2 = 1 - beta2;
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i];
        const float mi = beta1 * m[i] + keep1 * gi;
        const float vi = beta2 * v[i] + keep2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        x[i] = decay * x[i] - rate * mi / (__builtin_elementwise_sqrt(vi) / correction2 + epsilon);
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void COptimizerKernels_lion(float *restrict x, float *restrict m, const float *restrict g, size_t n,
                            float beta1, float beta2, float decay, float eta) {
    const float keep1 = 1 - beta1, keep2 = 1 - beta2;
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i];
        const float blend = beta1 * m[i] + keep1 * gi;
        const float u = blend > 0 ? 1.0f : (blend < 0 ? -1.0f : 0.0f);
        m[i] = beta2 * m[i] + keep2 * gi;
        x[i] = decay * x[i] - eta * u;
    }
}
