// Cell fusion: an LSTM step written with the seed's ops,
//   f = σ(z·W_f + b_f)  i = σ(z·W_i + b_i)  o = σ(z·W_o + b_o)  g = tanh(z·W_c + b_c)
//   c = f ⊙ c_prev + i ⊙ g                   h = o ⊙ tanh(c)
// (thirteen nodes, each a loop over [B, H]) becomes one product z · [W_f W_i W_o W_c] into
// [B, 4H] and two fused loops, lstm_cell (c) and lstm_hidden (h), that apply the nonlinearities
// while they read the gates (ops/lstm_cell.cpp). When the gate pre-activations are not products
// with a bias, they are joined side by side instead, and the fusion still applies.
//
// A GRU step (models/gru.h: r and z on [h, x], the candidate's products on x and h apart)
// becomes two products, x · [W_r,x W_z,x W_in] and h · [W_r,h W_z,h W_hn], and one fused loop,
// gru_cell (ops/gru_cell.cpp).
//
// Run again after the products are split and hoisted, the pass flattens the sums that feed a
// fused cell (h·W_h + x_t·W_x + b) into its term list, so the cell adds them in its own loop.
#include <array>
#include <map>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::passes {

namespace {
bool is_cell(const Node& n) { return n.is(lstm_cell_op()) || n.is(lstm_hidden_op()); }

class FuseCells final : public Rewriter {
 public:
  explicit FuseCells(const Graph& g)
      : g_(g), uses_(use_counts(g)), cells_only_(g.size(), 1), static_(static_nodes(g)) {
    for (const Node& n : g.nodes())
      for (int in : n.inputs)
        if (!is_cell(n)) cells_only_[std::size_t(in)] = 0;
    for (const auto& [name, id] : g.outputs()) cells_only_[std::size_t(id)] = 0;
    for (const Node& n : g.nodes()) {
      if (n.is(mul_op())) match(n);
      if (n.is(add_op())) match_gru(n);
      if (is_cell(n))
        for (std::size_t k = 0; k + 1 < n.inputs.size(); ++k)
          sums_to_flatten_ = sums_to_flatten_ || flattens(n.inputs[k], n.shape);
    }
  }
  bool idle() const { return by_state_.empty() && grus_.empty() && !sums_to_flatten_; }

  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    if (auto cell = by_state_.find(node.id); cell != by_state_.end()) {
      Cell& k = cell->second;
      auto at = out.place(node.placement());
      k.terms = gate_terms(k);
      return lstm_cell(k.terms, mapped(k.c_prev));
    }
    if (auto cell = by_hidden_.find(node.id); cell != by_hidden_.end()) {
      const Cell& k = by_state_.at(cell->second);
      auto at = out.place(node.placement());
      return lstm_hidden(k.terms, mapped(k.state));
    }
    if (auto gru = grus_.find(node.id); gru != grus_.end()) {
      auto at = out.place(node.placement());
      return fused_gru(gru->second);
    }
    if (is_cell(node)) return flattened(out, node, inputs);
    return Rewriter::rewrite(out, node, inputs);
  }

 private:
  struct Cell {
    int state = -1, c_prev = -1;
    std::array<int, 4> gates{};  // pre-activations of f, i, o, g
    std::vector<Value> terms;    // made when the state is rewritten, read by the hidden output
  };

  const Node& node(int id) const { return g_.node(id); }
  bool single_use(int id) const { return uses_[std::size_t(id)] == 1; }

  // `id` is a single-use `op` node: its input, else -1.
  int unary_input(int id, const Op& op) const {
    const Node& n = node(id);
    return n.is(op) && single_use(id) ? n.inputs[0] : -1;
  }

  // h = o ⊙ tanh(c) with c = f ⊙ c_prev + i ⊙ g; every operand order is accepted.
  void match(const Node& h) {
    for (int swap_h = 0; swap_h < 2; ++swap_h) {
      const int o = unary_input(h.inputs[swap_h], sigmoid_op());
      const int state = unary_input(h.inputs[1 - swap_h], tanh_op());
      if (o < 0 || state < 0 || !node(state).is(add_op()) || by_state_.contains(state)) continue;
      const Node& c = node(state);
      for (int swap_c = 0; swap_c < 2; ++swap_c) {
        Cell cell{.state = state};
        cell.gates[2] = o;
        if (match_forget(c.inputs[swap_c], cell) && match_input(c.inputs[1 - swap_c], cell) &&
            same_shapes(cell) && gates_precede(cell)) {
          by_hidden_[h.id] = state;
          by_state_[state] = cell;
          return;
        }
      }
    }
  }

  // f ⊙ c_prev, f a sigmoid.
  bool match_forget(int id, Cell& cell) const {
    if (!node(id).is(mul_op()) || !single_use(id)) return false;
    const Node& m = node(id);
    for (int swap = 0; swap < 2; ++swap)
      if (int f = unary_input(m.inputs[swap], sigmoid_op()); f >= 0) {
        cell.gates[0] = f;
        cell.c_prev = m.inputs[1 - swap];
        return true;
      }
    return false;
  }

