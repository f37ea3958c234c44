// log: the natural logarithm. Gradient: grad_out / x.
#include <cmath>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Log final : kernels::UnaryOp<Log> {
  std::string_view name() const override { return "log"; }
  static float apply(float x) { return std::log(x); }
  std::vector<Value> vjp(const VjpArgs& a) const override { return {div(a.grad, a.inputs[0])}; }
};
}  // namespace

const Op& log_op() {
  static const Log op;
  return op;
}
Value log(const Value& x) { return x.graph().apply(log_op(), {x}); }
}  // namespace rnngraph
