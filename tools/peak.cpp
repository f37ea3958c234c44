#include "peak.h"

#include <cpuid.h>
#include <immintrin.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

#include <rnngraph/ops/amx.h>
#include <rnngraph/ops/isa.h>

namespace rnngraph::cli {

namespace {

// A kernel runs `iterations` rounds of 12 independent chains a = step(a) and returns one lane
// of their sum, so the compiler keeps the work: `name` compiled for `isa`, on vectors of type
// V, each chain starting from init(k), summed with add, the first lane read by lane.
#define RNNGRAPH_CHAINS(op, f)                                                              \
  op(0, f) op(1, f) op(2, f) op(3, f) op(4, f) op(5, f) op(6, f) op(7, f) op(8, f) op(9, f) \
      op(10, f) op(11, f)
#define RNNGRAPH_DECLARE(k, init) auto a##k = init(k);
#define RNNGRAPH_STEP(k, step) a##k = step(a##k);
#define RNNGRAPH_ADD(k, add) s = add(s, a##k);
#define RNNGRAPH_PEAK_KERNEL(name, isa, V, init, step, add, zero, lane) \
  __attribute__((target(isa))) float name(int64_t iterations) {         \
    RNNGRAPH_CHAINS(RNNGRAPH_DECLARE, init)                             \
    for (int64_t i = 0; i < iterations; ++i) {                          \
      RNNGRAPH_CHAINS(RNNGRAPH_STEP, step)                              \
    }                                                                   \
    V s = zero;                                                         \
    RNNGRAPH_CHAINS(RNNGRAPH_ADD, add)                                  \
    return lane(s);                                                     \
  }

// float32 FMA: a = a · 0.999999 + 1e-7 (bounded)
#define FMA256(a) _mm256_fmadd_ps(a, _mm256_set1_ps(0.999999f), _mm256_set1_ps(1e-7f))
#define FMA512(a) _mm512_fmadd_ps(a, _mm512_set1_ps(0.999999f), _mm512_set1_ps(1e-7f))
#define INIT256(k) _mm256_set1_ps(float(k) * 1e-3f)
#define INIT512(k) _mm512_set1_ps(float(k) * 1e-3f)
// int8: a += Σ of 4 products of u8 1 and s8 -1 per int32 lane
#define VNNI256(a) _mm256_dpbusd_avx_epi32(a, _mm256_set1_epi8(1), _mm256_set1_epi8(-1))
#define VNNI512(a) _mm512_dpbusd_epi32(a, _mm512_set1_epi8(1), _mm512_set1_epi8(-1))
// bf16: a += Σ of 2 products of bf16 pairs per float lane
#define BF16(a)                                                                          \
  _mm512_dpbf16_ps(a, _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f)), \
                   _mm512_cvtne2ps_pbh(_mm512_set1_ps(-1e-3f), _mm512_set1_ps(1e-3f)))

__attribute__((target("avx2"))) inline float lane_ps256(__m256 s) { return _mm256_cvtss_f32(s); }
__attribute__((target("avx512f"))) inline float lane_ps512(__m512 s) { return _mm512_cvtss_f32(s); }
__attribute__((target("avx2"))) inline float lane_epi256(__m256i s) {
  return float(_mm256_extract_epi32(s, 0));
}
__attribute__((target("avx512f"))) inline float lane_epi512(__m512i s) {
  alignas(64) int32_t lanes[16];  // (gcc 12's reductions warn of an uninitialised operand)
  _mm512_store_si512(lanes, s);
  return float(lanes[0]);
}

RNNGRAPH_PEAK_KERNEL(fma_avx2, "avx2,fma", __m256, INIT256, FMA256, _mm256_add_ps,
                     _mm256_setzero_ps(), lane_ps256)
RNNGRAPH_PEAK_KERNEL(fma_avx512, "avx512f", __m512, INIT512, FMA512, _mm512_add_ps,
                     _mm512_setzero_ps(), lane_ps512)
// int8 on AVX2 as our int8 kernel runs it: vpmaddubsw (32 u8 × s8 products, summed in pairs),
// vpmaddwd (pairs again, into 8 int32 lanes) and an add into an accumulator. The products are
// independent of the accumulators, as in the kernel (6 of them, as in its tile); the empty asm
// makes their operands opaque each round, so the compiler cannot hoist or merge them.
#define RNNGRAPH_SIX(op) op(0) op(1) op(2) op(3) op(4) op(5)
#define RNNGRAPH_INT8_DECLARE(k) __m256i acc##k = _mm256_set1_epi32(k);
#define RNNGRAPH_INT8_STEP(k) \
  acc##k = _mm256_add_epi32(  \
      acc##k,                 \
      _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_load_si256(row + ((i + k) & 7)), w), ones));
#define RNNGRAPH_INT8_ADD(k) s = _mm256_add_epi32(s, acc##k);
__attribute__((target("avx2"))) float int8_avx2(int64_t iterations) {
  alignas(32) static const std::array<uint8_t, 8 * 32> bytes = [] {
    std::array<uint8_t, 8 * 32> b{};
    for (std::size_t j = 0; j < b.size(); ++j) b[j] = uint8_t(j);
    return b;
  }();
  const auto* row = reinterpret_cast<const __m256i*>(bytes.data());
  RNNGRAPH_SIX(RNNGRAPH_INT8_DECLARE)
  const __m256i w = _mm256_set1_epi8(-1), ones = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < iterations; ++i) {
    RNNGRAPH_SIX(RNNGRAPH_INT8_STEP)
  }
  __m256i s = _mm256_setzero_si256();
  RNNGRAPH_SIX(RNNGRAPH_INT8_ADD)
  return lane_epi256(s);
}
RNNGRAPH_PEAK_KERNEL(int8_vnni256, "avx2,avxvnni", __m256i, _mm256_set1_epi32, VNNI256,
                     _mm256_add_epi32, _mm256_setzero_si256(), lane_epi256)
