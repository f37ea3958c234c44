// The instruction sets our kernels are written for, and which one this CPU runs. Kernels are
// compiled for each with target attributes and picked at run time from the CPU (never from
// compile flags: the library is built for the baseline x86-64).
// RNNGRAPH_MAX_ISA=portable|avx2|avx512|avx512vnni|avx512bf16|amx caps the choice, to measure or
// test a lower ISA on a newer CPU. Internal to the library.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace rnngraph::kernels {

// A ladder, each level holding the ones below it, as the CPUs that have them do: AVX2 with FMA;
// AVX-512 (F, BW, DQ, VL); with VNNI (int8 dot products: Cascade and Ice Lake); with BF16 too
// (bf16 dot products: Cooper and Sapphire Rapids, Zen 4); with AMX's int8 and bf16 tiles too
// (Sapphire Rapids on), where the OS grants them. A kernel family that has no kernel of its own
// for a level runs the one for the level below.
enum class Isa { Portable, Avx2, Avx512, Avx512Vnni, Avx512Bf16, Amx };

// The best this CPU runs (capped by RNNGRAPH_MAX_ISA), and its name ("amx", "avx512bf16",
// "avx512vnni", "avx512", "avx2", "portable").
Isa best_isa();
std::string_view isa_name(Isa isa);
// Whether RNNGRAPH_MAX_ISA is unset or names a level (an ISA's name above). The library ignores
// a value that names none; the CLI refuses it, so a measurement of a lower ISA is never of the
// best one by a typo.
bool isa_cap_is_known();
// Every level of the ladder, lowest first (the names RNNGRAPH_MAX_ISA takes).
std::span<const Isa> isa_levels();
// Every ISA at or below best_isa(), lowest first: what tests run each kernel on.
std::vector<Isa> runnable_isas();

// f.template operator()<R>() for the run-time row count `rows` in [1, N]: the kernels' tiles
// are templates on their row count, so each keeps its accumulators in registers.
template <int N, class F>
void with_rows(int rows, const F& f) {
  [&]<int... R>(std::integer_sequence<int, R...>) {
    ((rows == R + 1 ? f.template operator()<R + 1>() : void()), ...);
  }
  (std::make_integer_sequence<int, N>{});
}

// The mask of the first `count` of 16 lanes (clamped to [0, 16]): an AVX-512 kernel's load or
// store of a row's last, partial vector of 16 floats or int32.
inline uint16_t first_lanes(int64_t count) {
  return uint16_t((1u << std::clamp<int64_t>(count, 0, 16)) - 1);
}

// f.template operator()<R, G>(r0, g) for the AVX-512 dot-product kernels' tiles: column groups
// [0, groups) two at a time (G = 2, or 1 for a last one alone) and rows [0, rows) `Tile` at a
// time (R rows, the last tile shorter).
template <int Tile, class F>
void by_group_pairs(int rows, int64_t groups, const F& f) {
  for (int64_t g = 0; g < groups; g += 2)
    for (int r0 = 0; r0 < rows; r0 += Tile)
      with_rows<Tile>(std::min(Tile, rows - r0), [&]<int R>() {
        if (groups - g >= 2)
          f.template operator()<R, 2>(r0, g);
        else
          f.template operator()<R, 1>(r0, g);
      });
}

// f compiled for each ISA, the one `isa` runs (the AVX-512 one on every AVX-512 level).
template <class F>
F for_isa(Isa isa, F portable, F avx2, F avx512) {
  return isa >= Isa::Avx512 ? avx512 : isa == Isa::Avx2 ? avx2 : portable;
}

}  // namespace rnngraph::kernels
