// Input-projection hoisting: x[t] · W for every step t, with x a fed [T, B, I] input and W the
// same at every step, becomes one [T·B, I] · W product before the recurrence; step t reads its
// rows [t·B, (t+1)·B) as a view. One large sgemm instead of T small ones, as PyTorch's and
// ONNX Runtime's CPU RNNs do. Its gradient is hoisted too: the T row gradients are stacked once
// and dW_x, dx are each one product.
#include <map>
#include <set>
#include <utility>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::passes {

namespace {
class HoistInputProjection final : public Rewriter {
 public:
  explicit HoistInputProjection(const Graph& g) : source_(g), static_(static_nodes(g)) {
    // Hoist only where every row of x meets the same W (a sequence read step by step), so the
    // big product computes nothing unused: h0[k] · W_h of layer k alone stays where it is.
    std::map<std::pair<int, int>, std::set<int64_t>> rows;
    for (const Node& n : g.nodes())
      if (is_candidate(n))
        rows[{g.node(n.inputs[0]).inputs[0], n.inputs[1]}].insert(
            g.node(n.inputs[0]).attrs.get("index", 0));
    for (const auto& [pair, indices] : rows)
      if (indices.size() > 1 && int64_t(indices.size()) == g.node(pair.first).shape[0])
        sequences_.insert(pair);
  }

  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    if (!is_candidate(node)) return Rewriter::rewrite(out, node, inputs);
    const Node& row = source_.node(node.inputs[0]);
    if (!sequences_.contains({row.inputs[0], node.inputs[1]}))
      return Rewriter::rewrite(out, node, inputs);
    const Value x = mapped(row.inputs[0]);
    auto [it, fresh] = hoisted_.emplace(std::pair{x.id(), inputs[1].id()}, Value());
    if (fresh) {  // the whole sequence's product, placed outside the steps
      auto at = out.place({.layer = node.layer});
      const Shape s = x.shape();
      const Value rows = reshape(x, {s[0] * s[1], s[2]});
      it->second = reshape(matmul(rows, inputs[1]), {s[0], s[1], node.shape[1]});
    }
    auto at = out.place(node.placement());
    return select(it->second, row.attrs.get("index", 0));
  }

 private:
  // matmul(x[t], W): x a fed rank-3 input, W static, no transposes.
  bool is_candidate(const Node& n) const {
    if (n.kind != NodeKind::Op || n.op != &matmul_op() || n.attrs.get("transpose_a", 0) ||
        n.attrs.get("transpose_b", 0) || !static_[std::size_t(n.inputs[1])])
      return false;
    const Node& row = source_.node(n.inputs[0]);
    return row.kind == NodeKind::Op && row.op == &select_op() &&
           source_.node(row.inputs[0]).kind == NodeKind::Input &&
           source_.node(row.inputs[0]).shape.rank() == 3;
  }

  const Graph& source_;
  std::vector<char> static_;
  std::set<std::pair<int, int>> sequences_;       // (x, W) in the source worth hoisting
  std::map<std::pair<int, int>, Value> hoisted_;  // (x, W) in the new graph → the product
};
}  // namespace

std::unique_ptr<Graph> hoist_input_projections(const Graph& g) {
  HoistInputProjection hoist(g);
  return rewrite(g, hoist);
}

}  // namespace rnngraph::passes
