// broadcast_to: x repeated to a larger shape by numpy's rules ([1, H] → [B, H], [1] → any):
// the gradient of sum and mean. Gradient: sum_to, the sum over the repeated axes.
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct BroadcastTo final : Op {
  std::string_view name() const override { return "broadcast_to"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    const Shape target(attrs.get_list("shape"));
    if (!(broadcast_shapes(in[0], target) == target))
      throw ShapeError(fmt::format("{} does not broadcast to {}", in[0].str(), target.str()));
    return target;
  }

  // The broadcasting loop of the binary ops, against a zero scalar.
  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    const float zero = 0;
    const Tensor scalar = Tensor::view({1}, const_cast<float*>(&zero));
    kernels::binary(in[0], scalar, out, [](float a, float) { return a; });
  }

  std::vector<Value> vjp(const VjpArgs& a) const override {
    return {sum_to(a.grad, a.inputs[0].shape())};
  }

  std::string_view color() const override { return "#e1d5e7"; }
};
}  // namespace

const Op& broadcast_to_op() {
  static const BroadcastTo op;
  return op;
}

Value broadcast_to(const Value& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return x.graph().apply(broadcast_to_op(), {x}, kernels::shape_attrs(shape));
}
}  // namespace rnngraph
