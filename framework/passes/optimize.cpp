// The pass pipeline, and the analysis the passes share.
#include <rnngraph/framework/passes/passes.h>

#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/executor.h>
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

SumTrees::SumTrees(const Graph& g) : g_(g), uses_(use_counts(g)), reader_(g.size(), -1) {
  for (const Node& n : g.nodes())
    for (int in : n.inputs) reader_[std::size_t(in)] = n.id;
}

// An add of two values of its own shape (no broadcasting).
bool SumTrees::is_sum(int id) const {
  const Node& n = g_.node(id);
  return n.is(add_op()) && g_.node(n.inputs[0]).shape == n.shape &&
         g_.node(n.inputs[1]).shape == n.shape;
}

std::vector<int> SumTrees::terms(int root) const {
  if (!is_sum(root) || (uses(root) == 1 && is_sum(reader_[std::size_t(root)]))) return {};
  std::vector<int> terms, pending{root};
  while (!pending.empty()) {
    const int id = pending.back();
    pending.pop_back();
    for (int in : g_.node(id).inputs) (is_sum(in) && uses(in) == 1 ? pending : terms).push_back(in);
  }
  return terms;
}

namespace {
// Runs passes one after another, each on the last result; a pass that changes nothing
// (nullptr) costs no copy.
class Pipeline {
 public:
  explicit Pipeline(const Graph& g) : current_(&g) {}
  explicit Pipeline(std::unique_ptr<Graph> g) : current_(g.get()), owned_(std::move(g)) {}
  Pipeline& then(std::unique_ptr<Graph> (*pass)(const Graph&)) {
    if (auto next = pass(*current_)) {
      owned_ = std::move(next);
      current_ = owned_.get();
    }
    return *this;
  }
  std::unique_ptr<Graph> result() { return owned_ ? std::move(owned_) : copy(*current_); }

 private:
  const Graph* current_;
  std::unique_ptr<Graph> owned_;
};
}  // namespace

std::unique_ptr<Graph> optimize(const Graph& g) {
  // Cells fuse first, while their pattern is the model's own (the fused step has one product on
  // [h, x]); split then exposes x_t · W_x and h · W_h; merging equal nodes makes the per-step
  // weight slices one node each, which hoisting and gate merging key on; fusing again moves the
  // sums h·W_h + x_t·W_x + b into the cells.
  // Dead nodes go after each pass that leaves some, so that no later pass merges or hoists them.
  return Pipeline(g)
      .then(fuse_cells)
      .then(eliminate_dead_nodes)
      .then(split_concat_matmuls)
      .then(merge_common_subexpressions)
      .then(hoist_input_projections)
      .then(merge_common_subexpressions)
      .then(merge_gate_products)
      .then(merge_common_subexpressions)
      .then(eliminate_dead_nodes)
      .then(fuse_cells)
      .then(merge_weight_gradients)
      .then(pack_recurrent_weights)
      .then(eliminate_dead_nodes)
      .result();
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
  // The backward graph's own: one copy of the sums the fused vjps share, an LSTM step's two dA
  // fused into one, products merged.
  return Pipeline(std::move(g))
      .then(merge_common_subexpressions)
      .then(fuse_cell_gradients)
      .then(merge_weight_gradients)
      .then(pack_recurrent_weights)
      .then(eliminate_dead_nodes)
      .result();
}

namespace {
// Plans optimize by default (PlanOptions::optimize): the executor, which names no op, is handed
// the passes here, when the library loads.
const bool installed = (install_graph_optimizer(&optimize), true);
}  // namespace

}  // namespace rnngraph::passes
