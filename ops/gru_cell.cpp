// gru_cell: a GRU step (PyTorch's equations, models/gru.h) from its gate terms and h, in one
// loop over the data (ops/cell_kernels.h). The terms come in two groups, because the reset gate
// multiplies only the hidden side of the candidate: the first `x_terms` inputs sum to the input
// side X = [X_r, X_z, X_n] (x·W_x rows and the bias row), the rest to the hidden side
// H = [H_r, H_z, H_n] (h·W_h and b_hn); each [B, 3H] or a [1, 3H] row. Then
//   r = σ(X_r + H_r)   z = σ(X_z + H_z)   n = tanh(X_n + r ⊙ H_n)   h' = (1 − z) ⊙ n + z ⊙ h
// Made by passes::fuse_cells. Gradient: gru_cell_grad.
#include <rnngraph/ops/gru_cell.h>

namespace rnngraph {
namespace cell = kernels::cell;
namespace {
struct GruCell final : Op {
  std::string_view name() const override { return "gru_cell"; }
  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    return cell::gru::infer(in, attrs, 1);
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const cell::gru::Inputs io(in, attrs, 1);
    const int64_t B = out.shape()[0], H = out.shape()[1];
    cell::for_each_row(B, H, cell::gru::kScratch * std::size_t(H), [&](int64_t b, float* s) {
      const cell::gru::Gates g = cell::gru::gates(io, b, H, s);
      const float* h = io.h.data() + b * H;
      float* y = out.data() + b * H;
      for (int64_t j = 0; j < H; ++j) y[j] = (1 - g.z[j]) * g.n[j] + g.z[j] * h[j];
    });
  }

  // dX and dH from gru_cell_grad, each to its side's terms (a bias row gets the column sums).
  std::vector<Value> vjp(const VjpArgs& a) const override {
    std::vector<Value> in = a.inputs;
    in.push_back(a.grad);
    const int64_t x_terms = a.attrs.get("x_terms", 1);
    const Value dX = gru_cell_grad(in, x_terms, 0), dH = gru_cell_grad(in, x_terms, 1);
    std::vector<Value> grads;
    for (std::size_t k = 0; k + 1 < a.inputs.size(); ++k)
      grads.push_back(sum_to(int64_t(k) < x_terms ? dX : dH, a.inputs[k].shape()));
    grads.push_back(gru_cell_grad(in, x_terms, 2));
    return grads;
  }

  std::string_view color() const override { return "#d5e8d4"; }
};
}  // namespace

const Op& gru_cell_op() {
  static const GruCell op;
  return op;
}
Value gru_cell(std::span<const Value> x_terms, std::span<const Value> h_terms, const Value& h) {
  std::vector<Value> in(x_terms.begin(), x_terms.end());
  in.insert(in.end(), h_terms.begin(), h_terms.end());
  in.push_back(h);
  Attrs attrs;
  attrs.ints["x_terms"] = int64_t(x_terms.size());
  return h.graph().apply(gru_cell_op(), in, std::move(attrs));
}
}  // namespace rnngraph
