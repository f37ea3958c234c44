#include <rnngraph/ops/packed_gemm.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <immintrin.h>

#include <rnngraph/framework/threads.h>
#include <rnngraph/ops/scratch.h>

namespace rnngraph::kernels {

namespace {

// One tile: rows [0, rows) of A times one panel, into out (row stride ldo), full 32 columns,
// written or (accumulate) added. A's element (r, p) is a[r·rs + p·cs]: rows of A (cs = 1) or,
// for Aᵀ, its columns (rs = 1).
// The portable tile, on SSE2 (part of every x86-64): two rows × one 16-column half at a time,
// 8 accumulators, the half's row in 4 registers and one broadcast. (Written with intrinsics: left
// to itself, GCC vectorised the loop over k instead, with shuffles, at a tenth of this speed.)
void tile_portable(const float* a, int64_t rs, int64_t cs, int rows, int64_t k, const float* panel,
                   float* out, int64_t ldo, bool accumulate) {
  for (int r0 = 0; r0 < rows; r0 += 2) {
    const int n = std::min(2, rows - r0);
    const float* a0 = a + r0 * rs;
    const float* a1 = n > 1 ? a0 + rs : a0;
    for (int half = 0; half < 2; ++half) {
      const float* w = panel + half * kHalf * k;
      __m128 acc[2][4];
      for (auto& row : acc)
        for (__m128& v : row) v = _mm_setzero_ps();
      for (int64_t p = 0; p < k; ++p) {
        const float* wp = w + p * kHalf;
        const __m128 w0 = _mm_loadu_ps(wp), w1 = _mm_loadu_ps(wp + 4), w2 = _mm_loadu_ps(wp + 8),
                     w3 = _mm_loadu_ps(wp + 12);
        const __m128 x0 = _mm_set1_ps(a0[p * cs]), x1 = _mm_set1_ps(a1[p * cs]);
        acc[0][0] = _mm_add_ps(acc[0][0], _mm_mul_ps(x0, w0));
        acc[0][1] = _mm_add_ps(acc[0][1], _mm_mul_ps(x0, w1));
        acc[0][2] = _mm_add_ps(acc[0][2], _mm_mul_ps(x0, w2));
        acc[0][3] = _mm_add_ps(acc[0][3], _mm_mul_ps(x0, w3));
        acc[1][0] = _mm_add_ps(acc[1][0], _mm_mul_ps(x1, w0));
        acc[1][1] = _mm_add_ps(acc[1][1], _mm_mul_ps(x1, w1));
        acc[1][2] = _mm_add_ps(acc[1][2], _mm_mul_ps(x1, w2));
        acc[1][3] = _mm_add_ps(acc[1][3], _mm_mul_ps(x1, w3));
      }
      for (int r = 0; r < n; ++r) {
        float* o = out + (r0 + r) * ldo + half * kHalf;
        for (int j = 0; j < 4; ++j) {
          const __m128 sum =
              accumulate ? _mm_add_ps(acc[r][j], _mm_loadu_ps(o + 4 * j)) : acc[r][j];
          _mm_storeu_ps(o + 4 * j, sum);
        }
      }
    }
  }
}

// AVX2: R ≤ 6 rows × 16 columns (one half of the panel) in 12 ymm accumulators, the half's two
// vectors and one broadcast beside them: 15 of the 16 registers, two loads per six FMA pairs.
template <int R>
__attribute__((target("avx2,fma"))) void tile_avx2_rows(const float* a, int64_t rs, int64_t cs,
                                                        int64_t k, const float* half, float* out,
                                                        int64_t ldo, bool accumulate) {
  __m256 lo[R], hi[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m256 w0 = _mm256_loadu_ps(half + p * kHalf);
    const __m256 w1 = _mm256_loadu_ps(half + p * kHalf + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * rs + p * cs);
      lo[r] = _mm256_fmadd_ps(x, w0, lo[r]);
      hi[r] = _mm256_fmadd_ps(x, w1, hi[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    float* o = out + r * ldo;
    if (accumulate) {
      lo[r] = _mm256_add_ps(lo[r], _mm256_loadu_ps(o));
      hi[r] = _mm256_add_ps(hi[r], _mm256_loadu_ps(o + 8));
    }
    _mm256_storeu_ps(o, lo[r]);
    _mm256_storeu_ps(o + 8, hi[r]);
  }
}

void tile_avx2(const float* a, int64_t rs, int64_t cs, int rows, int64_t k, const float* panel,
               float* out, int64_t ldo, bool accumulate) {
  // Blocks of 6 rows, but 7 or 8 left go as 4 + 3 or 4 + 4: a tile of 1 or 2 rows has too few
  // accumulators to hide the FMA latency (32 rows: 6·4 + 4·2, not 6·5 + 2).
  for (int r0 = 0, block; r0 < rows; r0 += block) {
    const int left = rows - r0;
    block = left == 7 || left == 8 ? 4 : std::min(6, left);
    const float* ar = a + r0 * rs;
    for (int half = 0; half < 2; ++half) {
      const float* w = panel + half * kHalf * k;
      float* o = out + r0 * ldo + 16 * half;
      with_rows<6>(block,
                   [&]<int R>() { tile_avx2_rows<R>(ar, rs, cs, k, w, o, ldo, accumulate); });
    }
  }
}

// AVX-512: up to 14 rows × 32 columns in 28 zmm accumulators, with the panel's two vectors
// (loaded once per k) and a broadcast of A: 31 of the 32 registers, 16 loads per 28 FMAs. (8
// rows, 16 accumulators, ran 7–9% slower on the deep products: 170 against 185 GFLOP/s on
// [64, 512] · [512, 2048], one Sapphire Rapids core.)
template <int R>
__attribute__((target("avx512f"))) void tile_avx512_rows(const float* a, int64_t rs, int64_t cs,
                                                         int64_t k, const float* panel, float* out,
                                                         int64_t ldo, bool accumulate) {
  // The unroll pragmas keep the 2·R accumulators in registers (GCC at -O2 would not).
  __m512 lo[R], hi[R];
#pragma GCC unroll 14
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m512 w0 = _mm512_loadu_ps(panel + p * kHalf);
    const __m512 w1 = _mm512_loadu_ps(panel + kHalf * k + p * kHalf);
#pragma GCC unroll 14
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * rs + p * cs]);
      lo[r] = _mm512_fmadd_ps(x, w0, lo[r]);
      hi[r] = _mm512_fmadd_ps(x, w1, hi[r]);
    }
  }
#pragma GCC unroll 14
  for (int r = 0; r < R; ++r) {
    float* o = out + r * ldo;
    if (accumulate) {
      lo[r] = _mm512_add_ps(lo[r], _mm512_loadu_ps(o));
      hi[r] = _mm512_add_ps(hi[r], _mm512_loadu_ps(o + 16));
    }
    _mm512_storeu_ps(o, lo[r]);
    _mm512_storeu_ps(o + 16, hi[r]);
  }
}

