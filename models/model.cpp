#include <rnngraph/models/model.h>

#include <rnngraph/framework/memory.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <random>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::models {

const std::string& to_string(const Cell& cell) { return cell.name(); }

Cell cell_from_string(std::string_view name) { return find_cell(name); }

CellSizes cell_sizes(const Config& c, int64_t layer) {
  return {layer_input_size(c, layer), c.hidden_size, c.proj_size};
}

std::vector<ParameterSpec> layer_parameters(const Config& c, int64_t layer, bool reverse) {
  const std::string suffix = fmt::format("_l{}{}", layer, reverse ? "_reverse" : "");
  std::vector<ParameterSpec> specs;
  for (CellParameter& p : cell_parameters(c.cell, cell_sizes(c, layer)))
    specs.push_back({p.role + suffix, p.shape, p.init});
  return specs;
}

int64_t cell_output_size(const Config& c) { return model_state(c)[0].size; }

int64_t layer_input_size(const Config& c, int64_t layer) {
  return layer == 0 ? c.input_size : directions(c) * cell_output_size(c);
}

std::vector<StateVariable> model_state(const Config& c) {
  return cell_state(c.cell, {c.input_size, c.hidden_size, c.proj_size});
}

namespace {

// Creates one layer and direction's parameters (seeded by model, layer and position, as
// PyTorch's U(-1/sqrt(H), 1/sqrt(H)) unless the cell gives an initialiser).
CellWeights make_layer(Graph& g, const Config& c, int64_t layer, bool reverse) {
  const float k = 1.0f / std::sqrt(float(c.hidden_size));
  CellWeights w;
  uint64_t index = reverse ? 500 : 0;
  std::vector<CellParameter> roles = cell_parameters(c.cell, cell_sizes(c, layer));
  const std::vector<ParameterSpec> specs = layer_parameters(c, layer, reverse);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const uint64_t seed = c.seed * 1000003 + uint64_t(layer) * 1000 + index++;
    Init init = specs[i].init.value_or(init::uniform(-k, k, 0));
    init.seed = seed;
    const Value p = g.parameter(specs[i].name, specs[i].shape, init);
    const auto label = c.cell->roles.find(roles[i].role);
    g.mark(p, {.kind = Mark::Kind::Weight,
               .role = roles[i].role,
               .label = label == c.cell->roles.end() ? "" : label->second});
    w.add(roles[i].role, p);
  }
  return w;
}

}  // namespace

// x [T, B, I] from the token ids [T, B]: their one-hot rows, or those rows times the embedding.
Value token_input(Graph& g, const Config& c) {
  const int64_t T = c.steps, B = c.batch, V = c.vocab_size;
  const Value hot = one_hot(g.input("tokens", {T, B}), V);
  if (c.tokens == TokenInput::OneHot) return hot;
  const Value E =
      g.parameter("embedding", {V, c.input_size}, init::normal(0, 1, c.seed * 7919 + 1));
  return reshape(matmul(reshape(hot, {T * B, V}), E), {T, B, c.input_size});
}

// y_t = h_t · W_out + b_out for all steps in one product: [T·B, H] · [H, O].
Value output_layer(Graph& g, const Config& c, const Value& hs) {
  const int64_t T = c.steps, B = c.batch, H = directions(c) * cell_output_size(c),
                O = c.output_size;
  const float k = 1.0f / std::sqrt(float(H));
  const uint64_t seed = c.seed * 1000003 + uint64_t(c.layers) * 1000;
  const Value W = g.parameter("W_out", {H, O}, init::uniform(-k, k, seed));
  const Value b = g.parameter("b_out", {1, O}, init::uniform(-k, k, seed + 1));
  g.mark(W, {.kind = Mark::Kind::OutputLayer, .role = "W_out", .label = "output layer"});
  g.mark(b, {.kind = Mark::Kind::OutputLayer, .role = "b_out", .label = "output layer"});
  return reshape(matmul(reshape(hs, {T * B, H}), W) + b, {T, B, O});
}

