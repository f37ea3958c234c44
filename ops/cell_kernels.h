// What the fused cell ops (lstm_cell, lstm_hidden, gru_cell and their gradients) share: the
// shape rule of their gate terms and the per-row loops. Internal to the library (not installed).
//
// The gate pre-activations A [B, G·H] are not a tensor of the graph: they are the sum of the
// op's first inputs (the "terms": h·W_h, the hoisted x·W_x rows, the bias row), each [B, G·H]
// or a [1, G·H] row broadcast over the batch, added inside the op's loop. For the LSTM, G = 4 and
// the column blocks are the gates f, i, o, g (forget, input, output, candidate), as
// passes::fuse_cells lays the weights side by side; the GRU's blocks are in ops/gru_cell.cpp.
// Rows are done one at a time through a buffer that stays in L1, so each fused op reads its data
// once.
#pragma once

#include <array>
#include <initializer_list>
#include <span>
#include <vector>

#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/threads.h>
#include <rnngraph/ops/activations.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>
#include <rnngraph/ops/scratch.h>

namespace rnngraph::kernels::cell {

enum Gate : int64_t { F = 0, I = 1, O = 2, G = 3 };

// The shape rule: gate terms of `gates` blocks, then `states` inputs of shape [B, H]. Returns
// [B, H].
inline Shape infer(std::span<const Shape> in, std::size_t states, int64_t gates = 4) {
  if (in.size() < states + 1)
    throw ShapeError(fmt::format("expects at least {} inputs, got {}", states + 1, in.size()));
  const Shape state = in[in.size() - 1];
  if (state.rank() != 2) throw ShapeError(fmt::format("state must be [B, H], got {}", state.str()));
  for (std::size_t k = in.size() - states; k < in.size(); ++k)
    if (in[k] != state)
      throw ShapeError(fmt::format("states differ: {} and {}", in[k].str(), state.str()));
  for (std::size_t k = 0; k < in.size() - states; ++k) {
    const Shape& t = in[k];
    if (t.rank() != 2 || (t[0] != state[0] && t[0] != 1) || t[1] != gates * state[1])
      throw ShapeError(fmt::format("gate term {} is {}; expected [{}, {}] or [1, {}] for state {}",
                                   k, t.str(), state[0], gates * state[1], gates * state[1],
                                   state.str()));
  }
  return state;
}

// Row `b` of gate block `gate` of A: the terms summed into `out` [H].
inline void gate_row(std::span<const Tensor> terms, int64_t b, int64_t gate, int64_t H,
                     float* out) {
  for (std::size_t k = 0; k < terms.size(); ++k) {
    const Tensor& t = terms[k];
    const float* src = t.data() + (t.shape()[0] == 1 ? 0 : b * t.shape()[1]) + gate * H;
    if (k == 0)
      std::copy_n(src, H, out);
    else
      for (int64_t j = 0; j < H; ++j) out[j] += src[j];
  }
}

// σ (or tanh) of the sum of gate block `gate` of every term of the `sides`, row b, into out [H]:
// the terms summed on the way in (kernels::sigmoid_of_sum). The sides are the LSTM's one list of
// terms, or the GRU's x-side and h-side terms.
inline void activated_sum(std::initializer_list<std::span<const Tensor>> sides, int64_t b,
                          int64_t gate, int64_t H, bool tanh_gate, float* out) {
  std::array<const float*, 16> fixed;
  std::vector<const float*> more;  // for more terms than that (no model of ours has them)
  std::size_t count = 0;
  for (const auto& side : sides) count += side.size();
  const float** rows = fixed.data();
  if (count > fixed.size()) {
    more.resize(count);
    rows = more.data();
  }
  std::size_t at = 0;
  for (const auto& side : sides)
    for (const Tensor& t : side)
      rows[at++] = t.data() + (t.shape()[0] == 1 ? 0 : b * t.shape()[1]) + gate * H;
  const std::span<const float* const> x(rows, count);
  tanh_gate ? tanh_of_sum(x, out, H) : sigmoid_of_sum(x, out, H);
}

// σ or tanh of one gate's row, per the LSTM: the candidate g is a tanh layer, the rest sigmoids.
inline void activated_gate_row(std::span<const Tensor> terms, int64_t b, Gate gate, int64_t H,
                               float* out) {
  activated_sum({terms}, b, gate, H, gate == G, out);
}

// The LSTM's gate gradients for one row, into the row's blocks of dA [4H] (lstm_cell_grad,
// lstm_hidden_grad and lstm_gates_grad): from dc = ∂loss/∂c, c_prev and the gates f, i, g,
//   dA_f = dc ⊙ c_prev ⊙ f(1−f),  dA_i = dc ⊙ g ⊙ i(1−i),  dA_g = dc ⊙ i ⊙ (1−g²).
// A loop a block: the blocks in one loop (nine pointers for GCC's alias checks) made
// lstm_gates_grad take 6.3% of the mid LSTM's training; a loop a block, 2.1%.
inline void cell_gate_grads(int64_t H, const float* dc, const float* c_prev, const float* f,
                            const float* i, const float* g, float* dA) {
  float *dA_f = dA + F * H, *dA_i = dA + I * H, *dA_g = dA + G * H;
  for (int64_t j = 0; j < H; ++j) dA_f[j] = dc[j] * c_prev[j] * f[j] * (1 - f[j]);
  for (int64_t j = 0; j < H; ++j) dA_i[j] = dc[j] * g[j] * i[j] * (1 - i[j]);
  for (int64_t j = 0; j < H; ++j) dA_g[j] = dc[j] * i[j] * (1 - g[j] * g[j]);
}
// From dh = ∂loss/∂h, tanh(c) and the gate o: dA_o = dh ⊙ tanh(c) ⊙ o(1−o), into block o of dA.
inline void output_gate_grad(int64_t H, const float* dh, const float* tanh_c, const float* o,
                             float* dA) {
  float* dA_o = dA + O * H;
  for (int64_t j = 0; j < H; ++j) dA_o[j] = dh[j] * tanh_c[j] * o[j] * (1 - o[j]);
}

// row(b, scratch) for every row b of a [B, H] state, split over the pool (framework/threads.h)
// when the batch is large enough to pay for waking it; `scratch` is `floats` floats of the
// running thread's own.
template <class Row>
void for_each_row(int64_t B, int64_t H, std::size_t floats, Row row);

template <class Row>
void for_each_row(int64_t B, int64_t H, std::size_t floats, Row row) {
  const int threads = B * H < 8192 ? 1 : int(std::min<int64_t>(compute_threads(), B));
  if (threads == 1) {  // small models: this runs every step, so nothing extra
    float* own = scratch(floats);
    for (int64_t b = 0; b < B; ++b) row(b, own);
    return;
  }
  parallel_for(threads, [&](int t) {
    float* own = scratch(floats);
    const auto [begin, end] = split(B, threads, t);
    for (int64_t b = begin; b < end; ++b) row(b, own);
  });
}

// A node of a fused op: the gate terms, then the state input(s).
inline Value apply(const Op& op, std::span<const Value> terms, const Value& state) {
  std::vector<Value> in(terms.begin(), terms.end());
  in.push_back(state);
  return state.graph().apply(op, in);
}

// A node of a gradient op: the forward op's inputs and the output's gradient; the result is dA,
// or with wrt_state the gradient of the state input.
inline Value apply_grad(const Op& op, std::span<const Value> inputs, bool wrt_state) {
  Attrs attrs;
  if (wrt_state) attrs.ints["wrt_state"] = 1;
  return inputs.back().graph().apply(op, inputs, std::move(attrs));
}

// Base of lstm_cell and lstm_hidden: gate terms and one state [B, H] in, [B, H] out. Derived
// supplies name(), forward() and `static const Op& grad_op()`; the vjp asks that op for dA,
// which each term gets (a bias row its column sums), and for the state's gradient.
template <class Derived>
struct FusedCellOp : Op {
  Shape infer(std::span<const Shape> in, const Attrs&) const override { return cell::infer(in, 1); }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    std::vector<Value> in = a.inputs;
    in.push_back(a.grad);
    const Value dA = apply_grad(Derived::grad_op(), in, false);
    std::vector<Value> grads;
    for (std::size_t k = 0; k + 1 < a.inputs.size(); ++k)
      grads.push_back(sum_to(dA, a.inputs[k].shape()));
    grads.push_back(apply_grad(Derived::grad_op(), in, true));
    return grads;
  }
  std::string_view color() const override { return "#d5e8d4"; }
};

// Base of their gradient ops: gate terms, the state and the output's gradient in; dA [B, 4H]
// out, or with wrt_state the state's gradient [B, H]. Derived supplies name() and forward().
struct FusedCellGradOp : Op {
  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    const Shape state = cell::infer(in, 2);
    return attrs.get("wrt_state", 0) ? state : Shape{state[0], 4 * state[1]};
  }
  std::vector<Value> vjp(const VjpArgs&) const override {
    throw GraphError(fmt::format("{} has no gradient (second derivatives of fused cells)", name()));
  }
  std::string_view color() const override { return "#d5e8d4"; }
};

}  // namespace rnngraph::kernels::cell
