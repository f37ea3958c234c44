// Concat-matmul split: [a, b] · W = a · W[:rows(a)] + b · W[rows(a):], for a concat along the
// columns. The row blocks of W are contiguous, so its slices are views; the products on x_t
// alone can then be hoisted out of the recurrence (hoist_input_projections), and the ones on
// h_{t-1} merged across gates (merge_gate_products).
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::passes {

namespace {
class SplitConcatMatmul final : public Rewriter {
 public:
  explicit SplitConcatMatmul(const Graph& g) : source_(g) {
    for (const Node& n : g.nodes()) idle_ = idle_ && !splits(n);
  }
  bool idle() const { return idle_; }

  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    if (!splits(node)) return Rewriter::rewrite(out, node, inputs);
    const Node& left = source_.node(node.inputs[0]);
    auto at = out.place(node.placement());
    Value total;
    int64_t row = 0;
    for (int part : left.inputs) {
      const Value a = mapped(part);
      const int64_t rows = a.shape()[1];
      const Value product = matmul(a, slice(inputs[1], 0, row, row + rows));
      total = total ? total + product : product;
      row += rows;
    }
    return total;
  }

 private:
  // A product of columns joined side by side: [a, b] · W.
  bool splits(const Node& n) const {
    if (!is_plain_matmul(n)) return false;
    const Node& left = source_.node(n.inputs[0]);
    return left.is(concat_op()) && left.shape.rank() == 2 && left.attrs.get("axis", 0) == 1;
  }

  const Graph& source_;
  bool idle_ = true;
};
}  // namespace

std::unique_ptr<Graph> split_concat_matmuls(const Graph& g) {
  SplitConcatMatmul split(g);
  return run_pass(g, split);
}

}  // namespace rnngraph::passes
