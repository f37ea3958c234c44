#include <rnngraph/models/torch_state.h>

#include <algorithm>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph::models {

namespace {

// The cell's PyTorch layout; GraphError for a cell PyTorch has no module for.
const TorchLayout& torch_layout(const Cell& cell) {
  if (!cell->torch)
    throw GraphError(fmt::format(
        "cell '{}' has no PyTorch layout (nn.RNN, nn.LSTM and nn.GRU hold rnn, lstm and gru)",
        cell.name()));
  return *cell->torch;
}

// The layout, when it holds every parameter of the cell: GraphError naming those PyTorch has no
// place for (a peephole LSTM's p_i, p_f, p_o).
const TorchLayout& complete_torch_layout(const Config& c) {
  const TorchLayout& layout = torch_layout(c.cell);
  std::set<std::string, std::less<>> placed;
  for (const TorchGate& g : layout.gates)
    for (const std::string* role : {&g.W, &g.b, &g.W_x, &g.W_h, &g.b_x, &g.b_h})
      if (!role->empty()) placed.insert(*role);
  if (!layout.projection.empty()) placed.insert(layout.projection);
  std::vector<std::string> missing;
  for (const CellParameter& p : cell_parameters(c.cell, cell_sizes(c, 0)))
    if (!placed.contains(p.role)) missing.push_back(p.role);
  if (!missing.empty())
    throw GraphError(fmt::format("cell '{}': PyTorch's modules have no place for {}", c.cell.name(),
                                 fmt::join(missing, ", ")));
  return layout;
}

// The tensors of one PyTorch layer, viewed as plain arrays: weight_hh is [G·H, h] (h = P with a
// projection, whose weight_hr [P, H] w_hr points at; else h = H and w_hr is null).
struct TorchLayer {
  float *w_ih, *w_hh, *b_ih, *b_hh, *w_hr;
  int64_t in, H, h;
};

// Moves gate `gate`'s block between PyTorch's W (rows gate·H ..., `cols` columns) and rows
// [row0, row0 + cols) of our H-column matrix, transposing: ours[row0 + r][c] = theirs[gate·H +
// c][r].
void move_block(bool to_torch, float* theirs, int64_t cols, int64_t gate, float* ours, int64_t row0,
                int64_t H) {
  for (int64_t r = 0; r < cols; ++r)
    for (int64_t c = 0; c < H; ++c) {
      float& a = ours[(row0 + r) * H + c];
      float& b = theirs[(gate * H + c) * cols + r];
      if (to_torch)
        b = a;
      else
        a = b;
    }
}

// Import: PyTorch's tensors into ours. Export: ours into PyTorch's, the summed bias in bias_ih
// and zeros in bias_hh. Gradient: our gradients into PyTorch's, where b = b_ih + b_hh gives both
// biases the gradient of b.
enum class Mode { Import, Export, Gradient };

// One layer in either direction; `ours(name)` gives our parameter's data.
template <class Ours>
void map_layer(Mode mode, const TorchLayout& layout, const TorchLayer& t, Ours ours) {
  const bool to_torch = mode != Mode::Import;
  const int64_t H = t.H;
  for (std::size_t index = 0; index < layout.gates.size(); ++index) {
    const TorchGate& gate = layout.gates[index];
    const int64_t g = int64_t(index);
    if (gate.apart()) {  // x's and h's products, and their biases, kept as PyTorch keeps them
      move_block(to_torch, t.w_ih, t.in, g, ours(gate.W_x), 0, H);
      move_block(to_torch, t.w_hh, t.h, g, ours(gate.W_h), 0, H);
      float *b_x = ours(gate.b_x), *b_h = ours(gate.b_h);
      for (int64_t c = 0; c < H; ++c) {
        float &a = t.b_ih[g * H + c], &b = t.b_hh[g * H + c];
        if (to_torch)
          a = b_x[c], b = b_h[c];
        else
          b_x[c] = a, b_h[c] = b;
      }
      continue;
    }
    float* W = ours(gate.W);
    move_block(to_torch, t.w_hh, t.h, g, W, 0, H);     // rows 0..h-1: h's part
    move_block(to_torch, t.w_ih, t.in, g, W, t.h, H);  // rows h..h+I-1: x's part
    float* b = ours(gate.b);
    for (int64_t c = 0; c < H; ++c) {
      const int64_t k = g * H + c;
      if (to_torch)
        t.b_ih[k] = b[c], t.b_hh[k] = mode == Mode::Gradient ? b[c] : 0;
      else
        b[c] = t.b_ih[k] + t.b_hh[k];
    }
  }
  if (t.w_hr)  // ours [H, P], PyTorch's weight_hr [P, H]: one transposed block
    move_block(to_torch, t.w_hr, H, 0, ours(layout.projection), 0, t.h);
}

// Every layer's and direction's parameters by name, with their shapes.
std::map<std::string, Shape, std::less<>> recurrent_shapes(const Config& c) {
  std::map<std::string, Shape, std::less<>> shapes;
  for (int64_t k = 0; k < c.layers; ++k)
    for (bool reverse : {false, true})
      if (!reverse || c.bidirectional)
        for (const ParameterSpec& p : layer_parameters(c, k, reverse))
          shapes.emplace(p.name, p.shape);
  return shapes;
}

// Our tensor `name` from `tensors` (weights or gradients), checked against the recipe's shape.
float* recipe_tensor(const io::TensorMap& tensors,
                     const std::map<std::string, Shape, std::less<>>& shapes,
                     const std::string& name, std::string_view kind) {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw GraphError(fmt::format("no {} '{}'", kind, name));
  if (it->second.shape() != shapes.at(name))
    throw GraphError(fmt::format("the {} '{}' is {}, the model's recipe says {}", kind, name,
                                 it->second.shape().str(), shapes.at(name).str()));
  return it->second.data();
}

// Maps every layer and direction. `torch(name, shape, input_size)` gives the data of PyTorch's
// tensor `name` (checked on import, created on export); `ours(name)` ours.
template <class TorchTensor, class Ours>
void map_layers(Mode mode, const Config& c, const TorchLayout& layout, TorchTensor torch,
                Ours ours) {
  const int64_t G = gate_count(c.cell), H = c.hidden_size, P = c.proj_size;
  const int64_t h = P > 0 ? P : H;
  if (P > 0 && layout.projection.empty())
    throw GraphError(fmt::format("cell '{}' has no PyTorch projection", c.cell.name()));
  for (int64_t k = 0; k < c.layers; ++k)
    for (bool reverse : {false, true}) {
      if (reverse && !c.bidirectional) continue;
      const int64_t in = layer_input_size(c, k);
      auto tensor = [&](std::string_view base, Shape shape) {
        return torch(torch_name(base, k, reverse), shape, in);
      };
      const TorchLayer t{tensor("weight_ih", {G * H, in}),
                         tensor("weight_hh", {G * H, h}),
                         tensor("bias_ih", {G * H}),
                         tensor("bias_hh", {G * H}),
                         P > 0 ? tensor("weight_hr", {P, H}) : nullptr,
                         in,
                         H,
                         h};
      map_layer(mode, layout, t,
                [&](std::string_view base) { return ours(torch_name(base, k, reverse)); });
    }
}

}  // namespace

