// Common-subexpression merging: an op node whose op, inputs and attributes equal an earlier
// node's is that node; small constants with equal values are one constant. In an unrolled
// model this folds the per-step copies of weight slices and concatenations into one.
#include <cstring>
#include <map>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>

namespace rnngraph::passes {

namespace {
std::string key_of(const Node& node, std::span<const Value> inputs) {
  std::string key = fmt::format("{}(", node.op->name());
  for (const Value& v : inputs) key += fmt::format("{},", v.id());
  key += ")";
  for (const auto& [k, v] : node.attrs.ints) key += fmt::format("{}={};", k, v);
  for (const auto& [k, v] : node.attrs.floats) key += fmt::format("{}={:a};", k, v);
  for (const auto& [k, v] : node.attrs.lists) key += fmt::format("{}=[{}];", k, fmt::join(v, ","));
  return key;
}

std::string key_of_constant(const Node& node) {
  std::string key = node.shape.str();
  key.append(reinterpret_cast<const char*>(node.value.data()),
             std::size_t(node.value.numel()) * sizeof(float));
  return key;
}

class MergeEqual final : public Rewriter {
 public:
  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    std::string key;
    if (node.kind == NodeKind::Op)
      key = key_of(node, inputs);
    else if (node.kind == NodeKind::Constant && node.shape.numel() <= 16)
      key = "constant " + key_of_constant(node);
    else
      return Rewriter::rewrite(out, node, inputs);
    auto [it, fresh] = seen_.emplace(std::move(key), Value());
    if (fresh) it->second = Rewriter::rewrite(out, node, inputs);
    return it->second;
  }

 private:
  std::map<std::string, Value> seen_;
};
}  // namespace

std::unique_ptr<Graph> merge_common_subexpressions(const Graph& g) {
  MergeEqual merge;
  return rewrite(g, merge);  // never idle: finding equal nodes is the rewrite itself
}

}  // namespace rnngraph::passes
