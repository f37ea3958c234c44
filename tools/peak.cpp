#include "peak.h"

#include <cpuid.h>
#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

namespace rnngraph::cli {

namespace {

// Each kernel runs `iterations` rounds of 12 independent chains and returns something of the
// result, so the compiler keeps the work. The widths and op counts are per instruction.
#define RNNGRAPH_CHAINS(step) \
  step(0) step(1) step(2) step(3) step(4) step(5) step(6) step(7) step(8) step(9) step(10) step(11)

__attribute__((target("avx2,fma"))) float fma_avx2(int64_t iterations) {
#define DECLARE(k) __m256 a##k = _mm256_set1_ps(float(k) * 1e-3f);
#define FMA(k) a##k = _mm256_fmadd_ps(a##k, b, c);
#define ADD(k) s = _mm256_add_ps(s, a##k);
  RNNGRAPH_CHAINS(DECLARE)
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iterations; ++i) {
    RNNGRAPH_CHAINS(FMA)
  }
  __m256 s = _mm256_setzero_ps();
  RNNGRAPH_CHAINS(ADD)
  return _mm256_cvtss_f32(s);
#undef DECLARE
#undef FMA
#undef ADD
}

__attribute__((target("avx512f"))) float fma_avx512(int64_t iterations) {
#define DECLARE(k) __m512 a##k = _mm512_set1_ps(float(k) * 1e-3f);
#define FMA(k) a##k = _mm512_fmadd_ps(a##k, b, c);
#define ADD(k) s = _mm512_add_ps(s, a##k);
  RNNGRAPH_CHAINS(DECLARE)
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iterations; ++i) {
    RNNGRAPH_CHAINS(FMA)
  }
  __m512 s = _mm512_setzero_ps();
  RNNGRAPH_CHAINS(ADD)
  return _mm512_cvtss_f32(s);  // (one lane keeps the work; gcc 12's reduce warns)
#undef DECLARE
#undef FMA
#undef ADD
}

__attribute__((target("avx2,avxvnni"))) float int8_vnni256(int64_t iterations) {
#define DECLARE(k) __m256i a##k = _mm256_set1_epi32(k);
#define DOT(k) a##k = _mm256_dpbusd_avx_epi32(a##k, b, c);
#define ADD(k) s = _mm256_add_epi32(s, a##k);
  RNNGRAPH_CHAINS(DECLARE)
  const __m256i b = _mm256_set1_epi8(1), c = _mm256_set1_epi8(-1);
  for (int64_t i = 0; i < iterations; ++i) {
    RNNGRAPH_CHAINS(DOT)
  }
  __m256i s = _mm256_setzero_si256();
  RNNGRAPH_CHAINS(ADD)
  return float(_mm256_extract_epi32(s, 0));
#undef DECLARE
#undef DOT
#undef ADD
}

__attribute__((target("avx512f,avx512vnni"))) float int8_vnni512(int64_t iterations) {
#define DECLARE(k) __m512i a##k = _mm512_set1_epi32(k);
#define DOT(k) a##k = _mm512_dpbusd_epi32(a##k, b, c);
#define ADD(k) s = _mm512_add_epi32(s, a##k);
  RNNGRAPH_CHAINS(DECLARE)
  const __m512i b = _mm512_set1_epi8(1), c = _mm512_set1_epi8(-1);
  for (int64_t i = 0; i < iterations; ++i) {
    RNNGRAPH_CHAINS(DOT)
  }
  __m512i s = _mm512_setzero_si512();
  RNNGRAPH_CHAINS(ADD)
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, s);
  return float(lanes[0]);
#undef DECLARE
#undef DOT
#undef ADD
}

__attribute__((target("avx512f,avx512bf16"))) float bf16_avx512(int64_t iterations) {
#define DECLARE(k) __m512 a##k = _mm512_set1_ps(float(k) * 1e-3f);
#define DOT(k) a##k = _mm512_dpbf16_ps(a##k, b, c);
#define ADD(k) s = _mm512_add_ps(s, a##k);
  RNNGRAPH_CHAINS(DECLARE)
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  const __m512bh c = _mm512_cvtne2ps_pbh(_mm512_set1_ps(-1e-3f), _mm512_set1_ps(1e-3f));
  for (int64_t i = 0; i < iterations; ++i) {
    RNNGRAPH_CHAINS(DOT)
  }
  __m512 s = _mm512_setzero_ps();
  RNNGRAPH_CHAINS(ADD)
  return _mm512_cvtss_f32(s);  // (one lane keeps the work; gcc 12's reduce warns)
#undef DECLARE
#undef DOT
#undef ADD
}

struct Kernel {
  const char* name;
  const char* unit;
  bool present;
  double ops_per_iteration;  // 12 chains × the instruction's ops
  float (*run)(int64_t);
};

// AVX-VNNI (the 256-bit dot products of Alder Lake and Zen 5): CPUID leaf 7, subleaf 1, EAX bit
// 4, where AVX2 (and so the OS's saving of the ymm registers) is there too. Asked of CPUID
// directly: clang 14's __builtin_cpu_supports does not know the name.
bool has_avx_vnni() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __builtin_cpu_supports("avx2") && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) &&
         (eax & (1u << 4)) != 0;
}

std::vector<Kernel> kernels() {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  return {
      // 8 lanes × (multiply + add)
      {"fma_avx2", "GFLOP/s", __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
       12 * 8 * 2, fma_avx2},
      {"fma_avx512", "GFLOP/s", avx512, 12 * 16 * 2, fma_avx512},
      // 32 u8 × s8 products summed into 8 int32 lanes: 32 multiplies and 32 adds
      {"int8_vnni256", "GOP/s", has_avx_vnni(), 12 * 32 * 2, int8_vnni256},
      {"int8_vnni512", "GOP/s", avx512 && __builtin_cpu_supports("avx512vnni"), 12 * 64 * 2,
       int8_vnni512},
      // 32 bf16 pairs into 16 float lanes: 32 multiplies and 32 adds
      {"bf16_avx512", "GFLOP/s", avx512 && __builtin_cpu_supports("avx512bf16"), 12 * 32 * 2,
       bf16_avx512},
  };
}

// `threads` threads each running `iterations` rounds at once: the ops per second of them all.
double rate(const Kernel& k, int threads, int64_t iterations) {
  std::vector<std::thread> pool;
  std::vector<float> sink(static_cast<std::size_t>(threads));
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { sink[std::size_t(t)] = k.run(iterations); });
  for (auto& t : pool) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return k.ops_per_iteration * double(iterations) * threads / seconds;
}

double measure(const Kernel& k, int threads, double seconds) {
  // Calibrate on one thread, then the best of 3 runs of about `seconds` each.
  const int64_t probe = 100000;
  const double per_second = rate(k, 1, probe) / (k.ops_per_iteration);
  const int64_t iterations = std::max<int64_t>(probe, int64_t(per_second * seconds));
  double best = 0;
  for (int r = 0; r < 3; ++r) best = std::max(best, rate(k, threads, iterations));
  return best / 1e9;
}

}  // namespace

std::vector<PeakUnit> measure_peaks(int threads, double seconds) {
  std::vector<PeakUnit> out;
  for (const Kernel& k : kernels())
    out.push_back({k.name, k.unit, k.present, k.present ? measure(k, threads, seconds) : 0});
  return out;
}

double float_peak(int threads, double seconds) {
  double best = 0;
  for (const Kernel& k : kernels())
    if (k.present && std::string_view(k.name).starts_with("fma_"))
      best = std::max(best, measure(k, threads, seconds));
  return best;
}

}  // namespace rnngraph::cli
