// reshape: the same elements under another shape of equal size; always a view (tensors are
// contiguous). Gradient: the gradient reshaped back.
#include <algorithm>

#include <fmt/ranges.h>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Reshape final : Op {
  std::string_view name() const override { return "reshape"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    const Shape target(attrs.get_list("shape"));
    if (target.numel() != in[0].numel())
      throw ShapeError(fmt::format("cannot view {} as {}: {} vs {} elements", in[0].str(),
                                   target.str(), in[0].numel(), target.numel()));
    return target;
  }

  std::optional<int64_t> view_offset(std::span<const Shape>, const Attrs&) const override {
    return 0;
  }

  // Only reached if an executor chose not to alias; kept so the op is complete on its own.
  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    std::copy_n(in[0].data(), out.numel(), out.data());
  }

  std::vector<Value> vjp(const VjpArgs& a) const override {
    return {reshape(a.grad, a.inputs[0].shape())};
  }

  std::string_view color() const override { return "#dae8fc"; }
};
}  // namespace

const Op& reshape_op() {
  static const Reshape op;
  return op;
}

Value reshape(const Value& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return x.graph().apply(reshape_op(), {x}, kernels::shape_attrs(shape));
}
}  // namespace rnngraph