  // i ⊙ g, i a sigmoid and g a tanh.
  bool match_input(int id, Cell& cell) const {
    if (!node(id).is(mul_op()) || !single_use(id)) return false;
    const Node& m = node(id);
    for (int swap = 0; swap < 2; ++swap) {
      const int i = unary_input(m.inputs[swap], sigmoid_op());
      const int g = unary_input(m.inputs[1 - swap], tanh_op());
      if (i >= 0 && g >= 0) {
        cell.gates[1] = i;
        cell.gates[3] = g;
        return true;
      }
    }
    return false;
  }

  // Every gate is computed before the new state: a gate that reads it (a peephole LSTM's output
  // gate, on c_t) cannot be an input of the fused loop that makes it.
  static bool gates_precede(const Cell& cell) {
    for (int a : cell.gates)
      if (a > cell.state) return false;
    return true;
  }

  bool same_shapes(const Cell& cell) const {
    const Shape& s = node(cell.state).shape;
    if (s.rank() != 2 || node(cell.c_prev).shape != s) return false;
    for (int a : cell.gates)
      if (node(a).shape != s) return false;
    return true;
  }

  // z·W_k + b_k for every gate, one z, static W_k and b_k [1, H]: the matmul and bias of gate k.
  std::optional<std::array<std::pair<int, int>, 4>> products(const Cell& cell) const {
    std::array<std::pair<int, int>, 4> wb;
    int z = -1;
    for (int k = 0; k < 4; ++k) {
      const Node& a = node(cell.gates[std::size_t(k)]);
      if (!a.is(add_op()) || !single_use(a.id)) return std::nullopt;
      const Node& m = node(a.inputs[0]);
      const int bias = a.inputs[1];
      if (!is_plain_matmul(m) || !single_use(m.id) || !static_[std::size_t(m.inputs[1])] ||
          !static_[std::size_t(bias)] || node(bias).shape != Shape({1, a.shape[1]}) ||
          (z >= 0 && m.inputs[0] != z))
        return std::nullopt;
      z = m.inputs[0];
      wb[std::size_t(k)] = {m.inputs[1], bias};
    }
    return wb;
  }

  std::vector<Value> gate_terms(const Cell& cell) {
    if (auto wb = products(cell)) {
      std::vector<Value> weights, biases;
      for (auto [w, b] : *wb) weights.push_back(mapped(w)), biases.push_back(mapped(b));
      const int z = node(node(cell.gates[0]).inputs[0]).inputs[0];
      return {matmul(mapped(z), concat(weights, 1)), concat(biases, 1)};
    }
    std::vector<Value> gates;
    for (int a : cell.gates) gates.push_back(mapped(a));
    return {concat(gates, 1)};
  }

  // A fused cell whose gate terms include sums used by fused cells only: the sums' operands
  // become terms themselves.
  Value flattened(Graph& out, const Node& n, std::span<const Value> inputs) {
    std::vector<Value> terms;
    for (std::size_t k = 0; k + 1 < n.inputs.size(); ++k)
      flatten(n.inputs[k], inputs[k], n.shape, terms);
    auto at = out.place(n.placement());
    return n.op == &lstm_cell_op() ? lstm_cell(terms, inputs.back())
                                   : lstm_hidden(terms, inputs.back());
  }

  // A gate term of a cell with state `state` that is a sum of two gate terms, read by cells only.
  bool flattens(int id, const Shape& state) const {
    const Node& a = node(id);
    auto is_term = [&](int in) {
      const Shape& s = node(in).shape;
      return s.rank() == 2 && (s[0] == state[0] || s[0] == 1) && s[1] == 4 * state[1];
    };
    return a.is(add_op()) && cells_only_[std::size_t(id)] && is_term(a.inputs[0]) &&
           is_term(a.inputs[1]);
  }

  void flatten(int id, const Value& v, const Shape& state, std::vector<Value>& terms) const {
    if (!flattens(id, state)) {
      terms.push_back(v);
      return;
    }
    for (int in : node(id).inputs) flatten(in, mapped(in), state, terms);
  }

  // ---- GRU ------------------------------------------------------------------------------------
  // The nodes of models::gru_step that the fused cell needs: its inputs h and x, and the
  // weights and biases, by gate.
  struct Gru {
    int h = -1, x = -1;
    int W_r = -1, W_z = -1, b_r = -1, b_z = -1, W_in = -1, b_in = -1, W_hn = -1, b_hn = -1;
  };

  // `a`'s operands in both orders, for commutative ops.
  static std::array<std::pair<int, int>, 2> orders(const Node& a) {
    return {std::pair{a.inputs[0], a.inputs[1]}, std::pair{a.inputs[1], a.inputs[0]}};
  }

