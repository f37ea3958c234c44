#include <rnngraph/ops/int8_gemm.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <immintrin.h>

#include <rnngraph/framework/threads.h>
#include <rnngraph/ops/amx.h>
#include <rnngraph/ops/scratch.h>

namespace rnngraph::kernels {

namespace {

constexpr int32_t kZero = 128;     // a's zero point: its bytes are q + 128
constexpr float kRowLevels = 127;  // 8 bits for a

// round(v) (half away from zero) clamped to [-levels, levels], for finite v: written so that
// loops vectorise (std::nearbyint is a library call at the baseline ISA).
inline int32_t level(float v, float levels) {
  const int32_t top = int32_t(levels);
  return std::clamp(int32_t(v + (v < 0 ? -0.5f : 0.5f)), -top, top);
}

// The same for any v: a NaN, which only a column whose scale is NaN holds, becomes `levels`
// instead of reaching a conversion to int (undefined behaviour). Slower: the selects on floats
// keep GCC from vectorising the loop around it.
inline int32_t level_of_any(float v, float levels) {
  const float below = v < levels ? v : levels;
  return level(below > -levels ? below : -levels, levels);
}

// The scale for values of largest magnitude `top`: top / levels, NaN when that is not finite (a
// NaN or ±inf among them: the bytes cannot carry it, the scale does, into every output).
inline float scale_for(float top, float levels) {
  return top <= std::numeric_limits<float>::max() ? top / levels
                                                  : std::numeric_limits<float>::quiet_NaN();
}

// q = round(x / scale) + offset for contiguous x [k] and scale = max|x| / levels (0 for zeros);
// returns the scale.
template <class Out>
float quantize(const float* x, int64_t k, float levels, Out* q, int32_t offset) {
  float top = 0;
  for (int64_t p = 0; p < k; ++p) {
    const float v = std::fabs(x[p]);
    top = v > top || v != v ? v : top;  // a NaN stays
  }
  const float scale = scale_for(top, levels);
  if (scale != scale) {  // the bytes are never read for their value: the NaN scale wins
    std::fill_n(q, k, Out(offset));
    return scale;
  }
  // 0 for a row of zeros, and for one so tiny that levels / top overflows (its bytes are then
  // all zero, as near enough; inf would reach level() as inf or NaN)
  const float ratio = top > 0 ? levels / top : 0.0f;
  const float inverse = ratio <= std::numeric_limits<float>::max() ? ratio : 0.0f;
  for (int64_t p = 0; p < k; ++p) q[p] = Out(level(x[p] * inverse, levels) + offset);
  return scale;
}

// int32 lanes to floats; masked (all lanes), since gcc 12 warns that the unmasked form's
// _mm512_undefined_ps() is used uninitialised (the same for max, min and the
// conversion to int32).
__attribute__((target("avx512f"))) inline __m512 float_lanes(__m512i v) {
  return _mm512_maskz_cvtepi32_ps(__mmask16(0xffff), v);
}

// quantize() of a row of a (8 bits, offset 128) on AVX-512, 16 values at a time: the same float
// operations in the same order (|x|'s maximum, x · (127 / max), ± 0.5, truncation, clamp), so
// the same bytes. A row holding NaN or ±inf goes to quantize(), which gives it the NaN scale.
__attribute__((target("avx512f,avx512bw,avx512dq"))) float quantize_row_avx512(const float* x,
                                                                               int64_t k,
                                                                               uint8_t* q) {
  const __mmask16 all = 0xffff;  // the masked forms: see float_lanes
  __m512 top = _mm512_setzero_ps();
  __mmask16 unordered = 0;
  for (int64_t p = 0; p < k; p += 16) {
    const __mmask16 in = first_lanes(k - p);
    const __m512 v = _mm512_maskz_loadu_ps(in, x + p);
    unordered |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    top = _mm512_maskz_max_ps(all, top, _mm512_abs_ps(v));
  }
  alignas(64) float lanes[16];  // (_mm512_reduce_max_ps: gcc 12's warning again)
  _mm512_store_ps(lanes, top);
  const float largest = *std::max_element(lanes, lanes + 16);
  if (unordered || !(largest <= std::numeric_limits<float>::max()))
    return quantize(x, k, kRowLevels, q, kZero);
  const float scale = scale_for(largest, kRowLevels);
  const float ratio = largest > 0 ? kRowLevels / largest : 0.0f;
  const __m512 inverse = _mm512_set1_ps(ratio <= std::numeric_limits<float>::max() ? ratio : 0.0f);
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512i low = _mm512_set1_epi32(-127), high = _mm512_set1_epi32(127),
                zero = _mm512_set1_epi32(kZero);
  for (int64_t p = 0; p < k; p += 16) {
    const __mmask16 in = first_lanes(k - p);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(in, x + p), inverse);
    // v + (v < 0 ? -0.5 : 0.5): the sign of v on 0.5
    const __m512 away = _mm512_or_ps(half, _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
    const __m512i level = _mm512_maskz_min_epi32(
        all, high,
        _mm512_maskz_max_epi32(all, low, _mm512_maskz_cvttps_epi32(all, _mm512_add_ps(v, away))));
    _mm512_mask_cvtepi32_storeu_epi8(q + p, in, _mm512_add_epi32(level, zero));
  }
  return scale;
}

// a's rows, quantized: [m, depth] bytes (q + 128; the padding too, which meets W's zero padding)
// and their scales. The vector kernels stop at `used`, k rounded up to 4; AMX's tiles take
// depth's 64 at a time.
struct Rows {
  const uint8_t* q;
  const float* scale;
  int64_t depth;
  int64_t used;
};

// W's group of 16 columns: its bytes, scales and 128 · column sums.
struct Group {
  const int8_t* w;
  const float* scale;
  const int32_t* offset;
};

// One row's outputs in a group's 16 columns from `col` on (those `keep` marks): its int32 sums
// less 128 · the column sums, times the column scales and the row's scale.
__attribute__((target("avx512f"))) inline void store_row(__m512i sums, const Group& g, int64_t col,
                                                         float row_scale, __mmask16 keep,
                                                         float* out) {
  const __m512 sum = float_lanes(_mm512_sub_epi32(sums, _mm512_loadu_si512(g.offset + col)));
  _mm512_mask_storeu_ps(
      out, keep,
      _mm512_mul_ps(_mm512_mul_ps(sum, _mm512_loadu_ps(g.scale + col)), _mm512_set1_ps(row_scale)));
}

void group_portable(const Rows& a, int rows, const Group& g, float* out, int64_t ldo, int width) {
  for (int r = 0; r < rows; ++r) {
    int32_t acc[kInt8Group] = {};
    const uint8_t* q = a.q + r * a.depth;
    for (int64_t p4 = 0; p4 < a.used; p4 += 4) {
      const int8_t* wp = g.w + p4 * kInt8Group;
      for (int j = 0; j < kInt8Group; ++j)
        for (int i = 0; i < 4; ++i) acc[j] += int32_t(q[p4 + i]) * int32_t(wp[4 * j + i]);
    }
    for (int j = 0; j < width; ++j)
      out[r * ldo + j] = float(acc[j] - g.offset[j]) * a.scale[r] * g.scale[j];
  }
}

// R rows × 16 columns: 2·R int32 accumulators, W's two vectors, a's 4 bytes broadcast.
template <int R>
__attribute__((target("avx2,fma"))) void group_avx2_rows(const Rows& a, int r0, const Group& g,
                                                         float* out, int64_t ldo, int width) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i lo[R], hi[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
  for (int64_t p4 = 0; p4 < a.used; p4 += 4) {
    const auto* wp = reinterpret_cast<const __m256i*>(g.w + p4 * kInt8Group);
    const __m256i w0 = _mm256_loadu_si256(wp), w1 = _mm256_loadu_si256(wp + 1);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      int32_t four;
      std::memcpy(&four, a.q + (r0 + r) * a.depth + p4, 4);
      const __m256i x = _mm256_set1_epi32(four);
      lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones));
      hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones));
    }
  }
  // lo holds columns 0–7, hi 8–15, a lane per column
  const __m256i o0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g.offset));
  const __m256i o1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g.offset + 8));
  const __m256 s0 = _mm256_loadu_ps(g.scale), s1 = _mm256_loadu_ps(g.scale + 8);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const __m256 row = _mm256_set1_ps(a.scale[r0 + r]);
    alignas(32) float y[kInt8Group];
    _mm256_store_ps(
        y, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(lo[r], o0)), s0), row));
    _mm256_store_ps(
        y + 8,
        _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(hi[r], o1)), s1), row));
    std::memcpy(out + (r0 + r) * ldo, y, std::size_t(width) * sizeof(float));
  }
}

