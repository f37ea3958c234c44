// add: a + b, broadcasting. Gradient: grad_out to each side, summed over the axes that side was
// broadcast along (a bias row [1, H] gets the column sums).
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Add final : kernels::BinaryOp<Add> {
  std::string_view name() const override { return "add"; }
  static float apply(float a, float b) { return a + b; }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    return {sum_to(a.grad, a.inputs[0].shape()), sum_to(a.grad, a.inputs[1].shape())};
  }
};
}  // namespace

const Op& add_op() {
  static const Add op;
  return op;
}
Value add(const Value& a, const Value& b) { return a.graph().apply(add_op(), {a, b}); }
Value operator+(const Value& a, const Value& b) { return add(a, b); }
Value operator+(const Value& a, float b) { return add(a, a.graph().scalar(b)); }
}  // namespace rnngraph
