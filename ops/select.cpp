// select: x[t] on the first axis ([T, B, I] → [B, I]); always a view, never a copy.
#include <algorithm>
#include <map>

#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Select final : Op {
  std::string_view name() const override { return "select"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 1);
    const int64_t index = attrs.get("index", 0);
    if (index < 0 || index >= in[0][0])
      throw ShapeError(fmt::format("index {} is outside the first axis of {}", index, in[0].str()));
    return in[0].drop_first();
  }

  std::optional<int64_t> view_offset(std::span<const Shape> in, const Attrs& attrs) const override {
    return attrs.get("index", 0) * in[0].stride(0);
  }

  // Only reached if an executor chose not to alias; kept so the op is complete on its own.
  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Tensor row = in[0][attrs.get("index", 0)];
    std::copy_n(row.data(), out.numel(), out.data());
  }

  // grad() gathers the selects of one tensor, x[0] ... x[T-1], into one concat (the hooks below)
  // instead of adding T padded copies; vjp() is the same for one select on its own.
  std::optional<int64_t> rows_of_input(std::span<const Shape>, const Attrs& attrs) const override {
    return attrs.get("index", 0);
  }
  Value assemble_rows(Graph& g, const Shape& input,
                      const std::map<int64_t, Value>& blocks) const override {
    return rows_from_blocks(g, input, blocks);
  }

  // The gradient in row `index` of zeros.
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Shape& in = a.inputs[0].shape();
    std::vector<int64_t> dims{1};
    for (int64_t d : a.grad.shape().dims()) dims.push_back(d);
    if (in.rank() == 1) dims = {1};  // a rank-1 input's row is [1] already
    const Value row = reshape(a.grad, Shape(std::span<const int64_t>(dims)));
    return {pad(row, 0, a.attrs.get("index", 0), in[0])};
  }

  std::string_view color() const override { return "#dae8fc"; }
};
}  // namespace

const Op& select_op() {
  static const Select op;
  return op;
}

Value select(const Value& x, int64_t index) {
  return x.graph().apply(select_op(), {x}, {{"index", index}});
}
Value Value::operator[](int64_t t) const { return select(*this, t); }
}  // namespace rnngraph
