#ifndef CFINITENESS_H
#define CFINITENESS_H

#include <stdbool.h>
#include <stddef.h>

// Whether every float of a buffer is finite (no NaN, no ±∞), for LinearAlgebra's `Finiteness`.
// Written in Swift the scan compiled for the baseline x86-64 (SSE2, no unsigned max: 12
// instructions per 8 floats); here copies for AVX-512 and AVX2 are picked at load time, and a
// non-finite element ends the scan within 64 elements. Every symbol is prefixed `CFiniteness_`.

// True when none of the n floats at x has all exponent bits set (an empty buffer is finite).
bool CFiniteness_all_finite(const float *x, size_t n);

#endif
