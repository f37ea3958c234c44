// matmul_packed: a · W (or a · Wᵀ with transpose_b) on our own micro-kernel, reading W from its
// packed copy (ops/packed_gemm.h): inputs a [M, K], W, and pack_columns(W). The product of a
// state with a weight it meets at every step, where sgemm's repacking of W on every call costs
// a quarter of the time. W itself is an input for the gradient alone:
//   C = a·W:   da = G·Wᵀ,  dW = aᵀ·G        C = a·Wᵀ:   da = G·W,   dW = Gᵀ·a
#include <rnngraph/framework/graph.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>
#include <rnngraph/ops/packed_gemm.h>
#include <rnngraph/ops/reduced_products.h>

namespace rnngraph {
namespace {
struct MatmulPacked final : Op {
  std::string_view name() const override { return "matmul_packed"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    return packed_product_shape(in, attrs, pack_columns_op());
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    const Shape& a = in[0].shape();
    kernels::packed_gemm(in[0].data(), a[1], a[0], a[1], in[2].data(), out.shape()[1], out.data(),
                         out.shape()[1]);
  }

  std::vector<Value> vjp(const VjpArgs& v) const override {
    const Value &a = v.inputs[0], &W = v.inputs[1], &G = v.grad;
    if (v.attrs.get("transpose_b", 0)) return {matmul(G, W), matmul(G, a, true, false), Value()};
    return {matmul(G, W, false, true), matmul(a, G, true, false), Value()};
  }

  std::string_view color() const override { return "#f8cecc"; }
};
}  // namespace

const Op& matmul_packed_op() {
  static const MatmulPacked op;
  return op;
}
Value matmul_packed(const Value& a, const Value& w, const Value& packed, bool transpose_b) {
  Attrs attrs;
  if (transpose_b) attrs.ints["transpose_b"] = 1;
  return a.graph().apply(matmul_packed_op(), {a, w, packed}, std::move(attrs));
}
}  // namespace rnngraph
