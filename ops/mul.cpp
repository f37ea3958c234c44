// mul: a * b elementwise (Hadamard), broadcasting: the gates of LSTM and GRU.
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Mul final : kernels::BinaryOp<Mul> {
  std::string_view name() const override { return "mul"; }
  static float apply(float a, float b) { return a * b; }
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
