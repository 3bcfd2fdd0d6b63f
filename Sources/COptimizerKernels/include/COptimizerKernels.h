#ifndef COPTIMIZERKERNELS_H
#define COPTIMIZERKERNELS_H

#include <stddef.h>

// The elementwise optimizers' update loops (Optimizers' `AdamW` and `Lion`) in C. Written in Swift
// over four arrays, the loop stayed scalar (one divss and one sqrtss per element, ≈ 3 ns each):
// the compiler cannot prove the four arrays distinct. Here `restrict` says they are, and copies
// compiled for AVX-512 and AVX2 are picked at load time. Every operation is the IEEE
// single-precision one of the Swift formula, in the same order, never fused (contraction is
// off), so the results are bit for bit those of the scalar loop on every processor.
// Every symbol is prefixed `COptimizerKernels_`. Nothing here has a stable Swift API.

// AdamW on n elements: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g·g;
// x ← decay·x − rate·m / (√v / correction2 + ε).
void COptimizerKernels_adamw(float *restrict x, float *restrict m, float *restrict v, const float *restrict g,
                             size_t n, float beta1, float beta2, float decay, float rate, float correction2,
                             float epsilon);

// Lion on n elements: u = sign(β₁m + (1−β₁)g); m ← β₂m + (1−β₂)g; x ← decay·x − η·u.
void COptimizerKernels_lion(float *restrict x, float *restrict m, const float *restrict g, size_t n,
                            float beta1, float beta2, float decay, float eta);

#endif
