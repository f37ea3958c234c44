// Input-projection hoisting: x[t] · W for every step t, with x a fed [T, B, I] input and W the
// same at every step, becomes one [S·B, I] · W product per chunk of S = 32 steps, made when the
// chunk's first step runs; step t reads its rows as a view. One large sgemm instead of S small
// ones, as PyTorch's and ONNX Runtime's CPU RNNs do, while the working memory stays that of one
// chunk however long the sequence (a whole-sequence product would hold [T, B, 4H]). Its
// gradient is hoisted too: a chunk's S row gradients are stacked in place and dW_x, dx are each
// one product per chunk.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include <fmt/format.h>

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

  bool idle() const { return sequences_.empty(); }

  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    if (!is_candidate(node)) return Rewriter::rewrite(out, node, inputs);
    const Node& row = source_.node(node.inputs[0]);
    if (!sequences_.contains({row.inputs[0], node.inputs[1]}))
      return Rewriter::rewrite(out, node, inputs);
    const Value x = mapped(row.inputs[0]);
    const int64_t t = row.attrs.get("index", 0), first = t - t % kChunk;
    auto [it, fresh] = hoisted_.emplace(std::tuple{x.id(), inputs[1].id(), first}, Value());
    if (fresh) {  // the chunk's product: run where its first step is (nodes run in the order
                  // they are made), drawn outside the steps as the input's projection
      const Shape s = x.shape();
      const int64_t steps = std::min(kChunk, s[0] - first);
      // Named by the steps it serves, so a message about it (--check-numerics) says which.
      auto at = out.place(
          {.scope = fmt::format("input products of steps {} to {}", first, first + steps - 1),
           .layer = node.layer});
      const Value rows = reshape(slice(x, 0, first, first + steps), {steps * s[1], s[2]});
      it->second = reshape(matmul(rows, inputs[1]), {steps, s[1], node.shape[1]});
    }
    auto at = out.place(node.placement());
    return select(it->second, t - first);
  }

 private:
  // matmul(x[t], W): x a fed rank-3 input, W static, no transposes.
  bool is_candidate(const Node& n) const {
    if (!is_plain_matmul(n) || !static_[std::size_t(n.inputs[1])]) return false;
    const Node& row = source_.node(n.inputs[0]);
    return row.is(select_op()) && source_.node(row.inputs[0]).kind == NodeKind::Input &&
           source_.node(row.inputs[0]).shape.rank() == 3;
  }

  // Steps per hoisted product: [32·B, I] rows keep sgemm near its peak already at B = 1 to 8.
  static constexpr int64_t kChunk = 32;

  const Graph& source_;
  std::vector<char> static_;
  std::set<std::pair<int, int>> sequences_;                 // (x, W) in the source worth hoisting
  std::map<std::tuple<int, int, int64_t>, Value> hoisted_;  // (x, W, first step) in the new graph
};
}  // namespace

std::unique_ptr<Graph> hoist_input_projections(const Graph& g) {
  HoistInputProjection hoist(g);
  return run_pass(g, hoist);
}

}  // namespace rnngraph::passes
