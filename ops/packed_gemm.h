// The recurrent product h · W with W packed once: the same W multiplies a [B, H] state at every
// step, and a general sgemm repacks it on every call (OpenBLAS spends a quarter of an LSTM's
// per-step product there). Packed here into panels of 32 columns, each K × 32 and contiguous, so
// the micro-kernel streams one panel while it keeps a block of rows × 32 outputs in registers.
// Micro-kernels for AVX-512 (8 × 32 tile), AVX2 (6 × 16, twice per panel) and portable C++, picked
// at run time from the CPU (never from compile flags). Internal to the library (not installed).
#pragma once

#include <cstdint>

#include <rnngraph/ops/isa.h>

namespace rnngraph::kernels {

inline constexpr int64_t kPanel = 32;  // columns per packed panel

// Floats in W packed: ceil(n / 32) panels of k × 32, the last zero-padded.
inline int64_t packed_size(int64_t k, int64_t n) { return (n + kPanel - 1) / kPanel * kPanel * k; }

// Packs W [k, n] (row stride ldw), or with `transposed` Wᵀ for W [n, k], into `packed`.
void pack_columns(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed,
                  float* packed);

// C [m, n] (row stride ldc) = A [m, k] (row stride lda) · W, W given packed. Large products are
// split by panels over compute_threads() threads (parallel_for).
void packed_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
                 float* c, int64_t ldc, Isa isa = best_isa());

}  // namespace rnngraph::kernels
