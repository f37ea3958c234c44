#include <rnngraph/models/cell.h>

#include <algorithm>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/models/gru.h>
#include <rnngraph/models/ln_lstm.h>
#include <rnngraph/models/lstm.h>
#include <rnngraph/models/peephole_lstm.h>
#include <rnngraph/models/rnn.h>

namespace rnngraph::models {

const Value& CellWeights::operator[](std::string_view role) const {
  auto it = by_role_.find(role);
  if (it == by_role_.end()) {
    std::string roles;
    for (const auto& [name, value] : by_role_) roles += (roles.empty() ? "" : ", ") + name;
    throw GraphError(fmt::format("the cell has no parameter '{}' (it has {})", role, roles));
  }
  return it->second;
}

Cell::Cell(std::shared_ptr<const CellDefinition> definition) : definition_(std::move(definition)) {
  if (!definition_) throw GraphError("a cell needs a definition");
}

namespace {

void check_definition(const CellDefinition& d) {
  if (d.name.empty()) throw GraphError("a cell definition needs a name");
  if (!d.state || !d.parameters || !d.step)
    throw GraphError(
        fmt::format("cell '{}': a definition needs its state, parameters and step", d.name));
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, Cell, std::less<>> cells;

  Cell add(CellDefinition definition) {
    check_definition(definition);
    const std::lock_guard lock(mutex);
    if (cells.contains(definition.name))
      throw GraphError(fmt::format("a cell named '{}' is registered already", definition.name));
    const std::string name = definition.name;
    return cells.emplace(name, Cell(std::make_shared<const CellDefinition>(std::move(definition))))
        .first->second;
  }
};

// The built-in cells come in through the same door as a user's.
Registry& registry() {
  static Registry* r = [] {
    auto* made = new Registry;
    for (CellDefinition d :
         {rnn_cell(), lstm_cell(), gru_cell(), peephole_lstm_cell(), ln_lstm_cell()}) {
      d.built_in = true;
      made->add(std::move(d));
    }
    return made;
  }();
  return *r;
}

}  // namespace

const Cell Cell::Rnn = find_cell("rnn");
const Cell Cell::Lstm = find_cell("lstm");
const Cell Cell::Gru = find_cell("gru");

Cell register_cell(CellDefinition definition) { return registry().add(std::move(definition)); }

Cell find_cell(std::string_view name) {
  Registry& r = registry();
  {
    const std::lock_guard lock(r.mutex);
    if (auto it = r.cells.find(name); it != r.cells.end()) return it->second;
  }
  std::string names;
  for (const std::string& n : registered_cells()) names += (names.empty() ? "" : ", ") + n;
  throw GraphError(fmt::format("unknown cell {} (registered: {})", quote(name), names));
}

bool is_registered(std::string_view name) {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  return r.cells.contains(name);
}

std::vector<std::string> registered_cells() {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [name, cell] : r.cells) names.push_back(name);
  return names;
}

namespace {
void check_names(const Cell& cell, std::string_view what, std::set<std::string, std::less<>>& seen,
                 const std::string& name) {
  if (name.empty())
    throw GraphError(fmt::format("cell '{}': a {} without a name", cell.name(), what));
  if (!seen.insert(name).second)
    throw GraphError(
        fmt::format("cell '{}': '{}' names two of its state and parameters", cell.name(), name));
}
}  // namespace

