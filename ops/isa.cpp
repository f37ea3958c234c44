#include <rnngraph/ops/isa.h>

#include <cpuid.h>

#include <cstdlib>
#include <optional>
#include <string_view>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <rnngraph/ops/amx.h>

namespace rnngraph::kernels {

bool request_amx() {
  // CPUID leaf 7: EDX bit 22 AMX-BF16, 24 AMX-TILE, 25 AMX-INT8 (asked directly: clang 14's
  // __builtin_cpu_supports has no names for them)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const unsigned amx = (1u << 22) | (1u << 24) | (1u << 25);
  if ((edx & amx) != amx) return false;
#if defined(__linux__)
  // ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA: refused by kernels before 5.16 and where the
  // hypervisor or OS does not enable the tile state
  constexpr long kRequestPermission = 0x1023, kTileData = 18;
  return syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
#else
  return false;
#endif
}

namespace {
Isa cpu_isa() {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  if (avx512 && __builtin_cpu_supports("avx512vnni")) {
    if (!__builtin_cpu_supports("avx512bf16")) return Isa::Avx512Vnni;
    return request_amx() ? Isa::Amx : Isa::Avx512Bf16;
  }
  if (avx512) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
  return Isa::Portable;
}

constexpr Isa kLevels[] = {Isa::Portable,   Isa::Avx2,       Isa::Avx512,
                           Isa::Avx512Vnni, Isa::Avx512Bf16, Isa::Amx};

// RNNGRAPH_MAX_ISA's cap, if it names one.
std::optional<Isa> named_cap() {
  const char* v = std::getenv("RNNGRAPH_MAX_ISA");
  const std::string_view want = v ? v : "amx";
  for (Isa isa : kLevels)
    if (isa_name(isa) == want) return isa;
  return std::nullopt;
}
// An unknown value caps nothing in the library (the variable is for measuring, and a typo there
// should not make every run slower); the CLI refuses it (isa_cap_is_known).
Isa cap() { return named_cap().value_or(Isa::Amx); }
}  // namespace

bool isa_cap_is_known() { return named_cap().has_value(); }

Isa best_isa() {
  static const Isa isa = std::min(cpu_isa(), cap());
  return isa;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Amx:
      return "amx";
    case Isa::Avx512Bf16:
      return "avx512bf16";
    case Isa::Avx512Vnni:
      return "avx512vnni";
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    case Isa::Portable:
      break;
  }
  return "portable";
}

std::span<const Isa> isa_levels() { return kLevels; }

std::vector<Isa> runnable_isas() {
  std::vector<Isa> isas;
  for (Isa isa : kLevels)
    if (isa <= best_isa()) isas.push_back(isa);
  return isas;
}

}  // namespace rnngraph::kernels