Outputs build(Graph& g, const Config& c) {
  if (c.input_size < 1 || c.hidden_size < 1 || c.steps < 1 || c.batch < 1 || c.layers < 1 ||
      c.output_size < 0)
    throw GraphError(fmt::format(
        "{}: input size, hidden size, steps, batch and layers must be at least 1 (got "
        "{}, {}, {}, {}, {}), the output size 0 or more (got {})",
        to_string(c.cell), c.input_size, c.hidden_size, c.steps, c.batch, c.layers, c.output_size));
  if (!(c.dropout >= 0 && c.dropout < 1) || !(c.recurrent_dropout >= 0 && c.recurrent_dropout < 1))
    throw GraphError(fmt::format("dropout probabilities are in [0, 1), got {} and {}", c.dropout,
                                 c.recurrent_dropout));
  if (c.tokens != TokenInput::None && c.vocab_size < 1)
    throw GraphError(fmt::format("a token input needs a vocabulary size, got {}", c.vocab_size));
  if (c.tokens == TokenInput::OneHot && c.input_size != c.vocab_size)
    throw GraphError(
        fmt::format("one-hot tokens: the input size {} must equal the vocabulary "
                    "size {}",
                    c.input_size, c.vocab_size));
  if (!c.vocabulary.empty() && int64_t(c.vocabulary.size()) != c.vocab_size)
    throw GraphError(fmt::format("the vocabulary has {} symbols, the vocabulary size is {}",
                                 c.vocabulary.size(), c.vocab_size));
  const int64_t D = directions(c), L = c.layers, B = c.batch;
  // The graph itself (nodes, names, edges: about 1 KB a node, some 30 nodes per cell step)
  // is checked against the memory limit before it is built: a recipe of 10^9 steps is refused,
  // not built until the machine runs out.
  constexpr double kNodeBytes = 1024, kNodesPerCellStep = 30;
  const double graph_bytes = double(c.steps) * double(L * D) * kNodesPerCellStep * kNodeBytes;
  memory::require(graph_bytes >= 1e18 ? std::size_t(1e18) : std::size_t(graph_bytes), [&] {
    return fmt::format("a {} graph of {} steps, {} layer(s)", to_string(c.cell), c.steps, c.layers);
  });
  const Value x =
      c.tokens == TokenInput::None ? g.input("x", {c.steps, B, c.input_size}) : token_input(g, c);
  // Every state variable s comes in as "<s>0" [L·D, B, size].
  const std::vector<StateVariable> state_vars = model_state(c);
  std::vector<Value> initial;
  auto state_mark = [&](Mark::Kind kind, std::size_t i) {
    return Mark{.kind = kind, .role = state_vars[i].name, .slot = int(i), .label = c.cell.label()};
  };
  for (std::size_t i = 0; i < state_vars.size(); ++i) {
    initial.push_back(g.input(state_vars[i].name + "0", {L * D, B, state_vars[i].size}));
    g.mark(initial.back(), state_mark(Mark::Kind::InitialState, i));
  }

  // Index k·D + d: layer k, direction d (0 left to right, 1 right to left).
  std::vector<CellWeights> weights;
  std::vector<CellState> state;
  for (int64_t k = 0; k < L; ++k)
    for (int64_t d = 0; d < D; ++d) {
      weights.push_back(make_layer(g, c, k, d == 1));
      CellState s;
      for (std::size_t i = 0; i < initial.size(); ++i) {
        s.push_back(initial[i][k * D + d]);
        g.mark(s.back(), state_mark(Mark::Kind::InitialState, i));
      }
      state.push_back(std::move(s));
    }

  const Value mask = c.masked ? g.input("mask", {c.steps, B, 1}) : Value();
  // Dropout, while training: masks on each layer's output but the last's, and on h_{t-1}.
  const int64_t out_size = cell_output_size(c);
  std::vector<Value> layer_dropout, recurrent_dropout;
  if (c.training && c.dropout > 0)
    for (int64_t k = 0; k + 1 < L; ++k)
      layer_dropout.push_back(g.input(fmt::format("dropout_l{}", k), {c.steps, B, D * out_size}));
  if (c.training && c.recurrent_dropout > 0) {
    const Value all = g.input("recurrent_dropout", {L * D, B, out_size});
    for (int64_t at = 0; at < L * D; ++at) recurrent_dropout.push_back(all[at]);
  }
  auto drop_between = [&](int64_t k, int64_t t, const Value& out) {
    return k < int64_t(layer_dropout.size()) ? out * layer_dropout[std::size_t(k)][t] : out;
  };
  // One step of one layer and direction: the new state and what it hands up (its first state
  // value). Masked, past its length a sample keeps its state (s + m·(s' - s)) and hands up 0
  // (m·h').
  auto advance = [&](std::size_t at, const Value& in, int64_t t) {
    CellState read = state[at];
    if (!recurrent_dropout.empty()) read[0] = read[0] * recurrent_dropout[at];
    CellState next = cell_step(c.cell, read, in, weights[at]);
    Value up = next[0];
    if (c.masked) {
      const Value m = mask[t];  // [B, 1]: 1 within the sample's length
      up = next[0] * m;
      for (std::size_t i = 0; i < next.size(); ++i)
        next[i] = state[at][i] + m * (next[i] - state[at][i]);
    }
    for (std::size_t i = 0; i < next.size(); ++i) g.mark(next[i], state_mark(Mark::Kind::State, i));
    state[at] = next;
    return up;
  };
  auto step_input = [&](int64_t t) {
    const Value x_t = x[t];
    g.mark(x_t, {.kind = Mark::Kind::StepInput, .role = "x"});
    return x_t;
  };
  auto layer_scope = [&](int64_t k) {
    std::optional<Graph::ScopeGuard> scope;
    if (c.layers > 1) scope.emplace(g.layer(k));
    return scope;
  };

  std::vector<Value> ys;
  if (D == 1) {
    // Step-major: at any time only one step's intermediates are alive, whatever T is.
    for (int64_t t = 0; t < c.steps; ++t) {
      auto step_scope = g.step(t);
      Value in = step_input(t);
      for (int64_t k = 0; k < c.layers; ++k) {
        auto scope = layer_scope(k);
        in = drop_between(k, t, advance(std::size_t(k), in, t));
      }
      ys.push_back(in);
    }
  } else {
    // Layer-major: a layer's reverse direction needs its whole input first.
    for (int64_t t = 0; t < c.steps; ++t) {
      auto step_scope = g.step(t);
      ys.push_back(step_input(t));
    }
    for (int64_t k = 0; k < c.layers; ++k) {
      std::vector<Value> forward(std::size_t(c.steps)), backward(std::size_t(c.steps));
      for (int64_t t = 0; t < c.steps; ++t) {
        auto step_scope = g.step(t);
        auto scope = layer_scope(k);
        forward[std::size_t(t)] = advance(std::size_t(k * D), ys[std::size_t(t)], t);
      }
      for (int64_t t = c.steps - 1; t >= 0; --t) {
        auto step_scope = g.step(t);
        auto scope = layer_scope(k);
        auto reverse = g.reverse();
        backward[std::size_t(t)] = advance(std::size_t(k * D + 1), ys[std::size_t(t)], t);
      }
      for (int64_t t = 0; t < c.steps; ++t) {
        auto step_scope = g.step(t);
        auto scope = layer_scope(k);
        ys[std::size_t(t)] =
            drop_between(k, t, concat({forward[std::size_t(t)], backward[std::size_t(t)]}, 1));
      }
    }
  }

  Outputs out;
  out.y = stack(ys);
  if (c.output_size > 0) out.y = output_layer(g, c, out.y);
  g.output("y", out.y);
  for (std::size_t i = 0; i < state_vars.size(); ++i) {
    std::vector<Value> finals;
    for (const CellState& s : state) finals.push_back(s[i]);
    out.final.push_back(stack(finals));
    g.output(state_vars[i].name + "_n", out.final.back());
    if (state_vars[i].name == "h") out.h_n = out.final.back();
    if (state_vars[i].name == "c") out.c_n = out.final.back();
  }
  if (!out.h_n) out.h_n = out.final[0];
  return out;
}

