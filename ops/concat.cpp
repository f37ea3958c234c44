// concat: joins tensors along one axis; the RNN cell's concat([h_{t-1}, x_t], axis 1).
#include <algorithm>
#include <map>
#include <vector>

#include <rnngraph/framework/op.h>
#include <rnngraph/framework/threads.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {
namespace {
struct Concat final : Op {
  std::string_view name() const override { return "concat"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    if (in.empty()) throw ShapeError("needs at least one input");
    const int axis = kernels::normalize_axis(attrs.get("axis", 0), in[0].rank());
    int64_t total = 0;
    for (const Shape& s : in) {
      if (s.rank() != in[0].rank() || !(s.with(axis, 1) == in[0].with(axis, 1)))
        throw ShapeError(
            fmt::format("shapes {} and {} differ off axis {}", in[0].str(), s.str(), axis));
      total += s[axis];
    }
    return in[0].with(axis, total);
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Shape& so = out.shape();
    const int axis = kernels::normalize_axis(attrs.get("axis", 0), so.rank());
    const int64_t outer = so.numel() / (so[axis] * so.stride(axis));
    const int64_t out_row = so[axis] * so.stride(axis);
    // A large concat (the passes' merged weights, made once, not per step) split by outer rows over
    // the threads: alone on one thread it held the others waiting.
    const int threads =
        so.numel() < (int64_t(1) << 20) ? 1 : int(std::min<int64_t>(compute_threads(), outer));
    parallel_for(threads, [&](int part) {
      const auto [first, last] = split(outer, threads, part);
      int64_t at = 0;  // where this input's block starts inside each output row
      for (const Tensor& t : in) {
        const int64_t row = t.shape()[axis] * t.shape().stride(axis);
        for (int64_t o = first; o < last; ++o)
          std::copy_n(t.data() + o * row, row, out.data() + o * out_row + at);
        at += row;
      }
    });
  }

  bool lays_inputs_end_to_end(const Attrs& attrs) const override {
    return attrs.get("axis", 0) == 0;
  }

  // Each input gets its own window of the gradient.
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const int axis = kernels::normalize_axis(a.attrs.get("axis", 0), a.inputs[0].shape().rank());
    std::vector<Value> grads;
    int64_t at = 0;
    for (const Value& in : a.inputs) {
      const int64_t size = in.shape()[axis];
      grads.push_back(slice(a.grad, axis, at, at + size));
      at += size;
    }
    return grads;
  }

  std::string_view color() const override { return "#dae8fc"; }
};
}  // namespace

const Op& concat_op() {
  static const Concat op;
  return op;
}

Value rows_from_blocks(Graph& g, const Shape& input, const std::map<int64_t, Value>& blocks) {
  const int64_t row = input.numel() / input[0];
  Value zero_row;
  // Rows no block covers: broadcast from one zero row (an op result, so it is written in place
  // too, and the graph keeps one row of zeros, not a sequence's).
  const auto zeros = [&](int64_t rows) {
    if (!zero_row) zero_row = g.constant(g.fresh_name("zeros"), Tensor(input.with(0, 1)));
    return broadcast_to(zero_row, input.with(0, rows));
  };
  std::vector<Value> parts;
  int64_t at = 0;
  for (const auto& [first, block] : blocks) {
    if (first > at) parts.push_back(zeros(first - at));
    const Shape shape = input.with(0, block.shape().numel() / row);
    parts.push_back(block.shape() == shape ? block : reshape(block, shape));
    at = first + shape[0];
  }
  if (at < input[0]) parts.push_back(zeros(input[0] - at));
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

Value concat(std::span<const Value> parts, int axis) {
  if (parts.empty()) throw GraphError("concat of nothing");
  const int64_t stored = kernels::stored_axis(axis, parts[0].shape().rank());
  return parts[0].graph().apply(concat_op(), parts, {{"axis", stored}});
}
Value concat(std::initializer_list<Value> parts, int axis) {
  return concat(std::span<const Value>(parts.begin(), parts.size()), axis);
}
}  // namespace rnngraph
