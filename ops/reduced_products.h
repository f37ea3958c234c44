// The two ops a product in reduced precision takes (int8 in matmul_int8.cpp, bf16 in
// matmul_bf16.cpp), written once: a packing op, W → its packed form (made once, before the steps
// that use it), and the product a · op(W) from that form. The product keeps W as an input for
// its shape rule. Reduced-precision models run forward only, so neither op has a gradient.
// Internal to the library.
#pragma once

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>

namespace rnngraph {

// The shape rule of a product a · op(W) from W's packed form (matmul_packed, and the reduced
// products below): inputs a, W and pack(W); the product's shape, and a ShapeError when the
// packed input is not `pack`'s form of W.
inline Shape packed_product_shape(std::span<const Shape> in, const Attrs& attrs, const Op& pack) {
  kernels::expect_arity(in, 3);
  const Shape product = matmul_op().infer(in.first(2), attrs);
  const Shape packed =
      pack.infer(in.subspan(1, 1), attrs.get("transpose_b", 0) ? Attrs{{"transpose", 1}} : Attrs{});
  if (in[2] != packed)
    throw ShapeError(fmt::format("packed weight is {}, expected {}", in[2].str(), packed.str()));
  return product;
}

}  // namespace rnngraph

namespace rnngraph::reduced {

// Format: static members packed_floats(k, n), pack(w, ldw, k, n, transposed, out),
// gemm(a, lda, m, k, packed, n, c, ldc), and the two ops' names and its precision's name.
template <class Format>
[[noreturn]] void no_gradient(std::string_view op) {
  throw GraphError(
      fmt::format("{} has no gradient: a model quantized to {} runs forward only (train the "
                  "float32 model, then quantize it)",
                  op, Format::precision));
}

template <class Format>
struct Pack final : Op {
  std::string_view name() const override { return Format::pack_name; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    if (in[0].rank() != 2) throw ShapeError(fmt::format("needs a matrix, got {}", in[0].str()));
    const bool t = attrs.get("transpose", 0);
    return Shape{Format::packed_floats(t ? in[0][1] : in[0][0], t ? in[0][0] : in[0][1])};
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& s = in[0].shape();
    const bool t = attrs.get("transpose", 0);
    Format::pack(in[0].data(), s[1], t ? s[1] : s[0], t ? s[0] : s[1], t, out.data());
  }

  std::vector<Value> vjp(const VjpArgs&) const override { no_gradient<Format>(name()); }
  std::string_view color() const override { return "#dae8fc"; }
};

template <class Format>
struct Product final : Op {
  explicit Product(const Op& pack) : pack_(pack) {}
  std::string_view name() const override { return Format::product_name; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    return packed_product_shape(in, attrs, pack_);
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    const Shape& a = in[0].shape();
    Format::gemm(in[0].data(), a[1], a[0], a[1], in[2].data(), out.shape()[1], out.data(),
                 out.shape()[1]);
  }

  std::vector<Value> vjp(const VjpArgs&) const override { no_gradient<Format>(name()); }
  std::string_view color() const override { return "#f8cecc"; }

 private:
  const Op& pack_;
};

template <class Format>
Value pack(const Op& op, const Value& w, bool transpose) {
  Attrs attrs;
  if (transpose) attrs.ints["transpose"] = 1;
  return w.graph().apply(op, {w}, std::move(attrs));
}

template <class Format>
Value product(const Op& op, const Value& a, const Value& w, const Value& packed, bool transpose_b) {
  Attrs attrs;
  if (transpose_b) attrs.ints["transpose_b"] = 1;
  return a.graph().apply(op, {a, w, packed}, std::move(attrs));
}

}  // namespace rnngraph::reduced
