// A recurrent cell as a value: its state, its parameters and its step written with the graph
// API. rnn, lstm and gru are registered through register_cell like any user's cell, and
// models::build unrolls every cell the same way (layers, directions, lengths, token input,
// output layer). A user cell in one file:
//
//   models::CellDefinition minimal_gru() {
//     return {.name = "minimal_gru",
//             .state = [](const CellSizes& s) { return std::vector<StateVariable>{{"h", s.hidden}};
//             }, .parameters = [](const CellSizes& s) { return std::vector<CellParameter>{
//                 {"W_f", {s.hidden + s.input, s.hidden}}, {"b_f", {1, s.hidden}}, ...}; },
//             .step = [](const CellState& prev, const Value& x, const CellWeights& w) {
//                 const Value f = sigmoid(matmul(concat({prev[0], x}, 1), w["W_f"]) + w["b_f"]);
//                 ...; return CellState{h}; }};
//   }
//   models::register_cell(minimal_gru());   // then Config{.cell =
//   models::find_cell("minimal_gru")}
//
// A model file of a cell that is not built in stores the cell's one-step graph (step_graph),
// so the CLI runs, trains and draws it without the C++ that defined it (stored_cell).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rnngraph/framework/graph.h>

namespace rnngraph::models {

// What a cell's state and parameters are a function of: layer k's input width (the features,
// or what the layer below hands up), the hidden size, and the size of a projected output (0:
// none; only for a cell whose definition `projects`, as PyTorch's LSTM with proj_size).
struct CellSizes {
  int64_t input = 0, hidden = 0, projection = 0;
};

// One part of the state carried from step to step, [B, size]. The first one is the cell's output
// (h): what it hands to the layer above and to y. A model's initial and final values of state
// "s" are its inputs "s0" and outputs "s_n" ([L·D, B, size]).
struct StateVariable {
  std::string name;
  int64_t size = 0;
};

// One parameter of one layer and direction, by role ("W_f"); the model names it
// "<role>_l<k>" ("<role>_l<k>_reverse"). Without an initialiser it gets PyTorch's
// U(-1/sqrt(H), 1/sqrt(H)), seeded per model, layer and parameter.
struct CellParameter {
  std::string role;
  Shape shape;
  std::optional<Init> init;
};

// The values of the state, in the order of CellDefinition::state.
using CellState = std::vector<Value>;

// One layer and direction's parameters by role.
class CellWeights {
 public:
  void add(std::string role, Value value) { by_role_.emplace(std::move(role), value); }
  // GraphError naming the role when the cell has no such parameter.
  const Value& operator[](std::string_view role) const;
  bool contains(std::string_view role) const { return by_role_.contains(role); }
  std::vector<std::string> roles() const {  // in order of name
    std::vector<std::string> out;
    for (const auto& [role, value] : by_role_) out.push_back(role);
    return out;
  }

 private:
  std::map<std::string, Value, std::less<>> by_role_;
};

// How the cell's parameters sit in PyTorch's nn.RNN / nn.LSTM / nn.GRU: per layer,
// weight_ih [G·H, I], weight_hh [G·H, H], bias_ih and bias_hh [G·H], G gates stacked in
// PyTorch's order. A gate is either on concat([h, x]) (one (H + I) × H matrix W, whose first H
// rows are h's, and one bias b = b_ih + b_hh), or kept apart (GRU's n: W_x, W_h, b_x, b_h).
struct TorchGate {
  std::string W, b;
  std::string W_x, W_h, b_x, b_h;
  bool apart() const { return W.empty(); }
};
struct TorchLayout {
  std::vector<TorchGate> gates;
  // With a projection: the role of the [H, P] matrix PyTorch keeps transposed as weight_hr.
  std::string projection;
};

// The ONNX operator (RNN, LSTM or GRU) that computes the cell: ONNX's gate k is PyTorch's gate
// order[k]; `peepholes`: the roles of the LSTM's P input (ONNX's order i, o, f), none without.
struct OnnxLayout {
  std::string op_type;
  std::vector<int64_t> order;
  std::vector<std::string> peepholes;
  bool linear_before_reset = false;  // GRU: r multiplies (h · W_hn + b_hn), as PyTorch does
};

struct CellDefinition {
  std::string name;   // what recipes and the CLI call it
  std::string label;  // what diagrams call it ("LSTM", "peephole LSTM"); empty: the name
  std::function<std::vector<StateVariable>(const CellSizes&)> state;
  std::function<std::vector<CellParameter>(const CellSizes&)> parameters;
  // One step: the next state from the previous one and x_t [B, input].
  std::function<CellState(const CellState& previous, const Value& x, const CellWeights& w)> step;
  // Optional: PyTorch and ONNX layouts (import, export, torch names), and what diagrams call a
  // parameter ("W_f" → "forget gate").
  std::optional<TorchLayout> torch;
  std::optional<OnnxLayout> onnx;
  std::map<std::string, std::string, std::less<>> roles;
  // Built in: model files name it and do not store its step graph.
  bool built_in = false;
  // It takes CellSizes::projection (a projected output); other cells refuse one.
  bool projects = false;
};

// A handle on a cell definition: cheap to copy; two handles are equal when they name the same
// cell.
class Cell {
 public:
  explicit Cell(std::shared_ptr<const CellDefinition> definition);
  static const Cell Rnn, Lstm, Gru;

  const CellDefinition& definition() const { return *definition_; }
  const CellDefinition* operator->() const { return definition_.get(); }
  const std::string& name() const { return definition_->name; }
  // What diagrams call it: the definition's label, else its name.
  const std::string& label() const {
    return definition_->label.empty() ? definition_->name : definition_->label;
  }
  bool operator==(const Cell& other) const { return name() == other.name(); }

 private:
  std::shared_ptr<const CellDefinition> definition_;
};

// Adds a cell to the registry (what find_cell, the CLI and recipes look up). GraphError for a
// name already registered, an empty name or a definition without state, parameters or step.
Cell register_cell(CellDefinition definition);
// GraphError naming the registered cells when `name` is not one.
Cell find_cell(std::string_view name);
bool is_registered(std::string_view name);
std::vector<std::string> registered_cells();

// The cell's state and parameters for these sizes, checked: GraphError naming the cell for a
// definition that gives no state, a state or parameter without a name, or two with one name.
std::vector<StateVariable> cell_state(const Cell& cell, const CellSizes& sizes);
std::vector<CellParameter> cell_parameters(const Cell& cell, const CellSizes& sizes);
// One step of the cell, with its result checked against its state (count and shapes):
// GraphError naming the cell otherwise.
CellState cell_step(const Cell& cell, const CellState& previous, const Value& x,
                    const CellWeights& w);

// The cell's one-step graph (its rolled form) for a batch (model files store batch 1): inputs
// "x" [batch, input] and one per state variable by its name, parameters by role, outputs the
// next state by name, in order; marked as models::build marks a model.
std::unique_ptr<Graph> step_graph(const Cell& cell, const CellSizes& sizes, int64_t batch = 1);
// A cell whose step replays stored one-step graphs (one per input width, all for one hidden
// size), as step_graph makes them: what a model file of a user cell carries. GraphError for a
// graph that is not a step graph of one cell.
Cell stored_cell(std::string name, std::vector<std::shared_ptr<const Graph>> steps);

}  // namespace rnngraph::models