std::unique_ptr<Graph> unroll(const Config& config, const io::TensorMap& weights, int64_t steps,
                              int64_t batch, bool masked) {
  Config c = config;
  c.steps = steps;
  c.batch = batch;
  c.masked = masked;
  auto g = std::make_unique<Graph>();
  build(*g, c);
  for (const auto& [name, tensor] : recipe_weights(c, weights)) g->share_parameter(name, tensor);
  return g;
}

namespace {
constexpr std::string_view kStoredStep = "cell_step_input";

// A cell that is not built in travels with its step graphs: one per layer input width.
io::NamedGraphs stored_cell_graphs(const Config& c) {
  io::NamedGraphs graphs;
  if (c.cell->built_in) return graphs;
  for (int64_t k = 0; k < c.layers; ++k) {
    graphs.emplace(fmt::format("{}{}", kStoredStep, layer_input_size(c, k)),
                   step_graph(c.cell, cell_sizes(c, k)));
  }
  return graphs;
}

// The recipe's cell: registered, or stored with the file.
Cell recipe_cell(const std::string& name, const io::NamedGraphs& stored) {
  if (is_registered(name)) return find_cell(name);
  std::vector<std::shared_ptr<const Graph>> steps;
  for (const auto& [key, graph] : stored)
    if (key.starts_with(kStoredStep)) steps.push_back(graph);
  if (steps.empty()) {
    std::string names;
    for (const std::string& n : registered_cells()) names += (names.empty() ? "" : ", ") + n;
    throw FormatError(fmt::format(
        "the model recipe's cell {} is neither registered (registered: {}) nor stored in the file",
        quote(name), names));
  }
  try {
    return stored_cell(name, std::move(steps));
  } catch (const GraphError& e) {
    throw FormatError(e.what());
  }
}
}  // namespace

