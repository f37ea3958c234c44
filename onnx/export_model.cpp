// A model (recipe + weights) as ONNX's RNN / LSTM / GRU operators, one per layer, with dynamic T
// and B; and writing any graph file as ONNX.
#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>
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

std::string export_model(const Config& c, const io::TensorMap& weights,
                         const ExportOptions& options) {
  const models::OnnxLayout& layout = onnx_layout(c.cell);
  ::onnx::ModelProto model =
      new_model(options.opset, fmt::format("rnngraph_{}", to_string(c.cell)));
  GraphBuilder b(*model.mutable_graph());
  // Every weight the recipe makes, present and shaped as it says (GraphError otherwise).
  try {
    models::recipe_weights(c, weights);
  } catch (const FormatError& e) {
    throw GraphError(fmt::format("ONNX export: {}", e.what()));
  }
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
    if (!layout.peepholes.empty()) in.push_back(b.tensor(fmt::format("P_l{}", k), peepholes(c, weights, k)));
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
  return serialize(model);
}

std::string save(const io::GraphFile& file, const std::filesystem::path& path,
                 const ExportOptions& options) {
  std::string bytes;
  if (file.meta.contains("cell")) {
    const models::Model model = models::Model::from_file(file, "the model file");
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
