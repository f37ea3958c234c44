#include <rnngraph/ops/bf16_gemm.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include <immintrin.h>

#include <rnngraph/framework/threads.h>

namespace rnngraph::kernels {

uint16_t to_bf16(float v) {
  const uint32_t bits = std::bit_cast<uint32_t>(v);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40);  // NaN, quiet
  // round to nearest, ties to even: add just under half of the dropped unit, plus the kept
  // part's lowest bit (±inf is unchanged: its low half is zero)
  return uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

float from_bf16(uint16_t bits) { return std::bit_cast<float>(uint32_t(bits) << 16); }

namespace {

constexpr int64_t kRows = 16;

// R rows × one group of 16 columns of the packed weights, at `w` (k rows of 16 values).
void group_portable(const float* a, int64_t lda, int rows, int64_t k, const uint16_t* w, float* out,
                    int64_t ldo, int width) {
  for (int r = 0; r < rows; ++r) {
    float acc[kBf16Group] = {};
    for (int64_t p = 0; p < k; ++p) {
      const float x = a[r * lda + p];
      for (int j = 0; j < kBf16Group; ++j) acc[j] += x * from_bf16(w[p * kBf16Group + j]);
    }
    std::memcpy(out + r * ldo, acc, std::size_t(width) * sizeof(float));
  }
}

// R rows × 16 columns: 2·R float accumulators, the 16 weights widened into two vectors, a's
// value broadcast.
template <int R>
__attribute__((target("avx2,fma"))) void group_avx2_rows(const float* a, int64_t lda, int64_t k,
                                                         const uint16_t* w, float* out, int64_t ldo,
                                                         int width) {
  __m256 lo[R], hi[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + p * kBf16Group));
    const __m256 w0 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(packed)), 16));
    const __m256 w1 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(packed, 1)), 16));
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * lda + p);
      lo[r] = _mm256_fmadd_ps(x, w0, lo[r]);
      hi[r] = _mm256_fmadd_ps(x, w1, hi[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    if (width == kBf16Group) {
      _mm256_storeu_ps(out + r * ldo, lo[r]);
      _mm256_storeu_ps(out + r * ldo + 8, hi[r]);
    } else {
      alignas(32) float y[kBf16Group];
      _mm256_store_ps(y, lo[r]);
      _mm256_store_ps(y + 8, hi[r]);
      std::memcpy(out + r * ldo, y, std::size_t(width) * sizeof(float));
    }
  }
}

void group_avx2(const float* a, int64_t lda, int rows, int64_t k, const uint16_t* w, float* out,
                int64_t ldo, int width) {
  // Tiles of 6 rows; 7 to 11 rows left split in two, so no tile is too short to keep the FMA
  // units busy (a 2-row tile has 4 accumulators for 8 FMAs in flight).
  for (int r0 = 0; r0 < rows;) {
    const int left = rows - r0, tile = left >= 12 || left <= 6 ? std::min(6, left) : (left + 1) / 2;
    with_rows<6>(tile, [&]<int R>() {
      group_avx2_rows<R>(a + r0 * lda, lda, k, w, out + r0 * ldo, ldo, width);
    });
    r0 += tile;
  }
}

}  // namespace

void pack_bf16(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed, float* packed) {
  auto* values = reinterpret_cast<uint16_t*>(packed);
  std::memset(packed, 0, std::size_t(bf16_packed_floats(k, n)) * sizeof(float));
  for (int64_t p = 0; p < k; ++p)
    for (int64_t c = 0; c < n; ++c)
      values[(c / kBf16Group * k + p) * kBf16Group + c % kBf16Group] =
          to_bf16(transposed ? w[c * ldw + p] : w[p * ldw + c]);
}

void bf16_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
               float* c, int64_t ldc, Isa isa) {
  const auto group = isa == Isa::Portable ? group_portable : group_avx2;
  const auto* values = reinterpret_cast<const uint16_t*>(packed);
  const int64_t groups = bf16_groups(n);
  // Below about two million multiply-adds, waking a second thread costs more than it saves.
  const int threads =
      m * n * k < (int64_t(1) << 21) ? 1 : int(std::min<int64_t>(compute_threads(), groups));
  parallel_for(threads, [&](int t) {
    const auto [first, last] = split(groups, threads, t);
    // Rows in blocks of 16, so a block of a stays in L1 while the groups stream past.
    for (int64_t r0 = 0; r0 < m; r0 += kRows) {
      const int rows = int(std::min<int64_t>(kRows, m - r0));
      for (int64_t g = first; g < last; ++g) {
        const int64_t col = g * kBf16Group;
        group(a + r0 * lda, lda, rows, k, values + col * k, c + r0 * ldc + col, ldc,
              int(std::min(kBf16Group, n - col)));
      }
    }
  });
}

}  // namespace rnngraph::kernels
