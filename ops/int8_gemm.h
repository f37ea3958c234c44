// Dynamically quantized int8 products, y = a · W (or a · Wᵀ), what int8 models run
// (`rnngraph quantize`):
//   W per output column, to L levels each side, once, before the steps that use it:
//     w ≈ s_c · q, q in [-L, L], s_c = max_p |W[p, c]| / L;
//   each row of a, to 8 bits, when the product runs:
//     a ≈ s_r · q, q in [-127, 127], s_r = max_p |a[r, p]| / 127;
//   the byte products summed exactly in int32 and scaled back:
//     y[r, c] = s_r · s_c · Σ_p q_rp · q_pc.
// Nonlinearities and state stay float32.
//
// L is 127 (8 bits) where the CPU has a dot-product instruction (AVX-512 VNNI, AMX), 63 (7 bits)
// for the AVX2 and portable kernels: AVX2 multiplies unsigned by signed bytes (vpmaddubsw), a's
// bytes stored as q + 128 in [1, 255] and the 128 · Σ_p q_pc taken off at the end, and pairs of
// products must stay within int16 (2 · 255 · 63 < 2¹⁵), which 8-bit W would overflow. On an LSTM
// with H = 256 and unit-scale input: 1.7% of max |y| with 8 + 8 bits, 2.1% with 7-bit W.
// (PyTorch's fbgemm engine drops a bit of the activations instead, reduce_range: 3.4% here. A
// sign trick (vpsignb) keeps 8 bits for both on AVX2 but costs one more instruction per product
// and ran no faster than float32.)
//
// Packed W, in a float32 tensor of int8_packed_floats(k, n) floats (a cache the
// quantize_columns op makes, not a value of the model): a header of 16 floats (the first: L),
// the column scales, the column sums times 128 (int32), then per group of 16 columns and every 4
// consecutive p the 16 columns' 4 bytes (64 bytes: two 32-byte vectors of 8 columns × 4 p), p
// padded with zeros to a multiple of 64 (AMX takes a group's 16 such rows, 64 p, as one tile):
// one 64-byte vector per 4 p, which AVX-512 VNNI (vpdpbusd) multiplies and sums into the group's
// 16 int32 lanes in one instruction. Internal to the library.
#pragma once

#include <cstdint>

#include <rnngraph/ops/isa.h>

namespace rnngraph::kernels {

inline constexpr int64_t kInt8Group = 16;  // columns per packed group

inline int64_t int8_depth(int64_t k) { return (k + 63) / 64 * 64; }  // AMX's tile depth
inline int64_t int8_groups(int64_t n) { return (n + kInt8Group - 1) / kInt8Group; }
inline constexpr int64_t kInt8Header = 16;  // floats before the scales (64 bytes)
inline int64_t int8_packed_floats(int64_t k, int64_t n) {
  return kInt8Header + int8_groups(n) * kInt8Group * (2 + int8_depth(k) / 4);
}

// L, the weights' levels each side, for the kernel `isa` runs: 127 or 63.
int int8_weight_levels(Isa isa);

// Quantizes W [k, n] (row stride ldw), or with `transposed` Wᵀ for W [n, k], into `packed`, to
// the levels of `isa`'s kernel.
void quantize_columns(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed,
                      float* packed, Isa isa = best_isa());

// C [m, n] (row stride ldc) = a [m, k] (row stride lda) · W from its packed form. A row of a
// holding NaN or ±inf gives NaN in every output of its row. W packed to 8 bits for a CPU with
// VNNI and multiplied with `isa` AVX2 (a test, or RNNGRAPH_MAX_ISA set between the two) runs the
// portable kernel, whose int32 sums take any bytes. Large products are split by column
// groups over compute_threads() threads.
void int8_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
               float* c, int64_t ldc, Isa isa = best_isa());

}  // namespace rnngraph::kernels
