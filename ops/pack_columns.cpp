// pack_columns: W [K, N] (or, with transpose, Wᵀ for W [N, K]) laid out as the packed panels
// ops/packed_gemm.h describes, [ceil(N/32), K, 32]. Made once, not per step for a weight that
// multiplies a state at every step (passes::pack_recurrent_weights). A cache, not a value of the
// model: gradients reach W through matmul_packed's own W input, none flows through here.
#include <rnngraph/framework/graph.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>
#include <rnngraph/ops/packed_gemm.h>

namespace rnngraph {
namespace {
struct PackColumns final : Op {
  std::string_view name() const override { return "pack_columns"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    if (in[0].rank() != 2) throw ShapeError(fmt::format("needs a matrix, got {}", in[0].str()));
    const bool t = attrs.get("transpose", 0);
    const int64_t k = t ? in[0][1] : in[0][0], n = t ? in[0][0] : in[0][1];
    return Shape{(n + kernels::kPanel - 1) / kernels::kPanel, k, kernels::kPanel};
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& s = in[0].shape();
    const bool t = attrs.get("transpose", 0);
    kernels::pack_columns(in[0].data(), s[1], t ? s[1] : s[0], t ? s[0] : s[1], t, out.data());
  }

  std::vector<Value> vjp(const VjpArgs&) const override { return {Value()}; }
  std::string_view color() const override { return "#dae8fc"; }
};
}  // namespace

const Op& pack_columns_op() {
  static const PackColumns op;
  return op;
}
Value pack_columns(const Value& w, bool transpose) {
  Attrs attrs;
  if (transpose) attrs.ints["transpose"] = 1;
  return w.graph().apply(pack_columns_op(), {w}, std::move(attrs));
}
}  // namespace rnngraph