void tile_avx512(const float* a, int64_t rs, int64_t cs, int rows, int64_t k, const float* panel,
                 float* out, int64_t ldo, bool accumulate) {
  // Tiles of at most 14 rows, as many as that takes, of near-equal height (32 rows: 11 + 11 +
  // 10, not 14 + 14 + 4, whose last tile is too short to keep the FMA units busy).
  const int tiles = (rows + 13) / 14;
  for (int r0 = 0, t = 0, block; r0 < rows; r0 += block, ++t) {
    block = (rows - r0 + (tiles - t) - 1) / (tiles - t);
    const float* ar = a + r0 * rs;
    float* o = out + r0 * ldo;
    with_rows<14>(block,
                  [&]<int R>() { tile_avx512_rows<R>(ar, rs, cs, k, panel, o, ldo, accumulate); });
  }
}

using Tile = void (*)(const float* a, int64_t rs, int64_t cs, int rows, int64_t k,
                      const float* panel, float* out, int64_t ldo, bool accumulate);

}  // namespace

void pack_columns(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed,
                  float* packed) {
  for (int64_t col0 = 0; col0 < n; col0 += kPanel) {
    float* panel = packed + col0 * k;  // panel (col0 / 32) starts at col0 / 32 · k · 32
    for (int half = 0; half < 2; ++half) {
      const int64_t first = col0 + half * kHalf;
      const int64_t width = std::clamp<int64_t>(n - first, 0, kHalf);
      for (int64_t p = 0; p < k; ++p) {
        float* row = panel + half * kHalf * k + p * kHalf;
        if (transposed)
          for (int64_t j = 0; j < width; ++j) row[j] = w[(first + j) * ldw + p];
        else if (width == kHalf)  // a fixed count: two vector moves, not a call to memmove
          std::copy_n(w + p * ldw + first, kHalf, row);
        else
          std::copy_n(w + p * ldw + first, width, row);
        std::fill(row + width, row + kHalf, 0.0f);
      }
    }
  }
}

