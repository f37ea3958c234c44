#include <rnngraph/framework/rewrite.h>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph {

std::unique_ptr<Graph> rewrite(const Graph& source, Rewriter& rewriter) {
  auto out = std::make_unique<Graph>();
  out->reserve(source.size());
  rewriter.mapped_.assign(source.size(), Value());
  std::vector<Value> inputs;
  for (const Node& node : source.nodes()) {
    if (rewriter.mapped_[std::size_t(node.id)]) continue;  // made early by the rewriter
    inputs.clear();
    bool complete = true;
    for (int in : node.inputs) {
      inputs.push_back(rewriter.mapped_[std::size_t(in)]);
      complete = complete && inputs.back();
    }
    // A node reading a dropped node is dropped too; only a dropped output is an error.
    if (!complete) continue;
    const Value v = rewriter.rewrite(*out, node, inputs);
    rewriter.mapped_[std::size_t(node.id)] = v;
    // What stands for a marked node inherits its mark (a fused cell's output is the state).
    // (A derivative's mark stays in the backward graph: a forward node standing for it is not
    // one.)
    if (node.mark && v && !v.node().mark &&
        (node.mark.kind != Mark::Kind::Derivative || v.node().backward))
      out->mark(v, node.mark);
  }
  for (const auto& [name, id] : source.outputs()) {
    const Value v = rewriter.mapped_[std::size_t(id)];
    if (!v) throw GraphError(fmt::format("rewrite: output '{}' was dropped", name));
    out->output(name, v);
  }
  rewriter.mapped_.clear();
  return out;
}

std::unique_ptr<Graph> copy(const Graph& source) {
  Rewriter identity;
  return rewrite(source, identity);
}

}  // namespace rnngraph
