// gather: x[n, ids[n]] for x [N, C] and class ids [N, 1]: the logit of each row's target class,
// which cross-entropy subtracts from logsumexp. Gradient: grad_out placed at the ids (one-hot
// rows scaled by it); the ids get none.
#include <cmath>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Gather final : Op {
  std::string_view name() const override { return "gather"; }

  Shape infer(std::span<const Shape> in, const Attrs&) const override {
    kernels::expect_arity(in, 2);
    const Shape &x = in[0], &ids = in[1];
    if (x.rank() != 2 || !(ids == Shape{x[0], 1}))
      throw ShapeError(
          fmt::format("needs x [N, C] and ids [N, 1], got {} and {}", x.str(), ids.str()));
    return ids;
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    const int64_t rows = in[0].shape()[0], classes = in[0].shape()[1];
    for (int64_t n = 0; n < rows; ++n) {
      const float id = in[1].data()[n];
      if (!(id >= 0 && id < float(classes)) || id != std::floor(id))
        throw ShapeError(
            fmt::format("gather: id {} in row {} is not a class in [0, {})", id, n, classes));
      out.data()[n] = in[0].data()[n * classes + int64_t(id)];
    }
  }

  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Shape& x = a.inputs[0].shape();
    return {reshape(one_hot(a.inputs[1], x[1]), x) * a.grad, Value()};
  }

  std::string_view color() const override { return "#dae8fc"; }
};
}  // namespace

const Op& gather_op() {
  static const Gather op;
  return op;
}

Value gather(const Value& x, const Value& ids) { return x.graph().apply(gather_op(), {x, ids}); }
}  // namespace rnngraph