bool is_torch_state(const io::TensorMap& state) { return state.contains("weight_ih_l0"); }

int64_t gate_count(const Cell& cell) { return int64_t(torch_layout(cell).gates.size()); }

std::string torch_name(std::string_view base, int64_t layer, bool reverse) {
  return fmt::format("{}_l{}{}", base, layer, reverse ? "_reverse" : "");
}

io::TensorMap from_torch_state(const Config& c, const io::TensorMap& state) {
  io::TensorMap ours;
  for (const auto& [name, shape] : recurrent_shapes(c)) ours.emplace(name, Tensor(shape));
  std::set<std::string, std::less<>> used;
  map_layers(
      Mode::Import, c, complete_torch_layout(c),
      [&](const std::string& name, const Shape& shape, int64_t in) {
        auto it = state.find(name);
        if (it == state.end())
          throw FormatError(
              fmt::format("PyTorch {} state: '{}' is missing{}", to_string(c.cell), name,
                          name.starts_with("bias") ? " (bias=False is not supported)" : ""));
        if (!(it->second.shape() == shape))
          throw FormatError(fmt::format(
              "PyTorch {} state: '{}' is {}, expected {} (input size {}, hidden size {})",
              to_string(c.cell), name, it->second.shape().str(), shape.str(), in, c.hidden_size));
        used.insert(name);
        return it->second.data();
      },
      [&](const std::string& name) { return ours.at(name).data(); });
  // The modules torch_state_dict writes beside the recurrent ones, where the recipe has them.
  auto module = [&](const std::string& name, const Shape& shape) -> const Tensor* {
    auto it = state.find(name);
    if (it == state.end()) return nullptr;
    if (!(it->second.shape() == shape))
      throw FormatError(fmt::format("PyTorch state: '{}' is {}, expected {}", name,
                                    it->second.shape().str(), shape.str()));
    used.insert(name);
    return &it->second;
  };
  const int64_t D = directions(c) * cell_output_size(c), O = c.output_size;
  if (const Tensor* linear = O > 0 ? module("out.weight", {O, D}) : nullptr) {
    Tensor W({D, O});  // nn.Linear keeps W_outᵀ
    for (int64_t h = 0; h < D; ++h)
      for (int64_t o = 0; o < O; ++o) W.data()[h * O + o] = linear->data()[o * D + h];
    ours.emplace("W_out", W);
  }
  if (const Tensor* bias = O > 0 ? module("out.bias", {O}) : nullptr)
    ours.emplace("b_out", Tensor::from({1, O}, bias->values()));
  if (c.tokens == TokenInput::Embedding)
    if (const Tensor* table = module("embedding.weight", {c.vocab_size, c.input_size}))
      ours.emplace("embedding", table->clone());
  for (const auto& [name, tensor] : state)
    if (!used.contains(name))
      throw FormatError(
          fmt::format("PyTorch {} state: unexpected tensor '{}' for a {}-layer{} model "
                      "(a projection's weight_hr needs proj_size)",
                      to_string(c.cell), name, c.layers, c.bidirectional ? " bidirectional" : ""));
  return ours;
}

