#include <rnngraph/ops/bf16_gemm.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include <immintrin.h>

#include <rnngraph/framework/threads.h>
#include <rnngraph/ops/amx.h>
#include <rnngraph/ops/scratch.h>

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

// a's rows rounded to bf16, [m, depth] (the padding zero): as floats (the values the bf16 bits
// stand for) for the kernels that widen, or as the bits themselves for vdpbf16ps and AMX. The
// vector kernels stop at `used`, k rounded up to 2; AMX's tiles take depth's 32 at a time.
struct Rows {
  const float* values;
  const uint16_t* bits;
  int64_t depth;
  int64_t used;
};

// W's packed groups from `first` on, `stride` values apart.
struct Groups {
  const uint16_t* first;
  int64_t stride;
};

void group_portable(const Rows& a, int rows, const uint16_t* w, float* out, int64_t ldo,
                    int width) {
  for (int r = 0; r < rows; ++r) {
    float acc[kBf16Group] = {};
    for (int64_t p = 0; p < a.used; p += 2) {
      const float x0 = a.values[r * a.depth + p], x1 = a.values[r * a.depth + p + 1];
      const uint16_t* pair = w + p * kBf16Group;
      for (int j = 0; j < kBf16Group; ++j)
        acc[j] += x0 * from_bf16(pair[2 * j]) + x1 * from_bf16(pair[2 * j + 1]);
    }
    std::memcpy(out + r * ldo, acc, std::size_t(width) * sizeof(float));
  }
}

// R rows × 16 columns: 2·R float accumulators; per pair of p the group's 64 bytes widened into
// four vectors (even and odd p, columns 0–7 and 8–15), each of a's two values broadcast.
template <int R>
__attribute__((target("avx2,fma"))) void group_avx2_rows(const Rows& a, int r0, const uint16_t* w,
                                                         float* out, int64_t ldo, int width) {
  const __m256i high = _mm256_set1_epi32(int32_t(0xffff0000u));
  __m256 lo[R], hi[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (int64_t p = 0; p < a.used; p += 2) {
    const auto* pairs = reinterpret_cast<const __m256i*>(w + p * kBf16Group);
    const __m256i v0 = _mm256_loadu_si256(pairs), v1 = _mm256_loadu_si256(pairs + 1);
    const __m256 even0 = _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16));
    const __m256 odd0 = _mm256_castsi256_ps(_mm256_and_si256(v0, high));
    const __m256 even1 = _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16));
    const __m256 odd1 = _mm256_castsi256_ps(_mm256_and_si256(v1, high));
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const float* x = a.values + (r0 + r) * a.depth + p;
      const __m256 x0 = _mm256_broadcast_ss(x), x1 = _mm256_broadcast_ss(x + 1);
      lo[r] = _mm256_fmadd_ps(x1, odd0, _mm256_fmadd_ps(x0, even0, lo[r]));
      hi[r] = _mm256_fmadd_ps(x1, odd1, _mm256_fmadd_ps(x0, even1, hi[r]));
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    alignas(32) float y[kBf16Group];
    _mm256_store_ps(y, lo[r]);
    _mm256_store_ps(y + 8, hi[r]);
    std::memcpy(out + (r0 + r) * ldo, y, std::size_t(width) * sizeof(float));
  }
}

void group_avx2(const Rows& a, int rows, const uint16_t* w, float* out, int64_t ldo, int width) {
  // Tiles of 6 rows; 7 to 11 rows left split in two, so no tile is too short to keep the FMA
  // units busy (a 2-row tile has 4 accumulators for 8 FMAs in flight).
  for (int r0 = 0; r0 < rows;) {
    const int left = rows - r0, tile = left >= 12 || left <= 6 ? std::min(6, left) : (left + 1) / 2;
    with_rows<6>(tile, [&]<int R>() { group_avx2_rows<R>(a, r0, w, out, ldo, width); });
    r0 += tile;
  }
}

// AVX-512 BF16: R rows × G groups, one zmm of float sums per row and group; vdpbf16ps adds a
// row's pair times the group's 16 pairs into the 16 lanes. 8 rows × 2 groups: 16 chains.
template <int R, int G>
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void groups_bf16_rows(
    const Rows& a, int r0, const Groups& w, float* out, int64_t ldo, int64_t width) {
  __m512 acc[G][R];
#pragma GCC unroll 16
  for (int i = 0; i < G * R; ++i) acc[i / R][i % R] = _mm512_setzero_ps();
  for (int64_t p = 0; p < a.used; p += 2) {
    __m512bh pairs[G];
#pragma GCC unroll 2
    for (int j = 0; j < G; ++j)
      pairs[j] = __m512bh(_mm512_loadu_si512(w.first + j * w.stride + p * kBf16Group));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      int32_t two;
      std::memcpy(&two, a.bits + (r0 + r) * a.depth + p, 4);
      const __m512bh x = __m512bh(_mm512_set1_epi32(two));
#pragma GCC unroll 2
      for (int j = 0; j < G; ++j) acc[j][r] = _mm512_dpbf16_ps(acc[j][r], x, pairs[j]);
    }
  }
#pragma GCC unroll 2
  for (int j = 0; j < G; ++j) {
    const int64_t col = j * kBf16Group;
    const __mmask16 keep = first_lanes(width - col);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) _mm512_mask_storeu_ps(out + (r0 + r) * ldo + col, keep, acc[j][r]);
  }
}

