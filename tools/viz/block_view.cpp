// The block view: the chain of repeated boxes that RNN tutorials draw. One box per cell per step
// (a row per layer, layer 0 at the bottom), x_t entering each bottom box from below, h_t leaving
// each top box upwards, the state (h, and c for the LSTM) carried box to box by straight
// left-to-right arrows, the initial state entering from the left and the final state leaving to
// the right. The weights every step shares are named once, in a note. Long sequences fold into
// "… N steps …" between the first boxes and the last.
//
// It is read off the graph by contraction: every node of step t and layer k belongs to box
// (k, t), and an edge between two boxes is drawn once per kind of value it carries.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/ops/ops.h>

#include "diagram_model.h"
#include "views.h"

namespace rnngraph::viz::detail {

namespace {

struct Layout {
  // The boxes of steps 0 .. early-1 and of the last `late` steps are drawn.
  int steps = 0, layers = 1, early = 0, late = 0;
  bool folded = false;
  bool shown(int t) const { return t < early || t >= steps - late; }
  int hidden() const { return steps - early - late; }
  // The drawn columns, left to right; -1 is the fold.
  std::vector<int> columns() const {
    std::vector<int> c;
    for (int t = 0; t < early; ++t) c.push_back(t);
    if (folded) c.push_back(-1);
    for (int t = std::max(early, steps - late); t < steps; ++t) c.push_back(t);
    return c;
  }
};

std::string box_id(const Layout& at, int layer, int t) {
  return at.shown(t) ? fmt::format("b{}_{}", layer, t) : fmt::format("fold{}", layer);
}
std::string x_id(const Layout& at, int t) {
  return t >= 0 && at.shown(t) ? fmt::format("x{}", t) : "xfold";
}
std::string output_id(const Layout& at, int t) {
  return t >= 0 && at.shown(t) ? fmt::format("out{}", t) : "outfold";
}
std::string top_id(const Layout& at, int t) {
  return t >= 0 && at.shown(t) ? fmt::format("top{}", t) : "topfold";
}

// The step nodes an output is computed from, found by walking back through the ops outside the
// steps (the stack of the h_t, an output layer).
std::vector<int> exports_of(const Graph& g, const Steps& steps, int output) {
  std::vector<int> found, todo{output};
  std::set<int> seen{output};
  while (!todo.empty()) {
    const int id = todo.back();
    todo.pop_back();
    if (steps.of[id] >= 0) {
      found.push_back(id);
      continue;
    }
    for (int in : g.node(id).inputs)
      if (seen.insert(in).second) todo.push_back(in);
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The fed input a value is computed from: "x", or "tokens" behind a token input's one-hot rows.
std::string fed_input_name(const Graph& g, int id) {
  while (g.node(id).kind == NodeKind::Op && !g.node(id).inputs.empty()) id = g.node(id).inputs[0];
  return g.node(id).kind == NodeKind::Input ? g.node(id).name : "x";
}

// The gradient-flow shading: a norm's place between the scale's ends on a log scale, as a
// colour from pale (little gradient) to dark red (much), and a short printed value.
struct Shading {
  double lo = 0, hi = 0;  // log10 of the scale's ends
  double where(double norm) const {
    if (norm <= 0) return 0;
    return hi > lo ? std::clamp((std::log10(norm) - lo) / (hi - lo), 0.0, 1.0) : 1.0;
  }
  static std::string colour(double u) {
    static constexpr std::array<std::array<double, 3>, 5> stops{
        {{255, 245, 240}, {252, 187, 161}, {251, 106, 74}, {203, 24, 29}, {103, 0, 13}}};
    const double x = u * double(stops.size() - 1);
    const std::size_t i = std::min(std::size_t(x), stops.size() - 2);
    const double f = x - double(i);
    std::array<int, 3> rgb{};
    for (std::size_t c = 0; c < 3; ++c)
      rgb[c] = int(std::lround(stops[i][c] + f * (stops[i + 1][c] - stops[i][c])));
    return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
  }
  static bool dark(double u) { return u > 0.55; }
};

std::string norm_text(double norm) { return norm > 0 ? fmt::format("{:.1e}", norm) : "0"; }

// A colour bar: the scale's ramp in ten cells, its ends printed below.
std::string colour_bar(const Shading& s, const std::string& loss) {
  std::string cells;
  // Large enough to read on a slide beside boxes of 10-point text.
  for (int i = 0; i < 10; ++i)
    cells += fmt::format("<td bgcolor=\"{}\" width=\"30\" height=\"22\"></td>",
                         Shading::colour((i + 0.5) / 10));
  return fmt::format(
      "<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"1\">"
      "<tr><td colspan=\"10\"><font point-size=\"13\"><b>‖∂loss/∂h<sub>t</sub>‖</b>  (log "
      "scale, loss: {})</font></td></tr>"
      "<tr>{}</tr><tr><td colspan=\"5\" align=\"left\"><font point-size=\"12\">{}</font></td>"
      "<td colspan=\"5\" align=\"right\"><font point-size=\"12\">{}</font></td></tr></table>",
      escape(loss), cells, norm_text(std::pow(10.0, s.lo)), norm_text(std::pow(10.0, s.hi)));
}

// Appends `entry` unless `names` holds it already (names in first-seen order).
void add_once(std::vector<std::string>& names, const std::string& entry) {
  if (std::find(names.begin(), names.end(), entry) == names.end()) names.push_back(entry);
}

std::string sub(std::string_view name, std::string_view index) {
  return fmt::format("{}<sub>{}</sub>", escape(name), index);
}

}  // namespace

Diagram block_view(const Graph& g, const Options& options) {
  const Steps steps = find_steps(g);
  if (steps.count == 0)
    throw GraphError(
        "the block view draws models unrolled over time steps, and this graph has none (draw it "
        "with the unrolled view)");
  const std::vector<char> fixed = passes::static_nodes(g);
  const auto readers = consumers(g);
  auto layer_of = [&](int id) { return std::max(g.node(id).layer, 0); };

  Layout at;
  at.steps = steps.count;
  for (const Node& n : g.nodes())
    if (steps.of[n.id] >= 0) at.layers = std::max(at.layers, layer_of(n.id) + 1);
  const int shown_max = std::max(2, options.steps_shown);
  at.folded = at.steps > shown_max + 1;  // "… 1 step …" would take the room of that step
  // Folded, the gradient flow keeps as many of the last steps as of the first (a vanishing
  // gradient fades from the end backwards); the other views keep the last step alone.
  at.late = !at.folded ? 0 : options.view == View::Gradflow ? shown_max / 2 : 1;
  at.early = at.folded ? shown_max - at.late : at.steps;

  // The initial states (h0[k], c0[k]) the steps read, and the name of each state carried: the
  // marks models::build records; a hand-built graph's recurrence is found by comparing steps.
  const std::set<int> state_inputs = initial_states(g, steps);
  const bool marked = has_marks(g);
  // What the passes compute from x for all steps at once (the hoisted input products), which
  // the steps read in place of x_t; not a window of another input (a mask, a dropout mask).
  auto from_whole_x = [&](int id) {
    const Node& v = g.node(id);
    return v.kind == NodeKind::Op && !fixed[id] && !is_input_select(g, v) && !v.mark;
  };
  auto carried = [&](int id) {
    const std::string name = g.node(id).mark.kind == Mark::Kind::State ? g.node(id).mark.role : "";
    return name.empty() ? name : name + " ";
  };
  const std::string cell = !options.cell.empty() ? options.cell : cell_label(g);
  // The layer that maps the top layer's h_t to the outputs y_t, drawn as its own row.
  const bool output_layer = std::any_of(g.nodes().begin(), g.nodes().end(), [](const Node& n) {
    return n.mark.kind == Mark::Kind::OutputLayer;
  });

  // Gradient flow: one norm per box, shaded on a common log scale.
  const GradientFlow* flow = options.view == View::Gradflow ? options.flow : nullptr;
  if (options.view == View::Gradflow && !flow)
    throw GraphError("the gradient-flow view needs the norms of a run (viz::gradient_flow)");
  Shading shading;
  if (flow) {
    if (int(flow->norms.size()) != at.layers ||
        std::any_of(flow->norms.begin(), flow->norms.end(),
                    [&](const auto& row) { return int(row.size()) != at.steps; }))
      throw GraphError(
          fmt::format("the gradient norms are for another model: {} layer(s) of {} steps expected",
                      at.layers, at.steps));
    double lo = options.flow_min, hi = options.flow_max;
    if (lo <= 0 || hi <= 0) {
      lo = hi = 0;
      for (const auto& row : flow->norms)
        for (double v : row)
          if (v > 0) lo = lo > 0 ? std::min(lo, v) : v, hi = std::max(hi, v);
    }
    shading = {lo > 0 ? std::log10(lo) : 0, hi > 0 ? std::log10(hi) : 0};
  }

  Diagram d;
  d.rankdir = "BT";
  d.ranksep = "0.5";
  d.title = options.title;
  const std::vector<int> columns = at.columns();

  // Edges, each kind once per pair of boxes.
  std::set<std::tuple<std::string, std::string, std::string>> linked;
  auto link = [&](const std::string& from, const std::string& to, const std::string& label,
                  bool state, bool leftwards = false) {
    if (from == to || !linked.insert({from, to, label}).second) return;
    DEdge e{from, to, label, state};
    e.xlabel = state;        // the state runs within a row: a flat edge
    e.reversed = leftwards;  // right to left (the reverse direction), keeping the row's order
    d.connect(std::move(e));
  };
  // Some layer also runs right to left: placed so (models::build), or, built by hand, handing its
  // state from step t+1 to step t.
  bool bidirectional = std::any_of(g.nodes().begin(), g.nodes().end(),
                                   [&](const Node& n) { return n.reverse && steps.of[n.id] >= 0; });
  std::string sequence_input;  // "x", or "tokens" for a model with a token input
  std::vector<std::vector<std::string>> initial_names(std::size_t(at.layers)),
      reverse_initial_names(std::size_t(at.layers));
  for (const Node& n : g.nodes()) {
    const int t = steps.of[n.id];
    if (t < 0) continue;
    const int k = layer_of(n.id);
    const std::string to = box_id(at, k, t);
    for (int in : n.inputs) {
      const Node& p = g.node(in);
      const int tp = steps.of[in];
      if (tp >= 0) {
        const int kp = layer_of(in);
        if (kp == k && tp == t - 1)
          link(box_id(at, kp, tp), to, carried(in) + p.shape.str(), true);
        else if (kp == k && tp == t + 1)  // the reverse direction's state, from step t+1
          link(box_id(at, kp, tp), to, "← " + carried(in) + p.shape.str(), true, true),
              bidirectional = true;
        else if (kp == k - 1 && tp == t)
          link(box_id(at, kp, tp), to, at.shown(t) ? "h " + p.shape.str() : "", false);
      } else if (state_inputs.contains(in)) {
        // The reverse direction starts at the last step, from the right.
        const bool from_right = t > 0;
        link(fmt::format("{}{}", from_right ? "init_reverse" : "init", k), to,
             state_name(g, p) + " " + p.shape.str(), true, from_right);
        auto& names = (from_right ? reverse_initial_names : initial_names)[std::size_t(k)];
        const std::string entry =  // h0[k], or a hand-built graph's state input itself
            is_input_select(g, p)
                ? fmt::format("{}[{}]", escape(g.node(p.inputs[0]).name), p.attrs.get("index", 0))
                : escape(p.name);
        add_once(names, entry);
      } else if (k == 0 && (marked ? n.mark.kind == Mark::Kind::StepInput || from_whole_x(in)
                                   : !fixed[in])) {  // x_t, or a value computed from the whole x
        // The window x[t] belongs to its step: the arrow carries the window's shape.
        const bool window = n.is(select_op());
        link(x_id(at, t), to, t >= 0 && at.shown(t) ? (window ? n.shape : p.shape).str() : "",
             false);
        if (sequence_input.empty()) sequence_input = fed_input_name(g, in);
      }
    }
  }
  // Outputs: the sequence output leaves the top boxes upwards, the final states leave the last
  // boxes to the right.
  std::vector<std::vector<std::string>> final_names(std::size_t(at.layers)),
      reverse_final_names(std::size_t(at.layers));
  std::string sequence_name = "h";
  bool first = true;
  for (const auto& [name, id] : g.outputs()) {
    const std::vector<int> from = exports_of(g, steps, id);
    std::set<int> from_steps;
    for (int e : from) from_steps.insert(steps.of[e]);
    const bool sequence = at.steps > 1 ? int(from_steps.size()) == at.steps : first;
    first = false;
    if (sequence) {
      const Node& out = g.node(id);
      if (!out.is(stack_op())) sequence_name = name;
      for (int e : from) {
        if (layer_of(e) != at.layers - 1) continue;
        const int t = steps.of[e];
        const std::string box = box_id(at, layer_of(e), t), shape = g.node(e).shape.str();
        if (!output_layer) {
          link(box, top_id(at, t), at.shown(t) ? shape : "", false);
          continue;
        }
        link(box, output_id(at, t), at.shown(t) ? "h " + shape : "", false);
        link(output_id(at, t), top_id(at, t), at.shown(t) ? out.shape.drop_first().str() : "",
             false);
      }
    } else {
      for (int e : from) {
        // The reverse direction ends at step 0, leaving to the left.
        const bool to_left = steps.of[e] == 0 && at.steps > 1;
        if (steps.of[e] != at.steps - 1 && !to_left) continue;
        link(box_id(at, layer_of(e), steps.of[e]),
             fmt::format("{}{}", to_left ? "final_reverse" : "final", layer_of(e)),
             fmt::format("{} {}", escape(name), g.node(e).shape.str()), true, to_left);
        auto& names = (to_left ? reverse_final_names : final_names)[std::size_t(layer_of(e))];
        // Its row in the output: layer k's directions sit at 2k and 2k+1 when bidirectional.
        const auto& rows = g.node(id).inputs;
        const auto row = std::find(rows.begin(), rows.end(), e);
        const std::string entry = fmt::format(
            "{}[{}]", escape(name),
            row != rows.end() && g.node(id).is(stack_op()) ? int(row - rows.begin()) : layer_of(e));
        add_once(names, entry);
      }
    }
  }

  if (sequence_input.empty()) sequence_input = "x";
  // Nodes: a row per layer (initial state, boxes, final state), the x_t row below, the outputs'
  // row above; one column per drawn step, kept in line by groups.
  auto column_group = [](int t) {
    return t < 0 ? std::string("colfold") : fmt::format("col{}", t);
  };
  std::vector<std::string> bottom, top, outputs;
  for (int t : columns) {
    if (output_layer) {
      DNode o{output_id(at, t),
              t < 0 ? "<b>…</b>"
                    : "<b>output layer</b><br/><font point-size=\"8\">W_out · h + b_out</font>",
              t < 0 ? Role::Fold : Role::Layer};
      o.group = column_group(t);
      outputs.push_back(d.add(std::move(o)).id);
    }
    const std::string index = std::to_string(t);
    DNode x{x_id(at, t), t < 0 ? "<b>…</b>" : fmt::format("<b>{}</b>", sub(sequence_input, index)),
            t < 0 ? Role::Fold : Role::Input};
    x.group = column_group(t);
    bottom.push_back(d.add(std::move(x)).id);
    DNode y{top_id(at, t), t < 0 ? "<b>…</b>" : fmt::format("<b>{}</b>", sub(sequence_name, index)),
            t < 0 ? Role::Fold : Role::Output};
    y.group = column_group(t);
    top.push_back(d.add(std::move(y)).id);
  }
  for (int k = 0; k < at.layers; ++k) {
    std::vector<std::string> row;
    const std::string layer_line =
        at.layers > 1 ? fmt::format("<br/><font point-size=\"9\">layer {}</font>", k) : "";
    // The states around the row, each a node listing the states it stands for: left, the
    // reverse direction's final state and the initial state; right, the final state and the
    // reverse direction's initial state.
    auto state_node = [&](const std::string& id, const std::vector<std::string>& names,
                          std::string_view caption, Role role, bool always = false) {
      if (names.empty() && !always) return;
      std::string text;
      for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
      row.push_back(d.add({fmt::format("{}{}", id, k),
                           fmt::format("<b>{}</b><br/><font point-size=\"8\">{}</font>",
                                       text.empty() ? "0" : text, caption),
                           role})
                        .id);
    };
    state_node("final_reverse", reverse_final_names[std::size_t(k)], "final state, right to left",
               Role::Output);
    state_node("init", initial_names[std::size_t(k)], "initial state", Role::Input, true);
    for (int t : columns) {
      DNode box;
      if (t < 0) {
        const int hidden = at.hidden();
        box = {box_id(at, k, at.early),
               fmt::format("<b>…  {} step{}  …</b>", hidden, hidden == 1 ? "" : "s"), Role::Fold};
        if (flow) {
          const auto& row = flow->norms[std::size_t(k)];
          const auto [lo, hi] =
              std::minmax_element(row.begin() + at.early, row.begin() + (at.steps - at.late));
          box.label += fmt::format("<br/><font point-size=\"8\">‖∂L/∂h‖ {} … {}</font>",
                                   norm_text(*lo), norm_text(*hi));
        }
      } else {
        box = {box_id(at, k, t),
               fmt::format("<b>{}{}</b><br/><font point-size=\"9\">t = {}</font>{}", cell,
                           bidirectional ? " ⇄" : "", t, layer_line),
               Role::Block};
        box.tooltip = fmt::format("{} cell, step {}{}", cell, t,
                                  at.layers > 1 ? fmt::format(", layer {}", k) : "");
        if (flow) {
          const double norm = flow->norms[std::size_t(k)][std::size_t(t)];
          const double u = shading.where(norm);
          box.fill = Shading::colour(u);
          box.label +=
              fmt::format("<br/><font point-size=\"9\">‖∂L/∂h‖ = {}</font>", norm_text(norm));
          if (Shading::dark(u)) box.label = "<font color=\"white\">" + box.label + "</font>";
          box.tooltip += fmt::format("\n‖∂loss/∂h‖ = {:.6g}", norm);
        }
      }
      box.group = column_group(t);
      row.push_back(d.add(std::move(box)).id);
    }
    state_node("final", final_names[std::size_t(k)], "final state", Role::Output);
    state_node("init_reverse", reverse_initial_names[std::size_t(k)],
               "initial state, right to left", Role::Input);
    d.same_rank.push_back(row);
  }

  // The shared weights, once: a note beside the top row, a line per layer.
  // Layer → entries; the weights outside the cells (embedding, output layer) come last.
  std::map<int, std::vector<std::string>> weights;
  constexpr int kOutside = std::numeric_limits<int>::max();
  for (int p : g.parameters()) {
    std::set<int> layers;
    std::vector<int> todo{p};
    while (!todo.empty()) {
      const int id = todo.back();
      todo.pop_back();
      for (int r : readers[id]) {
        if (steps.of[r] >= 0)
          layers.insert(layer_of(r));
        else if (fixed[r])
          todo.push_back(r);
      }
    }
    const std::string entry = fmt::format("{} {}", escape(g.node(p).name), g.node(p).shape.str());
    if (layers.empty()) weights[kOutside].push_back(entry);
    for (int k : layers) weights[k].push_back(entry);
  }
  std::string note = "<b>weights shared by every step</b>";
  for (const auto& [k, entries] : weights) {
    std::string line = k == kOutside   ? "outside the cells:"
                       : at.layers > 1 ? fmt::format("layer {}:", k)
                                       : "";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i > 0 && i % 4 == 0) line += "<br align=\"left\"/>   ";
      line += (line.empty() || line.ends_with("   ") ? "" : "  ") + entries[i];
    }
    note += "<br align=\"left\"/>" + line;
  }
  note += "<br align=\"left\"/>";
  top.insert(top.begin(), d.add({"weights", note, Role::Note}).id);
  d.top_node = top.front();
  if (!bottom.empty()) d.bottom_node = bottom.front();
  if (flow && options.flow_bar)
    top.push_back(d.add({"colour_bar", colour_bar(shading, flow->loss), Role::Note}).id);

  for (const auto& row : {bottom, outputs, top}) {
    if (row.empty()) continue;
    for (std::size_t i = 1; i < row.size(); ++i) d.connect({row[i - 1], row[i], "", false, true});
    d.same_rank.push_back(row);
  }
  // The fold's column: invisible links keep the "…" of the x row, the layers and the outputs in
  // line, as the boxes of a step are.
  if (at.folded) {
    std::vector<std::string> column{"xfold"};
    for (int k = 0; k < at.layers; ++k) column.push_back(fmt::format("fold{}", k));
    if (output_layer) column.push_back("outfold");
    column.push_back("topfold");
    for (std::size_t i = 1; i < column.size(); ++i)
      if (!linked.contains({column[i - 1], column[i], ""}))
        d.connect({column[i - 1], column[i], "", false, true});
  }
  return d;
}

}  // namespace rnngraph::viz::detail
