// sub: a - b, broadcasting. Gradient: grad_out to a, -grad_out to b (each summed to its shape).
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Sub final : kernels::BinaryOp<Sub> {
  std::string_view name() const override { return "sub"; }
  static float apply(float a, float b) { return a - b; }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    return {sum_to(a.grad, a.inputs[0].shape()), sum_to(-1.0f * a.grad, a.inputs[1].shape())};
  }
};
}  // namespace

const Op& sub_op() {
  static const Sub op;
  return op;
}
Value sub(const Value& a, const Value& b) { return a.graph().apply(sub_op(), {a, b}); }
Value operator-(const Value& a, const Value& b) { return sub(a, b); }
Value operator-(float a, const Value& b) { return sub(b.graph().scalar(a), b); }
Value operator-(const Value& a, float b) { return sub(a, a.graph().scalar(b)); }
}  // namespace rnngraph
