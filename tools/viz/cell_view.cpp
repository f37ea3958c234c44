// The cell view: the inside of one cell (step 0, first layer) drawn from the real graph the way
// colah's LSTM post draws it: each "matmul with a weight (+ bias) → activation" chain becomes one
// yellow layer box labelled with its activation and gate, elementwise ops become pink circles,
// concat becomes a junction, and the states enter on the left and leave on the right.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include <rnngraph/ops/ops.h>

#include "diagram_model.h"
#include "views.h"

namespace rnngraph::viz::detail {

namespace {

// What a weight does, from its mark ("forget gate"); nothing for a weight without a label.
std::string gate_label(const Node& weight) {
  return weight.mark.kind == Mark::Kind::Weight ? weight.mark.label : "";
}

std::string symbol(const Node& n) {
  if (n.is(mul_op())) return "&#215;";  // ×
  if (n.is(add_op())) return "+";
  if (n.is(sub_op())) return "&#8722;";     // −
  if (n.is(sigmoid_op())) return "&#963;";  // σ
  return std::string(n.op->name());
}

}  // namespace

Diagram cell_view(const Graph& g, const Options& options) {
  const Steps steps = find_steps(g);
  const auto readers = consumers(g);
  // The first layer's step 0, left to right: of a marked graph, what its next state is computed
  // from (not the right-to-left direction, nor what the step makes of the state afterwards).
  std::vector<char> computes_state(g.size(), 1);
  if (has_marks(g)) {
    std::vector<int> states;
    for (const Node& n : g.nodes())
      if (n.mark.kind == Mark::Kind::State && steps.of[n.id] == 0 && n.layer <= 0 && !n.reverse)
        states.push_back(n.id);
    computes_state = g.ancestors(states);
  }
  auto in_cell = [&](int id) {
    return steps.of[id] == 0 && g.node(id).layer <= 0 && !g.node(id).reverse && computes_state[id];
  };
  std::map<int, int> recurrence;  // state input → its producer, for this layer only
  for (const auto& [state, producer] : find_recurrence(g, steps))
    if (in_cell(producer)) recurrence[state] = producer;

  // rep[id]: the drawn node that stands for id (a layer box stands for its whole chain); -1 when
  // absorbed into a label (weights, biases, the 1 of 1 - z).
  std::vector<int> rep(g.size(), -2);
  std::map<int, std::string> layer_label;  // tail of a chain → label
  for (const Node& n : g.nodes()) {
    if (!in_cell(n.id) || !n.is(matmul_op()) || g.node(n.inputs[1]).kind != NodeKind::Parameter)
      continue;
    std::vector<int> chain{n.id};
    std::string gate = gate_label(g.node(n.inputs[1])), weights = g.node(n.inputs[1]).name;
    auto sole_reader = [&](int id) { return readers[id].size() == 1 ? readers[id][0] : -1; };
    if (int next = sole_reader(chain.back()); next >= 0 && g.node(next).is(add_op())) {
      const Node& add = g.node(next);
      const int other = add.inputs[0] == chain.back() ? add.inputs[1] : add.inputs[0];
      if (g.node(other).kind == NodeKind::Parameter) {
        chain.push_back(next);
        weights += ", " + g.node(other).name;
        rep[other] = -1;
      }
    }
    std::string activation = "W &#183;";  // W ·, a layer without activation
    if (int next = sole_reader(chain.back());
        next >= 0 && (g.node(next).is(sigmoid_op()) || g.node(next).is(tanh_op()))) {
      chain.push_back(next);
      activation = symbol(g.node(next));
    }
    rep[n.inputs[1]] = -1;
    for (int id : chain) rep[id] = chain.back();
    layer_label[chain.back()] = fmt::format(
        "<font point-size=\"18\">{}</font><br/><font point-size=\"9\">{}{}</font>", activation,
        gate.empty() ? "" : fmt::format("<b>{}</b>: ", escape(gate)), escape(weights));
  }
  // The scalar of `1 - z` joins its op's label.
  std::set<int> one_minus;
  for (const Node& n : g.nodes())
    if (in_cell(n.id) && n.is(sub_op()) && g.node(n.inputs[0]).kind == NodeKind::Constant &&
        g.node(n.inputs[0]).shape.numel() == 1 && g.node(n.inputs[0]).value.values()[0] == 1.0f) {
      rep[n.inputs[0]] = -1;
      one_minus.insert(n.id);
    }

  Diagram d;
  d.rankdir = "LR";
  d.title = options.title;
  std::vector<char> done(g.size(), 0);
  auto draw = [&](const Node& n) {
    if (done[n.id] || rep[n.id] == -1 || (rep[n.id] >= 0 && rep[n.id] != n.id)) return;
    done[n.id] = 1;
    rep[n.id] = n.id;
    DNode dn{node_id(n.id), "", Role::Pointwise};
    if (recurrence.contains(n.id)) {
      dn.role = Role::Input;
      dn.label = fmt::format("<b>{}<sub>t-1</sub></b>", escape(state_name(g, n)));
    } else if (is_input_select(g, n)) {
      dn.role = Role::Input;
      dn.label = fmt::format("<b>{}<sub>t</sub></b>", escape(g.node(n.inputs[0]).name));
    } else if (layer_label.contains(n.id)) {
      dn.role = Role::Layer;
      dn.label = layer_label[n.id];
    } else if (n.is(concat_op())) {
      dn.role = Role::Junction;
    } else if (n.kind == NodeKind::Op) {
      dn.label = fmt::format("<b>{}</b>", one_minus.contains(n.id) ? "1&#8722;" : symbol(n));
    } else {
      dn.role = n.kind == NodeKind::Parameter ? Role::Parameter : Role::Constant;
      dn.label = escape(n.name);
    }
    d.add(std::move(dn));
  };
  for (const Node& n : g.nodes()) {
    if (!in_cell(n.id)) continue;
    if (!is_input_select(g, n))  // x[t] stands for x itself
      for (int in : n.inputs) draw(g.node(in));
    draw(n);
  }

  std::set<std::pair<int, int>> linked;
  for (const Node& n : g.nodes()) {
    if (!in_cell(n.id)) continue;
    if (is_input_select(g, n)) continue;
    for (int in : n.inputs)
      if (rep[in] >= 0 && rep[in] != rep[n.id] && linked.insert({rep[in], rep[n.id]}).second)
        d.connect({node_id(rep[in]), node_id(rep[n.id]), g.node(in).shape.str()});
  }
  // States leave on the right. The line of a state not handed up (the LSTM's c_{t-1} → × → + →
  // c_t) is kept straight.
  for (const auto& [state, producer] : recurrence) {
    const std::string name = state_name(g, g.node(state));
    const std::string out = fmt::format("out{}", producer);
    d.add({out, fmt::format("<b>{}<sub>t</sub></b>", escape(name)), Role::Output});
    d.connect({node_id(rep[producer]), out, g.node(producer).shape.str()});
    if (g.node(state).mark.slot == 0) continue;  // the state handed up leaves by its arrow
    std::vector<char> from_state(g.size(), 0);
    from_state[state] = 1;
    std::set<std::string> line{node_id(state), out};
    for (const Node& n : g.nodes()) {
      for (int in : n.inputs) from_state[n.id] |= from_state[in] && in_cell(n.id);
      if (from_state[n.id] && n.id <= producer && rep[n.id] == n.id) line.insert(node_id(n.id));
    }
    for (DNode& dn : d.nodes)
      if (line.contains(dn.id)) dn.group = "cell_state";
  }
  return d;
}

}  // namespace rnngraph::viz::detail