// Groups [0, groups) of `w` for `rows` rows of a, into out (at the first group's columns), `n`
// C's columns from there on.
using GroupRange = void (*)(const Rows& a, int rows, const Groups& w, int64_t groups, float* out,
                            int64_t ldo, int64_t n);

template <void (*group)(const Rows&, int, const uint16_t*, float*, int64_t, int)>
void each_group(const Rows& a, int rows, const Groups& w, int64_t groups, float* out, int64_t ldo,
                int64_t n) {
  for (int64_t g = 0; g < groups; ++g)
    group(a, rows, w.first + g * w.stride, out + g * kBf16Group, ldo,
          int(std::min(kBf16Group, n - g * kBf16Group)));
}

void groups_bf16(const Rows& a, int rows, const Groups& w, int64_t groups, float* out, int64_t ldo,
                 int64_t n) {
  by_group_pairs<8>(rows, groups, [&]<int R, int G>(int r0, int64_t g) {
    const int64_t col = g * kBf16Group;
    groups_bf16_rows<R, G>(a, r0, Groups{w.first + g * w.stride, w.stride}, out + col, ldo,
                           n - col);
  });
}

// AMX: as the int8 kernel, on 32 × 32 blocks, 32 depths a tile (ops/amx.h); the float sums
// stored through a buffer.
__attribute__((target("amx-tile,avx512f"))) void groups_amx(const Rows& a, int rows,
                                                            const Groups& w, int64_t groups,
                                                            float* out, int64_t ldo, int64_t n) {
  for_each_block<true, float>(
      rows, groups, reinterpret_cast<const uint8_t*>(a.bits), a.depth * int64_t(sizeof(uint16_t)),
      reinterpret_cast<const uint8_t*>(w.first), w.stride * int64_t(sizeof(uint16_t)),
      [&](int r, int64_t g, const float* sums) __attribute__((target("avx512f"))) {
        const int64_t col = g * kBf16Group;
        _mm512_mask_storeu_ps(out + r * ldo + col, first_lanes(n - col), _mm512_load_ps(sums));
      });
}

}  // namespace

void pack_bf16(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed, float* packed) {
  auto* values = reinterpret_cast<uint16_t*>(packed);
  const int64_t depth = bf16_depth(k);
  std::memset(packed, 0, std::size_t(bf16_packed_floats(k, n)) * sizeof(float));
  // W[p, c]: in c's group, at p's pair, c's two values side by side
  for (int64_t p = 0; p < k; ++p)
    for (int64_t c = 0; c < n; ++c)
      values[(c / kBf16Group * depth + p / 2 * 2) * kBf16Group + 2 * (c % kBf16Group) + p % 2] =
          to_bf16(transposed ? w[c * ldw + p] : w[p * ldw + c]);
}

void bf16_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
               float* c, int64_t ldc, Isa isa) {
  const bool dot = isa >= Isa::Avx512Bf16;
  const GroupRange kernel = isa >= Isa::Amx    ? groups_amx
                            : dot              ? groups_bf16
                            : isa >= Isa::Avx2 ? each_group<group_avx2>
                                               : each_group<group_portable>;
  const int64_t depth = bf16_depth(k), groups = bf16_groups(n);
  // a's rows rounded once for every column group: bits for the dot products, else their values.
  // AMX's tiles read whole tiles of 16 rows, so the rows up to the next multiple of 16 are there
  // too, zero (their sums are not stored).
  const int64_t tile_rows = (m + 15) / 16 * 16;
  uint16_t* bits = dot ? scratch<uint16_t>(std::size_t(tile_rows * depth)) : nullptr;
  float* values = dot ? nullptr : scratch<float>(std::size_t(tile_rows * depth));
  const auto* w = reinterpret_cast<const uint16_t*>(packed);
  // Below about two million multiply-adds, waking a second thread costs more than it saves.
  const int threads =
      m * n * k < (int64_t(1) << 21) ? 1 : int(std::min<int64_t>(compute_threads(), groups));
  reduced_product_over_threads(
      m, groups, threads,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)
          for (int64_t p = 0; p < depth; ++p) {
            const uint16_t b = r < m && p < k ? to_bf16(a[r * lda + p]) : 0;
            if (dot)
              bits[r * depth + p] = b;
            else
              values[r * depth + p] = from_bf16(b);
          }
      },
      [&](int64_t begin, int64_t end, int64_t first, int64_t last) {
        const int64_t col = first * kBf16Group;
        // Rows in blocks of 16, so a block of a stays in L1 while the groups stream past; AMX's
        // in blocks of 64, each W tile loaded once for two blocks of 32 rows (16-row blocks left
        // it half its rows: the large LSTM ran 83 ms, not 50).
        const int64_t block = isa >= Isa::Amx ? 64 : kRows;
        for (int64_t r0 = begin; r0 < end; r0 += block)
          kernel(Rows{values ? values + r0 * depth : nullptr, bits ? bits + r0 * depth : nullptr,
                      depth, (k + 1) / 2 * 2},
                 int(std::min<int64_t>(block, end - r0)),
                 Groups{w + col * depth, depth * kBf16Group}, last - first, c + r0 * ldc + col, ldc,
                 n - col);
      });
}

}  // namespace rnngraph::kernels
