// sum: of every element, or along one axis (kept with size 1).
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Sum final : kernels::ReduceOp<Sum> {
  std::string_view name() const override { return "sum"; }
  static float finish(double total, int64_t) { return float(total); }
  // Every input element contributed once: the gradient repeated over the input.
  std::vector<Value> vjp(const VjpArgs& a) const override {
    return {broadcast_to(a.grad, a.inputs[0].shape())};
  }
};
}  // namespace

const Op& sum_op() {
  static const Sum op;
  return op;
}
Value sum(const Value& x) { return x.graph().apply(sum_op(), {x}); }
Value sum(const Value& x, int axis) {
  return x.graph().apply(sum_op(), {x}, {{"axis", kernels::stored_axis(axis, x.shape().rank())}});
}
}  // namespace rnngraph
