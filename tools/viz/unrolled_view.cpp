// The unrolled view: every op, one cluster per time step (sub-clusters per layer), the steps
// side by side in one row, time running left to right, each layer a row of its own. The view
// gives the diagram a grid of steps and layers and place() (placement.cpp) sets each block,
// laid out alone, in it, so no step can drift. Within a block ops run left to right, so the
// state leaves a step on its right and enters the next on its left. A value that many steps
// share (a weight, a constant, a product of weights) is drawn once in the "parameters" box and
// referenced by a small copy inside each step that reads it, so no edge crosses the steps; an
// op that gathers every step (y = stack of the h_t) is fed by a small stub in each step and by
// the last step itself. Long sequences fold into "… N steps …", a node in a column of its own
// where those steps would be.
//
// With options.grad the graph carries its backward part (see to_dot): each step's backward
// nodes are drawn in a red box below the step they mirror, their edges point back in time, and
// the running sum of a shared weight's gradient is seen passing from step to step.
#include <algorithm>
#include <set>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/passes/passes.h>

#include <rnngraph/ops/ops.h>

#include "diagram_model.h"
#include "views.h"

namespace rnngraph::viz::detail {

Diagram unrolled_view(const Graph& g, const Options& options) {
  const Steps steps = find_steps(g, /*with_backward=*/true);
  const auto readers = consumers(g);
  const std::vector<char> fixed = passes::static_nodes(g);
  const int shown_max = std::max(2, options.steps_shown);
  const bool folded = steps.count > shown_max + 1;         // never "… 1 step …"
  const int early = folded ? shown_max - 1 : steps.count;  // steps 0 .. early-1 are drawn
  auto shown_step = [&](int t) { return t < early || t == steps.count - 1; };

  // Where each node is drawn: its step, or -1 outside the steps. A backward node outside the
  // steps whose step neighbours all lie in one step (the slice of ∂y that step t receives) is
  // drawn in that step.
  std::vector<int> step_of = steps.of;
  std::vector<std::string> scope_of(g.size());
  std::vector<int> layer_of(g.size());
  for (const Node& n : g.nodes()) {
    scope_of[n.id] = n.scope;
    layer_of[n.id] = n.layer;
    // So is a constant that one step alone reads (the GRU's 1 of 1 - z).
    if (step_of[n.id] >= 0 || !(n.backward || n.kind == NodeKind::Constant)) continue;
    std::set<int> near;
    int neighbour = -1;
    auto visit = [&](int m) {
      if (steps.of[m] >= 0) near.insert(steps.of[m]), neighbour = m;
    };
    for (int in : n.inputs) visit(in);
    for (int r : readers[n.id]) visit(r);
    if (near.size() == 1) {
      step_of[n.id] = *near.begin();
      scope_of[n.id] = g.node(neighbour).scope;
      layer_of[n.id] = g.node(neighbour).layer;
    }
  }
  // Values outside the steps that several steps read: drawn once, referenced in each step.
  std::vector<char> shared(g.size(), 0);
  for (const Node& n : g.nodes()) {
    if (step_of[n.id] >= 0) continue;
    std::set<int> reading;
    for (int r : readers[n.id])
      if (step_of[r] >= 0) reading.insert(step_of[r]);
    shared[n.id] = reading.size() > 1;
  }

  // The weights and everything computed from them alone (merged, sliced, packed) in one box.
  auto cluster_of = [&](const Node& n) {
    if (step_of[n.id] < 0) return std::string(fixed[n.id] && !n.backward ? "parameters" : "");
    if (!n.backward) return scope_of[n.id];
    const std::string& scope = scope_of[n.id];  // "step3/layer1" → "step3 backward/layer1"
    const std::size_t cut = scope.find('/');
    return cut == std::string::npos ? scope + " backward"
                                    : scope.substr(0, cut) + " backward" + scope.substr(cut);
  };
  // A fed input read only through its windows x[t] is drawn as those windows.
  auto windows_only = [&](int id) {
    return g.node(id).kind == NodeKind::Input &&
           std::all_of(readers[id].begin(), readers[id].end(),
                       [&](int r) { return is_input_select(g, g.node(r)); });
  };
  auto drawn = [&](int id) {
    return step_of[id] >= 0 ? shown_step(step_of[id]) : !windows_only(id);
  };
  // Ops outside the steps that read several steps (y = stack of the h_t).
  std::vector<char> gathers(g.size(), 0);
  for (const Node& n : g.nodes()) {
    if (step_of[n.id] >= 0) continue;
    std::set<int> read;
    for (int in : n.inputs)
      if (step_of[in] >= 0) read.insert(step_of[in]);
    gathers[n.id] = read.size() > 1;
  }

  // The running sums of the weights' gradients: the adds that lead to an output grad/<name>.
  std::vector<char> running_sum(g.size(), 0);
  for (const auto& [name, id] : g.outputs()) {
    if (!name.starts_with("grad/")) continue;
    for (std::vector<int> todo{id}; !todo.empty();) {
      const int at = todo.back();
      todo.pop_back();
      if (running_sum[at] || !g.node(at).backward) continue;
      running_sum[at] = 1;
      if (g.node(at).is(add_op()))
        todo.insert(todo.end(), g.node(at).inputs.begin(), g.node(at).inputs.end());
    }
  }

  // "<b>concat</b> of b_f_l0 … b_c_l0": an op with the fed inputs and weights it is made of.
  auto made_of = [&](const Node& op) {
    std::vector<std::string> sources;
    std::set<int> seen;
    for (std::vector<int> todo{op.id}; !todo.empty();) {
      const int at = todo.back();
      todo.pop_back();
      if (!seen.insert(at).second) continue;
      const Node& m = g.node(at);
      if (m.kind == NodeKind::Input || m.kind == NodeKind::Parameter) sources.push_back(m.name);
      todo.insert(todo.end(), m.inputs.rbegin(), m.inputs.rend());
    }
    std::sort(sources.begin(), sources.end(), [&](const std::string& a, const std::string& b) {
      return g.find(a).id < g.find(b).id;  // the order they were made in: W_f, W_i, ...
    });
    std::string list = sources.empty()       ? std::string()
                       : sources.size() <= 2 ? fmt::format("{}", fmt::join(sources, ", "))
                                             : sources.front() + " … " + sources.back();
    return fmt::format("<b>{}</b>{}", escape(op.op->name()),
                       list.empty() ? "" : "<br/>of " + escape(list));
  };

  std::map<int, std::string> output_names;
  for (const auto& [name, id] : g.outputs()) output_names[id] = name;

  Diagram d;
  d.rankdir = "LR";  // within a block: the state in on the left, out on the right
  d.ranksep = "0.3";
  d.title = options.title;
  d.cluster_labels["parameters"] = "parameters (shared by every step)";

  // Where each step's blocks (a step, or a layer of it) go in the grid.
  struct BlockAt {
    int step;
    bool backward;
    std::pair<int, bool> row_key;
  };
  std::map<std::string, BlockAt> blocks;
  auto note_block = [&](const std::string& cluster, const Node& n) {
    if (step_of[n.id] < 0) return;
    const std::string block = block_of(cluster);
    blocks.emplace(block, BlockAt{step_of[n.id],
                                  n.backward,
                                  {layer_of[n.id] + 1, block.find('/') != std::string::npos}});
  };

  std::vector<std::string> parameter_row;
  std::vector<std::pair<std::string, int>> windows;  // x[t] and its step
  for (const Node& n : g.nodes()) {
    if (!drawn(n.id)) continue;
    DNode dn = plain_node(n);
    dn.cluster = cluster_of(n);
    if (n.backward && n.kind == NodeKind::Op) {
      dn.role = Role::Gradient;
      dn.fill.clear();
    }
    if (is_input_select(g, n)) {
      // x[t] below its step, outside the box, as x_t below the cell in the block view.
      if (step_of[n.id] >= 0 && !n.backward) {
        dn.cluster.clear();
        windows.emplace_back(dn.id, step_of[n.id]);
      }
      dn.role = Role::Input;
      dn.fill.clear();
      dn.label =
          op_label(n, fmt::format("{}[{}]", g.node(n.inputs[0]).name, n.attrs.get("index", 0))) +
          shape_line(n.shape);
    } else if (const auto output = output_names.find(n.id);
               n.kind == NodeKind::Op && output != output_names.end()) {
      dn.role = n.backward ? Role::Gradient : Role::Output;
      dn.fill.clear();
      dn.label =
          op_label(n, fmt::format("{} = {}", output->second, n.op->name())) + shape_line(n.shape);
    }
    if (dn.cluster == "parameters" && n.kind == NodeKind::Parameter) parameter_row.push_back(dn.id);
    note_block(dn.cluster, n);
    d.add(std::move(dn));
  }
  for (const Node& n : g.nodes())
    if (n.backward && step_of[n.id] >= 0 && drawn(n.id)) {
      const std::string top = cluster_of(n).substr(0, cluster_of(n).find('/'));
      d.cluster_labels[top] = fmt::format("step {}, backward", step_of[n.id]);
      d.gradient_clusters.insert(top);
    }

  const std::string fold_id = "fold";
  if (folded)
    d.add({fold_id, fmt::format("<b>…  {} steps  …</b>", steps.count - shown_max), Role::Fold});

  // Edges. An edge between two backward nodes is declared backwards (dir=back): it points back
  // in time yet ranks like a forward edge, so the steps keep their left-to-right order.
  std::set<std::string> made;
  auto once = [&](const std::string& key) { return made.insert(key).second; };
  auto edge = [&](std::string from, std::string to, std::string label, const Node& tail,
                  const Node& head) {
    DEdge e{std::move(from), std::move(to), std::move(label)};
    e.recurrent =
        step_of[tail.id] >= 0 && step_of[head.id] >= 0 && step_of[tail.id] != step_of[head.id];
    e.gradient = tail.backward && head.backward;
    e.reversed = e.gradient;
    if (e.recurrent)
      e.id = fmt::format("recurrent_{}_{}_{}_{}", step_of[tail.id], step_of[head.id], tail.id,
                         head.id);
    // The forward values the backward graph reads (activations, weights) still order the
    // layout but are not drawn: every backward op reads a few, and their lines would cover the
    // picture. The tooltips name them.
    e.invisible = !tail.backward && head.backward && tail.kind == NodeKind::Op;
    // A weight's gradient summed so far, handed from step t+1 to step t: drawn, not ranked, so
    // the sum's adds stay beside the products they add instead of stretching the steps.
    if (e.recurrent && e.gradient && running_sum[tail.id] && running_sum[head.id])
      e.ranked = false, e.xlabel = true;
    d.connect(std::move(e));
  };
  const int last_step = steps.count - 1;
  for (const Node& n : g.nodes()) {
    if (!drawn(n.id)) continue;
    for (int in : n.inputs) {
      const Node& p = g.node(in);
      const std::string label = p.shape.str();
      if (step_of[in] < 0 && !drawn(in)) continue;  // x behind its windows x[t]
      if (step_of[in] >= 0 && !drawn(in)) {         // from a folded step
        if (once(fold_id + ">" + node_id(n.id))) {
          DEdge e{fold_id, node_id(n.id), step_of[n.id] >= 0 ? label : "…", step_of[n.id] >= 0};
          e.gradient = e.reversed = n.backward;
          d.connect(std::move(e));
        }
      } else if (step_of[in] < 0 && step_of[n.id] >= 0 && shared[in]) {
        // A small copy of the shared value inside the reader's box.
        const std::string ref = fmt::format("ref{}_{}", in, cluster_of(n));
        std::string ref_id;
        for (char c : ref) ref_id += std::isalnum(uint8_t(c)) ? c : '_';
        if (once(ref_id)) {
          DNode r = plain_node(p);
          r.id = ref_id;
          r.cluster = cluster_of(n);
          // A value computed outside the steps is named by what it is made of (the weights
          // merged, x projected), not by a generated name that the diagram shows nowhere else.
          r.label = fmt::format("<font point-size=\"8\">{}</font>",
                                p.kind == NodeKind::Op ? made_of(p) : plain_node(p).label);
          if (p.kind == NodeKind::Op)
            r.role = p.backward ? Role::Gradient : fixed[in] ? Role::Parameter : Role::Op;
          if (r.role != Role::Op) r.fill.clear();
          note_block(r.cluster, n);
          d.add(std::move(r));
        }
        if (once(ref_id + ">" + node_id(n.id))) edge(ref_id, node_id(n.id), label, p, n);
      } else if (step_of[in] >= 0 && step_of[n.id] < 0 && gathers[n.id] &&
                 step_of[in] != (n.backward ? 0 : last_step)) {
        // An op gathering every step: a stub in each step, the real edge from the last.
        const std::string stub = fmt::format("stub{}_{}", n.id, in);
        const auto output = output_names.find(n.id);
        DNode s{stub,
                fmt::format("<font point-size=\"8\">→ {}</font>",
                            escape(output != output_names.end() ? output->second : n.name)),
                n.backward ? Role::Gradient : Role::Output, cluster_of(p)};
        s.tooltip = fmt::format("read by {} ({})", n.path(), n.op->name());
        note_block(s.cluster, p);
        d.add(std::move(s));
        edge(node_id(in), stub, label, p, p);
      } else {
        edge(node_id(in), node_id(n.id), label, p, n);
      }
    }
    // A value that a folded step reads goes into the fold.
    if (folded && step_of[n.id] >= 0)
      for (int r : readers[n.id])
        if (step_of[r] >= 0 && !drawn(r) && once(node_id(n.id) + ">" + fold_id)) {
          DEdge e{node_id(n.id), fold_id, n.shape.str(), true};
          e.gradient = e.reversed = n.backward;
          d.connect(std::move(e));
        }
  }
  // Steps in columns, layers in rows (the backward steps' rows below the forward ones): each
  // step's block is laid out alone and set in the grid (placement.cpp), so steps cannot drift.
  std::set<std::pair<int, bool>> row_keys;  // (layer + 1, inside a scope of the step)
  for (const auto& [block, at] : blocks) row_keys.insert(at.row_key);
  auto row_of = [&](const BlockAt& at) {
    const int index = int(std::distance(row_keys.begin(), row_keys.find(at.row_key)));
    return at.backward ? index : index + int(row_keys.size()) + 1;
  };
  const int windows_row = int(row_keys.size());  // between the backward rows and the forward
  auto column_of = [&](int step) { return step < early ? step : folded ? early + 1 : step; };
  for (const auto& [block, at] : blocks) d.grid[block] = {column_of(at.step), row_of(at)};
  for (const auto& [id, step] : windows) d.grid[id] = {column_of(step), windows_row};
  if (folded) d.grid[fold_id] = {early, windows_row + 1 + int(row_keys.size()) / 2};

  // The weights in a row above the steps rather than a column, unless the box also holds what
  // is computed from them (the optimized graph), which then reads left to right.
  const bool computed = std::any_of(d.nodes.begin(), d.nodes.end(), [](const DNode& n) {
    return n.cluster == "parameters" && n.role != Role::Parameter;
  });
  for (std::size_t i = 1; !computed && i < parameter_row.size(); ++i)
    d.connect({parameter_row[i - 1], parameter_row[i], "", false, true});
  return d;
}

}  // namespace rnngraph::viz::detail
