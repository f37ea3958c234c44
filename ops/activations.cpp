#include <rnngraph/ops/activations.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <span>

#include <immintrin.h>

#include <rnngraph/ops/isa.h>

namespace rnngraph::kernels {

namespace {

// The constants of exp_parts (below), shared by its scalar and AVX-512 forms.
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kRoundShift = 12582912.0f;  // 1.5·2^23
// ln2 split in two, so r keeps its low bits (Cody and Waite)
constexpr float kLn2High = 0.693359375f, kLn2Low = -2.12194440e-4f;
// p(r), q = p·r² + r; highest degree first
constexpr float kExpPolynomial[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                    4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

// e^t = 2^k·(1 + q) by range reduction: t = k·ln2 + r with |r| ≤ ln2/2, k from t·log2(e)
// rounded to nearest by adding 1.5·2^23 (which pushes the fraction out of the mantissa, whose low
// bits then hold k as an integer: read from there, not cast, since a NaN's cast to int would be
// undefined; its bits are only garbage, and the NaN reaches the result through q), and
// q = e^r - 1 by Cephes' degree-6 polynomial without its 1 (relative error of 1 + q below 1.2e-7
// on that interval). For |t| ≤ 88.7: every caller clamps first. Written without branches or
// library calls (std::fmin and std::nearbyint are calls at the baseline ISA) so the loops around
// it vectorise.
struct ExpParts {
  int32_t k;
  float q;
};
inline ExpParts exp_parts(float t) {
  const float shifted = t * kLog2e + kRoundShift;
  const int32_t k = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kRoundShift);
  const float kf = shifted - kRoundShift;
  const float r = (t - kf * kLn2High) - kf * kLn2Low;
  float p = kExpPolynomial[0];
  for (std::size_t i = 1; i < std::size(kExpPolynomial); ++i) p = p * r + kExpPolynomial[i];
  return {k, (p * r) * r + r};
}

// 2^k for k in [-126, 127], built in the exponent bits (unsigned shifts: for a NaN, k is
// garbage, and no signed arithmetic may overflow on it)
inline float pow2(int32_t k) { return std::bit_cast<float>(uint32_t(k + 127) << 23); }

inline float exp_approx(float x) {
  float clamped = x < -87.3f ? -87.3f : x;  // a NaN passes both clamps
  clamped = clamped > 88.7f ? 88.7f : clamped;
  const auto [k, q] = exp_parts(clamped);
  // 2^k as two factors: k reaches 128 near the top, whose single factor would be inf
  const int32_t k1 = k >> 1;
  float y = (q + 1.0f) * pow2(k1) * pow2(k - k1);
  y = x < -87.3f ? 0.0f : y;
  return x > 88.7f ? INFINITY : y;  // a NaN reaches y through q
}

// tanh(x) = sign(x)·e / (e + 2) with e = e^{2|x|} - 1 = 2^k·q + (2^k - 1): for k = 0 it is q,
// accurate near 0, and for k ≥ 1, q ≥ -0.3 and 2^k - 1 ≥ 2^{k-1} keep e ≥ 0.2·2^k (at most two
// bits lost to cancellation; the error stays below 1e-7), so one formula and no select serves every
// x (Cephes' tanhf needs a second polynomial below 0.625, and both were computed for the loop to
// vectorise: this one is twice as fast on AVX2). 2|x| is clamped to 20, where tanh is 1 in float.
inline float tanh_approx(float x) {
  const float a = std::fabs(x);
  float t = a + a;
  t = t > 20.0f ? 20.0f : t;  // a NaN passes
  const auto [k, q] = exp_parts(t);
  const float two_k = pow2(k);
  const float e = two_k * q + (two_k - 1.0f);
  return std::copysign(e / (e + 2.0f), x);
}

// σ(x) = 1 / (1 + e^-x), x clamped to [-88, 87.3] for e^-x (so 2^k is one normal factor);
// below -88.7, 0 (clamped, σ would be 6e-39, and σ(-inf) must be 0).
inline float sigmoid_approx(float x) {
  float clamped = x < -88.0f ? -88.0f : x;  // a NaN passes both clamps
  clamped = clamped > 87.3f ? 87.3f : clamped;
  const auto [k, q] = exp_parts(-clamped);
  const float y = 1.0f / (1.0f + (q + 1.0f) * pow2(k));
  return x < -88.7f ? 0.0f : y;
}

// The same formulas on 16 lanes of AVX-512, written out: 2^k is applied by vscalefps (exact, no
// overflow in between), and each division is a reciprocal estimate (vrcp14ps, 2^-14) refined by
// one Newton step (a vdivps of 16 lanes takes about 16 cycles). Every clamp puts its constant
// first: vminps and vmaxps return their second operand when either is NaN, so a NaN passes through
// the arithmetic to the result and needs no blend of its own. (So this file must not be built
// with -ffast-math: -ffinite-math-only with -fno-signed-zeros lets GCC swap those operands, and
// -fassociative-math would fold away the rounding by 1.5·2^23.) The LSTM's five activations per
// unit were a tenth of its mid-size run; these take 0.25 (σ) and 0.32 (tanh) ns an element here,
// against 0.33 and 0.43 for the forms before them (tanhf's two branches, NaN blends), with the
// same errors. (GCC 12 warns that its own intrinsics' unused pass-through operand "may be used
// uninitialized".)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define RNNGRAPH_AVX512 __attribute__((target("avx512f"))) inline
RNNGRAPH_AVX512 __m512 splat(float v) { return _mm512_set1_ps(v); }

// exp_parts on 16 lanes, k as a float.
struct ExpParts16 {
  __m512 k, q;
};
// For t = `sign` · x (sign ±1, folded into the constants).
template <int sign>
RNNGRAPH_AVX512 ExpParts16 exp_parts16(__m512 x) {
  const __m512 k = _mm512_sub_ps(_mm512_fmadd_ps(x, splat(sign * kLog2e), splat(kRoundShift)),
                                 splat(kRoundShift));
  // r = t - k·ln2
  __m512 r =
      sign > 0 ? _mm512_fnmadd_ps(k, splat(kLn2High), x) : _mm512_fnmsub_ps(k, splat(kLn2High), x);
  r = _mm512_fnmadd_ps(k, splat(kLn2Low), r);
  __m512 p = splat(kExpPolynomial[0]);
  for (float c : std::span(kExpPolynomial).subspan(1)) p = _mm512_fmadd_ps(p, r, splat(c));
  return {k, _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r)};
}

// e^x for x clamped to [-87.3, 88.7] (a NaN passes); exp16 handles the edges.
RNNGRAPH_AVX512 __m512 exp16_clamped(__m512 x) {
  const auto [k, q] = exp_parts16<1>(_mm512_min_ps(splat(88.7f), _mm512_max_ps(splat(-87.3f), x)));
  return _mm512_scalef_ps(_mm512_add_ps(q, splat(1.0f)), k);
}

RNNGRAPH_AVX512 __m512 exp16(__m512 x) {
  const __m512 y = exp16_clamped(x);
  const __m512 low = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, splat(-87.3f), _CMP_NLT_UQ), y);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, splat(88.7f), _CMP_GT_OQ), low,
                              splat(INFINITY));
}

