#include <rnngraph/framework/rewrite.h>

#include <vector>

namespace rnngraph {

std::unique_ptr<Graph> rewrite(const Graph& source, Rewriter& rewriter) {
  auto out = std::make_unique<Graph>();
  std::vector<Value> mapped(source.size());
  std::vector<Value> inputs;
  for (const Node& node : source.nodes()) {
    inputs.clear();
    for (int in : node.inputs) inputs.push_back(mapped[in]);
    mapped[node.id] = rewriter.rewrite(*out, node, inputs);
  }
  for (const auto& [name, id] : source.outputs()) out->output(name, mapped[id]);
  return out;
}

std::unique_ptr<Graph> copy(const Graph& source) {
  Rewriter identity;
  return rewrite(source, identity);
}

}  // namespace rnngraph
