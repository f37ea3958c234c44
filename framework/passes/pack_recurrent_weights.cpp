// Recurrent-weight packing: a weight that multiplies a per-step value at several steps (h · W_h
// forward, dA · W_hᵀ backward) is packed once, not per step (pack_columns), and each of those
// products becomes matmul_packed, our micro-kernel on the packed panels. So does a weight's
// product with a fed value, h_prev · W_h in a step graph (models/rolled.h runs it at every step
// and hoists the packing, which is static, out of the step loop). Tall products too: the hoisted
// x · W_x of every step at once runs on the same kernel (ops/packed_gemm.h).
#include <map>
#include <tuple>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::passes {

namespace {
class PackRecurrentWeights final : public Rewriter {
 public:
  explicit PackRecurrentWeights(const Graph& g) : static_(static_nodes(g)) {
    std::map<std::pair<int, int>, int> products;  // (W, transposed) → how many
    for (const Node& n : g.nodes())
      if (candidate(n)) products[key(n)] += g.node(n.inputs[0]).kind == NodeKind::Input ? 2 : 1;
    for (const auto& [k, count] : products)
      if (count > 1) repeated_.insert({k, Value()});
  }

  bool idle() const { return repeated_.empty(); }

  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    if (!candidate(node)) return Rewriter::rewrite(out, node, inputs);
    auto packed = repeated_.find(key(node));
    if (packed == repeated_.end()) return Rewriter::rewrite(out, node, inputs);
    const bool transposed = node.attrs.get("transpose_b", 0);
    if (!packed->second) {
      auto at = out.place(node.placement());
      packed->second = pack_columns(inputs[1], transposed);
    }
    auto at = out.place(node.placement());
    return matmul_packed(inputs[0], inputs[1], packed->second, transposed);
  }

 private:
  bool candidate(const Node& n) const {
    return n.is(matmul_op()) && !n.attrs.get("transpose_a", 0) &&
           static_[std::size_t(n.inputs[1])] && !static_[std::size_t(n.inputs[0])];
  }
  static std::pair<int, int> key(const Node& n) {
    return {n.inputs[1], int(n.attrs.get("transpose_b", 0))};
  }

  std::vector<char> static_;
  std::map<std::pair<int, int>, Value> repeated_;  // the packed copy, made at first use
};
}  // namespace

std::unique_ptr<Graph> pack_recurrent_weights(const Graph& g) {
  PackRecurrentWeights pack(g);
  return run_pass(g, pack);
}

}  // namespace rnngraph::passes
