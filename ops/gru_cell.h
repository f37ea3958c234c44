// What gru_cell and gru_cell_grad share: their inputs' layout and the gates of one row.
// Internal to the library (not installed).
#pragma once

#include <rnngraph/ops/cell_kernels.h>

namespace rnngraph::kernels::cell::gru {

enum Gate : int64_t { R = 0, Z = 1, N = 2 };

// The shape rule: x-side terms (attribute x_terms, at least 1), h-side terms (at least 1), then
// `states` inputs [B, H] (h; for the gradient, h and dh'). Returns [B, H].
inline Shape infer(std::span<const Shape> in, const Attrs& attrs, std::size_t states) {
  const Shape state = cell::infer(in, states, 3);
  const int64_t x_terms = attrs.get("x_terms", 1);
  if (x_terms < 1 || x_terms + 1 + int64_t(states) > int64_t(in.size()))
    throw ShapeError(
        fmt::format("x_terms {} leaves no term for one side of {} inputs", x_terms, in.size()));
  return state;
}

// The inputs, split: x-side terms, h-side terms, h (and for the gradient dh').
struct Inputs {
  std::span<const Tensor> x, hs;
  const Tensor& h;
  Inputs(std::span<const Tensor> in, const Attrs& attrs, std::size_t states)
      : x(in.first(std::size_t(attrs.get("x_terms", 1)))),
        hs(in.subspan(x.size(), in.size() - states - x.size())),
        h(in[in.size() - states]) {}
};

// Floats of scratch per row unit H that gates() needs.
inline constexpr std::size_t kScratch = 4;

// Row b's r, z, n and H_n (the hidden side of the candidate, which the gradient needs), in
// `scratch` (kScratch · H floats).
struct Gates {
  float *r, *z, *n, *hn;
};
inline Gates gates(const Inputs& io, int64_t b, int64_t H, float* scratch) {
  Gates g{scratch, scratch + H, scratch + 2 * H, scratch + 3 * H};
  for (auto [gate, out] : {std::pair{R, g.r}, std::pair{Z, g.z}})
    activated_sum({io.x, io.hs}, b, gate, H, false, out);
  gate_row(io.hs, b, N, H, g.hn);
  gate_row(io.x, b, N, H, g.n);
  for (int64_t j = 0; j < H; ++j) g.n[j] += g.r[j] * g.hn[j];
  tanh_array(g.n, g.n, H);
  return g;
}

}  // namespace rnngraph::kernels::cell::gru
