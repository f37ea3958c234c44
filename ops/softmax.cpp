// softmax: exp(x) / Σ exp(x) along one axis, the maximum subtracted first (stable): turns
// logits into probabilities. Gradient: y * (grad_out - Σ grad_out * y) along the axis.
#include <algorithm>
#include <cmath>
#include <limits>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Softmax final : Op {
  std::string_view name() const override { return "softmax"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    kernels::normalize_axis(attrs.get("axis", -1), in[0].rank());
    return in[0];
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& s = in[0].shape();
    const int axis = kernels::normalize_axis(attrs.get("axis", -1), s.rank());
    const int64_t count = s[axis], inner = s.stride(axis), outer = s.numel() / (count * inner);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const float* p = in[0].data() + o * count * inner + i;
        float* q = out.data() + o * count * inner + i;
        float top = -std::numeric_limits<float>::infinity();
        for (int64_t k = 0; k < count; ++k) top = std::max(top, p[k * inner]);
        double total = 0;
        for (int64_t k = 0; k < count; ++k) total += q[k * inner] = std::exp(p[k * inner] - top);
        const float scale = float(1.0 / total);
        for (int64_t k = 0; k < count; ++k) q[k * inner] *= scale;
      }
  }

  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Value& y = a.output;
    const int axis = kernels::normalize_axis(a.attrs.get("axis", -1), y.shape().rank());
    return {y * (a.grad - sum(a.grad * y, axis))};
  }

  std::string_view color() const override { return "#e1d5e7"; }
};
}  // namespace

const Op& softmax_op() {
  static const Softmax op;
  return op;
}

Value softmax(const Value& x, int axis) {
  return x.graph().apply(softmax_op(), {x},
                         {{"axis", kernels::stored_axis(axis, x.shape().rank())}});
}
}  // namespace rnngraph