void save_file(const Graph& g, const Config& config, const std::filesystem::path& path,
               const Recipe& meta, const io::TensorMap& extra) {
  io::TensorMap weights;
  for (int id : g.parameters()) weights.emplace(g.node(id).name, g.node(id).value);
  save_file(weights, config, path, meta, extra);
}

namespace {
// The matrices a model multiplies by: every cell's parameters of rank 2 with more than one row
// (a [1, n] one is a row added or multiplied elementwise), and the output layer's.
std::vector<std::string> product_weights(const Config& c) {
  std::vector<std::string> names;
  for (int64_t k = 0; k < c.layers; ++k)
    for (int64_t d = 0; d < directions(c); ++d)
      for (const ParameterSpec& p : layer_parameters(c, k, d == 1))
        if (p.shape.rank() == 2 && p.shape[0] > 1) names.push_back(p.name);
  if (c.output_size > 0) names.push_back("W_out");
  return names;
}
}  // namespace

void save_file(const io::TensorMap& weights, const Config& config,
               const std::filesystem::path& path, const Recipe& meta, const io::TensorMap& extra) {
  Recipe all = recipe(config);
  for (const auto& [key, value] : meta) all[key] = value;
  io::TensorMap tensors = extra;
  for (const auto& [name, tensor] : weights)
    if (!tensors.emplace(name, tensor).second)
      throw GraphError(fmt::format("'{}' is both a parameter and an extra tensor", name));
  // An int8 or bf16 model's product weights are stored so: a quarter or half the bytes.
  io::Dtypes stored;
  if (config.precision != Precision::Float32)
    for (const std::string& name : product_weights(config))
      stored[name] = config.precision == Precision::Int8 ? "I8" : "BF16";
  io::save_recipe(path, all, tensors, stored_cell_graphs(config), stored);
}

io::GraphFile load_file(const std::filesystem::path& path) {
  io::GraphFile file = io::read_graph_file(path);
  if (file.graph) return file;
  try {
    const Config config = config_from_file(file);
    const io::TensorMap weights = recipe_weights(config, file.extra);
    file.graph = std::make_unique<Graph>();
    build(*file.graph, config);
    for (const auto& [name, tensor] : weights) {
      file.graph->share_parameter(name, tensor);
      file.extra.erase(name);
    }
  } catch (const FormatError& e) {
    throw FormatError(fmt::format("{}: {}", path.string(), e.what()));
  } catch (const Error& e) {  // a recipe whose sizes build() refuses
    throw FormatError(fmt::format("{}: the recipe does not build: {}", path.string(), e.what()));
  }
  return file;
}

