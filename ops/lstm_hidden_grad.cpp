// lstm_hidden_grad: lstm_hidden's vector-Jacobian product in one loop. Inputs: the gate terms,
// c and dh = ∂loss/∂h. With wrt_state 0 the output is dA [B, 4H], zero but for the output gate:
//   dA_o = dh ⊙ tanh(c) ⊙ o(1−o);
// with wrt_state 1 it is dc = dh ⊙ o ⊙ (1 − tanh²(c)) [B, H].
#include <rnngraph/ops/cell_kernels.h>

namespace rnngraph {
namespace cell = kernels::cell;
namespace {
struct LstmHiddenGrad final : cell::FusedCellGradOp {
  std::string_view name() const override { return "lstm_hidden_grad"; }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const auto terms = in.first(in.size() - 2);
    const Tensor &c = in[in.size() - 2], &dh = in.back();
    const bool wrt_state = attrs.get("wrt_state", 0);
    const int64_t B = c.shape()[0], H = c.shape()[1];
    if (!wrt_state) out.fill(0);
    cell::for_each_row(B, H, std::size_t(2 * H), [&](int64_t b, float* o) {
      float* tc = o + H;
      const float* d = dh.data() + b * H;
      cell::activated_gate_row(terms, b, cell::O, H, o);
      kernels::tanh_array(c.data() + b * H, tc, H);
      if (wrt_state) {
        float* dc = out.data() + b * H;
        for (int64_t j = 0; j < H; ++j) dc[j] = d[j] * o[j] * (1 - tc[j] * tc[j]);
      } else {
        cell::output_gate_grad(H, d, tc, o, out.data() + b * 4 * H);
      }
    });
  }
};
}  // namespace

const Op& lstm_hidden_grad_op() {
  static const LstmHiddenGrad op;
  return op;
}
Value lstm_hidden_grad(std::span<const Value> inputs, bool wrt_state) {
  return cell::apply_grad(lstm_hidden_grad_op(), inputs, wrt_state);
}
}  // namespace rnngraph