// n / d for finite d ≥ 1 and |n| ≤ d, zero in the lanes of `keep` that are off: the quotient of
// the reciprocal estimate, then one Newton step on the quotient itself.
RNNGRAPH_AVX512 __m512 divide16(__m512 n, __m512 d, __mmask16 keep = 0xffff) {
  const __m512 r = _mm512_rcp14_ps(d);
  const __m512 q = _mm512_mul_ps(n, r);
  return _mm512_maskz_fmadd_ps(keep, r, _mm512_fnmadd_ps(q, d, n), q);
}

// σ(x) = 1 / (1 + e^-x), x clamped to [-88.7, 87.3] for e^-x; below -88.7, 0 (clamped, σ would
// be 3.0e-39, and σ(-inf) must be 0).
RNNGRAPH_AVX512 __m512 sigmoid16(__m512 x) {
  const __m512 clamped = _mm512_min_ps(splat(87.3f), _mm512_max_ps(splat(-88.7f), x));
  const auto [k, q] = exp_parts16<-1>(clamped);
  const __m512 d = _mm512_add_ps(_mm512_scalef_ps(_mm512_add_ps(q, splat(1.0f)), k), splat(1.0f));
  return divide16(splat(1.0f), d, _mm512_cmp_ps_mask(x, splat(-88.7f), _CMP_NLT_UQ));
}