void group_avx2(const Rows& a, int rows, const Group& g, float* out, int64_t ldo, int width) {
  for (int r0 = 0; r0 < rows; r0 += 4)
    with_rows<4>(std::min(4, rows - r0),
                 [&]<int R>() { group_avx2_rows<R>(a, r0, g, out, ldo, width); });
}

// AVX-512 VNNI: R rows × G groups (16 columns each, one zmm of int32 sums per row and group):
// vpdpbusd adds each column's 4 byte products into its int32 lane in one instruction, with no
// int16 step between, so the sums are the AVX2 kernel's exactly. G = 2 and R = 8 keep 16
// accumulators in flight, more than the instruction's latency times its throughput.
template <int R, int G>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void groups_vnni_rows(
    const Rows& a, int r0, const Group& g, int64_t group_stride, float* out, int64_t ldo,
    int64_t width) {
  __m512i acc[G][R];
#pragma GCC unroll 16
  for (int i = 0; i < G * R; ++i) acc[i / R][i % R] = _mm512_setzero_si512();
  for (int64_t p4 = 0; p4 < a.used; p4 += 4) {
    __m512i w[G];
#pragma GCC unroll 2
    for (int j = 0; j < G; ++j) w[j] = _mm512_loadu_si512(g.w + j * group_stride + p4 * kInt8Group);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      int32_t four;
      std::memcpy(&four, a.q + (r0 + r) * a.depth + p4, 4);
      const __m512i x = _mm512_set1_epi32(four);
#pragma GCC unroll 2
      for (int j = 0; j < G; ++j) acc[j][r] = _mm512_dpbusd_epi32(acc[j][r], x, w[j]);
    }
  }
