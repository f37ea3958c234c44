// lstm_hidden: the LSTM's output h = σ(A_o) ⊙ tanh(c) from the gate terms and the new cell
// state, in one loop (ops/cell_kernels.h). Made by passes::fuse_cells beside lstm_cell.
// Gradient: lstm_hidden_grad.
#include <rnngraph/ops/cell_kernels.h>

namespace rnngraph {
namespace cell = kernels::cell;
namespace {
struct LstmHidden final : cell::FusedCellOp<LstmHidden> {
  std::string_view name() const override { return "lstm_hidden"; }
  static const Op& grad_op() { return lstm_hidden_grad_op(); }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    const auto terms = in.first(in.size() - 1);
    const Tensor& c = in.back();
    const int64_t B = out.shape()[0], H = out.shape()[1];
    cell::for_each_row(B, H, std::size_t(2 * H), [&](int64_t b, float* o) {
      float* tc = o + H;
      cell::activated_gate_row(terms, b, cell::O, H, o);
      kernels::tanh_array(c.data() + b * H, tc, H);
      float* h = out.data() + b * H;
      for (int64_t j = 0; j < H; ++j) h[j] = o[j] * tc[j];
    });
  }
};
}  // namespace

const Op& lstm_hidden_op() {
  static const LstmHidden op;
  return op;
}
Value lstm_hidden(std::span<const Value> terms, const Value& c) {
  return cell::apply(lstm_hidden_op(), terms, c);
}
}  // namespace rnngraph
