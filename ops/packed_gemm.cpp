#include <rnngraph/ops/packed_gemm.h>

#include <algorithm>
#include <cstring>

#include <immintrin.h>

#include <rnngraph/framework/threads.h>

namespace rnngraph::kernels {

namespace {

// One tile: rows [0, R) of A times one panel, into out (row stride ldo), full 32 columns.
// The portable tile: the compiler vectorises the inner loop for the baseline ISA.
void tile_portable(const float* a, int64_t lda, int rows, int64_t k, const float* panel, float* out,
                   int64_t ldo) {
  for (int r = 0; r < rows; ++r) {
    float acc[kPanel] = {};
    for (int64_t p = 0; p < k; ++p) {
      const float x = a[r * lda + p];
      const float* w = panel + p * kPanel;
      for (int j = 0; j < kPanel; ++j) acc[j] += x * w[j];
    }
    std::memcpy(out + r * ldo, acc, sizeof acc);
  }
}

// AVX2: R ≤ 6 rows × 16 columns (one half of the panel) in 12 ymm accumulators, the half's two
// vectors and one broadcast beside them: 15 of the 16 registers, two loads per six FMA pairs.
template <int R>
__attribute__((target("avx2,fma"))) void tile_avx2_rows(const float* a, int64_t lda, int64_t k,
                                                        const float* half, float* out,
                                                        int64_t ldo) {
  __m256 lo[R], hi[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m256 w0 = _mm256_loadu_ps(half + p * kPanel);
    const __m256 w1 = _mm256_loadu_ps(half + p * kPanel + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * lda + p);
      lo[r] = _mm256_fmadd_ps(x, w0, lo[r]);
      hi[r] = _mm256_fmadd_ps(x, w1, hi[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(out + r * ldo, lo[r]);
    _mm256_storeu_ps(out + r * ldo + 8, hi[r]);
  }
}

void tile_avx2(const float* a, int64_t lda, int rows, int64_t k, const float* panel, float* out,
               int64_t ldo) {
  for (int r0 = 0; r0 < rows; r0 += 6) {
    const float* ar = a + r0 * lda;
    for (int half = 0; half < 2; ++half) {
      const float* w = panel + 16 * half;
      float* o = out + r0 * ldo + 16 * half;
      switch (std::min(6, rows - r0)) {
        case 6:
          tile_avx2_rows<6>(ar, lda, k, w, o, ldo);
          break;
        case 5:
          tile_avx2_rows<5>(ar, lda, k, w, o, ldo);
          break;
        case 4:
          tile_avx2_rows<4>(ar, lda, k, w, o, ldo);
          break;
        case 3:
          tile_avx2_rows<3>(ar, lda, k, w, o, ldo);
          break;
        case 2:
          tile_avx2_rows<2>(ar, lda, k, w, o, ldo);
          break;
        default:
          tile_avx2_rows<1>(ar, lda, k, w, o, ldo);
          break;
      }
    }
  }
}

// AVX-512: up to 8 rows × 32 columns in 16 zmm accumulators; A's values are broadcast from
// memory into the FMAs, the panel's two vectors loaded once per k.
template <int R>
__attribute__((target("avx512f"))) void tile_avx512_rows(const float* a, int64_t lda, int64_t k,
                                                         const float* panel, float* out,
                                                         int64_t ldo) {
  // The unroll pragmas keep the 2·R accumulators in registers (GCC at -O2 would not).
  __m512 lo[R], hi[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m512 w0 = _mm512_loadu_ps(panel + p * kPanel);
    const __m512 w1 = _mm512_loadu_ps(panel + p * kPanel + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * lda + p]);
      lo[r] = _mm512_fmadd_ps(x, w0, lo[r]);
      hi[r] = _mm512_fmadd_ps(x, w1, hi[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    _mm512_storeu_ps(out + r * ldo, lo[r]);
    _mm512_storeu_ps(out + r * ldo + 16, hi[r]);
  }
}

void tile_avx512(const float* a, int64_t lda, int rows, int64_t k, const float* panel, float* out,
                 int64_t ldo) {
  for (int r0 = 0; r0 < rows; r0 += 8) {
    const float* ar = a + r0 * lda;
    float* o = out + r0 * ldo;
    switch (std::min(8, rows - r0)) {
      case 8:
        tile_avx512_rows<8>(ar, lda, k, panel, o, ldo);
        break;
      case 7:
        tile_avx512_rows<7>(ar, lda, k, panel, o, ldo);
        break;
      case 6:
        tile_avx512_rows<6>(ar, lda, k, panel, o, ldo);
        break;
      case 5:
        tile_avx512_rows<5>(ar, lda, k, panel, o, ldo);
        break;
      case 4:
        tile_avx512_rows<4>(ar, lda, k, panel, o, ldo);
        break;
      case 3:
        tile_avx512_rows<3>(ar, lda, k, panel, o, ldo);
        break;
      case 2:
        tile_avx512_rows<2>(ar, lda, k, panel, o, ldo);
        break;
      default:
        tile_avx512_rows<1>(ar, lda, k, panel, o, ldo);
        break;
    }
  }
}

using Tile = void (*)(const float*, int64_t, int, int64_t, const float*, float*, int64_t);

}  // namespace

void pack_columns(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed,
                  float* packed) {
  for (int64_t col0 = 0; col0 < n; col0 += kPanel) {
    float* panel = packed + col0 * k;  // panel (col0 / 32) starts at col0 / 32 · k · 32
    const int64_t width = std::min(kPanel, n - col0);
    for (int64_t p = 0; p < k; ++p) {
      float* row = panel + p * kPanel;
      for (int64_t j = 0; j < width; ++j)
        row[j] = transposed ? w[(col0 + j) * ldw + p] : w[p * ldw + col0 + j];
      std::fill(row + width, row + kPanel, 0.0f);
    }
  }
}

namespace {
// Columns [col_begin, col_end) of C (multiples of 32, but for the end).
void packed_gemm_columns(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed,
                         int64_t n, float* c, int64_t ldc, Tile tile, int64_t col_begin,
                         int64_t col_end) {
  // Rows in blocks that keep A's block in L1 while every panel streams past it once.
  constexpr int64_t kRows = 64;
  alignas(64) float edge[kRows * kPanel];  // the last, partial panel's full-width result
  for (int64_t r0 = 0; r0 < m; r0 += kRows) {
    const int rows = int(std::min(kRows, m - r0));
    for (int64_t col0 = col_begin; col0 < col_end; col0 += kPanel) {
      const float* panel = packed + col0 * k;
      if (n - col0 >= kPanel) {
        tile(a + r0 * lda, lda, rows, k, panel, c + r0 * ldc + col0, ldc);
        continue;
      }
      tile(a + r0 * lda, lda, rows, k, panel, edge, kPanel);
      for (int r = 0; r < rows; ++r)
        std::memcpy(c + (r0 + r) * ldc + col0, edge + r * kPanel,
                    std::size_t(n - col0) * sizeof(float));
    }
  }
}
}  // namespace

void packed_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
                 float* c, int64_t ldc, Isa isa) {
  const Tile tile = for_isa<Tile>(isa, tile_portable, tile_avx2, tile_avx512);
  const int64_t panels = (n + kPanel - 1) / kPanel;
  // Below about a million multiply-adds, waking a second thread costs more than it saves.
  const int threads =
      m * n * k < (int64_t(1) << 20) ? 1 : int(std::min<int64_t>(compute_threads(), panels));
  if (threads == 1) return packed_gemm_columns(a, lda, m, k, packed, n, c, ldc, tile, 0, n);
  parallel_for(threads, [&](int t) {
    const auto [first, last] = split(panels, threads, t);
    packed_gemm_columns(a, lda, m, k, packed, n, c, ldc, tile, first * kPanel,
                        std::min(n, last * kPanel));
  });
}

}  // namespace rnngraph::kernels
