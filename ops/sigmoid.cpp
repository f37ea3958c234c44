// sigmoid: 1 / (1 + e^-x), the gates of LSTM and GRU. Gradient: grad_out * y * (1 - y).
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/activations.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Sigmoid final : kernels::UnaryOp<Sigmoid> {
  std::string_view name() const override { return "sigmoid"; }
  // The vectorised loop of ops/activations.h (error bound there), not libm's scalar call.
  static void array(const float* x, float* y, int64_t n) { kernels::sigmoid_array(x, y, n); }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Value& y = a.output;
    return {a.grad * (y * (1.0f - y))};
  }
};
}  // namespace

const Op& sigmoid_op() {
  static const Sigmoid op;
  return op;
}
Value sigmoid(const Value& x) { return x.graph().apply(sigmoid_op(), {x}); }
}  // namespace rnngraph
