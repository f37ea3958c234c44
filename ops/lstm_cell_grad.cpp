// lstm_cell_grad: lstm_cell's vector-Jacobian product in one loop. Inputs: the gate terms,
// c_prev and dc = ∂loss/∂c. With wrt_state 0 the output is dA [B, 4H]:
//   dA_f = dc ⊙ c_prev ⊙ f(1−f),  dA_i = dc ⊙ g ⊙ i(1−i),  dA_o = 0,  dA_g = dc ⊙ i ⊙ (1−g²);
// with wrt_state 1 it is dc_prev = dc ⊙ f [B, H]. The gates are recomputed from the terms rather
// than kept from the forward pass: that costs a few exp per element and saves 3·B·H floats per
// step of memory.
#include <algorithm>

#include <rnngraph/ops/cell_kernels.h>

namespace rnngraph {
namespace cell = kernels::cell;
namespace {
struct LstmCellGrad final : cell::FusedCellGradOp {
  std::string_view name() const override { return "lstm_cell_grad"; }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const auto terms = in.first(in.size() - 2);
    const Tensor &c_prev = in[in.size() - 2], &dc = in.back();
    const bool wrt_state = attrs.get("wrt_state", 0);
    const int64_t B = c_prev.shape()[0], H = c_prev.shape()[1];
    cell::for_each_row(B, H, std::size_t(3 * H), [&](int64_t b, float* f) {
      float *i = f + H, *g = i + H;
      const float* cp = c_prev.data() + b * H;
      const float* d = dc.data() + b * H;
      cell::activated_gate_row(terms, b, cell::F, H, f);
      if (wrt_state) {
        float* dcp = out.data() + b * H;
        for (int64_t j = 0; j < H; ++j) dcp[j] = d[j] * f[j];
        return;
      }
      cell::activated_gate_row(terms, b, cell::I, H, i);
      cell::activated_gate_row(terms, b, cell::G, H, g);
      float* dA = out.data() + b * 4 * H;
      cell::cell_gate_grads(H, d, cp, f, i, g, dA);
      std::fill_n(dA + cell::O * H, H, 0.0f);
    });
  }
};
}  // namespace

const Op& lstm_cell_grad_op() {
  static const LstmCellGrad op;
  return op;
}
Value lstm_cell_grad(std::span<const Value> inputs, bool wrt_state) {
  return cell::apply_grad(lstm_cell_grad_op(), inputs, wrt_state);
}
}  // namespace rnngraph