io::TensorMap recipe_weights(const Config& c, const io::TensorMap& stored) {
  // The names and shapes from the cell and the recipe, without building a graph.
  std::vector<ParameterSpec> specs;
  for (int64_t k = 0; k < c.layers; ++k)
    for (int64_t d = 0; d < directions(c); ++d)
      for (ParameterSpec& p : layer_parameters(c, k, d == 1)) specs.push_back(std::move(p));
  if (c.tokens == TokenInput::Embedding)
    specs.push_back({"embedding", {c.vocab_size, c.input_size}});
  if (c.output_size > 0) {
    specs.push_back({"W_out", {directions(c) * cell_output_size(c), c.output_size}});
    specs.push_back({"b_out", {1, c.output_size}});
  }
  io::TensorMap weights;
  for (const ParameterSpec& p : specs) {
    auto it = stored.find(p.name);
    if (it == stored.end())
      throw FormatError(fmt::format("the weights have no '{}' {}", p.name, p.shape.str()));
    if (!(it->second.shape() == p.shape))
      throw FormatError(fmt::format("'{}' is {} in the weights, the recipe makes it {}", p.name,
                                    it->second.shape().str(), p.shape.str()));
    weights.emplace(p.name, it->second);
  }
  return weights;
}

Feeds dropout_masks(const Config& c, int64_t steps, int64_t batch, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto fill = [&](Tensor t, float p) {  // keep with 1 - p, scaled so the mean is unchanged
    const uint64_t keep = uint64_t(double(1 - p) * 0x1p53);
    const float scale = 1 / (1 - p);
    for (float& v : t.values()) v = (rng() >> 11) < keep ? scale : 0;
    return t;
  };
  Feeds masks;
  const int64_t D = directions(c), H = cell_output_size(c);
  if (c.dropout > 0)
    for (int64_t k = 0; k + 1 < c.layers; ++k)
      masks.emplace(fmt::format("dropout_l{}", k), fill(Tensor({steps, batch, D * H}), c.dropout));
  if (c.recurrent_dropout > 0)
    masks.emplace("recurrent_dropout", fill(Tensor({c.layers * D, batch, H}), c.recurrent_dropout));
  return masks;
}

void carry_state(const Results& results, Feeds& feeds) {
  for (const auto& [final, from] : results) {
    if (!final.ends_with("_n")) continue;
    const std::string initial = final.substr(0, final.size() - 2) + "0";
    auto it = feeds.find(initial);
    if (it == feeds.end()) continue;
    if (!(from.shape() == it->second.shape()))
      throw ShapeError(fmt::format("carry_state: {} is {} but {} is {}", final, from.shape().str(),
                                   initial, it->second.shape().str()));
    std::copy_n(from.data(), from.numel(), it->second.data());
  }
}

namespace {
std::string_view to_string(TokenInput t) {
  return t == TokenInput::OneHot ? "one_hot" : t == TokenInput::Embedding ? "embedding" : "none";
}

int64_t recipe_int(const Recipe& r, std::string_view key, std::optional<int64_t> fallback) {
  auto it = r.find(key);
  if (it == r.end()) {
    if (fallback) return *fallback;
    throw FormatError(fmt::format("the model recipe has no '{}'", key));
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || v < 0)
    throw FormatError(fmt::format("the model recipe's '{}' is not a whole number: '{}'", key,
                                  it->second.substr(0, 40)));
  return v;
}
}  // namespace

std::string_view to_string(Precision precision) {
  switch (precision) {
    case Precision::Int8:
      return "int8";
    case Precision::Bfloat16:
      return "bf16";
    case Precision::Float32:
      break;
  }
  return "f32";
}

Precision precision_from_string(std::string_view name, std::string_view what) {
  for (Precision p : {Precision::Float32, Precision::Int8, Precision::Bfloat16})
    if (name == to_string(p)) return p;
  throw FormatError(fmt::format("{} {} is not f32, int8 or bf16", what, quote(name, 40)));
}

Recipe recipe(const Config& c) {
  Recipe r{{"cell", to_string(c.cell)},
           {"input_size", std::to_string(c.input_size)},
           {"hidden_size", std::to_string(c.hidden_size)},
           {"steps", std::to_string(c.steps)},
           {"batch", std::to_string(c.batch)},
           {"layers", std::to_string(c.layers)},
           {"seed", std::to_string(c.seed)}};
  if (c.output_size > 0) r["output_size"] = std::to_string(c.output_size);
  if (c.bidirectional) r["bidirectional"] = "true";
  if (c.proj_size > 0) r["proj_size"] = std::to_string(c.proj_size);
  if (c.precision != Precision::Float32) r["precision"] = std::string(to_string(c.precision));
  if (c.dropout > 0) r["dropout"] = fmt::format("{}", c.dropout);
  if (c.recurrent_dropout > 0) r["recurrent_dropout"] = fmt::format("{}", c.recurrent_dropout);
  if (c.tokens != TokenInput::None) {
    r["tokens"] = std::string(to_string(c.tokens));
    r["vocab_size"] = std::to_string(c.vocab_size);
  }
  if (!c.vocabulary.empty()) {  // byte codes: any alphabet survives JSON unchanged
    std::string codes;
    for (unsigned char ch : c.vocabulary)
      codes += fmt::format("{}{}", codes.empty() ? "" : " ", int(ch));
    r["vocabulary"] = codes;
  }
  return r;
}

