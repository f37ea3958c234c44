// tanh: the RNN's activation and the LSTM's candidate layer. Gradient: grad_out * (1 - y²).
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/activations.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Tanh final : kernels::UnaryOp<Tanh> {
  std::string_view name() const override { return "tanh"; }
  // The vectorised loop of ops/activations.h (error bound there), not libm's scalar call.
  static void array(const float* x, float* y, int64_t n) { kernels::tanh_array(x, y, n); }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Value& y = a.output;
    return {a.grad * (1.0f - y * y)};
  }
};
}  // namespace

const Op& tanh_op() {
  static const Tanh op;
  return op;
}
Value tanh(const Value& x) { return x.graph().apply(tanh_op(), {x}); }
}  // namespace rnngraph
