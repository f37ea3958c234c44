// Cell-gradient fusion: an LSTM step's gate terms get their gradient from both fused ops that
// read them, lstm_cell_grad's dA (gates f, i, g; o zero) plus lstm_hidden_grad's (o only, the
// rest zero): two [B, 4H] results and their sum. A bias row, shared by every step, gets both
// summed to a row in its running sum over the steps. In any sum (SumTrees) that holds both of a
// step's terms, the two become one:
//   dA_cell + dA_hidden                      →  lstm_gates_grad(terms, c_prev, c, dc, dh)
//   sum_to(dA_cell, s) + sum_to(dA_hidden, s) →  sum_to(lstm_gates_grad(...), s)
// One loop writes every gate block once; nothing is zero-filled or added. The ops' state
// gradients (dc_prev, and dc through h) are left as they are.
#include <map>
#include <utility>
#include <vector>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::passes {

namespace {
class FuseCellGradients final : public Rewriter {
 public:
  explicit FuseCellGradients(const Graph& g) : g_(g) {
    const SumTrees sums(g);
    for (const Node& n : g.nodes()) collect(n.id, sums.terms(n.id));
  }

  bool idle() const { return sums_.empty(); }

  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    auto sum = sums_.find(node.id);
    if (sum == sums_.end()) return Rewriter::rewrite(out, node, inputs);
    auto at = out.place(node.placement());
    Value total;
    const auto add = [&](const Value& term) { total = total ? total + term : term; };
    for (const Pair& pair : sum->second.pairs) {
      const Value gates = fused(pair);
      add(node.shape == gates.shape() ? gates : sum_to(gates, node.shape));
    }
    for (int other : sum->second.others) add(mapped(other));
    return total;
  }

 private:
  using Pair = std::pair<int, int>;  // (lstm_cell_grad, lstm_hidden_grad), both giving dA
  struct Sum {
    std::vector<Pair> pairs;
    std::vector<int> others;
  };

  // The dA of `op` that `term` is, itself or summed to the sum's shape (a bias row's); -1 if none.
  int dA_of(int term, const Op& op) const {
    const Node* n = &g_.node(term);
    if (n->is(sum_to_op())) n = &g_.node(n->inputs[0]);
    return n->is(op) && !n->attrs.get("wrt_state", 0) ? n->id : -1;
  }
  // The gate terms a dA reads: all its inputs but the last two (its state and its gradient).
  std::vector<int> gate_terms_of(int dA) const {
    const std::vector<int>& in = g_.node(dA).inputs;
    return {in.begin(), in.end() - 2};
  }

  // Pairs each step's dA_cell term with its dA_hidden term (the two read the same gate terms);
  // the rest are summed as they are.
  void collect(int root, const std::vector<int>& terms) {
    Sum sum;
    std::map<std::vector<int>, std::vector<std::size_t>> cells;  // unpaired, by gate terms
    for (std::size_t k = 0; k < terms.size(); ++k)
      if (const int cell = dA_of(terms[k], lstm_cell_grad_op()); cell >= 0)
        cells[gate_terms_of(cell)].push_back(k);
    std::vector<char> paired(terms.size(), 0);
    for (std::size_t h = 0; h < terms.size(); ++h) {
      const int hidden = dA_of(terms[h], lstm_hidden_grad_op());
      if (hidden < 0) continue;
      auto same_step = cells.find(gate_terms_of(hidden));
      if (same_step == cells.end() || same_step->second.empty()) continue;
      const std::size_t c = same_step->second.back();
      same_step->second.pop_back();
      sum.pairs.emplace_back(dA_of(terms[c], lstm_cell_grad_op()), hidden);
      paired[c] = paired[h] = 1;
    }
    if (sum.pairs.empty()) return;
    for (std::size_t k = 0; k < terms.size(); ++k)
      if (!paired[k]) sum.others.push_back(terms[k]);
    sums_[root] = std::move(sum);
  }

  // One lstm_gates_grad a pair, made in the new graph when its first sum is rewritten.
  Value fused(const Pair& pair) {
    Value& made = fused_[pair];
    if (made) return made;
    const Node &cell = g_.node(pair.first), &hidden = g_.node(pair.second);
    const std::size_t terms = cell.inputs.size() - 2;
    std::vector<Value> gate_terms;
    for (std::size_t k = 0; k < terms; ++k) gate_terms.push_back(mapped(cell.inputs[k]));
    made = lstm_gates_grad(gate_terms, mapped(cell.inputs[terms]), mapped(hidden.inputs[terms]),
                           mapped(cell.inputs[terms + 1]), mapped(hidden.inputs[terms + 1]));
    return made;
  }

  const Graph& g_;
  std::map<int, Sum> sums_;  // by the root add
  std::map<Pair, Value> fused_;
};
}  // namespace

std::unique_ptr<Graph> fuse_cell_gradients(const Graph& g) {
  FuseCellGradients fuse(g);
  return run_pass(g, fuse);
}

}  // namespace rnngraph::passes