  // `id` = left · W + b with W and b [1, H] static, read once each: sets left, W, b.
  bool affine(int id, int& left, int& W, int& b) const {
    const Node& a = node(id);
    if (!a.is(add_op()) || !single_use(id)) return false;
    const Node& m = node(a.inputs[0]);
    if (!is_plain_matmul(m) || !single_use(m.id) || !static_[std::size_t(m.inputs[1])] ||
        !static_[std::size_t(a.inputs[1])] || node(a.inputs[1]).shape != Shape({1, a.shape[1]}))
      return false;
    left = m.inputs[0], W = m.inputs[1], b = a.inputs[1];
    return true;
  }

  // h' = (1 − z) ⊙ n + z ⊙ h, with z, n and the gates of models::gru_step.
  void match_gru(const Node& sum) {
    for (auto [left, right] : orders(sum)) {
      Gru k;
      const Node &m1 = node(left), &m2 = node(right);
      if (!m1.is(mul_op()) || !m2.is(mul_op()) || !single_use(left) || !single_use(right)) continue;
      for (auto [s, n] : orders(m1))
        for (auto [z, h] : orders(m2)) {
          const Node& one_minus = node(s);
          if (!one_minus.is(sub_op()) || !single_use(s) || one_minus.inputs[1] != z ||
              !is_one(one_minus.inputs[0]) || !node(z).is(sigmoid_op()) ||
              uses_[std::size_t(z)] != 2)
            continue;
          k.h = h;
          int hx_z = -1, hx_r = -1, x_in = -1, h_hn = -1;
          const int cand = unary_input(n, tanh_op());
          if (cand < 0 || !affine(node(z).inputs[0], hx_z, k.W_z, k.b_z) ||
              !candidate(cand, k, hx_r, x_in, h_hn) || !affine(hx_r, hx_r, k.W_r, k.b_r))
            continue;
          const Node& hx = node(hx_z);
          if (hx_r != hx_z || !hx.is(concat_op()) || hx.attrs.get("axis", 0) != 1 ||
              hx.inputs != std::vector<int>{h, x_in} || h_hn != h || uses_[std::size_t(hx_z)] != 2)
            continue;
          k.x = x_in;
          grus_[sum.id] = k;
          return;
        }
    }
  }

  // n's pre-activation: (x · W_in + b_in) + r ⊙ (h · W_hn + b_hn), r = σ(...). Sets the weights
  // of the candidate, `r_pre` to r's pre-activation, and the x and h of the two products.
  bool candidate(int id, Gru& k, int& r_pre, int& x, int& h) const {
    const Node& a = node(id);
    if (!a.is(add_op()) || !single_use(id)) return false;
    for (auto [input_side, gated] : orders(a)) {
      const Node& q = node(gated);
      if (!q.is(mul_op()) || !single_use(gated) || !affine(input_side, x, k.W_in, k.b_in)) continue;
      for (auto [r, hidden_side] : orders(q)) {
        r_pre = unary_input(r, sigmoid_op());
        if (r_pre >= 0 && affine(hidden_side, h, k.W_hn, k.b_hn)) return true;
      }
    }
    return false;
  }

  bool is_one(int id) const {
    const Node& c = node(id);
    return c.kind == NodeKind::Constant && c.shape.numel() == 1 && c.value.values()[0] == 1.0f;
  }

  Value fused_gru(const Gru& k) {
    const Value h = mapped(k.h), x = mapped(k.x);
    const int64_t H = h.shape()[1], I = x.shape()[1];
    const Value W_r = mapped(k.W_r), W_z = mapped(k.W_z);
    // W_r and W_z are [h; x] row blocks: the x rows go with W_in, the h rows with W_hn.
    const Value Wx = concat({slice(W_r, 0, H, H + I), slice(W_z, 0, H, H + I), mapped(k.W_in)}, 1);
    const Value Wh = concat({slice(W_r, 0, 0, H), slice(W_z, 0, 0, H), mapped(k.W_hn)}, 1);
    const Value bx = concat({mapped(k.b_r), mapped(k.b_z), mapped(k.b_in)}, 1);
    const Value bh = pad(mapped(k.b_hn), 1, 2 * H, 3 * H);  // [0, 0, b_hn]
    const Value x_side[] = {matmul(x, Wx), bx}, h_side[] = {matmul(h, Wh), bh};
    return gru_cell(x_side, h_side, h);
  }

  const Graph& g_;
  std::vector<int> uses_;         // use_counts(): outputs count twice
  std::vector<char> cells_only_;  // read by fused cells only
  std::vector<char> static_;
  std::map<int, Cell> by_state_;  // by the id of c's add
  std::map<int, int> by_hidden_;  // h's mul → c's add
  std::map<int, Gru> grus_;       // by the id of h''s add
  bool sums_to_flatten_ = false;
};
}  // namespace

std::unique_ptr<Graph> fuse_cells(const Graph& g) {
  FuseCells fuse(g);
  return run_pass(g, fuse);
}

}  // namespace rnngraph::passes
