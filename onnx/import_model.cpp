// ONNX models made of RNN / LSTM / GRU operators, one per layer (what torch.onnx.export writes for
// nn.RNN, nn.LSTM and nn.GRU), as a recipe and weights. The ops around the layers (reshaping
// their outputs, slicing the initial state per layer, making zero states) are plumbing that our
// model computes itself; any other op means the model is more than a recurrent stack, and is
// refused rather than imported wrong.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>
#include <rnngraph/models/torch_state.h>
#include <rnngraph/onnx/onnx.h>

#include "proto_builder.h"

namespace rnngraph::onnx {

namespace {

using models::Cell;

// Ops that pass data along unchanged in value (first input → output): how one layer's output
// reaches the next layer's input.
const std::set<std::string, std::less<>> kPassThrough{"Transpose", "Reshape",  "Squeeze",
                                                      "Unsqueeze", "Identity", "Cast"};
// Ops that only make shapes, indices and zero states.
const std::set<std::string, std::less<>> kShapeOps{
    "Constant", "Shape", "Gather", "Concat", "Slice", "ConstantOfShape", "Expand"};

std::string node_label(const ::onnx::NodeProto& n, int index) {
  return fmt::format("node {} {} (op {})", index, quote(n.name()), quote(n.op_type()));
}

struct Layer {
  int index;  // in the graph's node list
  const ::onnx::NodeProto* node;
};

bool all_zero(const Tensor& t) {
  return std::all_of(t.values().begin(), t.values().end(), [](float v) { return v == 0; });
}

class Reader {
 public:
  Reader(const ::onnx::ModelProto& model, std::string_view name) : model_(model), name_(name) {
    const ::onnx::GraphProto& g = model.graph();
    for (const ::onnx::TensorProto& t : g.initializer()) constants_[t.name()] = &t;
    for (int i = 0; i < g.node_size(); ++i) {
      const ::onnx::NodeProto& n = g.node(i);
      for (const std::string& out : n.output()) producer_[out] = i;
      if (n.op_type() == "Constant")
        for (const ::onnx::AttributeProto& a : n.attribute())
          if (a.name() == "value" && a.has_t() && n.output_size() == 1)
            constants_[n.output(0)] = &a.t();
    }
    for (const ::onnx::ValueInfoProto& v : g.input())
      if (!constants_.contains(v.name())) inputs_.insert(v.name());
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(fmt::format("ONNX import of {}: {}", name_, what));
  }

  std::vector<Layer> layers() const {
    const ::onnx::GraphProto& g = model_.graph();
    std::vector<Layer> layers;
    for (int i = 0; i < g.node_size(); ++i) {
      const ::onnx::NodeProto& n = g.node(i);
      if (!n.domain().empty() && n.domain() != "ai.onnx")
        fail(
            fmt::format("{} is in domain {}, not ONNX's own", node_label(n, i), quote(n.domain())));
      if (cell_of(n.op_type()))
        layers.push_back({i, &n});
      else if (!kPassThrough.contains(n.op_type()) && !kShapeOps.contains(n.op_type()))
        fail(
            fmt::format("{} is not part of a stack of RNN, LSTM or GRU layers, which is what "
                        "rnngraph imports",
                        node_label(n, i)));
    }
    if (layers.empty()) fail("the model has no RNN, LSTM or GRU node");
    for (const Layer& l : layers)
      if (l.node->op_type() != layers[0].node->op_type())
        fail(fmt::format("{} follows a {} layer: every layer must be the same cell",
                         node_label(*l.node, l.index), layers[0].node->op_type()));
    return layers;
  }

  // The constant behind input `slot` of a layer; nullptr for an absent optional input.
  const ::onnx::TensorProto* constant(const Layer& l, int slot, bool required) const {
    const std::string name = slot < l.node->input_size() ? l.node->input(slot) : "";
    if (name.empty()) {
      if (required) fail(fmt::format("{} has no input {}", node_label(*l.node, l.index), slot));
      return nullptr;
    }
    auto it = constants_.find(name);
    if (it == constants_.end())
      fail(
          fmt::format("{}: input {} ({}) is computed at run time; rnngraph imports weights "
                      "stored in the model",
                      node_label(*l.node, l.index), slot, quote(name)));
    return it->second;
  }

  // A constant input of a layer that must be zero when constant (initial states, peepholes);
  // computed ones (a zero state built from Shape(x), a slice of h0) are what they say.
  void require_zero_if_constant(const Layer& l, int slot, std::string_view what) const {
    if (slot >= l.node->input_size()) return;
    auto it = constants_.find(l.node->input(slot));
    if (it != constants_.end() &&
        !all_zero(
            read_float_tensor(*it->second, node_label(*l.node, l.index) + " " + std::string(what))))
      fail(
          fmt::format("{}: a stored non-zero {} is not supported (rnngraph's models start from h0 "
                      "and c0 inputs)",
                      node_label(*l.node, l.index), what));
  }

