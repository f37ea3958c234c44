// lstm_cell: the LSTM's new cell state from its gate pre-activations and the previous state,
//   c = σ(A_f) ⊙ c_prev + σ(A_i) ⊙ tanh(A_g),
// as one loop over the data (A = Σ of the gate terms, ops/cell_kernels.h). Made by
// passes::fuse_cells from the seed's sigmoid, tanh, mul and add nodes. Gradient: lstm_cell_grad.
#include <rnngraph/ops/cell_kernels.h>

namespace rnngraph {
namespace cell = kernels::cell;
namespace {
struct LstmCell final : cell::FusedCellOp<LstmCell> {
  std::string_view name() const override { return "lstm_cell"; }
  static const Op& grad_op() { return lstm_cell_grad_op(); }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    const auto terms = in.first(in.size() - 1);
    const Tensor& c_prev = in.back();
    const int64_t B = out.shape()[0], H = out.shape()[1];
    cell::for_each_row(B, H, std::size_t(3 * H), [&](int64_t b, float* f) {
      float *i = f + H, *g = i + H;
      cell::activated_gate_row(terms, b, cell::F, H, f);
      cell::activated_gate_row(terms, b, cell::I, H, i);
      cell::activated_gate_row(terms, b, cell::G, H, g);
      const float* cp = c_prev.data() + b * H;
      float* c = out.data() + b * H;
      for (int64_t j = 0; j < H; ++j) c[j] = f[j] * cp[j] + i[j] * g[j];
    });
  }
};
}  // namespace

const Op& lstm_cell_op() {
  static const LstmCell op;
  return op;
}
Value lstm_cell(std::span<const Value> terms, const Value& c_prev) {
  return cell::apply(lstm_cell_op(), terms, c_prev);
}
}  // namespace rnngraph
