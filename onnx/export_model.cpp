// A model (recipe + weights) as ONNX's RNN / LSTM / GRU operators, one per layer, with dynamic T
// and B, or, for a cell without an operator, as Scans over its step graph; and writing any graph
// file as ONNX.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>
#include <rnngraph/models/cell.h>
#include <rnngraph/models/model_runner.h>
#include <rnngraph/models/torch_state.h>
#include <rnngraph/onnx/onnx.h>

#include "proto_builder.h"

namespace rnngraph::onnx {

namespace {

using models::Cell;
using models::Config;
using ::onnx::TensorProto;

// Layer k's W [D, G·H, in], R [D, G·H, H] and B [D, 2·G·H] from PyTorch's tensors of that layer,
// with the gates in ONNX's order and B = [input biases | hidden biases].
struct LayerWeights {
  Tensor W, R, B;
};
LayerWeights layer_weights(const Config& c, const io::TensorMap& torch, int64_t k) {
  const int64_t D = models::directions(c), G = models::gate_count(c.cell), H = c.hidden_size;
  const int64_t in = models::layer_input_size(c, k);
  LayerWeights w{Tensor({D, G * H, in}), Tensor({D, G * H, H}), Tensor({D, 2 * G * H})};
  for (int64_t d = 0; d < D; ++d) {
    auto t = [&](std::string_view base) {
      return torch.at(models::torch_name(base, k, d == 1)).data();
    };
    move_gates(true, c.cell, w.W.data() + d * G * H * in, t("weight_ih"), H, in);
    move_gates(true, c.cell, w.R.data() + d * G * H * H, t("weight_hh"), H, H);
    float* B = w.B.data() + d * 2 * G * H;
    move_gates(true, c.cell, B, t("bias_ih"), H, 1);
    move_gates(true, c.cell, B + G * H, t("bias_hh"), H, 1);
  }
  return w;
}

// Layer k's peephole weights P [D, 3H] in ONNX's order (i, o, f), from the roles the layout
// names.
Tensor peepholes(const Config& c, const io::TensorMap& weights, int64_t k) {
  const std::vector<std::string>& roles = c.cell->onnx->peepholes;
  const int64_t D = models::directions(c), H = c.hidden_size, n = int64_t(roles.size());
  Tensor P({D, n * H});
  for (int64_t d = 0; d < D; ++d)
    for (int64_t r = 0; r < n; ++r) {
      const Tensor& p = weights.at(models::torch_name(roles[std::size_t(r)], k, d == 1));
      std::copy_n(p.data(), H, P.data() + (d * n + r) * H);
    }
  return P;
}

// The layer input: x, or the token ids turned into it (one-hot rows, or embedding rows).
std::string model_input(GraphBuilder& b, const Config& c, const io::TensorMap& weights) {
  if (c.tokens == models::TokenInput::None) {
    b.input("x", TensorProto::FLOAT, {"T", "B", c.input_size});
    return "x";
  }
  b.input("tokens", TensorProto::INT64, {"T", "B"});
  if (c.tokens == models::TokenInput::Embedding)
    return b.apply("Gather", {b.tensor("embedding", weights.at("embedding")), "tokens"}, "embedded",
                   {{"axis", int64_t(0)}});
  const std::string hot = b.fresh("one_hot");
  b.one_hot("tokens", c.vocab_size, hot);
  return hot;
}

}  // namespace

// A cell without an ONNX operator (a user's cell, ln_lstm) runs as ONNX Scans, one per layer and
// direction, whose body is the cell's step graph: any T and B, like the operators.
namespace {

// Layer k's direction d over the sequence x_seq [T, B, in] (and the mask [T, B, 1] with
// lengths): the Scan, and its outputs: y_seq [T, B, out] and each state variable's final value
// [B, size], from the initial values `initial` [B, size].
struct ScanLayer {
  std::string y;
  std::vector<std::string> finals;
};
ScanLayer scan_layer(GraphBuilder& b, const Config& c, int opset, int64_t k, bool reverse,
                     const std::string& x_seq, const std::string& mask,
                     const std::vector<std::string>& initial) {
  const int64_t in = models::layer_input_size(c, k);
  const std::unique_ptr<Graph> step = models::step_graph(c.cell, models::cell_sizes(c, k));
  const std::vector<models::StateVariable> state =
      models::cell_state(c.cell, models::cell_sizes(c, k));
  ::onnx::GraphProto body;
  body.set_name(b.fresh(fmt::format("{}_l{}{}_step", c.cell.name(), k, reverse ? "_reverse" : "")));
  GraphBuilder s(body, b);
  std::vector<std::string> value(step->size());
  std::vector<std::string> previous;
  for (const models::StateVariable& v : state) {
    previous.push_back(s.fresh(v.name + "_prev"));
    s.input(previous.back(), TensorProto::FLOAT, {"B", v.size});
    value[std::size_t(step->find(v.name).id)] = previous.back();
  }
  const std::string x_t = s.fresh("x_t");
  s.input(x_t, TensorProto::FLOAT, {"B", in});
  value[std::size_t(step->find("x").id)] = x_t;
  std::string m_t;
  if (!mask.empty()) {
    m_t = s.fresh("m_t");
    s.input(m_t, TensorProto::FLOAT, {"B", int64_t(1)});
  }
  for (int id : step->parameters())  // the weights, from the model graph's initializers
    value[std::size_t(id)] = models::torch_name(step->node(id).name, k, reverse);
  emit_nodes(s, opset, *step, std::vector<char>(step->size(), 1), value);
  // Past a sample's length its state stays and it hands up 0, as models::build does.
  std::vector<std::string> outputs;
  for (std::size_t i = 0; i < state.size(); ++i) {
    std::string next = value[std::size_t(step->outputs()[i].second)];
    if (!m_t.empty())
      next = s.apply(
          "Add",
          {previous[i],
           s.apply("Mul", {m_t, s.apply("Sub", {next, previous[i]}, "change")}, "kept_change")},
          state[i].name + "_masked");
    outputs.push_back(s.fresh(state[i].name + "_next"));
    s.node("Identity", {next}, {outputs.back()});
    s.output(outputs.back(), TensorProto::FLOAT, {"B", state[i].size});
  }
  std::string up = value[std::size_t(step->outputs()[0].second)];
  if (!m_t.empty()) up = s.apply("Mul", {up, m_t}, "handed_up");
  outputs.push_back(s.fresh("y_t"));
  s.node("Identity", {up}, {outputs.back()});
  s.output(outputs.back(), TensorProto::FLOAT, {"B", state[0].size});
  b.adopt(s);

  ScanLayer layer;
  std::vector<std::string> scan_in = initial, scan_out;
  scan_in.push_back(x_seq);
  if (!mask.empty()) scan_in.push_back(mask);
  for (const models::StateVariable& v : state)
    layer.finals.push_back(
        b.fresh(fmt::format("{}_n_l{}{}", v.name, k, reverse ? "_reverse" : "")));
  layer.y = b.fresh(fmt::format("y_l{}{}", k, reverse ? "_reverse" : ""));
  scan_out = layer.finals;
  scan_out.push_back(layer.y);
  const int64_t scans = mask.empty() ? 1 : 2, direction = reverse ? 1 : 0;
  b.node("Scan", scan_in, scan_out,
         {{"num_scan_inputs", scans},
          {"scan_input_directions", std::vector<int64_t>(std::size_t(scans), direction)},
          {"scan_output_directions", std::vector<int64_t>{direction}}});
  ::onnx::AttributeProto& a = *b.last_node().add_attribute();
  a.set_name("body");
  a.set_type(::onnx::AttributeProto::GRAPH);
  *a.mutable_g() = std::move(body);
  return layer;
}

// The mask [T, B, 1] (1 where t < lengths[b]) from the input "lengths" [B] and x's T.
std::string length_mask(GraphBuilder& b, const std::string& x_seq) {
  const int64_t zero[] = {0}, one[] = {1}, two[] = {2};
  const std::string T = b.apply(
      "Gather", {b.apply("Shape", {x_seq}, "x_shape"), b.int64_scalar("time_axis", 0)}, "T");
  const std::string t =
      b.apply("Range", {b.int64_scalar("range_start", 0), T, b.int64_scalar("range_step", 1)}, "t");
  const std::string column = b.apply("Unsqueeze", {t, b.int64s("axes", one)}, "t_column");
  const std::string lengths =
      b.apply("Unsqueeze",
              {b.apply("Cast", {"lengths"}, "lengths_64", {{"to", int64_t(TensorProto::INT64)}}),
               b.int64s("axes", zero)},
              "lengths_row");
  const std::string within = b.apply("Less", {column, lengths}, "within");
  return b.apply("Unsqueeze",
                 {b.apply("Cast", {within}, "within_float", {{"to", int64_t(TensorProto::FLOAT)}}),
                  b.int64s("axes", two)},
                 "mask");
}

// What a server needs beside the graph (metadata_props): the cell, and for a character model
// its vocabulary as a JSON array of one-character strings, id i being element i, so the ids a
// model reads and writes map back to text. A symbol is a byte of the training text: byte b is
// the character U+00bb (so a byte of a UTF-8 sequence stays a valid JSON string).
::onnx::ModelProto& with_metadata(::onnx::ModelProto& model, const Config& c) {
  auto add = [&](const std::string& key, const std::string& value) {
    ::onnx::StringStringEntryProto& entry = *model.add_metadata_props();
    entry.set_key(key);
    entry.set_value(value);
  };
  add("rnngraph.cell", std::string(to_string(c.cell)));
  if (!c.vocabulary.empty()) {
    nlohmann::json symbols = nlohmann::json::array();
    for (char ch : c.vocabulary) {
      const auto byte = static_cast<unsigned char>(ch);
      symbols.push_back(byte < 0x80
                            ? std::string(1, ch)
                            : std::string{char(0xc0 | (byte >> 6)), char(0x80 | (byte & 0x3f))});
    }
    add("vocabulary", symbols.dump());
  }
  return model;
}

std::string export_scan_model(const Config& c, const io::TensorMap& weights,
                              const ExportOptions& options) {
  ::onnx::ModelProto model =
      new_model(options.opset, fmt::format("rnngraph_{}", to_string(c.cell)));
  GraphBuilder b(*model.mutable_graph());
  const int64_t D = models::directions(c), L = c.layers;
  const std::vector<models::StateVariable> state = models::model_state(c);
  std::string x = model_input(b, c, weights);
  for (const models::StateVariable& v : state)
    b.input(v.name + "0", TensorProto::FLOAT, {L * D, "B", v.size});
  if (options.lengths) b.input("lengths", TensorProto::INT32, {"B"});
  b.claim("y");
  for (const models::StateVariable& v : state) b.claim(v.name + "_n");
  // Every recurrent weight as an initializer under its own name, which the bodies read.
  for (const auto& [name, tensor] : weights)
    if (name != "W_out" && name != "b_out" && name != "embedding") {
      if (b.tensor(name, tensor) != name)
        throw GraphError(fmt::format("ONNX export: the weight name '{}' is taken", name));
    }
  const std::string mask = options.lengths ? length_mask(b, x) : std::string();
  std::vector<std::vector<std::string>> finals(state.size());
  for (int64_t k = 0; k < L; ++k) {
    std::vector<std::string> ys;
    for (int64_t d = 0; d < D; ++d) {
      std::vector<std::string> initial;
      for (const models::StateVariable& v : state)
        initial.push_back(b.apply("Gather", {v.name + "0", b.int64_scalar("row", k * D + d)},
                                  fmt::format("{}0_l{}{}", v.name, k, d ? "_reverse" : ""),
                                  {{"axis", int64_t(0)}}));
      const ScanLayer layer = scan_layer(b, c, options.opset, k, d == 1, x, mask, initial);
      for (std::size_t i = 0; i < state.size(); ++i) finals[i].push_back(layer.finals[i]);
      ys.push_back(layer.y);
    }
    const bool top = k + 1 == L;
    const std::string out =
        top && c.output_size == 0 ? std::string("y") : b.fresh(fmt::format("h_l{}", k));
    if (D == 1)
      b.node("Identity", {ys[0]}, {out});
    else
      b.node("Concat", ys, {out}, {{"axis", int64_t(2)}});
    x = out;
  }
  if (c.output_size > 0) {
    const std::string product =
        b.apply("MatMul", {x, b.tensor("W_out", weights.at("W_out"))}, "output_product");
    b.node("Add", {product, b.tensor("b_out", weights.at("b_out"))}, {"y"});
  }
  const int64_t zero[] = {0};
  for (std::size_t i = 0; i < state.size(); ++i) {
    std::vector<std::string> rows;
    for (const std::string& f : finals[i])
      rows.push_back(b.apply("Unsqueeze", {f, b.int64s("axes", zero)}, f + "_row"));
    b.node("Concat", rows, {state[i].name + "_n"}, {{"axis", int64_t(0)}});
  }
  b.output("y", TensorProto::FLOAT,
           {"T", "B", c.output_size > 0 ? c.output_size : D * models::cell_output_size(c)});
  for (const models::StateVariable& v : state)
    b.output(v.name + "_n", TensorProto::FLOAT, {L * D, "B", v.size});
  return serialize(with_metadata(model, c));
}

}  // namespace

std::string export_model(const Config& c, const io::TensorMap& weights,
                         const ExportOptions& options) {
  // Every weight the recipe makes, present and shaped as it says (GraphError otherwise).
  try {
    models::recipe_weights(c, weights);
  } catch (const FormatError& e) {
    throw GraphError(fmt::format("ONNX export: {}", e.what()));
  }
  if (!c.cell->onnx || c.proj_size > 0)  // ONNX's LSTM has no projection
    return export_scan_model(c, weights, options);
  const models::OnnxLayout& layout = onnx_layout(c.cell);
  ::onnx::ModelProto model =
      new_model(options.opset, fmt::format("rnngraph_{}", to_string(c.cell)));
  GraphBuilder b(*model.mutable_graph());
  const io::TensorMap torch = models::torch_gate_state(weights, c);
  const bool lstm = layout.op_type == "LSTM";
  const int64_t D = models::directions(c), H = c.hidden_size, L = c.layers;

  std::string x = model_input(b, c, weights);
  b.input("h0", TensorProto::FLOAT, {L * D, "B", H});
  if (lstm) b.input("c0", TensorProto::FLOAT, {L * D, "B", H});
  if (options.lengths) b.input("lengths", TensorProto::INT32, {"B"});
  for (const char* name : {"y", "h_n", "c_n"}) b.claim(name);

  // Layer k's rows of a state [L·D, B, H].
  auto rows = [&](const std::string& state, int64_t k) {
    if (L == 1) return state;
    const int64_t begin[] = {k * D}, end[] = {(k + 1) * D}, axes[] = {0};
    return b.apply("Slice",
                   {state, b.int64s("begin", begin), b.int64s("end", end), b.int64s("axes", axes)},
                   fmt::format("{}_l{}", state, k));
  };
  const int64_t merged[] = {0, 0, -1};  // [T, B, D, H] → [T, B, D·H]
  const std::string to_merged = b.int64s("merge_directions", merged);
  std::vector<std::string> h_n, c_n;
  for (int64_t k = 0; k < L; ++k) {
    const LayerWeights w = layer_weights(c, torch, k);
    const std::string Y = b.fresh(fmt::format("Y_l{}", k));
    h_n.push_back(L == 1 ? "h_n" : b.fresh(fmt::format("h_n_l{}", k)));
    if (lstm) c_n.push_back(L == 1 ? "c_n" : b.fresh(fmt::format("c_n_l{}", k)));
    std::vector<std::string> in{x,
                                b.tensor(fmt::format("W_l{}", k), w.W),
                                b.tensor(fmt::format("R_l{}", k), w.R),
                                b.tensor(fmt::format("B_l{}", k), w.B),
                                options.lengths ? "lengths" : "",
                                rows("h0", k)};
    std::vector<std::string> out{Y, h_n.back()};
    if (lstm) in.push_back(rows("c0", k)), out.push_back(c_n.back());
    if (!layout.peepholes.empty())
      in.push_back(b.tensor(fmt::format("P_l{}", k), peepholes(c, weights, k)));
    const std::string direction = c.bidirectional ? "bidirectional" : "forward";
    if (layout.linear_before_reset)
      b.node(layout.op_type, in, out,
             {{"hidden_size", H}, {"direction", direction}, {"linear_before_reset", int64_t(1)}});
    else
      b.node(layout.op_type, in, out, {{"hidden_size", H}, {"direction", direction}});
    // ONNX's Y is [T, D, B, H]; ours (and the next layer's input) [T, B, D·H].
    const bool top = k + 1 == L;
    const std::string seq = b.apply("Transpose", {Y}, fmt::format("Y_l{}_seq_first", k),
                                    {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
    x = top && c.output_size == 0 ? std::string("y") : b.fresh(fmt::format("h_l{}", k));
    b.node("Reshape", {seq, to_merged}, {x});
  }
  if (c.output_size > 0) {
    const std::string product =
        b.apply("MatMul", {x, b.tensor("W_out", weights.at("W_out"))}, "output_product");
    b.node("Add", {product, b.tensor("b_out", weights.at("b_out"))}, {"y"});
  }
  if (L > 1) {
    b.node("Concat", h_n, {"h_n"}, {{"axis", int64_t(0)}});
    if (lstm) b.node("Concat", c_n, {"c_n"}, {{"axis", int64_t(0)}});
  }
  b.output("y", TensorProto::FLOAT, {"T", "B", c.output_size > 0 ? c.output_size : D * H});
  b.output("h_n", TensorProto::FLOAT, {L * D, "B", H});
  if (lstm) b.output("c_n", TensorProto::FLOAT, {L * D, "B", H});
  return serialize(with_metadata(model, c));
}

std::string save(const io::GraphFile& file, const std::filesystem::path& path,
                 const ExportOptions& options) {
  std::string bytes;
  if (models::is_model(file)) {
    const models::Model model = models::Model::from_file(file, "the model file");
    if (model.config().precision != models::Precision::Float32)
      throw GraphError(fmt::format(
          "ONNX export: a model quantized to {} is not written (ONNX's RNN, LSTM and GRU operators "
          "run in float32): export the float32 model it was quantized from (rnngraph quantize "
          "--dtype f32), and quantize that in ONNX Runtime (quantize_dynamic)",
          models::to_string(model.config().precision)));
    bytes = export_model(model.config(), model.weights(), options);
  } else {
    if (options.lengths)
      throw GraphError(
          "ONNX export: lengths are for model files (a recipe); this graph was built by hand");
    bytes = export_graph(*file.graph, options);
  }
  check(bytes);
  io::write_atomically(
      path, [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
  return bytes;
}

}  // namespace rnngraph::onnx
