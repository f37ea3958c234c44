// Intel AMX (Sapphire Rapids on): eight tile registers of up to 16 rows × 64 bytes, and one
// instruction that multiplies two tiles into a third, 16 × 16 int32 or float32 sums of 64 byte or
// 32 bf16 products each. The int8 and bf16 kernels use one layout, set by `TileLayout` here: C
// in tiles 0–3 (2 × 2 blocks of 16 rows × 16 columns), A in 4–5, B in 6–7, every tile 16 rows ×
// 64 bytes. Linux lets a process use the tiles only after it asks (arch_prctl), which best_isa()
// does once. Internal to the library.
#pragma once

#include <cstdint>

#include <immintrin.h>

namespace rnngraph::kernels {

// The 64-byte operand of ldtilecfg (palette 1).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

// The kernels' tile layout: every tile 16 rows × 64 bytes. A constant in memory: gcc 12's
// _tile_loadconfig does not tell the compiler it reads its operand, so the stores that fill a
// local config were dropped as dead (seen: a config of zeros, and SIGILL at the first tile op).
inline constexpr TileConfig kTileLayout = [] {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.bytes_per_row[t] = 64;
    config.rows[t] = 16;
  }
  return config;
}();

// Loads the kernels' tile layout into this thread's tile registers; release with
// _tile_release() when done, so the thread's context switches stop saving 8 KiB of tiles.
__attribute__((target("amx-tile"))) inline void load_tile_layout() {
  _tile_loadconfig(&kTileLayout);
}

// Asks the OS for the tiles for this process; true when granted (and the CPU has them).
bool request_amx();

}  // namespace rnngraph::kernels