void load_torch_state(Graph& g, const Config& c, const io::TensorMap& state) {
  for (const auto& [name, tensor] : from_torch_state(c, state))
    std::copy_n(tensor.data(), tensor.numel(), g.param(name).data());
}

namespace {
io::TensorMap export_gates(const io::TensorMap& weights, const Config& c,
                           const TorchLayout& layout) {
  const auto shapes = recurrent_shapes(c);
  io::TensorMap out;
  map_layers(
      Mode::Export, c, layout,
      [&](const std::string& name, const Shape& shape, int64_t) {
        return out.emplace(name, Tensor(shape)).first->second.data();
      },
      [&](const std::string& name) { return recipe_tensor(weights, shapes, name, "weight"); });
  return out;
}
}  // namespace

io::TensorMap torch_state(const io::TensorMap& weights, const Config& c) {
  return export_gates(weights, c, complete_torch_layout(c));
}

io::TensorMap torch_gate_state(const io::TensorMap& weights, const Config& c) {
  return export_gates(weights, c, torch_layout(c.cell));
}

io::TensorMap torch_state_dict(const io::TensorMap& weights, const Config& c) {
  io::TensorMap state = torch_state(weights, c);
  auto weight = [&](const std::string& name, const Shape& shape) {
    auto it = weights.find(name);
    if (it == weights.end() || it->second.shape() != shape)
      throw GraphError(fmt::format("the model has no weight '{}' {}", name, shape.str()));
    return it->second;
  };
  if (c.output_size > 0) {
    const int64_t H = directions(c) * cell_output_size(c), O = c.output_size;
    const Tensor W = weight("W_out", {H, O});
    Tensor linear({O, H});  // nn.Linear keeps W_outᵀ
    for (int64_t h = 0; h < H; ++h)
      for (int64_t o = 0; o < O; ++o) linear.data()[o * H + h] = W.data()[h * O + o];
    state.emplace("out.weight", linear);
    const Tensor b = weight("b_out", {1, O});
    state.emplace("out.bias", Tensor::from({O}, b.values()));
  }
  if (c.tokens == TokenInput::Embedding)
    state.emplace("embedding.weight", weight("embedding", {c.vocab_size, c.input_size}).clone());
  return state;
}

io::TensorMap torch_state(const Graph& g, const Config& c) {
  io::TensorMap weights;
  for (int id : g.parameters()) weights.emplace(g.node(id).name, g.node(id).value);
  return torch_state(weights, c);
}

io::TensorMap torch_gradients(const Config& c, const io::TensorMap& grads) {
  const auto shapes = recurrent_shapes(c);
  io::TensorMap out;
  map_layers(
      Mode::Gradient, c, complete_torch_layout(c),
      [&](const std::string& name, const Shape& shape, int64_t) {
        return out.emplace(name, Tensor(shape)).first->second.data();
      },
      [&](const std::string& name) { return recipe_tensor(grads, shapes, name, "gradient"); });
  return out;
}

void load_parameters(Graph& g, const io::TensorMap& state) {
  // Everything is checked before anything is copied, so a bad state leaves g as it was.
  std::set<std::string, std::less<>> expected;
  for (int id : g.parameters()) {
    const Node& p = g.node(id);
    expected.insert(p.name);
    auto it = state.find(p.name);
    if (it == state.end())
      throw FormatError(fmt::format("parameter '{}' {} is missing", p.name, p.shape.str()));
    if (!(it->second.shape() == p.shape))
      throw FormatError(fmt::format("parameter '{}' is {} in the file, {} in the graph", p.name,
                                    it->second.shape().str(), p.shape.str()));
  }
  for (const auto& [name, tensor] : state)
    if (!expected.contains(name))
      throw FormatError(fmt::format("'{}' is not a parameter of the graph", name));
  for (int id : g.parameters()) {
    const Node& p = g.node(id);
    std::copy_n(state.find(p.name)->second.data(), p.shape.numel(), p.value.data());
  }
}

io::TensorMap parameters(const Graph& g) {
  io::TensorMap out;
  for (int id : g.parameters()) out.emplace(g.node(id).name, g.node(id).value.clone());
  return out;
}

void load_weights(Graph& g, const Config& config, const io::TensorMap& state) {
  if (is_torch_state(state))
    load_torch_state(g, config, state);
  else
    load_parameters(g, state);
}

io::TensorMap torch_named_gradients(const Config& config, const io::TensorMap& grads) {
  io::TensorMap torch = torch_gradients(config, grads);
  std::set<std::string, std::less<>> recurrent;
  for (int64_t k = 0; k < config.layers; ++k)
    for (bool reverse : {false, true})
      if (!reverse || config.bidirectional)
        for (const auto& p : layer_parameters(config, k, reverse)) recurrent.insert(p.name);
  for (const auto& [name, t] : grads)  // what PyTorch's RNN modules do not hold keeps its name
    if (!recurrent.contains(name)) torch.emplace(name, t);
  return torch;
}

}  // namespace rnngraph::models