bool is_model(const io::GraphFile& file) { return file.meta.contains("cell"); }

Config config_from_file(const io::GraphFile& file) {
  return config_from_recipe(file.meta, file.graphs);
}

Config config_from_recipe(const Recipe& r, const io::NamedGraphs& stored) {
  Config c;
  auto cell = r.find("cell");
  if (cell == r.end()) throw FormatError("the model recipe has no 'cell'");
  c.cell = recipe_cell(cell->second, stored);
  c.input_size = recipe_int(r, "input_size", std::nullopt);
  c.hidden_size = recipe_int(r, "hidden_size", std::nullopt);
  c.steps = recipe_int(r, "steps", 1);
  c.batch = recipe_int(r, "batch", 1);
  c.layers = recipe_int(r, "layers", 1);
  if (auto seed = r.find("seed"); seed != r.end()) {  // the full uint64 range
    const std::string& s = seed->second;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), c.seed);
    if (ec != std::errc() || end != s.data() + s.size())
      throw FormatError(
          fmt::format("the model recipe's seed is not a whole number: '{}'", s.substr(0, 40)));
  }
  c.output_size = recipe_int(r, "output_size", 0);
  c.proj_size = recipe_int(r, "proj_size", 0);
  if (auto precision = r.find("precision"); precision != r.end())
    c.precision = precision_from_string(precision->second, "the model recipe's precision");
  if (auto bi = r.find("bidirectional"); bi != r.end()) {
    if (bi->second != "true" && bi->second != "false")
      throw FormatError(fmt::format("the model recipe's bidirectional is not true or false: '{}'",
                                    bi->second.substr(0, 40)));
    c.bidirectional = bi->second == "true";
  }
  for (auto [key, p] :
       {std::pair{"dropout", &c.dropout}, std::pair{"recurrent_dropout", &c.recurrent_dropout}})
    if (auto it = r.find(key); it != r.end()) {
      const std::string& text = it->second;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *p);
      if (ec != std::errc() || end != text.data() + text.size() || !(*p >= 0 && *p < 1))
        throw FormatError(fmt::format("the model recipe's {} is not a probability below 1: '{}'",
                                      key, text.substr(0, 40)));
    }
  c.vocab_size = recipe_int(r, "vocab_size", 0);
  const std::string tokens = r.contains("tokens") ? r.find("tokens")->second : "none";
  if (tokens == "one_hot")
    c.tokens = TokenInput::OneHot;
  else if (tokens == "embedding")
    c.tokens = TokenInput::Embedding;
  else if (tokens != "none")
    throw FormatError(
        fmt::format("the model recipe's tokens '{}' is not none, one_hot or "
                    "embedding",
                    tokens.substr(0, 40)));
  if (auto v = r.find("vocabulary"); v != r.end()) {
    std::string_view rest = v->second;
    while (!rest.empty()) {
      const std::size_t space = rest.find(' ');
      const std::string_view code = rest.substr(0, space);
      int value = -1;
      auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), value);
      if (ec != std::errc() || end != code.data() + code.size() || value < 0 || value > 255)
        throw FormatError("the model recipe's vocabulary holds something other than byte codes");
      c.vocabulary += char(value);
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
  }
  const int64_t kLimit = int64_t(1) << 24;
  for (int64_t v :
       {c.input_size, c.hidden_size, c.steps, c.batch, c.layers, c.output_size, c.vocab_size})
    if (v > kLimit) throw FormatError(fmt::format("the model recipe holds a size of {}", v));
  return c;
}

}  // namespace rnngraph::models
