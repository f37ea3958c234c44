// sum_to: x summed down to a shape it broadcasts from ([B, H] → [1, H], anything → [1]): the
// gradient of every broadcasting op. Gradient: broadcast_to, the repetition back.
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct SumTo final : Op {
  std::string_view name() const override { return "sum_to"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    const Shape target(attrs.get_list("shape"));
    if (!(broadcast_shapes(target, in[0]) == in[0]))
      throw ShapeError(fmt::format("{} does not sum to {}: {} does not broadcast to it",
                                   in[0].str(), target.str(), target.str()));
    return target;
  }

  // Walks the input with a rank-4 index; the output's stride is 0 on summed axes.
  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    const Shape &si = in[0].shape(), &so = out.shape();
    int64_t dim[4], stride[4];
    const int pad = 4 - si.rank();
    for (int i = 0; i < 4; ++i) {
      const int axis = i - pad;
      dim[i] = axis < 0 ? 1 : si[axis];
      const int ax = axis - (si.rank() - so.rank());
      stride[i] = axis < 0 || ax < 0 || so[ax] == 1 ? 0 : so.stride(ax);
    }
    out.fill(0);
    const float* x = in[0].data();
    float* y = out.data();
    for (int64_t i0 = 0; i0 < dim[0]; ++i0)
      for (int64_t i1 = 0; i1 < dim[1]; ++i1)
        for (int64_t i2 = 0; i2 < dim[2]; ++i2) {
          float* row = y + i0 * stride[0] + i1 * stride[1] + i2 * stride[2];
          for (int64_t i3 = 0; i3 < dim[3]; ++i3) row[i3 * stride[3]] += *x++;
        }
  }

  std::vector<Value> vjp(const VjpArgs& a) const override {
    return {broadcast_to(a.grad, a.inputs[0].shape())};
  }

  std::string_view color() const override { return "#e1d5e7"; }
};
}  // namespace

const Op& sum_to_op() {
  static const SumTo op;
  return op;
}

Value sum_to(const Value& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return x.graph().apply(sum_to_op(), {x}, kernels::shape_attrs(shape));
}
}  // namespace rnngraph
