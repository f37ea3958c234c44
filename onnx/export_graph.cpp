// Any graph as ONNX ops, node by node, at its fixed shapes: what a hand-built graph (or one with
// its backward part) exports as. One entry per op of ours; the fused ops that passes make have
// no entry, since an exported graph is one before passes.
#include <functional>
#include <map>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/onnx/onnx.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>

#include "proto_builder.h"

namespace rnngraph::onnx {

namespace {

using ::onnx::TensorProto;

// One of our nodes: its ONNX inputs (names) and shapes, and the name its result must have.
struct Emit {
  GraphBuilder& b;
  int opset;
  const Node& node;
  std::vector<std::string> in;
  std::vector<Shape> shapes;
  std::string out;

  int64_t axis(int64_t fallback) const {
    return kernels::normalize_axis(node.attrs.get("axis", fallback), shapes[0].rank());
  }
  void as(std::string_view op_type, std::initializer_list<Attribute> attrs = {}) const {
    b.node(op_type, in, {out}, attrs);
  }
  std::string shape_tensor(const Shape& s) const { return b.int64s("shape", s.dims()); }
  // sum and mean: over every element to [1], or over one axis, kept. ReduceSum's axes became an
  // input in opset 13, the other reductions' in opset 18.
  void reduce(std::string_view op_type) const {
    const bool axes_as_input = op_type == "ReduceSum" ? opset >= 13 : opset >= 18;
    const bool all = !node.attrs.ints.contains("axis");
    std::string x = in[0];
    if (all) x = b.apply("Reshape", {x, shape_tensor(Shape{shapes[0].numel()})}, "flat");
    const std::vector<int64_t> axes{all ? 0 : axis(0)};
    if (axes_as_input)
      b.node(op_type, {x, b.int64s("axes", axes)}, {out}, {{"keepdims", int64_t(1)}});
    else
      b.node(op_type, {x}, {out}, {{"axes", axes}, {"keepdims", int64_t(1)}});
  }
};

using Emitter = std::function<void(const Emit&)>;

// One emitter per op, keyed by the op's handle (ops/ops.h), not its name.
const std::map<const Op*, Emitter>& emitters() {
  static const std::map<const Op*, Emitter> table{
      {&add_op(), [](const Emit& e) { e.as("Add"); }},
      {&sub_op(), [](const Emit& e) { e.as("Sub"); }},
      {&mul_op(), [](const Emit& e) { e.as("Mul"); }},
      {&div_op(), [](const Emit& e) { e.as("Div"); }},
      {&tanh_op(), [](const Emit& e) { e.as("Tanh"); }},
      {&sigmoid_op(), [](const Emit& e) { e.as("Sigmoid"); }},
      {&exp_op(), [](const Emit& e) { e.as("Exp"); }},
      {&log_op(), [](const Emit& e) { e.as("Log"); }},
      {&matmul_op(),
       [](const Emit& e) {
         e.as("Gemm", {{"transA", e.node.attrs.get("transpose_a", 0)},
                       {"transB", e.node.attrs.get("transpose_b", 0)}});
       }},
      {&concat_op(),
       [](const Emit& e) {
         e.as("Concat", {{"axis", e.axis(0)}});
       }},
      {&stack_op(),
       [](const Emit& e) {
         std::vector<std::string> rows;
         const int64_t zero[] = {0};
         const std::string axes = e.b.int64s("axes", zero);
         for (const std::string& part : e.in)
           rows.push_back(e.b.apply("Unsqueeze", {part, axes}, "row"));
         e.b.node("Concat", rows, {e.out}, {{"axis", int64_t(0)}});
       }},
      {&slice_op(),
       [](const Emit& e) {
         const int64_t begin[] = {e.node.attrs.get("begin", 0)},
                       end[] = {e.node.attrs.get("end", 0)}, axes[] = {e.axis(0)};
         e.b.node("Slice",
                  {e.in[0], e.b.int64s("begin", begin), e.b.int64s("end", end),
                   e.b.int64s("axes", axes)},
                  {e.out});
       }},
      {&select_op(),  // x[index] drops the first axis, as Gather with a scalar index does; a
                      // rank-1 x gives [1] (our tensors have rank 1 at least), a 1-D index
       [](const Emit& e) {
         const int64_t index = e.node.attrs.get("index", 0);
         const std::string at = e.shapes[0].rank() == 1
                                    ? e.b.int64s("index", std::vector<int64_t>{index})
                                    : e.b.int64_scalar("index", index);
         e.b.node("Gather", {e.in[0], at}, {e.out}, {{"axis", int64_t(0)}});
       }},
      {&pad_op(),
       [](const Emit& e) {
         const int rank = e.shapes[0].rank();
         const int64_t ax = e.axis(0), begin = e.node.attrs.get("begin", 0);
         std::vector<int64_t> pads(std::size_t(2 * rank), 0);
         pads[std::size_t(ax)] = begin;
         pads[std::size_t(rank + ax)] = e.node.attrs.get("size", 0) - begin - e.shapes[0][int(ax)];
         e.b.node("Pad", {e.in[0], e.b.int64s("pads", pads)}, {e.out});
       }},
      {&reshape_op(),
       [](const Emit& e) {
         e.b.node("Reshape", {e.in[0], e.shape_tensor(e.node.shape)}, {e.out});
       }},
      {&broadcast_to_op(),
       [](const Emit& e) {
         e.b.node("Expand", {e.in[0], e.shape_tensor(e.node.shape)}, {e.out});
       }},
      {&sum_to_op(),  // summed over the axes broadcasting would repeat, then given the target's
                      // shape
       [](const Emit& e) {
         const Shape &from = e.shapes[0], &to = e.node.shape;
         std::vector<int64_t> axes;
         for (int i = 0; i < from.rank(); ++i) {
           const int j = i - (from.rank() - to.rank());
           if (j < 0 || (to[j] == 1 && from[i] != 1)) axes.push_back(i);
         }
         // No axes means every axis to ReduceSum: a sum_to that sums nothing is a reshape.
         const std::string summed =
             axes.empty() ? e.in[0]
                          : e.b.apply("ReduceSum", {e.in[0], e.b.int64s("axes", axes)}, "summed",
                                      {{"keepdims", int64_t(1)}});
         e.b.node("Reshape", {summed, e.shape_tensor(to)}, {e.out});
       }},
      {&sum_op(), [](const Emit& e) { e.reduce("ReduceSum"); }},
      {&mean_op(), [](const Emit& e) { e.reduce("ReduceMean"); }},
      {&logsumexp_op(),
       [](const Emit& e) {
         e.as("ReduceLogSumExp",
              {{"axes", std::vector<int64_t>{e.axis(-1)}}, {"keepdims", int64_t(1)}});
       }},
      {&softmax_op(),
       [](const Emit& e) {
         e.as("Softmax", {{"axis", e.axis(-1)}});
       }},
      {&layer_norm_op(),  // spelt out (LayerNormalization needs opset 17): (x - μ) / sqrt(σ² + ε)
       [](const Emit& e) {
         const std::vector<int64_t> last{e.shapes[0].rank() - 1};
         auto row_mean = [&](const std::string& v, std::string_view hint) {
           if (e.opset >= 18)
             return e.b.apply("ReduceMean", {v, e.b.int64s("axes", last)}, hint,
                              {{"keepdims", int64_t(1)}});
           return e.b.apply("ReduceMean", {v}, hint, {{"axes", last}, {"keepdims", int64_t(1)}});
         };
         const std::string centred =
             e.b.apply("Sub", {e.in[0], row_mean(e.in[0], "row_mean")}, "centred");
         const std::string variance =
             row_mean(e.b.apply("Mul", {centred, centred}, "squares"), "variance");
         const Tensor eps({1}, {float(e.node.attrs.get_float("epsilon", 1e-5))});
         const std::string deviation = e.b.apply(
             "Sqrt", {e.b.apply("Add", {variance, e.b.tensor("epsilon", eps)}, "shifted")},
             "deviation");
         e.b.node("Div", {centred, deviation}, {e.out});
       }},
      {&one_hot_op(),  // our class ids are whole floats; ONNX's are integers
       [](const Emit& e) {
         const std::string ids =
             e.b.apply("Cast", {e.in[0]}, "ids", {{"to", int64_t(TensorProto::INT64)}});
         e.b.one_hot(ids, e.node.attrs.get("depth", 0), e.out);
       }},
      {&gather_op(),  // x [N, C] at ids [N, 1]: each row's entry at its class id
       [](const Emit& e) {
         const std::string ids =
             e.b.apply("Cast", {e.in[1]}, "ids", {{"to", int64_t(TensorProto::INT64)}});
         e.b.node("GatherElements", {e.in[0], ids}, {e.out}, {{"axis", int64_t(1)}});
       }},
  };
  return table;
}

}  // namespace

void emit_nodes(GraphBuilder& b, int opset, const Graph& g, const std::vector<char>& needed,
                std::vector<std::string>& value) {
  for (const Node& n : g.nodes()) {
    if (!needed[std::size_t(n.id)] || !value[std::size_t(n.id)].empty()) continue;
    switch (n.kind) {
      case NodeKind::Input:
        throw GraphError(fmt::format("ONNX export: input '{}' has no ONNX value", n.name));
      case NodeKind::Parameter:
      case NodeKind::Constant:
        value[std::size_t(n.id)] = b.tensor(n.name, n.value);
        break;
      case NodeKind::Op: {
        auto it = emitters().find(n.op);
        std::vector<Shape> shapes;
        std::vector<std::string> in;
        for (int i : n.inputs)
          shapes.push_back(g.node(i).shape), in.push_back(value[std::size_t(i)]);
        if (it == emitters().end()) {
          std::string inputs;
          for (const Shape& s : shapes) inputs += (inputs.empty() ? "" : ", ") + s.str();
          throw GraphError(fmt::format(
              "ONNX export: node '{}' (op {}, inputs {}) has no ONNX form; export the graph "
              "before passes fuse it",
              n.path(), n.op->name(), inputs));
        }
        const std::string out = b.fresh(n.name);
        it->second(Emit{b, opset, n, in, shapes, out});
        value[std::size_t(n.id)] = out;
        break;
      }
    }
  }
}

std::string export_graph(const Graph& g, const ExportOptions& options) {
  if (g.outputs().empty()) throw GraphError("ONNX export: the graph declares no outputs");
  ::onnx::ModelProto model = new_model(options.opset, "rnngraph_graph");
  GraphBuilder b(*model.mutable_graph());
  // Our node names are unique, so they name the ONNX values. Input and output names are
  // claimed first, so no helper value takes them; an output that is an input is the input.
  const std::vector<char> needed = [&] {
    std::vector<int> ids;
    for (const auto& [name, id] : g.outputs()) ids.push_back(id);
    return g.ancestors(ids);
  }();
  for (const Node& n : g.nodes())
    if (needed[std::size_t(n.id)] && n.kind == NodeKind::Input) b.claim(n.name);
  for (const auto& [name, id] : g.outputs()) {
    if (g.contains(name) && g.find(name).kind == NodeKind::Input && g.find(name).id != id)
      throw GraphError(
          fmt::format("ONNX export: output '{}' has the name of an input; ONNX "
                      "values have one name each",
                      name));
    b.claim(name);
  }
  std::vector<std::string> value(g.size());
  for (const Node& n : g.nodes())
    if (needed[std::size_t(n.id)] && n.kind == NodeKind::Input) {
      value[std::size_t(n.id)] = n.name;
      b.input(n.name, TensorProto::FLOAT, n.shape.dims());
    }
  emit_nodes(b, options.opset, g, needed, value);
  for (const auto& [name, id] : g.outputs()) {
    if (value[std::size_t(id)] != name) b.node("Identity", {value[std::size_t(id)]}, {name});
    b.output(name, TensorProto::FLOAT, g.node(id).shape.dims());
  }
  return serialize(model);
}

}  // namespace rnngraph::onnx