  // The layers' outputs may only be moved (pass-through ops), joined into h_n / c_n (Concat of
  // final states), read for their shape, or read by the next layer: a Slice, Gather or Expand
  // of them (the last step of y, say) is a model that computes more than the stack.
  void check_layer_outputs_only_move() const {
    const ::onnx::GraphProto& g = model_.graph();
    std::set<std::string, std::less<>> derived, final_states;
    for (int i = 0; i < g.node_size(); ++i) {
      const ::onnx::NodeProto& n = g.node(i);
      if (cell_of(n.op_type())) {
        for (int o = 0; o < n.output_size(); ++o) {
          derived.insert(n.output(o));
          if (o > 0) final_states.insert(n.output(o));
        }
        continue;
      }
      bool reads = false, only_final_states = true;
      for (const std::string& in : n.input()) {
        reads |= derived.contains(in);
        only_final_states &= final_states.contains(in);
      }
      if (!reads || n.op_type() == "Shape") continue;
      const bool moves = kPassThrough.contains(n.op_type());
      if (!moves && !(n.op_type() == "Concat" && only_final_states))
        fail(fmt::format("{} computes on a layer's output; rnngraph imports recurrent stacks only",
                         node_label(n, i)));
      for (const std::string& out : n.output()) derived.insert(out);
    }
  }

  // Where a layer's input X comes from: a graph input (-1), or the layer whose output Y reaches
  // it through pass-through ops (its node index); -2 for anything else.
  int source_of_input(const Layer& l) const {
    std::string name = l.node->input_size() ? l.node->input(0) : "";
    for (int hops = 0; hops <= model_.graph().node_size(); ++hops) {
      if (inputs_.contains(name)) return -1;
      auto it = producer_.find(name);
      if (it == producer_.end()) return -2;
      const ::onnx::NodeProto& p = model_.graph().node(it->second);
      if (cell_of(p.op_type())) return p.output_size() && p.output(0) == name ? it->second : -2;
      if (!kPassThrough.contains(p.op_type()) || p.input_size() == 0) return -2;
      name = p.input(0);
    }
    return -2;
  }

