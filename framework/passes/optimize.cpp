// The pass pipeline, and the analysis the passes share.
#include <rnngraph/framework/passes/passes.h>

#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::passes {

std::vector<char> static_nodes(const Graph& g) {
  std::vector<char> fixed(g.size(), 0);
  for (const Node& n : g.nodes()) {
    if (n.kind == NodeKind::Input) continue;
    bool all = true;
    for (int in : n.inputs) all = all && fixed[std::size_t(in)];
    fixed[std::size_t(n.id)] = all;
  }
  return fixed;
}

bool is_plain_matmul(const Node& n) {
  return n.is(matmul_op()) && !n.attrs.get("transpose_a", 0) && !n.attrs.get("transpose_b", 0);
}

std::vector<int> use_counts(const Graph& g) {
  std::vector<int> uses(g.size(), 0);
  for (const Node& n : g.nodes())
    for (int in : n.inputs) ++uses[std::size_t(in)];
  for (const auto& [name, id] : g.outputs()) uses[std::size_t(id)] += 2;
  return uses;
}

std::unique_ptr<Graph> optimize(const Graph& g) {
  // Cells fuse first, while their pattern is the model's own (the fused step has one product on
  // [h, x]); split then exposes x_t · W_x and h · W_h; merging equal nodes makes the per-step
  // weight slices one node each, which hoisting and gate merging key on; fusing again moves the
  // sums h·W_h + x_t·W_x + b into the cells.
  // Dead nodes go after each pass that leaves some, so that no later pass merges or hoists them.
  auto fused = eliminate_dead_nodes(*fuse_cells(g));
  auto split = split_concat_matmuls(*fused);
  auto hoisted = hoist_input_projections(*merge_common_subexpressions(*split));
  auto merged = merge_gate_products(*merge_common_subexpressions(*hoisted));
  auto flattened = fuse_cells(*eliminate_dead_nodes(*merge_common_subexpressions(*merged)));
  return eliminate_dead_nodes(*pack_recurrent_weights(*merge_weight_gradients(*flattened)));
}

std::unique_ptr<Graph> training_graph(const Graph& forward, std::string_view loss,
                                      std::span<const std::string> wrt, bool optimized) {
  auto g = optimized ? optimize(forward) : copy(forward);
  const int loss_id = g->output_id(loss);
  if (loss_id < 0) throw GraphError(fmt::format("the graph has no output '{}'", loss));
  std::vector<Value> nodes;
  for (const std::string& name : wrt) nodes.emplace_back(*g, g->find(name).id);
  grad(Value(*g, loss_id), nodes);
  if (!optimized) return g;
  // The backward graph's own: one copy of the sums the fused vjps share, products merged.
  return eliminate_dead_nodes(
      *pack_recurrent_weights(*merge_weight_gradients(*merge_common_subexpressions(*g))));
}

}  // namespace rnngraph::passes
