// div: a / b elementwise, broadcasting (log's gradient, normalisations).
// Gradient: grad_out / b to a, -grad_out * (a / b) / b to b (each summed to its shape).
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Div final : kernels::BinaryOp<Div> {
  std::string_view name() const override { return "div"; }
  static float apply(float a, float b) { return a / b; }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Value &x = a.inputs[0], &y = a.inputs[1];
    return {sum_to(a.grad / y, x.shape()), sum_to(-1.0f * (a.grad * a.output) / y, y.shape())};
  }
};
}  // namespace

const Op& div_op() {
  static const Div op;
  return op;
}
Value div(const Value& a, const Value& b) { return a.graph().apply(div_op(), {a, b}); }
Value operator/(const Value& a, const Value& b) { return div(a, b); }
}  // namespace rnngraph