 private:
  const ::onnx::ModelProto& model_;
  std::string name_;
  std::map<std::string, const ::onnx::TensorProto*, std::less<>> constants_;
  std::map<std::string, int, std::less<>> producer_;
  std::set<std::string, std::less<>> inputs_;
};

std::string lower(std::string s) {
  for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The attributes rnngraph computes: defaults, or their explicit spelling.
struct LayerAttributes {
  int64_t hidden_size = 0;
  bool bidirectional = false;
};
LayerAttributes read_attributes(const Reader& r, const Layer& l, Cell cell) {
  LayerAttributes a;
  const std::string label = node_label(*l.node, l.index);
  std::vector<std::string> activations;
  bool linear_before_reset = false;
  for (const ::onnx::AttributeProto& attr : l.node->attribute()) {
    const std::string& name = attr.name();
    if (name == "hidden_size")
      a.hidden_size = attr.i();
    else if (name == "direction") {
      if (attr.s() == "bidirectional")
        a.bidirectional = true;
      else if (attr.s() != "forward")
        r.fail(fmt::format("{}: direction {} is not supported (forward or bidirectional)", label,
                           quote(attr.s())));
    } else if (name == "activations")
      for (const std::string& s : attr.strings()) activations.push_back(lower(s));
    else if (name == "linear_before_reset")
      linear_before_reset = attr.i() != 0;
    else if ((name == "input_forget" || name == "layout") && attr.i() == 0)
      continue;
    else
      r.fail(fmt::format("{}: attribute {} is not supported", label, quote(name)));
  }
  const std::vector<std::string> defaults =
      cell == Cell::Rnn    ? std::vector<std::string>{"tanh"}
      : cell == Cell::Lstm ? std::vector<std::string>{"sigmoid", "tanh", "tanh"}
                           : std::vector<std::string>{"sigmoid", "tanh"};
  if (!activations.empty()) {
    std::vector<std::string> expected;
    for (int d = 0; d < (a.bidirectional ? 2 : 1); ++d)
      expected.insert(expected.end(), defaults.begin(), defaults.end());
    if (activations != expected)
      r.fail(fmt::format("{}: activations other than {} are not supported", label,
                         fmt::join(defaults, ", ")));
  }
  if (cell == Cell::Gru && !linear_before_reset)
    r.fail(
        fmt::format("{}: a GRU without linear_before_reset = 1 computes another function "
                    "than PyTorch's GRU (and rnngraph's)",
                    label));
  return a;
}

}  // namespace

Imported import_bytes(const std::string& model_bytes, std::string_view name) {
  ::onnx::ModelProto model;
  if (!model.ParseFromString(model_bytes))
    throw FormatError(fmt::format("ONNX import of {}: the file is not an ONNX model", name));
  const Reader reader(model, name);
  const std::vector<Layer> layers = reader.layers();

  Imported out;
  models::Config& c = out.config;
  c.cell = *cell_of(layers[0].node->op_type());
  reader.check_layer_outputs_only_move();
  c.layers = int64_t(layers.size());
  const int64_t G = models::gate_count(c.cell);
  io::TensorMap torch;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const Layer& l = layers[k];
    const std::string label = node_label(*l.node, l.index);
    const LayerAttributes a = read_attributes(reader, l, c.cell);
    const Tensor W = read_float_tensor(*reader.constant(l, 1, true), label + " W");
    const Tensor R = read_float_tensor(*reader.constant(l, 2, true), label + " R");
    const ::onnx::TensorProto* B = reader.constant(l, 3, false);
    reader.require_zero_if_constant(l, 5, "initial_h");
    reader.require_zero_if_constant(l, 6, "initial_c");
    if (const ::onnx::TensorProto* P = reader.constant(l, 7, false))
      if (!all_zero(read_float_tensor(*P, label + " P")))
        reader.fail(fmt::format("{}: peephole weights are not supported", label));
    // Sizes come from the stored tensors (whose data bounds them), never from attributes alone.
    if (W.shape().rank() != 3 || R.shape().rank() != 3)
      reader.fail(
          fmt::format("{}: W {} and R {} must be [directions, gates*hidden, inputs] and "
                      "[directions, gates*hidden, hidden]",
                      label, W.shape().str(), R.shape().str()));
    if (k == 0) {
      c.hidden_size = R.shape()[2];
      c.bidirectional = a.bidirectional;
      c.input_size = W.shape()[2];
    }
    const int64_t D = models::directions(c), H = c.hidden_size,
                  in = models::layer_input_size(c, int64_t(k));
    if (a.bidirectional != c.bidirectional || (a.hidden_size && a.hidden_size != R.shape()[2]) ||
        R.shape()[2] != H)
      reader.fail(
          fmt::format("{}: every layer must have the same hidden size and direction "
                      "(hidden_size {}, R {})",
                      label, a.hidden_size, R.shape().str()));
    const Shape w_shape{D, G * H, in}, r_shape{D, G * H, H}, b_shape{D, 2 * G * H};
    if (W.shape() != w_shape || R.shape() != r_shape)
      reader.fail(fmt::format(
          "{}: W {} and R {} do not make a layer of hidden size {} on {} "
          "inputs (expected {} and {})",
          label, W.shape().str(), R.shape().str(), H, in, w_shape.str(), r_shape.str()));
    const Tensor Bt = B ? read_float_tensor(*B, label + " B") : Tensor(b_shape);
    if (Bt.shape() != b_shape)
      reader.fail(fmt::format("{}: B is {}, expected {}", label, Bt.shape().str(), b_shape.str()));
    const int source = reader.source_of_input(l);
    const int expected = k == 0 ? -1 : layers[k - 1].index;
    if (source != expected)
      reader.fail(fmt::format("{} reads {} rather than {}", label,
                              source == -1   ? "a graph input"
                              : source == -2 ? "a computed value"
                                             : "another layer",
                              k == 0 ? "a graph input" : "the layer before it"));
    for (int64_t d = 0; d < D; ++d) {
      auto tensor = [&](std::string_view base, Shape shape) {
        return torch.emplace(models::torch_name(base, int64_t(k), d == 1), Tensor(shape))
            .first->second.data();
      };
      move_gates(false, c.cell, W.data() + d * G * H * in, tensor("weight_ih", {G * H, in}), H, in);
      move_gates(false, c.cell, R.data() + d * G * H * H, tensor("weight_hh", {G * H, H}), H, H);
      float* b = Bt.data() + d * 2 * G * H;
      move_gates(false, c.cell, b, tensor("bias_ih", {G * H}), H, 1);
      move_gates(false, c.cell, b + G * H, tensor("bias_hh", {G * H}), H, 1);
    }
  }
  out.weights = models::from_torch_state(c, torch);
  return out;
}

Imported import_model(const std::filesystem::path& path) {
  // Protobuf reads at most 2 GiB. (io::read_file refuses what is not a regular file and checks
  // the size against the memory limit.)
  std::error_code error;
  if (std::filesystem::is_regular_file(path, error) &&
      std::filesystem::file_size(path, error) > (std::uintmax_t(2) << 30))
    throw FormatError(fmt::format("ONNX import: {} is over 2 GiB, the most protobuf reads",
                                  quote(path.string())));
  return import_bytes(io::read_file(path), path.string());
}

}  // namespace rnngraph::onnx
