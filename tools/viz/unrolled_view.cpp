// The unrolled view: one cluster per time step, left to right (sub-clusters per layer), inputs
// x_t on top, outputs below, every parameter drawn once and wired into each step it feeds, every
// edge labelled with the shape it carries. Long sequences fold into "… N steps …".
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "diagram_model.h"
#include "views.h"

namespace rnngraph::viz::detail {

Diagram unrolled_view(const Graph& g, const Options& options) {
  const Steps steps = find_steps(g);
  const auto readers = consumers(g);
  const int shown_max = std::max(2, options.steps_shown);
  const bool folded = steps.count > shown_max;
  const int early = folded ? shown_max - 1 : steps.count;  // steps 0 .. early-1 are drawn
  auto shown = [&](int t) { return t < 0 || t < early || t == steps.count - 1; };
  auto hidden = [&](int id) { return !shown(steps.of[id]); };

  std::map<int, std::string> output_names;
  for (const auto& [name, id] : g.outputs()) output_names[id] = name;

  Diagram d;
  d.title = options.title;
  d.cluster_labels["parameters"] = "parameters (shared by every step)";
  std::vector<char> drawn(g.size(), 0);

  // Ops of drawn steps, and ops outside any step (such as y = stack(h_t)).
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Op && !hidden(n.id)) drawn[n.id] = 1;
  // Inputs, parameters and constants that something drawn reads. A fed input read only through
  // x[t] windows is shown as those windows.
  for (const Node& n : g.nodes()) {
    if (n.kind == NodeKind::Op) continue;
    for (int r : readers[n.id])
      if (drawn[r] && !(n.kind == NodeKind::Input && is_input_select(g, g.node(r))))
        drawn[n.id] = 1;
  }

  const std::string fold_id = "fold";
  if (folded) {
    d.add({fold_id, fmt::format("<b>…  {} steps  …</b>", steps.count - shown_max), Role::Fold});
  }
  std::vector<std::string> top_row;  // h0 windows, x_t of each drawn step, the fold: left to right
  std::set<int> steps_in_row;
  for (const Node& n : g.nodes()) {
    if (!drawn[n.id]) continue;
    DNode dn = plain_node(n);
    if (n.kind == NodeKind::Parameter ||
        (n.kind == NodeKind::Op && steps.of[n.id] < 0 && n.step >= 0 && !n.backward))
      dn.cluster = "parameters";  // with the weights that ops on parameters alone combine
    if (is_input_select(g, n)) {
      dn.role = Role::Input;
      dn.fill.clear();
      dn.label =
          op_label(n, fmt::format("{}[{}]", g.node(n.inputs[0]).name, n.attrs.get("index", 0))) +
          shape_line(n.shape);
    } else if (const auto output = output_names.find(n.id);
               n.kind == NodeKind::Op && output != output_names.end()) {
      dn.role = Role::Output;
      dn.fill.clear();
      dn.label =
          op_label(n, fmt::format("{} = {}", output->second, n.op->name())) + shape_line(n.shape);
    }
    d.add(std::move(dn));
    if (is_input_select(g, n)) {
      // The ordering row takes h0's windows and the first window each step reads.
      const int t = steps.of[n.id];
      if (t < 0 || steps_in_row.insert(t).second) {
        if (folded && t == steps.count - 1) top_row.push_back(fold_id);
        top_row.push_back(node_id(n.id));
      }
    }
  }

  // Edges. Values from hidden steps arrive from the fold node, once per reader.
  std::set<std::pair<std::string, std::string>> from_fold, into_fold;
  for (const Node& n : g.nodes()) {
    if (!drawn[n.id]) continue;
    for (int in : n.inputs) {
      const Node& p = g.node(in);
      const std::string label = p.shape.str();
      const bool recurrent =
          steps.of[in] >= 0 && steps.of[n.id] >= 0 && steps.of[in] != steps.of[n.id];
      if (drawn[in]) {
        d.connect({node_id(in), node_id(n.id), label, recurrent});
      } else if (folded && steps.of[in] >= 0 && hidden(in)) {
        if (from_fold.insert({fold_id, node_id(n.id)}).second)
          d.connect(
              {fold_id, node_id(n.id), steps.of[n.id] >= 0 ? label : "…", steps.of[n.id] >= 0});
      }
    }
    // State leaving the last early step goes into the fold.
    if (folded && steps.of[n.id] == early - 1)
      for (int r : readers[n.id])
        if (hidden(r) && into_fold.insert({node_id(n.id), fold_id}).second)
          d.connect({node_id(n.id), fold_id, n.shape.str(), true});
  }
  // The inputs form one row above the steps (the row pulls them out of their step's box), in
  // step order; a small mincross limit (mclimit) keeps that order, and so the steps', left to
  // right.
  for (std::size_t i = 1; i < top_row.size(); ++i)
    d.connect({top_row[i - 1], top_row[i], "", false, true});
  d.same_rank.push_back(top_row);
  return d;
}

}  // namespace rnngraph::viz::detail