std::vector<StateVariable> cell_state(const Cell& cell, const CellSizes& sizes) {
  if (sizes.projection != 0 && !cell->projects)
    throw GraphError(
        fmt::format("cell '{}' has no projection (proj_size {})", cell.name(), sizes.projection));
  if (sizes.projection < 0 || (sizes.projection > 0 && sizes.projection >= sizes.hidden))
    throw GraphError(
        fmt::format("cell '{}': proj_size {} must be 0 (none) or below the hidden "
                    "size {}, as PyTorch's",
                    cell.name(), sizes.projection, sizes.hidden));
  std::vector<StateVariable> state = cell->state(sizes);
  if (state.empty()) throw GraphError(fmt::format("cell '{}' has no state", cell.name()));
  std::set<std::string, std::less<>> seen{"x"};
  for (const StateVariable& s : state) {
    check_names(cell, "state variable", seen, s.name);
    if (s.size < 1)
      throw GraphError(
          fmt::format("cell '{}': state '{}' has size {}", cell.name(), s.name, s.size));
  }
  return state;
}

std::vector<CellParameter> cell_parameters(const Cell& cell, const CellSizes& sizes) {
  std::vector<CellParameter> parameters = cell->parameters(sizes);
  std::set<std::string, std::less<>> seen{"x"};
  for (const StateVariable& s : cell_state(cell, sizes)) seen.insert(s.name);
  for (const CellParameter& p : parameters) check_names(cell, "parameter", seen, p.role);
  return parameters;
}

CellState cell_step(const Cell& cell, const CellState& previous, const Value& x,
                    const CellWeights& w) {
  CellState next = cell->step(previous, x, w);
  if (next.size() != previous.size())
    throw GraphError(fmt::format("cell '{}': its step returns {} state values for {}", cell.name(),
                                 next.size(), previous.size()));
  for (std::size_t i = 0; i < next.size(); ++i)
    if (!next[i] || next[i].shape() != previous[i].shape())
      throw GraphError(fmt::format("cell '{}': its step returns state {} as {}, it came in as {}",
                                   cell.name(), i, next[i] ? next[i].shape().str() : "nothing",
                                   previous[i].shape().str()));
  return next;
}

std::unique_ptr<Graph> step_graph(const Cell& cell, const CellSizes& sizes, int64_t batch) {
  // Marked as models::build marks a model, so a stored cell keeps its label and role labels.
  auto g = std::make_unique<Graph>();
  const Value x = g->input("x", {batch, sizes.input});
  g->mark(x, {.kind = Mark::Kind::StepInput, .role = "x"});
  const std::vector<StateVariable> state = cell_state(cell, sizes);
  auto state_mark = [&](Mark::Kind kind, std::size_t i) {
    return Mark{.kind = kind, .role = state[i].name, .slot = int(i), .label = cell.label()};
  };
  CellState previous;
  for (std::size_t i = 0; i < state.size(); ++i) {
    previous.push_back(g->input(state[i].name, {batch, state[i].size}));
    g->mark(previous.back(), state_mark(Mark::Kind::InitialState, i));
  }
  CellWeights w;
  for (const CellParameter& p : cell_parameters(cell, sizes)) {
    const Value weight = g->parameter(p.role, p.shape);
    const auto label = cell->roles.find(p.role);
    g->mark(weight, {.kind = Mark::Kind::Weight,
                     .role = p.role,
                     .label = label == cell->roles.end() ? "" : label->second});
    w.add(p.role, weight);
  }
  const CellState next = cell_step(cell, previous, x, w);
  for (std::size_t i = 0; i < state.size(); ++i) {
    g->output(state[i].name, next[i]);
    g->mark(next[i], state_mark(Mark::Kind::State, i));
  }
  return g;
}

