// bf16 products, y = a · W (or a · Wᵀ), what bf16 models run (`rnngraph quantize --dtype
// bf16`): W rounded to bfloat16 (float32's sign, exponent and top 7 mantissa bits, round to
// nearest even; NaN and ±inf kept) once, before the steps that use it; a stays float32, and
// every product is accumulated in float32. Half the bytes of float32 weights, with a relative
// rounding of at most 2⁻⁸ per weight, and no scales: a weight's range is float32's.
//
// Packed W, in a float32 tensor of bf16_packed_floats(k, n) floats (a cache the pack_bf16 op
// makes): per group of 16 columns, for every p, the 16 columns' bf16 values (32 bytes), the
// columns past n zero. On AVX2 each 16-bit value is widened into a float by a shift (a bf16 is
// the top half of a float); CPUs with AVX-512 BF16 (vdpbf16ps) would multiply them directly,
// which this kernel does not do yet. Internal to the library.
#pragma once

#include <cstdint>

#include <rnngraph/ops/isa.h>

namespace rnngraph::kernels {

inline constexpr int64_t kBf16Group = 16;  // columns per packed group

inline int64_t bf16_groups(int64_t n) { return (n + kBf16Group - 1) / kBf16Group; }
inline int64_t bf16_packed_floats(int64_t k, int64_t n) {
  return bf16_groups(n) * kBf16Group * k / 2;  // two values a float
}

// The bfloat16 nearest to v (ties to even), as its 16 bits; a NaN stays a (quiet) NaN.
uint16_t to_bf16(float v);
float from_bf16(uint16_t bits);

// Rounds W [k, n] (row stride ldw), or with `transposed` Wᵀ for W [n, k], into `packed`.
void pack_bf16(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed, float* packed);

// C [m, n] (row stride ldc) = a [m, k] (row stride lda) · W from its packed form, accumulated
// in float32. Large products are split by column groups over compute_threads() threads.
void bf16_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
               float* c, int64_t ldc, Isa isa = best_isa());

}  // namespace rnngraph::kernels