namespace {
// Rows of A per block (a multiple of both tiles' rows, 6 and 14): the block's rows stay in cache
// while every panel streams past them once.
constexpr int64_t kRows = 42;

// Columns [col_begin, col_end) of C (multiples of 32, but for the end), written or accumulated.
void packed_gemm_columns(const float* a, int64_t rs, int64_t cs, int64_t m, int64_t k,
                         const float* packed, int64_t n, float* c, int64_t ldc, Tile tile,
                         int64_t col_begin, int64_t col_end, bool accumulate) {
  alignas(64) float edge[kRows * kPanel];  // the last, partial panel's full-width result
  for (int64_t r0 = 0; r0 < m; r0 += kRows) {
    const int rows = int(std::min(kRows, m - r0));
    for (int64_t col0 = col_begin; col0 < col_end; col0 += kPanel) {
      const float* panel = packed + col0 * k;
      float* out = c + r0 * ldc + col0;
      if (n - col0 >= kPanel) {
        tile(a + r0 * rs, rs, cs, rows, k, panel, out, ldc, accumulate);
        continue;
      }
      const int64_t width = n - col0;
      tile(a + r0 * rs, rs, cs, rows, k, panel, edge, kPanel, false);
      for (int r = 0; r < rows; ++r)
        for (int64_t j = 0; j < width; ++j)
          out[r * ldc + j] =
              accumulate ? out[r * ldc + j] + edge[r * kPanel + j] : edge[r * kPanel + j];
    }
  }
}

// Below about a million multiply-adds, waking a second thread costs more than it saves.
int threads_for(int64_t m, int64_t n, int64_t k, int64_t parts) {
  return m * n * k < (int64_t(1) << 20) ? 1 : int(std::min<int64_t>(compute_threads(), parts));
}
}  // namespace

void packed_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
                 float* c, int64_t ldc, Isa isa) {
  const Tile tile = for_isa<Tile>(isa, tile_portable, tile_avx2, tile_avx512);
  const int64_t panels = (n + kPanel - 1) / kPanel;
  const int threads = threads_for(m, n, k, panels);
  parallel_for(threads, [&](int t) {
    const auto [first, last] = split(panels, threads, t);
    packed_gemm_columns(a, lda, 1, m, k, packed, n, c, ldc, tile, first * kPanel,
                        std::min(n, last * kPanel), false);
  });
}

void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a,
          int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, Isa isa) {
  const Tile tile = for_isa<Tile>(isa, tile_portable, tile_avx2, tile_avx512);
  // op(B) is packed a block at a time, kDepth rows by kWidth columns (at most 2 MB), so the
  // packed block stays in L2 while A's rows stream past it; the blocks of depth add up into C.
  constexpr int64_t kDepth = 256, kWidth = 2048;
  if (k == 0) {
    for (int64_t r = 0; r < m; ++r) std::fill_n(c + r * ldc, n, 0.0f);
    return;
  }
  // Split by rows of C when it is taller than wide (each thread then packs op(B) for itself),
  // else by panels of columns.
  const bool by_rows = m >= n;
  const int64_t panels = (n + kPanel - 1) / kPanel;
  const int threads = threads_for(m, n, k, by_rows ? m : panels);
  parallel_for(threads, [&](int t) {
    const auto [begin, end] = split(by_rows ? m : panels, threads, t);
    const int64_t row0 = by_rows ? begin : 0, rows = by_rows ? end - begin : m;
    const int64_t col_begin = by_rows ? 0 : begin * kPanel;
    const int64_t col_end = by_rows ? n : std::min(n, end * kPanel);
    float* packed = scratch<float, 0>(std::size_t(packed_size(kDepth, kWidth)));
    float* a_block = transpose_a ? scratch<float, 1>(std::size_t(kRows * kDepth)) : nullptr;
    for (int64_t col0 = col_begin; col0 < col_end; col0 += kWidth) {
      const int64_t width = std::min(kWidth, col_end - col0);
      for (int64_t p0 = 0; p0 < k; p0 += kDepth) {
        const int64_t depth = std::min(kDepth, k - p0);
        // op(B)'s block [p0, p0 + depth) × [col0, col0 + width): B's rows, or for Bᵀ its columns
        const float* block = transpose_b ? b + col0 * ldb + p0 : b + p0 * ldb + col0;
        pack_columns(block, ldb, depth, width, transpose_b, packed);
        for (int64_t r0 = row0; r0 < row0 + rows; r0 += kRows) {
          const int64_t n_rows = std::min(kRows, row0 + rows - r0);
          float* out = c + r0 * ldc + col0;
          if (!transpose_a) {
            packed_gemm_columns(a + r0 * lda + p0, lda, 1, n_rows, depth, packed, width, out, ldc,
                                tile, 0, width, p0 > 0);
            continue;
          }
          // Aᵀ's rows are A's columns, lda apart: transposed into a block of rows first, so the
          // tile's few rows of A are a few contiguous streams (in place, each p is a new page)
          for (int64_t p = 0; p < depth; ++p)
            for (int64_t r = 0; r < n_rows; ++r)
              a_block[r * depth + p] = a[(p0 + p) * lda + r0 + r];
          packed_gemm_columns(a_block, depth, 1, n_rows, depth, packed, width, out, ldc, tile, 0,
                              width, p0 > 0);
        }
      }
    }
  });
}

}  // namespace rnngraph::kernels
