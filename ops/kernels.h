// Helpers shared by the op files: arity and axis checks, broadcasting shape rule and loops.
// Internal to the library (not installed).
#pragma once

#include <algorithm>
#include <span>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/op.h>
#include <rnngraph/framework/tensor.h>

namespace rnngraph::kernels {

inline void expect_arity(std::span<const Shape> in, std::size_t n) {
  if (in.size() != n) throw ShapeError(fmt::format("expects {} inputs, got {}", n, in.size()));
}

// A possibly negative axis, checked against `rank` and made non-negative.
inline int normalize_axis(int64_t axis, int rank) {
  if (axis < -rank || axis >= rank)
    throw ShapeError(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return int(axis < 0 ? axis + rank : axis);
}

// What a builder stores: a negative axis counted from the end when it is in range, anything else
// unchanged so the shape rule reports it with the node's context.
inline int64_t stored_axis(int64_t axis, int rank) {
  return axis < 0 && -axis <= rank ? axis + rank : axis;
}

// The attributes of an op that takes a target shape (reshape, broadcast_to, sum_to).
inline Attrs shape_attrs(const Shape& shape) {
  Attrs attrs;
  attrs.lists["shape"].assign(shape.dims().begin(), shape.dims().end());
  return attrs;
}

inline Shape broadcast_rule(std::span<const Shape> in) {
  expect_arity(in, 2);
  Shape out = broadcast_shapes(in[0], in[1]);
  if (out.rank() == 0)
    throw ShapeError(fmt::format("shapes {} and {} do not broadcast", in[0].str(), in[1].str()));
  return out;
}

template <class F>
void unary(const Tensor& x, const Tensor& out, F f) {
  const float* a = x.data();
  float* y = out.data();
  const int64_t n = out.numel();
  for (int64_t i = 0; i < n; ++i) y[i] = f(a[i]);
}

// out = f(a, b) with numpy broadcasting. The common cases (equal shapes, a scalar, a bias row)
// are flat loops the compiler vectorises; the rest walks a 4-d index with zero strides.
template <class F>
void binary(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  const float* pa = a.data();
  const float* pb = b.data();
  float* y = out.data();
  const int64_t n = out.numel();
  if (a.numel() == n && b.numel() == n) {
    for (int64_t i = 0; i < n; ++i) y[i] = f(pa[i], pb[i]);
    return;
  }
  if (b.numel() == 1 && a.numel() == n) {
    const float s = pb[0];
    for (int64_t i = 0; i < n; ++i) y[i] = f(pa[i], s);
    return;
  }
  if (a.numel() == 1 && b.numel() == n) {
    const float s = pa[0];
    for (int64_t i = 0; i < n; ++i) y[i] = f(s, pb[i]);
    return;
  }
  // Pad every shape to rank 4 on the left; a broadcast axis gets stride 0.
  const Shape& so = out.shape();
  int64_t dim[4], sa[4], sb[4];
  const int pad = 4 - so.rank();
  for (int i = 0; i < 4; ++i) {
    const int axis = i - pad;
    dim[i] = axis < 0 ? 1 : so[axis];
    auto stride = [&](const Shape& s) -> int64_t {
      const int ax = axis - (so.rank() - s.rank());
      return ax < 0 || s[ax] == 1 ? 0 : s.stride(ax);
    };
    sa[i] = axis < 0 ? 0 : stride(a.shape());
    sb[i] = axis < 0 ? 0 : stride(b.shape());
  }
  for (int64_t i0 = 0; i0 < dim[0]; ++i0)
    for (int64_t i1 = 0; i1 < dim[1]; ++i1)
      for (int64_t i2 = 0; i2 < dim[2]; ++i2) {
        const float* ra = pa + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
        const float* rb = pb + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
        for (int64_t i3 = 0; i3 < dim[3]; ++i3) *y++ = f(ra[i3 * sa[3]], rb[i3 * sb[3]]);
      }
}

}  // namespace rnngraph::kernels

#include <rnngraph/framework/op.h>

namespace rnngraph::kernels {

// Base for elementwise ops: Derived supplies name() and a static `float apply(...)`, so each op
// file keeps only what is its own (the formula and, later, its gradient).
template <class Derived>
struct BinaryOp : Op {
  Shape infer(std::span<const Shape> in, const Attrs&) const override { return broadcast_rule(in); }
  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    binary(in[0], in[1], out, [](float a, float b) { return Derived::apply(a, b); });
  }
  std::string_view color() const override { return "#fde9c9"; }
};

template <class Derived>
struct UnaryOp : Op {
  Shape infer(std::span<const Shape> in, const Attrs&) const override {
    expect_arity(in, 1);
    return in[0];
  }
  // Derived supplies `static float apply(float)`, or a whole-array kernel
  // `static void array(const float* x, float* y, int64_t n)` (the vectorised activations).
  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    if constexpr (requires { Derived::apply(0.0f); })
      unary(in[0], out, [](float x) { return Derived::apply(x); });
    else
      Derived::array(in[0].data(), out.data(), out.numel());
  }
  std::string_view color() const override { return "#d5e8d4"; }
};

}  // namespace rnngraph::kernels

namespace rnngraph::kernels {

// Base for reductions: without an "axis" attribute the whole tensor reduces to a [1] scalar;
// with one, that axis keeps size 1, so the result broadcasts back over the input.
// Derived supplies name() and `static float finish(double total, int64_t count)`.
template <class Derived>
struct ReduceOp : Op {
  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    expect_arity(in, 1);
    if (!attrs.ints.contains("axis")) return Shape{1};
    return in[0].with(normalize_axis(attrs.get("axis", 0), in[0].rank()), 1);
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& s = in[0].shape();
    const bool all = !attrs.ints.contains("axis");
    const int axis = all ? 0 : normalize_axis(attrs.get("axis", 0), s.rank());
    const int64_t count = all ? s.numel() : s[axis];
    const int64_t inner = all ? 1 : s.stride(axis);
    const int64_t outer = s.numel() / (count * inner);
    const float* x = in[0].data();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        double total = 0;  // double: long sums of floats drift otherwise
        const float* p = x + o * count * inner + i;
        for (int64_t k = 0; k < count; ++k) total += p[k * inner];
        out.data()[o * inner + i] = Derived::finish(total, count);
      }
  }

  std::string_view color() const override { return "#e1d5e7"; }
};

}  // namespace rnngraph::kernels
