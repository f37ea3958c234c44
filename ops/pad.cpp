// pad: x placed at [begin, begin + n) of `axis` inside zeros of size `size` on that axis: the
// inverse of slice, and so slice's (and select's) gradient. Gradient: the slice back.
#include <algorithm>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Pad final : Op {
  std::string_view name() const override { return "pad"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    const int axis = kernels::normalize_axis(attrs.get("axis", 0), in[0].rank());
    const int64_t begin = attrs.get("begin", 0), size = attrs.get("size", 0);
    if (begin < 0 || size < 1 || begin > size - in[0][axis])
      throw ShapeError(fmt::format("{} does not fit at {} of an axis {} of size {}", in[0].str(),
                                   begin, axis, size));
    return in[0].with(axis, size);
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& si = in[0].shape();
    const int axis = kernels::normalize_axis(attrs.get("axis", 0), si.rank());
    const int64_t in_row = si[axis] * si.stride(axis);
    const int64_t out_row = out.shape()[axis] * si.stride(axis);
    const int64_t outer = si.numel() / in_row;
    const int64_t at = attrs.get("begin", 0) * si.stride(axis);
    out.fill(0);
    for (int64_t o = 0; o < outer; ++o)
      std::copy_n(in[0].data() + o * in_row, in_row, out.data() + o * out_row + at);
  }

  std::vector<Value> vjp(const VjpArgs& a) const override {
    const int axis = kernels::normalize_axis(a.attrs.get("axis", 0), a.inputs[0].shape().rank());
    const int64_t begin = a.attrs.get("begin", 0);
    return {slice(a.grad, axis, begin, begin + a.inputs[0].shape()[axis])};
  }

  std::string_view color() const override { return "#dae8fc"; }
};
}  // namespace

const Op& pad_op() {
  static const Pad op;
  return op;
}

Value pad(const Value& x, int axis, int64_t begin, int64_t size) {
  const int64_t stored = kernels::stored_axis(axis, x.shape().rank());
  return x.graph().apply(pad_op(), {x}, {{"axis", stored}, {"begin", begin}, {"size", size}});
}
}  // namespace rnngraph
