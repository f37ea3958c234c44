// Our own float32 products. A weight that multiplies a value at every step (h · W_h, and in one
// product every step's x · W_x) is packed once (pack_columns) and read by the micro-kernels at
// every step; a general sgemm repacks it on every call. Packed into panels of 32 columns, each
// two K × 16 halves one after the other, so the AVX2 tile streams a contiguous 64-byte-wide half
// (not every other 64 bytes of a panel row) while it keeps 6 rows × 16 outputs in registers, and
// the AVX-512 tile reads both halves for its 14 rows × 32. A's rows are copied per call into the
// tiles' k-major layout, a block of 84 at a time, so a tile's broadcasts are one stream. Products
// of two changing operands (gemm: a weight's gradient) pack op(B) a block at a time into the
// same layout. Micro-kernels
// for AVX-512, AVX2 + FMA and portable C++, picked at run time from the CPU (ops/isa.h; never
// from compile flags). Internal to the library.
#pragma once

#include <cstdint>

#include <rnngraph/ops/isa.h>

namespace rnngraph::kernels {

inline constexpr int64_t kPanel = 32;  // columns per packed panel
inline constexpr int64_t kHalf = 16;   // columns per half, stored one after the other

// Floats in W packed: ceil(n / 32) panels of k × 32, the last zero-padded.
inline int64_t packed_size(int64_t k, int64_t n) { return (n + kPanel - 1) / kPanel * kPanel * k; }

// Packs W [k, n] (row stride ldw), or with `transposed` Wᵀ for W [n, k], into `packed`.
void pack_columns(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed,
                  float* packed);

// C [m, n] (row stride ldc) = A [m, k] (row stride lda) · W, W given packed. Large products are
// split by panels over compute_threads() threads (parallel_for).
void packed_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
                 float* c, int64_t ldc, Isa isa = best_isa());

// C [m, n] (row stride ldc) = op(A) · op(B), as cblas_sgemm with alpha 1 and beta 0 (row-major;
// op(A) is A [m, k] or, transposed, Aᵀ for A [k, m]; likewise op(B)): op(B) packed a block at a
// time into a per-thread buffer and multiplied on the same micro-kernels. The products whose
// operands both change (a weight's gradient, Xᵀ · G) run here.
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a,
          int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, Isa isa = best_isa());

}  // namespace rnngraph::kernels