namespace {

// The stored step graph for input width `input`.
const Graph& step_for(const std::string& name,
                      const std::vector<std::shared_ptr<const Graph>>& steps, int64_t input) {
  std::string widths;
  for (const auto& g : steps) {
    const int64_t width = g->find("x").shape[1];
    if (width == input) return *g;
    widths += fmt::format("{}{}", widths.empty() ? "" : ", ", width);
  }
  throw GraphError(
      fmt::format("cell '{}' (stored) has steps for input widths {}, not {}", name, widths, input));
}

// A stored step graph's nodes appended to the graph of `x`, on the given state and weights.
CellState replay(const Graph& step, const CellState& previous, const Value& x,
                 const CellWeights& w) {
  Graph& g = x.graph();
  std::vector<Value> mapped(step.size());
  for (const Node& n : step.nodes()) {
    std::vector<Value> inputs;
    for (int id : n.inputs) inputs.push_back(mapped[std::size_t(id)]);
    Value& v = mapped[std::size_t(n.id)];
    switch (n.kind) {
      case NodeKind::Input:
        if (n.name == "x") {
          v = x;
        } else {
          for (std::size_t i = 0; i < step.outputs().size(); ++i)
            if (step.outputs()[i].first == n.name) v = previous[i];
        }
        break;
      case NodeKind::Parameter:
        v = w[n.name];
        break;
      case NodeKind::Constant:
        v = g.constant(g.fresh_name("constant"), n.value);
        break;
      case NodeKind::Op:
        v = g.apply(*n.op, inputs, n.attrs);
        break;
    }
  }
  CellState next;
  for (const auto& [name, id] : step.outputs()) next.push_back(mapped[std::size_t(id)]);
  return next;
}

// GraphError unless `step` is a step graph: input "x" [1, I], one input per output of the same
// name and shape (the state), nothing else fed.
void check_step_graph(const std::string& name, const Graph& step) {
  auto fail = [&](const std::string& why) {
    throw GraphError(fmt::format("cell '{}': a stored step graph {}", name, why));
  };
  if (!step.contains("x") || step.find("x").kind != NodeKind::Input ||
      step.find("x").shape.rank() != 2 || step.find("x").shape[0] != 1)
    fail("has no input x [1, I]");
  if (step.outputs().empty()) fail("has no outputs (the next state)");
  for (const auto& [state, id] : step.outputs()) {
    if (!step.contains(state) || step.find(state).kind != NodeKind::Input)
      fail(fmt::format("has no input for its state '{}'", state));
    if (step.find(state).shape != step.node(id).shape)
      fail(fmt::format("takes state '{}' as {} and returns it as {}", state,
                       step.find(state).shape.str(), step.node(id).shape.str()));
  }
  for (const Node& n : step.nodes())
    if (n.kind == NodeKind::Input && n.name != "x" && step.output_id(n.name) < 0)
      fail(fmt::format("has an input '{}' that is neither x nor its state", n.name));
}

}  // namespace

Cell stored_cell(std::string name, std::vector<std::shared_ptr<const Graph>> steps) {
  if (steps.empty()) throw GraphError(fmt::format("cell '{}': no stored step graph", name));
  for (const auto& step : steps) check_step_graph(name, *step);
  CellDefinition d;
  d.name = name;
  // Its diagram label and role labels, from the step graph's marks (see step_graph).
  for (const Node& n : steps.front()->nodes()) {
    if (n.mark.kind == Mark::Kind::State && d.label.empty()) d.label = n.mark.label;
    if (n.mark.kind == Mark::Kind::Weight && !n.mark.label.empty())
      d.roles.emplace(n.mark.role, n.mark.label);
  }
  d.state = [name, steps](const CellSizes& sizes) {
    const Graph& step = step_for(name, steps, sizes.input);
    std::vector<StateVariable> state;
    for (const auto& [state_name, id] : step.outputs())
      state.push_back({state_name, step.node(id).shape[1]});
    return state;
  };
  d.parameters = [name, steps](const CellSizes& sizes) {
    const Graph& step = step_for(name, steps, sizes.input);
    std::vector<CellParameter> parameters;
    for (int id : step.parameters())
      parameters.push_back({step.node(id).name, step.node(id).shape});
    return parameters;
  };
  d.step = [name, steps](const CellState& previous, const Value& x, const CellWeights& w) {
    return replay(step_for(name, steps, x.shape()[1]), previous, x, w);
  };
  return Cell(std::make_shared<const CellDefinition>(std::move(d)));
}

}  // namespace rnngraph::models
