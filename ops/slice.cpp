// slice: the range [begin, end) of one axis (a gate's block of columns). Free when the range is
// contiguous in memory (every axis before it has size 1): the executor aliases it.
#include <algorithm>

#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Slice final : Op {
  std::string_view name() const override { return "slice"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    const int axis = kernels::normalize_axis(attrs.get("axis", 0), in[0].rank());
    const int64_t begin = attrs.get("begin", 0), end = attrs.get("end", 0);
    if (begin < 0 || end > in[0][axis] || begin >= end)
      throw ShapeError(fmt::format("range [{}, {}) is empty or outside axis {} of {}", begin, end,
                                   axis, in[0].str()));
    return in[0].with(axis, end - begin);
  }

  std::optional<int64_t> view_offset(std::span<const Shape> in, const Attrs& attrs) const override {
    const int axis = kernels::normalize_axis(attrs.get("axis", 0), in[0].rank());
    for (int i = 0; i < axis; ++i)
      if (in[0][i] != 1) return std::nullopt;
    return attrs.get("begin", 0) * in[0].stride(axis);
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& si = in[0].shape();
    const int axis = kernels::normalize_axis(attrs.get("axis", 0), in[0].shape().rank());
    const int64_t in_row = si[axis] * si.stride(axis);
    const int64_t out_row = out.shape()[axis] * si.stride(axis);
    const int64_t outer = si.numel() / in_row;
    const float* src = in[0].data() + attrs.get("begin", 0) * si.stride(axis);
    for (int64_t o = 0; o < outer; ++o)
      std::copy_n(src + o * in_row, out_row, out.data() + o * out_row);
  }

  // A slice of the first axis is a block of rows (a chunk of steps, a weight's rows): grad()
  // gathers the blocks of one tensor into one concat (the hooks below) instead of adding padded
  // copies; vjp() is the same for one slice on its own, and for a slice of another axis.
  std::optional<int64_t> rows_of_input(std::span<const Shape> in,
                                       const Attrs& attrs) const override {
    if (kernels::normalize_axis(attrs.get("axis", 0), in[0].rank()) != 0) return std::nullopt;
    return attrs.get("begin", 0);
  }
  Value assemble_rows(Graph& g, const Shape& input,
                      const std::map<int64_t, Value>& blocks) const override {
    return rows_from_blocks(g, input, blocks);
  }

  // The gradient back in its window, zeros elsewhere.
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const int axis = kernels::normalize_axis(a.attrs.get("axis", 0), a.inputs[0].shape().rank());
    return {pad(a.grad, axis, a.attrs.get("begin", 0), a.inputs[0].shape()[axis])};
  }

  std::string_view color() const override { return "#dae8fc"; }
};
}  // namespace

const Op& slice_op() {
  static const Slice op;
  return op;
}

Value slice(const Value& x, int axis, int64_t begin, int64_t end) {
  const int64_t stored = kernels::stored_axis(axis, x.shape().rank());
  return x.graph().apply(slice_op(), {x}, {{"axis", stored}, {"begin", begin}, {"end", end}});
}
}  // namespace rnngraph