#pragma GCC unroll 2
  for (int j = 0; j < G; ++j) {
    const int64_t col = j * kInt8Group;
    const __mmask16 keep = first_lanes(width - col);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      store_row(acc[j][r], g, col, a.scale[r0 + r], keep, out + (r0 + r) * ldo + col);
  }
}

// AMX: blocks of up to 32 rows × 32 columns (two tiles of a's rows, two groups of W) in the C
// tiles, 64 of depth at a time (ops/amx.h); then C's int32 sums scaled as the vector kernels do.
__attribute__((target("amx-tile,avx512f,avx512bw"))) void groups_amx(
    const Rows& a, int rows, const Group& first, int64_t groups, int64_t group_stride, float* out,
    int64_t ldo, int64_t n) {
  for_each_block<false, int32_t>(
      rows, groups, a.q, a.depth, reinterpret_cast<const uint8_t*>(first.w), group_stride,
      [&](int r, int64_t g, const int32_t* sums) __attribute__((target("avx512f,avx512bw"))) {
        const int64_t col = g * kInt8Group;
        store_row(_mm512_load_si512(sums), first, col, a.scale[r], first_lanes(n - col),
                  out + r * ldo + col);
      });
}

}  // namespace

namespace {
// quantize_columns' bytes of W [k, n] (row stride ldw) on AVX-512, for finite columns: 4 rows ×
// 16 columns at a time, the same float operations as level() (so the same bytes), the four rows'
// levels of a column joined into the dword the packed layout holds for it (its 4 p), and the
// column sums added as vectors.
__attribute__((target("avx512f,avx512bw,avx512dq"))) void column_bytes_avx512(
    const float* w, int64_t ldw, int64_t k, int64_t n, const float* inverse, float levels,
    int64_t depth, int32_t* offsets, int8_t* bytes) {
  const __mmask16 all = 0xffff;  // the masked forms: see float_lanes
  const __m512 half = _mm512_set1_ps(0.5f), sign = _mm512_set1_ps(-0.0f);
  const __m512i top = _mm512_set1_epi32(int32_t(levels)),
                bottom = _mm512_set1_epi32(-int32_t(levels));
  for (int64_t c = 0; c < n; c += kInt8Group) {
    const __mmask16 in = first_lanes(n - c);
    const __m512 scale = _mm512_maskz_loadu_ps(in, inverse + c);
    __m512i sum = _mm512_setzero_si512();
    int8_t* group = bytes + c * depth;  // c / 16 · depth · 16
    for (int64_t p = 0; p < k; p += 4) {
      __m512i word = _mm512_setzero_si512();
      for (int i = 0; i < 4 && p + i < k; ++i) {
        const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(in, w + (p + i) * ldw + c), scale);
        const __m512 away = _mm512_or_ps(half, _mm512_and_ps(v, sign));
        const __m512i q = _mm512_maskz_min_epi32(
            all, top,
            _mm512_maskz_max_epi32(all, bottom,
                                   _mm512_maskz_cvttps_epi32(all, _mm512_add_ps(v, away))));
        sum = _mm512_add_epi32(sum, q);
        const __m512i byte = _mm512_and_si512(q, _mm512_set1_epi32(0xff));
        word = _mm512_or_si512(word, _mm512_maskz_sllv_epi32(all, byte, _mm512_set1_epi32(8 * i)));
      }
      _mm512_storeu_si512(group + p * kInt8Group, word);
    }
    _mm512_mask_storeu_epi32(offsets + c, in, _mm512_mullo_epi32(sum, _mm512_set1_epi32(kZero)));
  }
}
}  // namespace

