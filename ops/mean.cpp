// mean: of every element, or along one axis (kept with size 1); the MSE loss's average.
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Mean final : kernels::ReduceOp<Mean> {
  std::string_view name() const override { return "mean"; }
  static float finish(double total, int64_t count) { return float(total / double(count)); }
  // Like sum's, scaled by 1 / count.
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Shape& s = a.inputs[0].shape();
    const int64_t count = s.numel() / a.output.shape().numel();
    return {broadcast_to(a.grad * (1.0f / float(count)), s)};
  }
};
}  // namespace

const Op& mean_op() {
  static const Mean op;
  return op;
}
Value mean(const Value& x) { return x.graph().apply(mean_op(), {x}); }
Value mean(const Value& x, int axis) {
  return x.graph().apply(mean_op(), {x}, {{"axis", kernels::stored_axis(axis, x.shape().rank())}});
}
}  // namespace rnngraph
