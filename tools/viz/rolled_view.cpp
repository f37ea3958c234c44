// The rolled view: one step of the network with its recurrent edges, as in the seed's first
// figure (x_t → cell → h_t, with h_t fed back as h_{t-1}).
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "diagram_model.h"
#include "views.h"

namespace rnngraph::viz::detail {

namespace {
// "h (layer 1)" when the model stacks layers; the layer comes from the window's index.
std::string state_title(const Graph& g, const Node& state, std::string_view when, bool layered) {
  std::string title = fmt::format("{}<sub>{}</sub>", state_name(g, state), when);
  if (layered && is_input_select(g, state))
    title += fmt::format(" (layer {})", state.attrs.get("index", 0));
  return title;
}
}  // namespace

Diagram rolled_view(const Graph& g, const Options& options) {
  const Steps steps = find_steps(g);
  const std::map<int, int> recurrence = find_recurrence(g, steps);
  bool layered = false;
  for (const Node& n : g.nodes()) layered |= steps.of[n.id] == 0 && n.layer >= 0;

  Diagram d;
  d.title = options.title;
  std::vector<char> drawn(g.size(), 0);
  for (const Node& n : g.nodes())
    if (steps.of[n.id] == 0) {
      drawn[n.id] = 1;
      if (!is_input_select(g, n))  // x[t] stands for x itself
        for (int in : n.inputs) drawn[in] = 1;
    }
  // The cell's scope "step0" is drawn as "one step t".
  d.cluster_labels["step0"] = "cell, one step t";

  for (const Node& n : g.nodes()) {
    if (!drawn[n.id]) continue;
    DNode dn = plain_node(n);
    if (recurrence.contains(n.id) || is_input_select(g, n)) {
      dn.role = Role::Input;
      dn.fill.clear();
      dn.label = recurrence.contains(n.id)
                     ? fmt::format("<b>{}</b>", state_title(g, n, "t-1", layered))
                     : fmt::format("<b>{}<sub>t</sub></b>", escape(g.node(n.inputs[0]).name));
      dn.label += shape_line(n.shape);
    }
    d.add(std::move(dn));
  }
  for (const Node& n : g.nodes())
    if (drawn[n.id] && steps.of[n.id] == 0 && !is_input_select(g, n))
      for (int in : n.inputs) d.connect({node_id(in), node_id(n.id), g.node(in).shape.str()});
  // The weights in rows, in the order of the ops that read them (W_f W_i W_o W_c above their
  // products, the biases above their adds), so their edges do not cross the cell.
  std::map<std::string, std::vector<std::pair<int, std::string>>> rows;  // reader op → row
  for (const Node& n : g.nodes()) {
    if (!drawn[n.id] || n.kind != NodeKind::Op || steps.of[n.id] != 0) continue;
    for (int in : n.inputs)
      if (g.node(in).kind == NodeKind::Parameter)
        rows[std::string(n.op->name())].emplace_back(n.id, node_id(in));
  }
  for (auto& [op, row] : rows) {
    std::sort(row.begin(), row.end());
    std::vector<std::string> ids;
    for (const auto& [reader, id] : row)
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    for (std::size_t i = 1; i < ids.size(); ++i) d.connect({ids[i - 1], ids[i], "", false, true});
    d.same_rank.push_back(std::move(ids));
  }

  // The backward graph, when the graph carries one: step t's backward nodes in their own box,
  // pointing back in time, fed by what step t+1's backward part hands back (∂h, ∂c and the
  // weights' gradients summed so far) as inputs from "step t+1".
  const Steps with_backward = find_steps(g, /*with_backward=*/true);
  std::set<std::string> from_later;
  for (const Node& n : g.nodes()) {
    if (!n.backward || with_backward.of[n.id] != 0) continue;
    DNode dn = plain_node(n);
    dn.cluster = "step0 backward";
    if (n.kind == NodeKind::Op) dn.role = Role::Gradient, dn.fill.clear();
    for (const auto& [name, id] : g.outputs())
      if (id == n.id) dn.label = op_label(n, name) + shape_line(n.shape);
    d.add(std::move(dn));
    d.gradient_clusters.insert("step0 backward");
    d.cluster_labels["step0 backward"] = "backward of step t";
    for (int in : n.inputs) {
      const Node& p = g.node(in);
      DEdge e{node_id(in), node_id(n.id), p.shape.str()};
      e.gradient = e.reversed = p.backward;
      e.invisible = !p.backward && p.kind == NodeKind::Op;  // forward values read: see tooltips
      if (p.backward && with_backward.of[in] > 0) {
        e.from = fmt::format("later{}", in);
        if (from_later.insert(e.from).second)
          d.add({e.from,
                 fmt::format("<b>from step t+1</b><br/><font point-size=\"8\">{}</font>{}",
                             escape(p.name), shape_line(p.shape)),
                 Role::Gradient});
      } else if (!drawn[in] && !(p.backward && with_backward.of[in] == 0)) {
        drawn[in] = 1;
        DNode dp = plain_node(p);
        if (p.backward) dp.cluster = "step0 backward";  // the 1 of tanh' = 1 - y²
        d.add(std::move(dp));
      }
      d.connect(std::move(e));
    }
  }

  // Each state leaves the step as an output and comes back as the next step's input.
  for (const auto& [state, producer] : recurrence) {
    const Node& s = g.node(state);
    const std::string out = fmt::format("out{}", producer);
    d.add({out, fmt::format("<b>{}</b>", state_title(g, s, "t", layered)), Role::Output});
    d.connect({node_id(producer), out, g.node(producer).shape.str()});
    DEdge back{node_id(producer), node_id(state), "t → t+1", true};
    back.ranked = false;  // it closes the loop: ranked, it would turn the step upside down
    back.xlabel = true;
    d.connect(std::move(back));
  }
  return d;
}

}  // namespace rnngraph::viz::detail