RNNGRAPH_PEAK_KERNEL(int8_vnni512, "avx512f,avx512vnni", __m512i, _mm512_set1_epi32, VNNI512,
                     _mm512_add_epi32, _mm512_setzero_si512(), lane_epi512)
RNNGRAPH_PEAK_KERNEL(bf16_avx512, "avx512f,avx512bf16", __m512, INIT512, BF16, _mm512_add_ps,
                     _mm512_setzero_ps(), lane_ps512)

// AMX: four tile products a round into four independent C tiles (16 × 16 sums of 64 byte or 32
// bf16 products each), from two A and two B tiles loaded once.
template <bool Bf16>
__attribute__((target("amx-tile,amx-int8,amx-bf16"))) float amx_tiles(int64_t iterations) {
  kernels::load_tile_layout();
  alignas(64) static const std::array<uint8_t, 16 * 64> ones = [] {
    std::array<uint8_t, 16 * 64> b{};
    b.fill(Bf16 ? 0 : 1);  // zeros for bf16: the sums stay finite
    return b;
  }();
  _tile_zero(0);  // (the tile numbers must be constants)
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, ones.data(), 64);
  _tile_loadd(5, ones.data(), 64);
  _tile_loadd(6, ones.data(), 64);
  _tile_loadd(7, ones.data(), 64);
  for (int64_t i = 0; i < iterations; ++i) {
    if constexpr (Bf16) {
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    } else {
      _tile_dpbusd(0, 4, 6);
      _tile_dpbusd(1, 4, 7);
      _tile_dpbusd(2, 5, 6);
      _tile_dpbusd(3, 5, 7);
    }
  }
  alignas(64) std::array<int32_t, 16 * 16> sums{};
  _tile_stored(0, sums.data(), 64);
  _tile_release();
  return float(sums[0]);
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
  static const bool amx = kernels::request_amx();
  return {
      // 8 lanes × (multiply + add)
      {"fma_avx2", "GFLOP/s", __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
       12 * 8 * 2, fma_avx2},
      {"fma_avx512", "GFLOP/s", avx512, 12 * 16 * 2, fma_avx512},
      // 32 u8 × s8 products summed into 8 int32 lanes: 32 multiplies and 32 adds
      {"int8_avx2", "GOP/s", __builtin_cpu_supports("avx2") != 0, 6 * 32 * 2, int8_avx2},
      {"int8_vnni256", "GOP/s", has_avx_vnni(), 12 * 32 * 2, int8_vnni256},
      {"int8_vnni512", "GOP/s", avx512 && __builtin_cpu_supports("avx512vnni"), 12 * 64 * 2,
       int8_vnni512},
      // 32 bf16 pairs into 16 float lanes: 32 multiplies and 32 adds
      {"bf16_avx512", "GFLOP/s", avx512 && __builtin_cpu_supports("avx512bf16"), 12 * 32 * 2,
       bf16_avx512},
      // 4 tiles of 16 × 16 sums, each of 64 u8 × s8 (or 32 bf16) products
      {"int8_amx", "GOP/s", amx, 4 * 16 * 16 * 64 * 2, amx_tiles<false>},
      {"bf16_amx", "GFLOP/s", amx, 4 * 16 * 16 * 32 * 2, amx_tiles<true>},
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
  // Calibrate on one thread, then the best of 5 runs of about `seconds` each (a run that
  // shares its core with another process only lowers one of them).
  const int64_t probe = 100000;
  const double per_second = rate(k, 1, probe) / (k.ops_per_iteration);
  const int64_t iterations = std::max<int64_t>(probe, int64_t(per_second * seconds));
  double best = 0;
  for (int r = 0; r < 5; ++r) best = std::max(best, rate(k, threads, iterations));
  return best / 1e9;
}

}  // namespace

std::vector<PeakUnit> measure_peaks(int threads, double seconds) {
  std::vector<PeakUnit> out;
  for (const Kernel& k : kernels())
    out.push_back({k.name, k.unit, k.present, k.present ? measure(k, threads, seconds) : 0});
  return out;
}

namespace {
// The best rate of the present units whose names start with `prefix`.
double best_peak(std::string_view prefix, int threads, double seconds) {
  double best = 0;
  for (const Kernel& k : kernels())
    if (k.present && std::string_view(k.name).starts_with(prefix))
      best = std::max(best, measure(k, threads, seconds));
  return best;
}
}  // namespace

double float_peak(int threads, double seconds) { return best_peak("fma_", threads, seconds); }

std::string product_unit(models::Precision precision) {
  using kernels::Isa;
  const Isa isa = kernels::best_isa();
  switch (precision) {
    case models::Precision::Int8:
      return isa >= Isa::Amx ? "int8_amx" : isa >= Isa::Avx512Vnni ? "int8_vnni512" : "int8_avx2";
    case models::Precision::Bfloat16:
      if (isa >= Isa::Amx) return "bf16_amx";
      if (isa >= Isa::Avx512Bf16) return "bf16_avx512";
      return "fma_avx2";  // below BF16, bf16_gemm's kernel multiplies the values with AVX2 FMAs
    case models::Precision::Float32:
      break;
  }
  return isa >= Isa::Avx512 ? "fma_avx512" : "fma_avx2";
}

double product_peak(models::Precision precision, int threads, double seconds) {
  return best_peak(product_unit(precision), threads, seconds);
}

}  // namespace rnngraph::cli
