// one_hot: class ids (whole numbers stored as floats) → rows with a 1 at the id: ids of shape S
// become S + [depth]. How a character model reads tokens. The ids get no gradient.
#include <algorithm>
#include <cmath>
#include <vector>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct OneHot final : Op {
  std::string_view name() const override { return "one_hot"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    const int64_t depth = attrs.get("depth", 0);
    if (depth < 1) throw ShapeError(fmt::format("depth {} is below 1", depth));
    if (in[0].rank() == kMaxRank)
      throw ShapeError(
          fmt::format("one-hot rows for {} would exceed rank {}", in[0].str(), kMaxRank));
    std::vector<int64_t> dims(in[0].dims().begin(), in[0].dims().end());
    dims.push_back(depth);
    return Shape(std::span<const int64_t>(dims));
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const int64_t depth = attrs.get("depth", 0);
    out.fill(0);
    const float* ids = in[0].data();
    for (int64_t n = 0; n < in[0].numel(); ++n) {
      const float id = ids[n];
      if (!(id >= 0 && id < float(depth)) || id != std::floor(id))
        throw ShapeError(
            fmt::format("one_hot: id {} at position {} is not a class in [0, {})", id, n, depth));
      out.data()[n * depth + int64_t(id)] = 1;
    }
  }

  std::vector<Value> vjp(const VjpArgs&) const override { return {Value()}; }

  std::string_view color() const override { return "#dae8fc"; }
};
}  // namespace

const Op& one_hot_op() {
  static const OneHot op;
  return op;
}

Value one_hot(const Value& ids, int64_t depth) {
  return ids.graph().apply(one_hot_op(), {ids}, {{"depth", depth}});
}
}  // namespace rnngraph