int int8_weight_levels(Isa isa) { return isa >= Isa::Avx512Vnni ? 127 : 63; }

void quantize_columns(const float* w, int64_t ldw, int64_t k, int64_t n, bool transposed,
                      float* packed, Isa isa) {
  const int64_t depth = int8_depth(k), columns = int8_groups(n) * kInt8Group;
  const auto levels = float(int8_weight_levels(isa));
  std::fill_n(packed, kInt8Header, 0.0f);
  packed[0] = levels;
  float* scales = packed + kInt8Header;
  auto* offsets = reinterpret_cast<int32_t*>(scales + columns);
  auto* bytes = reinterpret_cast<int8_t*>(scales + 2 * columns);
  std::fill_n(scales, columns, 0.0f);
  std::fill_n(offsets, columns, 0);
  std::memset(bytes, 0, std::size_t(columns * depth));
  // W[p, c]'s byte: in c's group, at p's block of 4, c's 4 bytes in it
  auto at = [&](int64_t p, int64_t c) -> int8_t& {
    return bytes[(c / kInt8Group * depth + p / 4 * 4) * kInt8Group + 4 * (c % kInt8Group) + p % 4];
  };
  if (transposed) {  // column c of Wᵀ is row c of W, contiguous
    std::vector<int8_t> column(static_cast<std::size_t>(k));
    for (int64_t c = 0; c < n; ++c) {
      scales[c] = quantize(w + c * ldw, k, levels, column.data(), 0);
      for (int64_t p = 0; p < k; ++p) {
        at(p, c) = column[std::size_t(p)];
        offsets[c] += kZero * column[std::size_t(p)];
      }
    }
    return;
  }
  // W's columns are strided: their maxima and bytes taken a row at a time, for a range of
  // columns [c0, c1) (whole groups of 16 but for the last).
  std::vector<float> top(static_cast<std::size_t>(n), 0.0f), inverse(top.size());
  auto quantize_range = [&](int64_t c0, int64_t c1) {
    for (int64_t p = 0; p < k; ++p)
      for (int64_t c = c0; c < c1; ++c) {
        const float v = std::fabs(w[p * ldw + c]);
        top[std::size_t(c)] = v > top[std::size_t(c)] || v != v ? v : top[std::size_t(c)];
      }
    bool finite = true;
    for (int64_t c = c0; c < c1; ++c) {
      scales[c] = scale_for(top[std::size_t(c)], levels);
      finite = finite && scales[c] == scales[c];
      const float ratio =
          top[std::size_t(c)] > 0 && scales[c] == scales[c] ? levels / top[std::size_t(c)] : 0;
      // as for rows: a column so tiny that the ratio overflows quantizes to zero bytes
      inverse[std::size_t(c)] = ratio <= std::numeric_limits<float>::max() ? ratio : 0.0f;
    }
    auto bytes_of = [&](auto level_fn) {
      for (int64_t p = 0; p < k; ++p)
        for (int64_t c = c0; c < c1; ++c) {
          const int32_t q = level_fn(w[p * ldw + c] * inverse[std::size_t(c)], levels);
          at(p, c) = int8_t(q);
          offsets[c] += kZero * q;
        }
    };
    if (!finite)
      bytes_of(level_of_any);
    else if (isa < Isa::Avx512)
      bytes_of(level);
    else
      column_bytes_avx512(w + c0, ldw, k, c1 - c0, inverse.data() + c0, levels, depth, offsets + c0,
                          bytes + c0 * depth);
  };
  // Over the threads by groups of columns: it runs once, not per step, and on one thread it was the
  // largest share of a two-thread int8 step after the products.
  const int64_t groups = int8_groups(n);
  const int threads =
      k * n < (int64_t(1) << 16) ? 1 : int(std::min<int64_t>(compute_threads(), groups));
  parallel_for(threads, [&](int t) {
    const auto [first, last] = split(groups, threads, t);
    quantize_range(first * kInt8Group, std::min(n, last * kInt8Group));
  });
}

