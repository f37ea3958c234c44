// Products in reduced precision (Precision::Int8, Precision::Bfloat16): every product of a value
// with a static weight, packed (matmul_packed) or not (matmul), becomes matmul_int8 (matmul_bf16)
// on the weight packed before the steps use it (quantize_columns, pack_bf16: made at first use and
// shared by every product of that weight). The rest of the graph, nonlinearities and state, stays
// float32. Runs after optimize(), whose packing pass has found the products; the reduced ops
// have no gradients.
#include <map>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::passes {

namespace {
class QuantizeProducts final : public Rewriter {
 public:
  QuantizeProducts(const Graph& g, Precision precision)
      : static_(static_nodes(g)), int8_(precision == Precision::Int8) {
    for (const Node& n : g.nodes()) idle_ = idle_ && !candidate(n);
  }

  bool idle() const { return idle_; }

  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    if (!candidate(node)) return Rewriter::rewrite(out, node, inputs);
    const bool transposed = node.attrs.get("transpose_b", 0);
    auto at = out.place(node.placement());
    Value& quantized = quantized_[{node.inputs[1], transposed}];
    if (!quantized)
      quantized =
          int8_ ? quantize_columns(inputs[1], transposed) : pack_bf16(inputs[1], transposed);
    return int8_ ? matmul_int8(inputs[0], inputs[1], quantized, transposed)
                 : matmul_bf16(inputs[0], inputs[1], quantized, transposed);
  }

 private:
  bool candidate(const Node& n) const {
    const bool product =
        n.is(matmul_packed_op()) || (n.is(matmul_op()) && !n.attrs.get("transpose_a", 0));
    return product && static_[std::size_t(n.inputs[1])] && !static_[std::size_t(n.inputs[0])];
  }

  std::vector<char> static_;
  bool int8_;
  bool idle_ = true;
  std::map<std::pair<int, bool>, Value> quantized_;
};
}  // namespace

std::unique_ptr<Graph> quantize_products(const Graph& g, Precision precision) {
  if (precision == Precision::Float32) return nullptr;
  QuantizeProducts quantize(g, precision);
  auto quantized = run_pass(g, quantize);
  if (!quantized) return nullptr;
  // the float packing of the weights it replaced is left unread
  auto pruned = eliminate_dead_nodes(*quantized);
  return pruned ? std::move(pruned) : std::move(quantized);
}

std::unique_ptr<Graph> optimize_in(const Graph& g, Precision precision) {
  auto optimized = optimize(g);
  auto quantized = quantize_products(*optimized, precision);
  return quantized ? std::move(quantized) : std::move(optimized);
}

}  // namespace rnngraph::passes
