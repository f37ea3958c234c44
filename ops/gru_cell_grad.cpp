// gru_cell_grad: gru_cell's vector-Jacobian product in one loop. Inputs: gru_cell's inputs and
// g = ∂loss/∂h'. With the gates recomputed,
//   dA_n = g ⊙ (1 − z) ⊙ (1 − n²)    dA_z = g ⊙ (h − n) ⊙ z(1 − z)    dA_r = dA_n ⊙ H_n ⊙ r(1 − r)
// and the output is, by `wrt`: 0, the input side's dX = [dA_r, dA_z, dA_n]; 1, the hidden side's
// dH = [dA_r, dA_z, dA_n ⊙ r] (both [B, 3H]); 2, dh = g ⊙ z [B, H].
#include <rnngraph/ops/gru_cell.h>

namespace rnngraph {
namespace cell = kernels::cell;
namespace {
struct GruCellGrad final : cell::FusedCellGradOp {
  std::string_view name() const override { return "gru_cell_grad"; }
  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    const Shape state = cell::gru::infer(in, attrs, 2);
    return attrs.get("wrt", 0) == 2 ? state : Shape{state[0], 3 * state[1]};
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const cell::gru::Inputs io(in, attrs, 2);
    const Tensor& dy = in.back();
    const int64_t wrt = attrs.get("wrt", 0);
    const int64_t B = io.h.shape()[0], H = io.h.shape()[1];
    cell::for_each_row(B, H, cell::gru::kScratch * std::size_t(H), [&](int64_t b, float* s) {
      const cell::gru::Gates g = cell::gru::gates(io, b, H, s);
      const float* d = dy.data() + b * H;
      if (wrt == 2) {
        float* dh = out.data() + b * H;
        for (int64_t j = 0; j < H; ++j) dh[j] = d[j] * g.z[j];
        return;
      }
      const float* h = io.h.data() + b * H;
      float* dA = out.data() + b * 3 * H;
      for (int64_t j = 0; j < H; ++j) {
        const float dn = d[j] * (1 - g.z[j]) * (1 - g.n[j] * g.n[j]);
        dA[j] = dn * g.hn[j] * g.r[j] * (1 - g.r[j]);
        dA[H + j] = d[j] * (h[j] - g.n[j]) * g.z[j] * (1 - g.z[j]);
        dA[2 * H + j] = wrt == 1 ? dn * g.r[j] : dn;
      }
    });
  }
};
}  // namespace

const Op& gru_cell_grad_op() {
  static const GruCellGrad op;
  return op;
}
Value gru_cell_grad(std::span<const Value> inputs, int64_t x_terms, int wrt) {
  Attrs attrs;
  attrs.ints["x_terms"] = x_terms;
  if (wrt != 0) attrs.ints["wrt"] = wrt;
  return inputs.back().graph().apply(gru_cell_grad_op(), inputs, std::move(attrs));
}
}  // namespace rnngraph