namespace {
// Groups [first, last) of W for a block of a's rows, into out (C's block at the first group's
// columns), `n` C's columns past the first group's first.
using GroupRange = void (*)(const Rows& a, int rows, const Group& first, int64_t groups,
                            int64_t group_stride, float* out, int64_t ldo, int64_t n);

// One group at a time, for the kernels that take one.
template <void (*group)(const Rows&, int, const Group&, float*, int64_t, int)>
void each_group(const Rows& a, int rows, const Group& first, int64_t groups, int64_t group_stride,
                float* out, int64_t ldo, int64_t n) {
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t col = g * kInt8Group;
    group(a, rows, Group{first.w + g * group_stride, first.scale + col, first.offset + col},
          out + col, ldo, int(std::min(kInt8Group, n - col)));
  }
}

void groups_vnni(const Rows& a, int rows, const Group& first, int64_t groups, int64_t group_stride,
                 float* out, int64_t ldo, int64_t n) {
  by_group_pairs<8>(rows, groups, [&]<int R, int G>(int r0, int64_t g) {
    const int64_t col = g * kInt8Group;
    const Group at{first.w + g * group_stride, first.scale + col, first.offset + col};
    groups_vnni_rows<R, G>(a, r0, at, group_stride, out + col, ldo, n - col);
  });
}
}  // namespace

void int8_gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed, int64_t n,
               float* c, int64_t ldc, Isa isa) {
  // 8-bit weights would overflow the AVX2 kernel's int16 pairs
  const bool wide = packed[0] > 63;
  const GroupRange kernel = isa >= Isa::Amx             ? groups_amx
                            : isa >= Isa::Avx512Vnni    ? groups_vnni
                            : isa >= Isa::Avx2 && !wide ? each_group<group_avx2>
                                                        : each_group<group_portable>;
  const int64_t depth = int8_depth(k), groups = int8_groups(n), columns = groups * kInt8Group;
  const float* scales = packed + kInt8Header;
  // a's rows, quantized once for every column group; AMX's tiles read whole tiles of 16 rows,
  // so the rows up to the next multiple of 16 are there too, zero (their sums are not stored)
  const int64_t tile_rows = (m + 15) / 16 * 16;
  uint8_t* q = scratch<uint8_t>(std::size_t(tile_rows * depth));
  float* row_scale = scratch<float>(std::size_t(m));
  const auto* offsets = reinterpret_cast<const int32_t*>(scales + columns);
  const auto* bytes = reinterpret_cast<const int8_t*>(scales + 2 * columns);
  // Below about two million multiply-adds, waking a second thread costs more than it saves.
  const int threads =
      m * n * k < (int64_t(1) << 21) ? 1 : int(std::min<int64_t>(compute_threads(), groups));
  reduced_product_over_threads(
      m, groups, threads,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          uint8_t* row = q + r * depth;
          if (r >= m) {
            std::fill(row, row + depth, uint8_t(kZero));
            continue;
          }
          row_scale[r] = isa >= Isa::Avx512 ? quantize_row_avx512(a + r * lda, k, row)
                                            : quantize(a + r * lda, k, kRowLevels, row, kZero);
          std::fill(row + k, row + depth, uint8_t(kZero));
        }
      },
      [&](int64_t begin, int64_t end, int64_t first, int64_t last) {
        const int64_t col = first * kInt8Group;
        // Rows in blocks of 48, so a block's bytes stay in L1 while the groups stream past.
        for (int64_t r0 = begin; r0 < end; r0 += 48)
          kernel(Rows{q + r0 * depth, row_scale + r0, depth, (k + 3) / 4 * 4},
                 int(std::min<int64_t>(48, end - r0)),
                 Group{bytes + col * depth, scales + col, offsets + col}, last - first,
                 depth * kInt8Group, c + r0 * ldc + col, ldc, n - col);
      });
}

}  // namespace rnngraph::kernels
