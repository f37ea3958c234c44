// mul: a * b elementwise (Hadamard), broadcasting: the gates of LSTM and GRU.
// Gradient: grad_out * b to a, grad_out * a to b (each summed to its shape).
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Mul final : kernels::BinaryOp<Mul> {
  std::string_view name() const override { return "mul"; }
  static float apply(float a, float b) { return a * b; }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Value &x = a.inputs[0], &y = a.inputs[1];
    return {sum_to(a.grad * y, x.shape()), sum_to(a.grad * x, y.shape())};
  }
};
}  // namespace

const Op& mul_op() {
  static const Mul op;
  return op;
}
Value mul(const Value& a, const Value& b) { return a.graph().apply(mul_op(), {a, b}); }
Value operator*(const Value& a, const Value& b) { return mul(a, b); }
Value operator*(float a, const Value& b) { return mul(b.graph().scalar(a), b); }
Value operator*(const Value& a, float b) { return mul(a, a.graph().scalar(b)); }
}  // namespace rnngraph
