#include <rnngraph/ops/packed_gemm.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <immintrin.h>

#include <rnngraph/framework/threads.h>
#include <rnngraph/ops/scratch.h>

namespace rnngraph::kernels {

namespace {

// The part of the next panel a tile pulls into L2 as it runs (packed_gemm_columns shares each
// next panel out among the tiles of the one before), so that the next panel's first tile reads
// L2, not L3, when the weight is larger than L2; the portable tile ignores it. Passed by
// reference: by value, it went on the stack as two 8-byte stores that the AVX-512 dispatch read
// back as one 16-byte load, which store forwarding cannot serve (the mid LSTM 2% slower).
struct Upcoming {
  const char* at = nullptr;
  int64_t lines = 0;  // 64-byte lines from `at`
};

// Each tile reads its rows of A packed k-major, element (r, p) of an R-row tile at a[p·R + r]
// (pack_tiles), so its R broadcasts per k are one stream at constant offsets. Read in place, 14
// rows were 14 streams, and their 14 addresses took more registers than x86-64 has: GCC kept five
// on the stack and reloaded them every k (190 against 216 GFLOP/s on [64, 512] · [512, 2048]).

// The portable tile, on SSE2 (part of every x86-64): two rows × one 16-column half at a time,
// 8 accumulators, the half's row in 4 registers and one broadcast. (Written with intrinsics: left
// to itself, GCC vectorised the loop over k instead, with shuffles, at a tenth of this speed.)
void tile_portable(const float* a, int rows, int64_t k, const float* panel, float* out, int64_t ldo,
                   bool accumulate, const Upcoming&) {
  for (int half = 0; half < 2; ++half) {
    const float* w = panel + half * kHalf * k;
    __m128 acc[2][4];
    for (auto& row : acc)
      for (__m128& v : row) v = _mm_setzero_ps();
    for (int64_t p = 0; p < k; ++p) {
      const float* wp = w + p * kHalf;
      const __m128 w0 = _mm_loadu_ps(wp), w1 = _mm_loadu_ps(wp + 4), w2 = _mm_loadu_ps(wp + 8),
                   w3 = _mm_loadu_ps(wp + 12);
      const __m128 x0 = _mm_set1_ps(a[p * rows]), x1 = _mm_set1_ps(a[p * rows + rows - 1]);
      acc[0][0] = _mm_add_ps(acc[0][0], _mm_mul_ps(x0, w0));
      acc[0][1] = _mm_add_ps(acc[0][1], _mm_mul_ps(x0, w1));
      acc[0][2] = _mm_add_ps(acc[0][2], _mm_mul_ps(x0, w2));
      acc[0][3] = _mm_add_ps(acc[0][3], _mm_mul_ps(x0, w3));
      acc[1][0] = _mm_add_ps(acc[1][0], _mm_mul_ps(x1, w0));
      acc[1][1] = _mm_add_ps(acc[1][1], _mm_mul_ps(x1, w1));
      acc[1][2] = _mm_add_ps(acc[1][2], _mm_mul_ps(x1, w2));
      acc[1][3] = _mm_add_ps(acc[1][3], _mm_mul_ps(x1, w3));
    }
    for (int r = 0; r < rows; ++r) {
      float* o = out + r * ldo + half * kHalf;
      for (int j = 0; j < 4; ++j) {
        const __m128 sum = accumulate ? _mm_add_ps(acc[r][j], _mm_loadu_ps(o + 4 * j)) : acc[r][j];
        _mm_storeu_ps(o + 4 * j, sum);
      }
    }
  }
}
int height_portable(int left) { return std::min(2, left); }

// AVX2: R ≤ 6 rows × 16 columns (one half of the panel) in 12 ymm accumulators, the half's two
// vectors and one broadcast beside them: 15 of the 16 registers, two loads per six FMA pairs.
// Each half pulls half of the tile's share of the next panel into L2, a line per k until it is
// done (the large LSTM, 4 MB of weight, 7% faster; the mid LSTM, two weights of 1 MB, 2.7%).
template <int R>
__attribute__((target("avx2,fma"))) void tile_avx2_rows(const float* a, int64_t k,
                                                        const float* half, float* out, int64_t ldo,
                                                        bool accumulate, const Upcoming& upcoming) {
  const Upcoming pull = upcoming;  // a copy, in registers (through the reference, GCC reloaded
                                   // both fields every k: the mid LSTM 4% slower on AVX2)
  __m256 lo[R], hi[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    if (p < pull.lines) _mm_prefetch(pull.at + 64 * p, _MM_HINT_T1);
    const __m256 w0 = _mm256_loadu_ps(half + p * kHalf);
    const __m256 w1 = _mm256_loadu_ps(half + p * kHalf + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + p * R + r);
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

void tile_avx2(const float* a, int rows, int64_t k, const float* panel, float* out, int64_t ldo,
               bool accumulate, const Upcoming& upcoming) {
  const int64_t first = upcoming.lines / 2;
  const Upcoming parts[2] = {{upcoming.at, first},
                             {upcoming.at + 64 * first, upcoming.lines - first}};
  for (int half = 0; half < 2; ++half)
    with_rows<6>(rows, [&]<int R>() {
      tile_avx2_rows<R>(a, k, panel + half * kHalf * k, out + 16 * half, ldo, accumulate,
                        parts[half]);
    });
}
// Tiles of 6 rows, but 7 or 8 left go as 4 + 3 or 4 + 4: a tile of 1 or 2 rows has too few
// accumulators to hide the FMA latency (32 rows: 6·4 + 4·2, not 6·5 + 2).
int height_avx2(int left) { return left == 7 || left == 8 ? 4 : std::min(6, left); }

// AVX-512: up to 14 rows × 32 columns in 28 zmm accumulators, with the panel's two vectors
// (loaded once per k) and a broadcast of A: 31 of the 32 registers, 16 loads per 28 FMAs. (8
// rows, 16 accumulators, ran 7–9% slower on the deep products: 170 against 185 GFLOP/s on
// [64, 512] · [512, 2048], one Sapphire Rapids core.) Two prefetches:
// - the panel, 8 k ahead into L1: while a tile's first pass over a panel read it from L3 (a
//   weight larger than L2, before the prefetch below), this took that product from 201 to 212
//   GFLOP/s (at a limit of 246); with the panels in L2 it no longer changes that product's time,
//   but it still covers each range's first panel, which no tile pulls in ahead;
// - the tile's share of the next panel into L2, a line per k until it is done (two while the
//   share is more than k lines), so the next panel's first tile reads L2, not L3: the same
//   product 162 → 167 GFLOP/s at a limit of 208 (78 → 80%; medians of 21 alternating runs), the
//   large LSTM 3.9% faster, the mid LSTM (whose weights fit L2) and training unchanged.
// And the tile's output lines are prefetched for writing before its k loop: a large C is not in
// cache, and stores that miss stalled the tile at its end (x·W_x of 64 steps, [4096, 512] · [512,
// 2048]: 187 → 198 GFLOP/s).
template <int R>
__attribute__((target("avx512f,prfchw"))) void tile_avx512_rows(const float* a, int64_t k,
                                                                const float* panel, float* out,
                                                                int64_t ldo, bool accumulate,
                                                                const Upcoming& upcoming) {
  constexpr int64_t kAhead = 8;
  const Upcoming pull = upcoming;  // a copy, in registers (as in the AVX2 tile)
  const float* second = panel + kHalf * k;
  for (int r = 0; r < R; ++r) {
    __builtin_prefetch(out + r * ldo, 1);
    __builtin_prefetch(out + r * ldo + kHalf, 1);
  }
  // The unroll pragmas keep the 2·R accumulators in registers (GCC at -O2 would not).
  __m512 lo[R], hi[R];
#pragma GCC unroll 14
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
  // (prefetched as integers: past the last panel's end, a pointer would be out of its array)
  const auto ahead = [](const float* at, int64_t p) {
    return reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(at) +
                                         uintptr_t((p + kAhead) * kHalf) * sizeof(float));
  };
  for (int64_t p = 0; p < k; ++p) {
    _mm_prefetch(ahead(panel, p), _MM_HINT_T0);
    _mm_prefetch(ahead(second, p), _MM_HINT_T0);
    if (p < pull.lines) _mm_prefetch(pull.at + 64 * p, _MM_HINT_T1);
    if (p + k < pull.lines) _mm_prefetch(pull.at + 64 * (p + k), _MM_HINT_T1);
    const __m512 w0 = _mm512_loadu_ps(panel + p * kHalf);
    const __m512 w1 = _mm512_loadu_ps(second + p * kHalf);
#pragma GCC unroll 14
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[p * R + r]);
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

void tile_avx512(const float* a, int rows, int64_t k, const float* panel, float* out, int64_t ldo,
                 bool accumulate, const Upcoming& upcoming) {
  with_rows<14>(rows,
                [&]<int R>() { tile_avx512_rows<R>(a, k, panel, out, ldo, accumulate, upcoming); });
}
// The size of each of the fewest parts of at most `most` that `total` cuts into equally (the
// last one may be shorter).
int64_t equal_part(int64_t total, int64_t most) {
  const int64_t parts = (total + most - 1) / most;
  return parts ? (total + parts - 1) / parts : 0;
}

// At most 14 rows, as many tiles as that takes, of near-equal height (32 rows: 11 + 11 + 10, not
// 14 + 14 + 4, whose last tile is too short to keep the FMA units busy).
int height_avx512(int left) { return int(equal_part(left, 14)); }

// An ISA's micro-kernel: `tile` multiplies `rows` packed rows of A by one panel of 32 columns
// into out (row stride ldo), written or (accumulate) added, and may pull `upcoming` into L2;
// `height` is the rows of the next tile when `left` rows of a block remain.
struct Kernel {
  void (*tile)(const float* a, int rows, int64_t k, const float* panel, float* out, int64_t ldo,
               bool accumulate, const Upcoming& upcoming);
  int (*height)(int left);
};

Kernel kernel_for(Isa isa) {
  return for_isa<Kernel>(isa, {tile_portable, height_portable}, {tile_avx2, height_avx2},
                         {tile_avx512, height_avx512});
}

}  // namespace

void pack_columns(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed,
                  float* packed) {
  // Half h (16 columns from 16·h) of W's row p goes to panel h / 2, its half h % 2, row p.
  auto half_row = [&](int64_t half, int64_t p) {
    return packed + (half / 2) * kPanel * k + (half % 2) * kHalf * k + p * kHalf;
  };
  const int64_t halves = (n + kPanel - 1) / kPanel * 2;
  if (!transposed) {
    // Row by row of W, so it is read in order (panel by panel, each of its rows was a new line
    // and every few a new page: 7% of a weight gradient's time, [6400, 2048] · ...)
    for (int64_t p = 0; p < k; ++p)
      for (int64_t half = 0; half < halves; ++half) {
        float* row = half_row(half, p);
        const float* from = w + p * ldw + half * kHalf;
        const int64_t width = std::clamp<int64_t>(n - half * kHalf, 0, kHalf);
        if (width == kHalf)  // a fixed size: inline moves (std::copy_n called memmove here)
          std::memcpy(row, from, kHalf * sizeof(float));
        else
          std::fill(std::copy_n(from, width, row), row + kHalf, 0.0f);
      }
    return;
  }
  // Wᵀ: W's rows are the packed columns; a half's 16 rows are read in order, p by p.
  for (int64_t half = 0; half < halves; ++half) {
    const int64_t width = std::clamp<int64_t>(n - half * kHalf, 0, kHalf);
    for (int64_t p = 0; p < k; ++p) {
      float* row = half_row(half, p);
      for (int64_t j = 0; j < width; ++j) row[j] = w[(half * kHalf + j) * ldw + p];
      std::fill(row + width, row + kHalf, 0.0f);
    }
  }
}

namespace {
// Rows of A per block at most (a multiple of both wide tiles' rows, 6 and 14): the block's rows,
// packed, stay in L2 while every panel streams past them once.
constexpr int64_t kRows = 84;

// The rows of each block when `m` rows are cut into blocks of at most kRows: blocks of equal
// size, so that no block is left a few rows for a narrow tile (256 rows, x · W_x of 4 steps of
// B = 64: four blocks of 64, not three of 84 and one of 4, whose 4-row tiles took 1.9% of the
// large LSTM's run in perf; the run's time moved within the machine's noise). AVX-512's tiles
// split any block into near-equal heights; AVX2's 6-row tiles may leave one of 4 a block.
int64_t block_rows(int64_t m) { return equal_part(m, kRows); }

// (GCC 12 warns that its own intrinsics' unused pass-through operand "may be used uninitialized".)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// 16 rows of 16 floats, v[0..16), transposed in place in registers (the classic four rounds
// of unpacks and lane shuffles): v[j] then holds column j.
__attribute__((target("avx512f"))) inline void transpose16(__m512 v[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {  // pairs of rows: 32-bit interleave
    t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
  }
  for (int i = 0; i < 16; i += 4)  // 64-bit interleave
    for (int j = 0; j < 2; ++j) {
      const __m512d a = _mm512_castps_pd(t[i + j]), b = _mm512_castps_pd(t[i + j + 2]);
      v[i + 2 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
      v[i + 2 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    }
  // v[4q + r] now holds, in each 128-bit lane l, element r of rows 4q..4q+3 at columns 4l + r.
  for (int q = 0; q < 4; q += 2)  // 128-bit lanes: rows 4q.. with 4q+4..
    for (int r = 0; r < 4; ++r) {
      t[4 * q + r] = _mm512_shuffle_f32x4(v[4 * q + r], v[4 * q + 4 + r], 0x88);
      t[4 * q + 4 + r] = _mm512_shuffle_f32x4(v[4 * q + r], v[4 * q + 4 + r], 0xdd);
    }
  for (int r = 0; r < 8; ++r) {  // and rows 0..7 with 8..15
    v[r] = _mm512_shuffle_f32x4(t[r], t[r + 8], 0x88);
    v[r + 8] = _mm512_shuffle_f32x4(t[r], t[r + 8], 0xdd);
  }
}

#pragma GCC diagnostic pop

// One tile of h ≤ 16 rows of A (rows rs apart, contiguous along k) packed k-major, 16 k at a
// time through transpose16 (the mid LSTM's packing: 3.9% of its run as a scalar copy, 1.0%).
__attribute__((target("avx512f"))) void pack_tile_avx512(const float* a, int64_t rs, int h,
                                                         int64_t k, float* tile) {
  for (int64_t p0 = 0; p0 < k; p0 += 16) {
    const __mmask16 depth = first_lanes(k - p0);
    __m512 v[16];
    for (int r = 0; r < 16; ++r)
      v[r] = r < h ? _mm512_maskz_loadu_ps(depth, a + r * rs + p0) : _mm512_setzero_ps();
    transpose16(v);
    for (int j = 0; j < 16 && p0 + j < k; ++j)
      _mm512_mask_storeu_ps(tile + (p0 + j) * h, first_lanes(h), v[j]);
  }
}

// For Aᵀ (A [k, ·], its columns op(A)'s rows): the tile's k-major rows are h contiguous floats of
// A's rows, cs apart, copied under a mask.
__attribute__((target("avx512f"))) void copy_tile_avx512(const float* a, int64_t cs, int h,
                                                         int64_t k, float* tile) {
  const __mmask16 lanes = first_lanes(h);
  for (int64_t p = 0; p < k; ++p)
    _mm512_mask_storeu_ps(tile + p * h, lanes, _mm512_maskz_loadu_ps(lanes, a + p * cs));
}

// Rows [0, rows) of A [·, k] (element (r, p) at a[r·rs + p·cs]: A's rows, or for Aᵀ its columns)
// packed into the kernel's tiles: the tile of rows [r0, r0 + h) at packed + r0·k, k-major.
void pack_tiles(const float* a, int64_t rs, int64_t cs, int rows, int64_t k, Kernel kernel, Isa isa,
                float* packed) {
  for (int r0 = 0, h; r0 < rows; r0 += h) {
    h = kernel.height(rows - r0);
    float* tile = packed + r0 * k;
    const float* first = a + r0 * rs;
    if (cs == 1 && isa >= Isa::Avx512)
      pack_tile_avx512(first, rs, h, k, tile);
    else if (cs == 1)  // read A's rows in order
      for (int r = 0; r < h; ++r)
        for (int64_t p = 0; p < k; ++p) tile[p * h + r] = first[r * rs + p];
    else if (rs == 1 && isa >= Isa::Avx512)  // Aᵀ: A's rows are already the tile's k-major rows
      copy_tile_avx512(first, cs, h, k, tile);
    else  // Aᵀ: read A's rows (the tile's columns) in order
      for (int64_t p = 0; p < k; ++p)
        for (int r = 0; r < h; ++r) tile[p * h + r] = first[r * rs + p * cs];
  }
}

// Columns [col_begin, col_end) of C (multiples of 32, but for the end) for `rows` rows of A packed
// by pack_tiles, written or accumulated. Each panel's tiles pull the next panel into L2.
void packed_gemm_columns(const float* a, int rows, int64_t k, const float* packed, int64_t n,
                         float* c, int64_t ldc, Kernel kernel, int64_t col_begin, int64_t col_end,
                         bool accumulate) {
  alignas(64) float edge[kRows * kPanel];  // the last, partial panel's full-width result
  static_assert(kPanel * sizeof(float) % 64 == 0, "a panel's row is whole 64-byte lines");
  const int64_t panel_lines = kPanel * k * int64_t(sizeof(float)) / 64;
  for (int64_t col0 = col_begin; col0 < col_end; col0 += kPanel) {
    const float* panel = packed + col0 * k;
    const bool full = n - col0 >= kPanel;
    // The next panel's lines, shared out among this panel's tiles in order (none for the range's
    // last panel: pulling the range's first one there for the next block of rows or the next
    // call measured no faster)
    const bool has_next = col0 + kPanel < col_end;
    const char* next = reinterpret_cast<const char*>(panel + kPanel * k);
    for (int r0 = 0, h; r0 < rows; r0 += h) {
      h = kernel.height(rows - r0);
      const int64_t from = has_next ? panel_lines * r0 / rows : 0;
      const int64_t to = has_next ? panel_lines * (r0 + h) / rows : 0;
      const Upcoming upcoming{next + 64 * from, to - from};
      if (full)
        kernel.tile(a + r0 * k, h, k, panel, c + r0 * ldc + col0, ldc, accumulate, upcoming);
      else
        kernel.tile(a + r0 * k, h, k, panel, edge + r0 * kPanel, kPanel, false, upcoming);
    }
    if (full) continue;
    for (int r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n - col0; ++j) {
        float& out = c[r * ldc + col0 + j];
        out = accumulate ? out + edge[r * kPanel + j] : edge[r * kPanel + j];
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
  const Kernel kernel = kernel_for(isa);
  const int64_t panels = (n + kPanel - 1) / kPanel;
  const int threads = threads_for(m, n, k, panels);
  parallel_for(threads, [&](int t) {
    const auto [first, last] = split(panels, threads, t);
    // Each thread packs A's blocks for itself: the packing, by register transposes, is about 1%
    // of the mid and large LSTMs' one-thread runs (sharing it would take a second parallel
    // region a product; not tried).
    float* a_block = scratch<float, 1>(std::size_t(kRows * k));
    const int64_t height = block_rows(m);
    for (int64_t r0 = 0; r0 < m; r0 += height) {
      const int rows = int(std::min(height, m - r0));
      pack_tiles(a + r0 * lda, lda, 1, rows, k, kernel, isa, a_block);
      packed_gemm_columns(a_block, rows, k, packed, n, c + r0 * ldc, ldc, kernel, first * kPanel,
                          std::min(n, last * kPanel), false);
    }
  });
}

void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a,
          int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, Isa isa) {
  const Kernel kernel = kernel_for(isa);
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
  // op(A)'s element (r, p): A's row r, or for Aᵀ A's column r
  const int64_t rs = transpose_a ? 1 : lda, cs = transpose_a ? lda : 1;
  parallel_for(threads, [&](int t) {
    const auto [begin, end] = split(by_rows ? m : panels, threads, t);
    const int64_t row0 = by_rows ? begin : 0, rows = by_rows ? end - begin : m;
    const int64_t col_begin = by_rows ? 0 : begin * kPanel;
    const int64_t col_end = by_rows ? n : std::min(n, end * kPanel);
    float* packed = scratch<float, 0>(std::size_t(packed_size(kDepth, kWidth)));
    float* a_block = scratch<float, 1>(std::size_t(kRows * kDepth));
    const int64_t height = block_rows(rows);
    for (int64_t col0 = col_begin; col0 < col_end; col0 += kWidth) {
      const int64_t width = std::min(kWidth, col_end - col0);
      for (int64_t p0 = 0; p0 < k; p0 += kDepth) {
        const int64_t depth = std::min(kDepth, k - p0);
        // op(B)'s block [p0, p0 + depth) × [col0, col0 + width): B's rows, or for Bᵀ its columns
        const float* block = transpose_b ? b + col0 * ldb + p0 : b + p0 * ldb + col0;
        pack_columns(block, ldb, depth, width, transpose_b, packed);
        for (int64_t r0 = row0; r0 < row0 + rows; r0 += height) {
          const int n_rows = int(std::min(height, row0 + rows - r0));
          pack_tiles(a + r0 * rs + p0 * cs, rs, cs, n_rows, depth, kernel, isa, a_block);
          packed_gemm_columns(a_block, n_rows, depth, packed, width, c + r0 * ldc + col0, ldc,
                              kernel, 0, width, p0 > 0);
        }
      }
    }
  });
}

}  // namespace rnngraph::kernels
