#include <rnngraph/ops/activations.h>

#include <bit>
#include <cmath>

#include <rnngraph/ops/isa.h>

namespace rnngraph::kernels {

namespace {

// e^x by range reduction: x = k·ln2 + r with |r| ≤ ln2/2, e^r by Cephes' degree-6 polynomial
// (relative error below 1.2e-7 on that interval), and 2^k built in the exponent bits. Written
// without branches or library calls (std::fmin and std::nearbyint are calls at the baseline
// ISA) so the loops around it vectorise.
inline float exp_approx(float x) {
  float clamped = x < -87.3f ? -87.3f : x;
  clamped = clamped > 88.7f ? 88.7f : clamped;
  // round to nearest: adding 1.5·2^23 pushes the fraction out of the mantissa, whose low bits
  // then hold k as an integer; read from there, not cast (a NaN passes the clamps, and its cast
  // to int would be undefined; these bits are only garbage, replaced by the NaN below)
  const float shifted = clamped * 1.44269504088896341f + 12582912.0f;
  const int32_t ki = std::bit_cast<int32_t>(shifted) - 0x4B400000;
  const float k = shifted - 12582912.0f;
  // ln2 split in two, so r keeps its low bits (Cody and Waite)
  const float r = (clamped - k * 0.693359375f) - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = (p * r) * r + r + 1.0f;
  // 2^k as two normal factors: k reaches 128 near the top, whose single factor would be inf
  // (unsigned shifts: for a NaN, ki is garbage, and no signed arithmetic may overflow on it)
  const int32_t k1 = ki >> 1, k2 = ki - k1;
  float y = er * std::bit_cast<float>(uint32_t(k1 + 127) << 23) *
            std::bit_cast<float>(uint32_t(k2 + 127) << 23);
  y = x < -87.3f ? 0.0f : y;
  y = x > 88.7f ? INFINITY : y;
  return x != x ? x : y;  // NaN propagates
}

// tanh: an odd polynomial near 0 (Cephes tanhf, |x| < 0.625), 1 - 2 / (e^{2|x|} + 1) beyond,
// with the sign put back; both computed, one selected, so the loop stays branch-free.
inline float tanh_approx(float x) {
  const float a = std::fabs(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  const float e = exp_approx(2 * a);  // +inf for large |x|: 2 / inf = 0, tanh = ±1
  const float large = std::copysign(1.0f - 2.0f / (e + 1.0f), x);
  return a < 0.625f ? small : large;
}

inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

}  // namespace

// One loop per function and ISA, each compiled for its ISA (the inline formulas above take on the
// caller's), picked from the CPU at run time: target_clones would pick AVX2 only on the CPU
// models GCC names (arch=haswell is "an Intel Haswell", not "has AVX2 and FMA"), and without
// FMA its plain "avx2" clone computes the polynomials in two rounding steps.
#define RNNGRAPH_ARRAY_FUNCTION(name, formula)                                                 \
  namespace {                                                                                  \
  void name##_portable(const float* x, float* y, int64_t n) {                                  \
    for (int64_t i = 0; i < n; ++i) y[i] = formula(x[i]);                                      \
  }                                                                                            \
  __attribute__((target("avx2,fma"))) void name##_avx2(const float* x, float* y, int64_t n) {  \
    for (int64_t i = 0; i < n; ++i) y[i] = formula(x[i]);                                      \
  }                                                                                            \
  __attribute__((target("avx512f"))) void name##_avx512(const float* x, float* y, int64_t n) { \
    for (int64_t i = 0; i < n; ++i) y[i] = formula(x[i]);                                      \
  }                                                                                            \
  }                                                                                            \
  void name(const float* x, float* y, int64_t n, Isa isa) {                                    \
    for_isa(isa, name##_portable, name##_avx2, name##_avx512)(x, y, n);                        \
  }

RNNGRAPH_ARRAY_FUNCTION(exp_array, exp_approx)
RNNGRAPH_ARRAY_FUNCTION(tanh_array, tanh_approx)
RNNGRAPH_ARRAY_FUNCTION(sigmoid_array, sigmoid_approx)

}  // namespace rnngraph::kernels
