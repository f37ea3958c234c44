// stack: N tensors of one shape → one with a new first axis of size N (every h_t as [T, B, H]).
#include <algorithm>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Stack final : Op {
  std::string_view name() const override { return "stack"; }

  Shape infer(std::span<const Shape> in, const Attrs&) const override {
    if (in.empty()) throw ShapeError("needs at least one input");
    for (const Shape& s : in)
      if (!(s == in[0]))
        throw ShapeError(fmt::format("shapes {} and {} differ", in[0].str(), s.str()));
    if (in[0].rank() == kMaxRank)
      throw ShapeError(fmt::format("stacking {} would exceed rank {}", in[0].str(), kMaxRank));
    std::vector<int64_t> dims{int64_t(in.size())};
    dims.insert(dims.end(), in[0].dims().begin(), in[0].dims().end());
    return Shape(std::span<const int64_t>(dims));
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs&) const override {
    float* dst = out.data();
    for (const Tensor& t : in) dst = std::copy_n(t.data(), t.numel(), dst);
  }

  bool lays_inputs_end_to_end(const Attrs&) const override { return true; }

  // Input i's gradient is the gradient's row i: a view.
  std::vector<Value> vjp(const VjpArgs& a) const override {
    std::vector<Value> grads;
    for (std::size_t i = 0; i < a.inputs.size(); ++i) grads.push_back(select(a.grad, int64_t(i)));
    return grads;
  }

  std::string_view color() const override { return "#dae8fc"; }
};
}  // namespace

const Op& stack_op() {
  static const Stack op;
  return op;
}

Value stack(std::span<const Value> parts) {
  if (parts.empty()) throw GraphError("stack of nothing");
  return parts[0].graph().apply(stack_op(), parts);
}
}  // namespace rnngraph
