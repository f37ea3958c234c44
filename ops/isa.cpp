#include <rnngraph/ops/isa.h>

#include <cstdlib>
#include <string>

namespace rnngraph::kernels {

namespace {
Isa cpu_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
  return Isa::Portable;
}

// RNNGRAPH_MAX_ISA's cap; an unknown value caps nothing (the variable is for measuring, and a
// typo there should not make every run slower).
Isa cap() {
  const char* v = std::getenv("RNNGRAPH_MAX_ISA");
  const std::string want = v ? v : "";
  if (want == "portable") return Isa::Portable;
  if (want == "avx2") return Isa::Avx2;
  return Isa::Avx512;
}
}  // namespace

Isa best_isa() {
  static const Isa isa = std::min(cpu_isa(), cap());
  return isa;
}

std::string_view isa_name(Isa isa) {
  return isa == Isa::Avx512 ? "avx512" : isa == Isa::Avx2 ? "avx2" : "portable";
}

std::vector<Isa> runnable_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512})
    if (isa <= best_isa()) isas.push_back(isa);
  return isas;
}

}  // namespace rnngraph::kernels