// tanh_approx's formula.
RNNGRAPH_AVX512 __m512 tanh16(__m512 x) {
  const __m512 a = _mm512_abs_ps(x);
  const auto [k, q] = exp_parts16<1>(_mm512_min_ps(splat(20.0f), _mm512_add_ps(a, a)));
  const __m512 e = _mm512_add_ps(_mm512_scalef_ps(q, k),
                                 _mm512_sub_ps(_mm512_scalef_ps(splat(1.0f), k), splat(1.0f)));
  const __m512 y = divide16(e, _mm512_add_ps(e, splat(2.0f)));
  // y | (x & sign bit): x's sign put back (0xf8 = A | (B & C))
  return _mm512_castsi512_ps(
      _mm512_ternarylogic_epi32(_mm512_castps_si512(y), _mm512_castps_si512(x),
                                _mm512_set1_epi32(int32_t(0x80000000u)), 0xf8));
}

// y = f(Σ x[k]) on 16 lanes at a time, the last few under a mask.
template <__m512 (*f)(__m512)>
RNNGRAPH_AVX512 void of_sum_avx512(std::span<const float* const> x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 lanes = first_lanes(n - i);
    __m512 sum = _mm512_maskz_loadu_ps(lanes, x[0] + i);
    for (std::size_t k = 1; k < x.size(); ++k)
      sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(lanes, x[k] + i));
    _mm512_mask_storeu_ps(y + i, lanes, f(sum));
  }
}

// Below AVX-512: Σ x[k] into y, starting from the x that is y if there is one (so y may be any
// of the x); the caller then applies f in place.
void sum_into(std::span<const float* const> x, float* y, int64_t n) {
  std::size_t first = 0;
  for (std::size_t k = 0; k < x.size(); ++k) first = x[k] == y ? k : first;
  if (x[first] != y) std::copy_n(x[first], n, y);
  for (std::size_t k = 0; k < x.size(); ++k)
    if (k != first)
      for (int64_t i = 0; i < n; ++i) y[i] += x[k][i];
}
#undef RNNGRAPH_AVX512
#pragma GCC diagnostic pop

}  // namespace

// One loop per function and ISA, each compiled for its ISA (the inline formulas above take on the
// caller's), picked from the CPU at run time: target_clones would pick AVX2 only on the CPU
// models GCC names (arch=haswell is "an Intel Haswell", not "has AVX2 and FMA"), and without
// FMA its plain "avx2" clone computes the polynomials in two rounding steps. AVX-512 runs the
// vector form, 16 lanes at a time and the last few under a mask.
#define RNNGRAPH_ARRAY_FUNCTION(name, formula, vector_formula)                                 \
  namespace {                                                                                  \
  void name##_portable(const float* x, float* y, int64_t n) {                                  \
    for (int64_t i = 0; i < n; ++i) y[i] = formula(x[i]);                                      \
  }                                                                                            \
  __attribute__((target("avx2,fma"))) void name##_avx2(const float* x, float* y, int64_t n) {  \
    for (int64_t i = 0; i < n; ++i) y[i] = formula(x[i]);                                      \
  }                                                                                            \
  __attribute__((target("avx512f"))) void name##_avx512(const float* x, float* y, int64_t n) { \
    const float* one[] = {x};                                                                  \
    of_sum_avx512<vector_formula>(one, y, n);                                                  \
  }                                                                                            \
  }                                                                                            \
  void name(const float* x, float* y, int64_t n, Isa isa) {                                    \
    for_isa(isa, name##_portable, name##_avx2, name##_avx512)(x, y, n);                        \
  }

void tanh_of_sum(std::span<const float* const> x, float* y, int64_t n, Isa isa) {
  if (isa >= Isa::Avx512) return of_sum_avx512<tanh16>(x, y, n);
  sum_into(x, y, n);
  tanh_array(y, y, n, isa);
}
void sigmoid_of_sum(std::span<const float* const> x, float* y, int64_t n, Isa isa) {
  if (isa >= Isa::Avx512) return of_sum_avx512<sigmoid16>(x, y, n);
  sum_into(x, y, n);
  sigmoid_array(y, y, n, isa);
}

RNNGRAPH_ARRAY_FUNCTION(exp_array, exp_approx, exp16)
RNNGRAPH_ARRAY_FUNCTION(tanh_array, tanh_approx, tanh16)
RNNGRAPH_ARRAY_FUNCTION(sigmoid_array, sigmoid_approx, sigmoid16)

}  // namespace rnngraph::kernels
