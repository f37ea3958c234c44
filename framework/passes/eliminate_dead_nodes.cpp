// Dead-node elimination: keep what the outputs need, and every input and parameter (feeds and
// weight files name them even when unused).
#include <algorithm>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>

namespace rnngraph::passes {

namespace {
std::vector<int> kept_roots(const Graph& g) {  // the outputs, every input, every parameter
  std::vector<int> ids;
  for (const auto& [name, id] : g.outputs()) ids.push_back(id);
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Input || n.kind == NodeKind::Parameter) ids.push_back(n.id);
  return ids;
}

class KeepNeeded final : public Rewriter {
 public:
  explicit KeepNeeded(const Graph& g) : needed_(g.ancestors(kept_roots(g))) {}
  bool idle() const { return std::find(needed_.begin(), needed_.end(), 0) == needed_.end(); }
  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    return needed_[std::size_t(node.id)] ? Rewriter::rewrite(out, node, inputs) : Value();
  }

 private:
  std::vector<char> needed_;
};
}  // namespace

std::unique_ptr<Graph> eliminate_dead_nodes(const Graph& g) {
  KeepNeeded keep(g);
  return run_pass(g, keep);
}

}  // namespace rnngraph::passes
