// bf16 products, y = a · W (or a · Wᵀ), what bf16 models run (`rnngraph quantize --dtype
// bf16`): W rounded to bfloat16 (float32's sign, exponent and top 7 mantissa bits, round to
// nearest even; NaN and ±inf kept) once, before the steps that use it; a's rows rounded the same
// way when the product runs; the products of the two (exact in float32) summed in float32. Half
// the bytes of float32 weights, with a relative rounding of at most 2⁻⁸ per value, and no
// scales: a value's range is float32's. (Rounding a too is what the hardware's dot product
// takes, and PyTorch's and oneDNN's bf16; every ISA rounds it, so they compute the same sums.)
//
// Packed W, in a float32 tensor of bf16_packed_floats(k, n) floats (a cache the pack_bf16 op
// makes): per group of 16 columns, for every pair of rows p = 2i, 2i + 1, the 16 columns' two
// values side by side (64 bytes), k padded with zeros to a multiple of 32 (AMX takes a group's
// 16 such rows, 32 p, as one tile) and the columns past n too. AVX-512
// BF16 (vdpbf16ps) multiplies a vector of such pairs by a's pair and adds both products into
// each column's float lane in one instruction (its denormal inputs and results are taken as
// zero); AVX2 widens the even and odd values into floats with a shift and a mask.
// Internal to the library.
#pragma once

#include <cstdint>

#include <rnngraph/ops/isa.h>

namespace rnngraph::kernels {

inline constexpr int64_t kBf16Group = 16;  // columns per packed group

inline int64_t bf16_groups(int64_t n) { return (n + kBf16Group - 1) / kBf16Group; }
inline int64_t bf16_depth(int64_t k) { return (k + 31) / 32 * 32; }  // AMX's tile depth
inline int64_t bf16_packed_floats(int64_t k, int64_t n) {
  return bf16_groups(n) * kBf16Group * bf16_depth(k) / 2;  // two values a float
}

// The bfloat16 nearest to v (ties to even), as its 16 bits; a NaN stays a (quiet) NaN.
uint16_t to_bf16(float v);
float from_bf16(uint16_t bits);

// Rounds W [k, n] (row stride ldw), or with `transposed` Wᵀ for W [n, k], into `packed`.
void pack_bf16(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed, float* packed);

// C [m, n] (row stride ldc) = a [m, k] (row stride lda), rounded to bf16, · W from its packed
// form, accumulated in float32. Large products are split by column groups over compute_threads()
// threads.
void bf16_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
               float* c, int64_t ldc, Isa isa = best_isa());

}  // namespace rnngraph::kernels
