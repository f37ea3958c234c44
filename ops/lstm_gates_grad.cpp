// lstm_gates_grad: the gradient of an LSTM step's gate pre-activations A [B, 4H] from both of its
// fused ops at once, what lstm_cell_grad's dA plus lstm_hidden_grad's dA give:
//   dA_f = dc ⊙ c_prev ⊙ f(1−f),  dA_i = dc ⊙ g ⊙ i(1−i),  dA_g = dc ⊙ i ⊙ (1−g²),
//   dA_o = dh ⊙ tanh(c) ⊙ o(1−o).
// Inputs: the gate terms, c_prev, c, dc = ∂loss/∂c (all of it: through h and the next step) and
// dh = ∂loss/∂h. Made by passes::fuse_cell_gradients, so a step's dA is one loop over four gate
// blocks instead of two [B, 4H] results, each three-quarters or a quarter zeros, and their sum.
#include <rnngraph/ops/cell_kernels.h>

namespace rnngraph {
namespace cell = kernels::cell;
namespace {
struct LstmGatesGrad final : cell::FusedCellGradOp {
  std::string_view name() const override { return "lstm_gates_grad"; }

  Shape infer(std::span<const Shape> in, const Attrs&) const override {
    const Shape state = cell::infer(in, 4);
    return {state[0], 4 * state[1]};
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    const auto terms = in.first(in.size() - 4);
    const Tensor &c_prev = in[in.size() - 4], &c = in[in.size() - 3];
    const Tensor &dc = in[in.size() - 2], &dh = in.back();
    const int64_t B = c.shape()[0], H = c.shape()[1];
    cell::for_each_row(B, H, std::size_t(5 * H), [&](int64_t b, float* f) {
      float *i = f + H, *g = i + H, *o = g + H, *tc = o + H;
      cell::activated_gate_row(terms, b, cell::F, H, f);
      cell::activated_gate_row(terms, b, cell::I, H, i);
      cell::activated_gate_row(terms, b, cell::G, H, g);
      cell::activated_gate_row(terms, b, cell::O, H, o);
      kernels::tanh_array(c.data() + b * H, tc, H);
      const float *cp = c_prev.data() + b * H, *d = dc.data() + b * H, *e = dh.data() + b * H;
      float* dA = out.data() + b * 4 * H;
      cell::cell_gate_grads(H, d, cp, f, i, g, dA);
      cell::output_gate_grad(H, e, tc, o, dA);
    });
  }
};
}  // namespace

const Op& lstm_gates_grad_op() {
  static const LstmGatesGrad op;
  return op;
}
Value lstm_gates_grad(std::span<const Value> terms, const Value& c_prev, const Value& c,
                      const Value& dc, const Value& dh) {
  std::vector<Value> in(terms.begin(), terms.end());
  for (const Value& v : {c_prev, c, dc, dh}) in.push_back(v);
  return c.graph().apply(lstm_gates_grad_op(), in);
}
}  // namespace rnngraph
