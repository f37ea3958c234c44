// layer_norm: each row (the last axis) normalised to mean 0 and variance 1,
// y = (x - mean(x)) / sqrt(var(x) + eps), the normalisation of Ba et al. 2016 (the gain and bias
// are ordinary products and sums around it, as in the layer-normalised LSTM).
// Gradient: dx = (dy - mean(dy) - y * mean(dy * y)) / sqrt(var(x) + eps), rows again.
#include <cmath>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
constexpr double kDefaultEpsilon = 1e-5;

struct LayerNorm final : Op {
  std::string_view name() const override { return "layer_norm"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    if (!(attrs.get_float("epsilon", kDefaultEpsilon) > 0))
      throw ShapeError("layer_norm needs a positive epsilon");
    return in[0];
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& s = in[0].shape();
    const int64_t n = s[s.rank() - 1], rows = s.numel() / n;
    const double eps = attrs.get_float("epsilon", kDefaultEpsilon);
    for (int64_t r = 0; r < rows; ++r) {
      const float* x = in[0].data() + r * n;
      float* y = out.data() + r * n;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < n; ++i) mean += x[i];
      mean /= double(n);
      for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
      const double rstd = 1 / std::sqrt(var / double(n) + eps);
      for (int64_t i = 0; i < n; ++i) y[i] = float((x[i] - mean) * rstd);
    }
  }

  // 1 / sqrt(var + eps) recomputed from x with graph ops (exp(-log(v) / 2)), so the gradient is
  // itself differentiable.
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Value& x = a.inputs[0];
    const Value& y = a.output;
    const int last = x.shape().rank() - 1;
    const Value centred = x - mean(x, last);
    const float eps = float(a.attrs.get_float("epsilon", kDefaultEpsilon));
    const Value rstd = exp(log(mean(centred * centred, last) + eps) * -0.5f);
    return {(a.grad - mean(a.grad, last) - y * mean(a.grad * y, last)) * rstd};
  }

  std::string_view color() const override { return "#e1d5e7"; }
};
}  // namespace

const Op& layer_norm_op() {
  static const LayerNorm op;
  return op;
}

Value layer_norm(const Value& x, float epsilon) {
  Attrs attrs;
  attrs.floats["epsilon"] = epsilon;
  return x.graph().apply(layer_norm_op(), {x}, std::move(attrs));
}
}  // namespace rnngraph
