// Dead-node elimination: keep what the outputs need, and every input and parameter (feeds and
// weight files name them even when unused).
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>

namespace rnngraph::passes {

namespace {
class KeepNeeded final : public Rewriter {
 public:
  explicit KeepNeeded(const Graph& g) : needed_(g.size(), 0) {
    for (const auto& [name, id] : g.outputs()) needed_[std::size_t(id)] = 1;
    for (int id = int(g.size()) - 1; id >= 0; --id) {
      const Node& n = g.node(id);
      if (n.kind == NodeKind::Input || n.kind == NodeKind::Parameter) needed_[std::size_t(id)] = 1;
      if (needed_[std::size_t(id)])
        for (int in : n.inputs) needed_[std::size_t(in)] = 1;
    }
  }
  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    return needed_[std::size_t(node.id)] ? Rewriter::rewrite(out, node, inputs) : Value();
  }

 private:
  std::vector<char> needed_;
};
}  // namespace

std::unique_ptr<Graph> eliminate_dead_nodes(const Graph& g) {
  KeepNeeded keep(g);
  return rewrite(g, keep);
}

}  // namespace rnngraph::passes
