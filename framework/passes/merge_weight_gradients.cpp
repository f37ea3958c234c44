// Weight-gradient merging: a weight used at every step gets its gradient as a sum of per-step
// products, Σ_t a_tᵀ · g_t (grad() sums fan-in as it arrives). With B rows per step each product
// has an inner dimension of only B, far from sgemm's peak, and the running sum is read and
// written once per step. Stacking the rows makes it one product with inner dimension T·B:
//   a_1ᵀ·g_1 + … + a_Tᵀ·g_T = [a_1; …; a_T]ᵀ · [g_1; …; g_T]
// The stacked g_t are written in place by the ops that make them (concat along the first axis
// is assembled by the planner), so the cost is the one large product.
#include <algorithm>
#include <functional>
#include <map>
#include <vector>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::passes {

namespace {
class MergeWeightGradients final : public Rewriter {
 public:
  explicit MergeWeightGradients(const Graph& g) : g_(g), sums_of_(g) {
    for (const Node& n : g.nodes()) collect(n.id);
  }

  bool idle() const { return sums_.empty(); }

  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    auto sum = sums_.find(node.id);
    if (sum == sums_.end()) return Rewriter::rewrite(out, node, inputs);
    auto at = out.place(node.placement());
    std::vector<Value> left, right;
    for (int p : sum->second.products) {
      left.push_back(mapped(g_.node(p).inputs[0]));
      right.push_back(mapped(g_.node(p).inputs[1]));
    }
    Value total = matmul(concat(left, 0), concat(right, 0), true, false);
    for (int other : sum->second.others) total = total + mapped(other);
    return total;
  }

 private:
  struct Sum {
    std::vector<int> products, others;
  };

  // aᵀ · g, read once.
  bool is_weight_product(int id, const Shape& shape) const {
    const Node& n = g_.node(id);
    return n.is(matmul_op()) && n.attrs.get("transpose_a", 0) && !n.attrs.get("transpose_b", 0) &&
           sums_of_.uses(id) == 1 && n.shape == shape;
  }

  void collect(int root) {
    Sum sum;
    for (int term : sums_of_.terms(root))
      (is_weight_product(term, g_.node(root).shape) ? sum.products : sum.others).push_back(term);
    if (sum.products.size() < 2) return;
    // Forward step order: grad() makes the products last step first, so that is descending ids.
    // Every weight of a cell then gathers the same rows in the same order (the hoisted x-side
    // product's and the recurrent one's), and the planner lays them out once.
    std::sort(sum.products.begin(), sum.products.end(), std::greater<>());
    sums_[root] = std::move(sum);
  }

  const Graph& g_;
  SumTrees sums_of_;
  std::map<int, Sum> sums_;  // by the root add
};
}  // namespace

std::unique_ptr<Graph> merge_weight_gradients(const Graph& g) {
  MergeWeightGradients merge(g);
  return run_pass(g, merge);
}

}  // namespace rnngraph::passes
