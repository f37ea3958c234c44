// Gate merging: the products of one left operand with several weights of the same height
// (h · W_f, h · W_i, h · W_o, h · W_c in an LSTM step) become one product with the weights side
// by side, [B, H] · [H, 4H], whose column blocks are the gates. One sgemm with a 4× wider
// output runs much closer to the machine's peak than four narrow ones. The concatenated weight
// is the same at every step, so merge_common_subexpressions makes it once, not per step.
#include <map>
#include <vector>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::passes {

namespace {
class MergeGates final : public Rewriter {
 public:
  explicit MergeGates(const Graph& g) : source_(g), static_(static_nodes(g)) {
    std::map<int, std::vector<int>> by_left;
    for (const Node& n : g.nodes())
      if (is_plain_matmul(n) && static_[std::size_t(n.inputs[1])])
        by_left[n.inputs[0]].push_back(n.id);
    for (auto& [left, members] : by_left) {
      // Only weights of one height merge (they all multiply the same left operand, so they do).
      if (members.size() > 1) group_of_first_[members.front()] = members;
    }
  }

  bool idle() const { return group_of_first_.empty(); }

  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    auto group = group_of_first_.find(node.id);
    if (group == group_of_first_.end()) return Rewriter::rewrite(out, node, inputs);
    std::vector<Value> weights;
    for (int member : group->second)
      weights.push_back(materialize(out, source_.node(member).inputs[1]));
    Value product;
    {
      auto at = out.place(node.placement());
      product = matmul(inputs[0], concat(weights, 1));
    }
    int64_t column = 0;
    Value first;
    for (int member : group->second) {
      const Node& m = source_.node(member);
      auto at = out.place(m.placement());
      const Value gate = slice(product, 1, column, column + m.shape[1]);
      column += m.shape[1];
      if (member == node.id)
        first = gate;
      else
        set(member, gate);  // made now; the loop will not visit it
    }
    return first;
  }

 private:
  // A static node's value in the new graph, made now (with its static inputs) when the loop
  // has not reached it yet.
  Value materialize(Graph& out, int id) {
    if (Value v = mapped(id)) return v;
    const Node& n = source_.node(id);
    std::vector<Value> inputs;
    for (int in : n.inputs) inputs.push_back(materialize(out, in));
    const Value v = out.add(NodeSpec::of(n), inputs);
    set(id, v);
    return v;
  }

  const Graph& source_;
  std::vector<char> static_;
  std::map<int, std::vector<int>> group_of_first_;
};
}  // namespace

std::unique_ptr<Graph> merge_gate_products(const Graph& g) {
  MergeGates merge(g);
  return run_pass(g, merge);
}

}  // namespace rnngraph::passes
