// Intel AMX (Sapphire Rapids on): eight tile registers of up to 16 rows × 64 bytes, and one
// instruction that multiplies two tiles into a third, 16 × 16 int32 or float32 sums of 64 byte or
// 32 bf16 products each. The int8 and bf16 kernels share one layout (kTileLayout) and one block
// routine (block_sums) here: C in tiles 0–3 (2 × 2 blocks of 16 rows × 16 columns), A in 4–5, B
// in 6–7, every tile 16 rows × 64 bytes. Linux lets a process use the tiles only after it asks
// (arch_prctl), which best_isa() does once. Internal to the library.
#pragma once

#include <algorithm>
#include <cstdint>

#include <immintrin.h>

#include <rnngraph/framework/threads.h>

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

// The sums of a block of up to 32 rows × 32 columns of a · W, into `sums` [32][32] (int32 for
// int8, float for bf16; rows and columns past the block's hold garbage). a's rows are `row_bytes`
// apart (the packed depth: int8's bytes or bf16's values × 2, a multiple of 64), W's groups of 16
// columns `group_bytes` apart, each in the packed layout whose 64-byte rows (4 int8 or 2 bf16
// depths of 16 columns) are a B tile's rows; so every tile, a's and W's, is 16 rows × 64 bytes,
// 1 KiB of W a step. RowTiles and GroupTiles (1 or 2) say how much of the block is there: the
// tile numbers must be constants. Needs load_tile_layout().
template <bool Bf16, int RowTiles, int GroupTiles>
__attribute__((target("amx-tile,amx-int8,amx-bf16"))) void block_sums(
    const uint8_t* a, int64_t row_bytes, const uint8_t* w, int64_t group_bytes, void* sums) {
#define RNNGRAPH_TILE_PRODUCT(c, x, y) \
  do {                                 \
    if constexpr (Bf16)                \
      _tile_dpbf16ps(c, x, y);         \
    else                               \
      _tile_dpbusd(c, x, y);           \
  } while (false)
  _tile_zero(0);
  if constexpr (GroupTiles == 2) _tile_zero(1);
  if constexpr (RowTiles == 2) _tile_zero(2);
  if constexpr (RowTiles == 2 && GroupTiles == 2) _tile_zero(3);
  for (int64_t p = 0; p < row_bytes; p += 64) {
    _tile_loadd(4, a + p, row_bytes);
    _tile_loadd(6, w + 16 * p, 64);
    RNNGRAPH_TILE_PRODUCT(0, 4, 6);
    if constexpr (GroupTiles == 2) {
      _tile_loadd(7, w + group_bytes + 16 * p, 64);
      RNNGRAPH_TILE_PRODUCT(1, 4, 7);
    }
    if constexpr (RowTiles == 2) {
      _tile_loadd(5, a + 16 * row_bytes + p, row_bytes);
      RNNGRAPH_TILE_PRODUCT(2, 5, 6);
      if constexpr (GroupTiles == 2) RNNGRAPH_TILE_PRODUCT(3, 5, 7);
    }
  }
#undef RNNGRAPH_TILE_PRODUCT
  auto* out = static_cast<uint8_t*>(sums);  // [32][32] of 4 bytes: rows 128 bytes apart
  _tile_stored(0, out, 128);
  if constexpr (GroupTiles == 2) _tile_stored(1, out + 64, 128);
  if constexpr (RowTiles == 2) _tile_stored(2, out + 16 * 128, 128);
  if constexpr (RowTiles == 2 && GroupTiles == 2) _tile_stored(3, out + 16 * 128 + 64, 128);
}

// block_sums for a block of `rows` rows (1 to 32) and `groups` groups (1 or 2).
template <bool Bf16>
auto block_sums_for(int rows, int64_t groups) {
  return rows > 16 ? (groups >= 2 ? block_sums<Bf16, 2, 2> : block_sums<Bf16, 2, 1>)
                   : (groups >= 2 ? block_sums<Bf16, 1, 2> : block_sums<Bf16, 1, 1>);
}

// The AMX drivers' walk over rows [0, rows) of a and W's groups [0, groups): W's groups two at a
// time, a's rows 32 at a time, each block's sums (Sum: int32_t for int8, float for bf16) handed
// to store(row, group, sums) a row and group of 16 columns at a time. A lambda passed as store
// needs a target attribute of its own (GCC gives a lambda none of its enclosing function's),
// within this function's, or it is not inlined here: a call per row cost int8's large LSTM 12%.
template <bool Bf16, class Sum, class Store>
__attribute__((target("amx-tile,avx512f,avx512bw"))) void for_each_block(
    int rows, int64_t groups, const uint8_t* a, int64_t row_bytes, const uint8_t* w,
    int64_t group_bytes, Store store) {
  load_tile_layout();
  alignas(64) Sum sums[32][32];  // [row][column] of the block
  for (int64_t g = 0; g < groups; g += 2)
    for (int r0 = 0; r0 < rows; r0 += 32) {
      const int block = std::min(32, rows - r0);
      block_sums_for<Bf16>(block, groups - g)(a + r0 * row_bytes, row_bytes, w + g * group_bytes,
                                              group_bytes, sums);
      for (int64_t j = 0; j < std::min<int64_t>(2, groups - g); ++j)
        for (int r = 0; r < block; ++r) store(r0 + r, g + j, &sums[r][j * 16]);
    }
  _tile_release();
}

// How an int8 or bf16 product (a's rows prepared: quantized or rounded; then multiplied by W's
// column groups) goes over `threads` threads. prepare(begin, end) prepares rows [begin, end);
// multiply(begin, end, first, last) multiplies rows [begin, end) by groups [first, last); the
// rows' buffer runs to m rounded up to 16 (AMX's tiles read whole tiles of 16 rows), and
// prepare(m, that) must zero the rows past m.
// With 32 rows or more a thread, each takes its own rows, in whole tiles of 16, and every group:
// one parallel region, and no thread waits for rows another prepares (the large LSTM's int8 step
// on AMX: 1.60× one thread with two regions a product, 1.91× with one). Otherwise the rows are
// prepared over the threads, then the groups split among them.
template <class Prepare, class Multiply>
void reduced_product_over_threads(int64_t m, int64_t groups, int threads, Prepare prepare,
                                  Multiply multiply) {
  const int64_t tiles = (m + 15) / 16;
  if (threads > 1 && m >= 32 * threads) {
    parallel_for(threads, [&](int t) {
      const auto [first, last] = split(tiles, threads, t);
      const int64_t begin = first * 16, end = std::min(m, last * 16);
      prepare(begin, end);
      if (last == tiles) prepare(m, tiles * 16);
      multiply(begin, end, int64_t(0), groups);
    });
    return;
  }
  const int row_threads = int(std::min<int64_t>(threads, m));
  parallel_for(row_threads, [&](int t) {
    const auto [begin, end] = split(m, row_threads, t);
    prepare(begin, end);
  });
  prepare(m, tiles * 16);
  parallel_for(threads, [&](int t) {
    const auto [first, last] = split(groups, threads, t);
    multiply(int64_t(0), m, first, last);
  });
}

}  // namespace rnngraph::kernels
