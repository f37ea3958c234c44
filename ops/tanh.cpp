// tanh: the RNN's activation and the LSTM's candidate layer.
#include <cmath>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Tanh final : kernels::UnaryOp<Tanh> {
  std::string_view name() const override { return "tanh"; }
  static float apply(float x) { return std::tanh(x); }
};
}  // namespace

const Op& tanh_op() {
  static const Tanh op;
  return op;
}
Value tanh(const Value& x) { return x.graph().apply(tanh_op(), {x}); }
}  // namespace rnngraph
