// The pass pipeline, and the analysis the passes share.
#include <rnngraph/framework/passes/passes.h>

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

std::unique_ptr<Graph> optimize(const Graph& g) {
  // split first: it exposes x_t · W_x and h · W_h; merging equal nodes makes the per-step weight
  // slices one node each, which hoisting and gate merging key on; dead nodes (the concats and
  // products replaced) go last.
  auto split = split_concat_matmuls(g);
  auto hoisted = hoist_input_projections(*merge_common_subexpressions(*split));
  auto merged = merge_gate_products(*merge_common_subexpressions(*hoisted));
  return eliminate_dead_nodes(*merge_common_subexpressions(*merged));
}

}  // namespace rnngraph::passes
