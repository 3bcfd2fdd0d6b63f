#ifndef CNORMALLANES_H
#define CNORMALLANES_H

#include <stdint.h>

// The keyed normal generator's kernel (LinearAlgebra's `NormalLanes`) in C, because Swift's
// SIMD8<Float> arithmetic is a per-lane loop in the standard library: LLVM vectorized the Philox
// rounds but left the logarithm's polynomial and the square roots scalar (about 7 ns a normal).
// Clang's vector extensions keep every lane in registers, and a second copy compiled for AVX2 is
// picked at load time where the processor has it. Every operation is the IEEE single-precision
// one that the Swift code did, in the same order and never fused (contraction is off), so the
// numbers are bit for bit the same on every processor and in either copy.
// Every symbol is prefixed `CNormalLanes_`. Nothing here has a stable Swift API.

// Writes the normals of Philox4x32-10 blocks first ..< first + 8·groups of `stream` under the
// key (key0, key1), times `scale`: out[32·g + 4·l + j] is normal j of block first + 8·g + l.
void CNormalLanes_normals(uint64_t stream, uint64_t first, int64_t groups, uint32_t key0, uint32_t key1,
                          float *out, float scale);

#endif
