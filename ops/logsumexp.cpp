// logsumexp: log Σ exp(x) along one axis (kept with size 1), with the maximum subtracted first so
// large logits never overflow: the normaliser of softmax cross-entropy.
// Gradient: grad_out * softmax(x) = grad_out * exp(x - y).
#include <algorithm>
#include <cmath>
#include <limits>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct LogSumExp final : Op {
  std::string_view name() const override { return "logsumexp"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    return in[0].with(kernels::normalize_axis(attrs.get("axis", -1), in[0].rank()), 1);
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& s = in[0].shape();
    const int axis = kernels::normalize_axis(attrs.get("axis", -1), s.rank());
    const int64_t count = s[axis], inner = s.stride(axis), outer = s.numel() / (count * inner);
    const float* x = in[0].data();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const float* p = x + o * count * inner + i;
        float top = -std::numeric_limits<float>::infinity();
        for (int64_t k = 0; k < count; ++k) top = std::max(top, p[k * inner]);
        double total = 0;
        for (int64_t k = 0; k < count; ++k) total += std::exp(double(p[k * inner] - top));
        out.data()[o * inner + i] = std::isinf(top) ? top : top + float(std::log(total));
      }
  }

  std::vector<Value> vjp(const VjpArgs& a) const override {
    return {a.grad * exp(a.inputs[0] - a.output)};
  }

  std::string_view color() const override { return "#e1d5e7"; }
};
}  // namespace

const Op& logsumexp_op() {
  static const LogSumExp op;
  return op;
}

Value logsumexp(const Value& x, int axis) {
  return x.graph().apply(logsumexp_op(), {x},
                         {{"axis", kernels::stored_axis(axis, x.shape().rank())}});
}
}  // namespace rnngraph
