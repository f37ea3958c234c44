// exp: e^x (softmax and cross-entropy). Gradient: grad_out * y.
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/activations.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Exp final : kernels::UnaryOp<Exp> {
  std::string_view name() const override { return "exp"; }
  // The vectorised loop of ops/activations.h (error bound there), not libm's scalar call.
  static void array(const float* x, float* y, int64_t n) { kernels::exp_array(x, y, n); }
  std::vector<Value> vjp(const VjpArgs& a) const override { return {a.grad * a.output}; }
};
}  // namespace

const Op& exp_op() {
  static const Exp op;
  return op;
}
Value exp(const Value& x) { return x.graph().apply(exp_op(), {x}); }
}  // namespace rnngraph
