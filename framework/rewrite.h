// Graph → Graph rewrites: a source graph is copied node by node through a Rewriter, which may
// replace any node by a different subgraph, or drop it. Nothing mutates the source, so plans and
// users that hold it are unaffected. Graph files are loaded through the same Graph::add(NodeSpec)
// that the default rewrite uses: there is one way to rebuild a graph.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include <rnngraph/framework/graph.h>

namespace rnngraph {

class Rewriter {
 public:
  virtual ~Rewriter() = default;
  // The value that stands for `node` in `out`, given the node's inputs already rewritten into
  // `out`. The default copies the node (parameters share their tensors with the source). An
  // empty Value drops the node, and with it every node that reads it; a dropped output is a
  // GraphError.
  virtual Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) {
    return out.add(NodeSpec::of(node), inputs);
  }

 protected:
  // What source node `id` became in the new graph (empty before it is rewritten). A rewriter
  // may also make a source node's value early with set(); the node is then not visited.
  Value mapped(int id) const { return mapped_[std::size_t(id)]; }
  void set(int id, const Value& v) { mapped_[std::size_t(id)] = v; }

 private:
  friend std::unique_ptr<Graph> rewrite(const Graph&, Rewriter&);
  std::vector<Value> mapped_;
};

// A new graph with every node of `source` passed through `rewriter`, and the same outputs.
std::unique_ptr<Graph> rewrite(const Graph& source, Rewriter& rewriter);
// rewrite() with the default Rewriter: an equal graph whose parameters share their tensors.
std::unique_ptr<Graph> copy(const Graph& source);

}  // namespace rnngraph
