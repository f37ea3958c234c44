#include <rnngraph/models/model.h>

#include <cmath>
#include <optional>
#include <variant>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/models/gru.h>
#include <rnngraph/models/lstm.h>
#include <rnngraph/models/rnn.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::models {

std::string_view to_string(Cell cell) {
  switch (cell) {
    case Cell::Rnn:
      return "rnn";
    case Cell::Lstm:
      return "lstm";
    case Cell::Gru:
      return "gru";
  }
  return "?";
}

Cell cell_from_string(std::string_view name) {
  for (Cell c : {Cell::Rnn, Cell::Lstm, Cell::Gru})
    if (to_string(c) == name) return c;
  throw GraphError(fmt::format("unknown cell '{}' (expected rnn, lstm or gru)", name));
}

std::vector<ParameterSpec> layer_parameters(Cell cell, int64_t layer, int64_t in, int64_t H) {
  const std::string l = fmt::format("_l{}", layer);
  const Shape on_hx{H + in, H}, bias{1, H};
  switch (cell) {
    case Cell::Rnn:
      return {{"W" + l, on_hx}, {"b" + l, bias}};
    case Cell::Lstm:
      return {{"W_f" + l, on_hx}, {"W_i" + l, on_hx}, {"W_o" + l, on_hx}, {"W_c" + l, on_hx},
              {"b_f" + l, bias},  {"b_i" + l, bias},  {"b_o" + l, bias},  {"b_c" + l, bias}};
    case Cell::Gru:
      return {{"W_r" + l, on_hx},    {"W_z" + l, on_hx}, {"b_r" + l, bias},    {"b_z" + l, bias},
              {"W_in" + l, {in, H}}, {"b_in" + l, bias}, {"W_hn" + l, {H, H}}, {"b_hn" + l, bias}};
  }
  return {};
}

namespace {

using LayerWeights = std::variant<RnnWeights, LstmWeights, GruWeights>;

// Creates one layer's parameters, then wires them into the cell's weight struct (the order of
// layer_parameters()).
LayerWeights make_layer(Graph& g, const Config& c, int64_t layer) {
  const int64_t in = layer == 0 ? c.input_size : c.hidden_size;
  const float k = 1.0f / std::sqrt(float(c.hidden_size));
  std::vector<Value> p;
  uint64_t index = 0;
  for (const ParameterSpec& spec : layer_parameters(c.cell, layer, in, c.hidden_size))
    p.push_back(
        g.parameter(spec.name, spec.shape,
                    init::uniform(-k, k, c.seed * 1000003 + uint64_t(layer) * 1000 + index++)));
  switch (c.cell) {
    case Cell::Rnn:
      return RnnWeights{p[0], p[1]};
    case Cell::Lstm:
      return LstmWeights{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]};
    case Cell::Gru:
      return GruWeights{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]};
  }
  throw GraphError("unknown cell");
}

// The recurrent state of one layer: h, and c for the LSTM.
using State = LstmState;

State step(const LayerWeights& weights, const State& s, const Value& x) {
  if (auto* w = std::get_if<RnnWeights>(&weights)) return {rnn_step(s.h, x, w->W, w->b), {}};
  if (auto* w = std::get_if<GruWeights>(&weights)) return {gru_step(s.h, x, *w), {}};
  return lstm_step(s, x, std::get<LstmWeights>(weights));
}

}  // namespace

void build(Graph& g, const Config& c) {
  if (c.input_size < 1 || c.hidden_size < 1 || c.steps < 1 || c.batch < 1 || c.layers < 1)
    throw GraphError(
        fmt::format("{}: input size, hidden size, steps, batch and layers must be at least 1 (got "
                    "{}, {}, {}, {}, {})",
                    to_string(c.cell), c.input_size, c.hidden_size, c.steps, c.batch, c.layers));
  const bool lstm = c.cell == Cell::Lstm;
  const Value x = g.input("x", {c.steps, c.batch, c.input_size});
  const Value h0 = g.input("h0", {c.layers, c.batch, c.hidden_size});
  const Value c0 = lstm ? g.input("c0", {c.layers, c.batch, c.hidden_size}) : Value();

  std::vector<LayerWeights> weights;
  std::vector<State> state;
  for (int64_t k = 0; k < c.layers; ++k) {
    weights.push_back(make_layer(g, c, k));
    state.push_back({h0[k], lstm ? c0[k] : Value()});
  }

  // Step-major: at any time only one step's intermediates are alive, whatever T is.
  std::vector<Value> ys;
  for (int64_t t = 0; t < c.steps; ++t) {
    auto step_scope = g.scope("step", t);
    Value in = x[t];
    for (int64_t k = 0; k < c.layers; ++k) {
      std::optional<Graph::ScopeGuard> layer_scope;
      if (c.layers > 1) layer_scope.emplace(g.scope("layer", k));
      state[k] = step(weights[k], state[k], in);
      in = state[k].h;
    }
    ys.push_back(in);
  }

  g.output("y", stack(ys));
  std::vector<Value> hn, cn;
  for (const State& s : state) {
    hn.push_back(s.h);
    if (lstm) cn.push_back(s.c);
  }
  g.output("h_n", stack(hn));
  if (lstm) g.output("c_n", stack(cn));
}

}  // namespace rnngraph::models
