// matmul_int8: a · W (or a · Wᵀ with transpose_b) in int8 (ops/int8_gemm.h), from W quantized
// once per run by quantize_columns: inputs a [M, K], W, and quantize_columns(W). W is an input
// for the shape rule alone. Int8 models run forward only, so neither op has a gradient.
#include <rnngraph/framework/graph.h>
#include <rnngraph/ops/int8_gemm.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
[[noreturn]] void no_gradient(std::string_view op) {
  throw GraphError(fmt::format(
      "{} has no gradient: an int8 model runs forward only (train the float32 model, then "
      "quantize it)",
      op));
}

struct QuantizeColumns final : Op {
  std::string_view name() const override { return "quantize_columns"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    if (in[0].rank() != 2) throw ShapeError(fmt::format("needs a matrix, got {}", in[0].str()));
    const bool t = attrs.get("transpose", 0);
    return Shape{kernels::int8_packed_floats(t ? in[0][1] : in[0][0], t ? in[0][0] : in[0][1])};
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& s = in[0].shape();
    const bool t = attrs.get("transpose", 0);
    kernels::quantize_columns(in[0].data(), s[1], t ? s[1] : s[0], t ? s[0] : s[1], t, out.data());
  }

  std::vector<Value> vjp(const VjpArgs&) const override { no_gradient(name()); }
  std::string_view color() const override { return "#dae8fc"; }
};

struct MatmulInt8 final : Op {
  std::string_view name() const override { return "matmul_int8"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 3);
    const Shape product = matmul_op().infer(in.first(2), attrs);
    const Shape quantized = quantize_columns_op().infer(
        in.subspan(1, 1), attrs.get("transpose_b", 0) ? Attrs{{"transpose", 1}} : Attrs{});
    if (in[2] != quantized)
      throw ShapeError(
          fmt::format("quantized weight is {}, expected {}", in[2].str(), quantized.str()));
    return product;
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    const Shape& a = in[0].shape();
    kernels::int8_gemm(in[0].data(), a[1], a[0], a[1], in[2].data(), out.shape()[1], out.data(),
                       out.shape()[1]);
  }

  std::vector<Value> vjp(const VjpArgs&) const override { no_gradient(name()); }
  std::string_view color() const override { return "#f8cecc"; }
};
}  // namespace

const Op& quantize_columns_op() {
  static const QuantizeColumns op;
  return op;
}
const Op& matmul_int8_op() {
  static const MatmulInt8 op;
  return op;
}
Value quantize_columns(const Value& w, bool transpose) {
  Attrs attrs;
  if (transpose) attrs.ints["transpose"] = 1;
  return w.graph().apply(quantize_columns_op(), {w}, std::move(attrs));
}
Value matmul_int8(const Value& a, const Value& w, const Value& quantized, bool transpose_b) {
  Attrs attrs;
  if (transpose_b) attrs.ints["transpose_b"] = 1;
  return a.graph().apply(matmul_int8_op(), {a, w, quantized}, std::move(attrs));
}
}  // namespace rnngraph
