#include "diagram_model.h"

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/ops/ops.h>

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace rnngraph::viz::detail {

namespace {

struct Style {
  const char* shape;
  const char* style;
  const char* fill;
  const char* border;
  const char* legend;  // nullptr: not listed in the legend
};

Style style_of(Role role) {
  switch (role) {
    case Role::Input:
      return {"ellipse", "filled", "#cfe2f3", "#3d85c6", "input"};
    case Role::Parameter:
      return {"box", "filled", "#fff2cc", "#bf9000", "parameter"};
    case Role::Op:
      return {"box", "rounded,filled", "#f2f2f2", "#666666", "op"};
    case Role::Output:
      return {"ellipse", "filled,bold", "#d9ead3", "#38761d", "output"};
    case Role::Gradient:
      return {"box", "rounded,filled", "#f4cccc", "#cc0000", "gradient"};
    case Role::Constant:
      return {"box", "filled,dashed", "#ffffff", "#999999", "constant"};
    case Role::Fold:
      return {"box", "rounded,dashed", "#ffffff", "#666666", nullptr};
    case Role::Junction:
      return {"point", "filled", "#333333", "#333333", nullptr};
    case Role::Layer:
      return {"box", "filled", "#f9d56e", "#b7950b", "neural network layer"};
    case Role::Pointwise:
      return {"ellipse", "filled", "#f5b7c5", "#c0392b", "pointwise op"};
    case Role::Block:
      return {"box", "rounded,filled,bold", "#b7e1cd", "#2e7d5b", "cell (one step)"};
    case Role::Note:
      return {"note", "filled", "#fffbe6", "#bf9000", nullptr};
  }
  return {"box", "", "", "", nullptr};
}

// The inside of a DOT double-quoted string (an escString: backslashes are escapes, "\n" a line
// break); control bytes, which no tooltip needs, become '?'.
std::string quote(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '"' || c == '\\')
      out += {'\\', c};
    else
      out += uint8_t(c) < 0x20 ? '?' : c;
  }
  return out;
}

// Whether a line of an HTML-like label has text below the baseline that the next line could run
// into: a subscript, or an underscore in its text (not inside a tag's attributes).
bool hangs_below(std::string_view line) {
  if (line.find("<sub>") != std::string_view::npos) return true;
  bool in_tag = false;
  for (char c : line) {
    in_tag = c == '<' || (in_tag && c != '>');
    if (c == '_' && !in_tag) return true;
  }
  return false;
}

// Graphviz sets a line break's height from the text's font size, not from what hangs below the
// baseline: after a line with a subscript (h<sub>t-1</sub>) or an underscore (h_n, W_f_l0), a
// thin blank line under the same break (<br/> or <br align="left"/>) keeps the next line from
// running into it. A break that ends the label gets none: nothing follows it.
std::string spaced_below_descenders(const std::string& label) {
  std::string out;
  std::size_t at = 0;
  for (std::size_t br; (br = label.find("<br", at)) != std::string::npos;) {
    const std::size_t end = label.find('>', br);
    if (end == std::string::npos) break;
    const std::string_view line(label.data() + at, br - at);
    const std::string_view tag(label.data() + br, end + 1 - br);
    out.append(line).append(tag);
    at = end + 1;
    if (at < label.size() && hangs_below(line))
      out.append("<font point-size=\"4\"> </font>").append(tag);
  }
  return out + label.substr(at);
}

std::string node_line(const DNode& n, const std::string& indent) {
  if (n.invisible)
    return fmt::format("{}{} [style=invis, shape=point, width=0, height=0, label=\"\"];\n", indent,
                       n.id);
  const Style s = style_of(n.role);
  std::string attrs = fmt::format("shape={}, style=\"{}\", fillcolor=\"{}\", color=\"{}\"", s.shape,
                                  s.style, n.fill.empty() ? s.fill : n.fill, s.border);
  if (n.role == Role::Junction)
    attrs += ", width=0.09, label=\"\"";
  else
    attrs += fmt::format(", label=<{}>", spaced_below_descenders(n.label));
  if (n.role == Role::Output) attrs += ", penwidth=2";
  if (n.role == Role::Pointwise) attrs += ", margin=0.02";
  if (n.role == Role::Layer) attrs += ", fontsize=13";
  if (n.role == Role::Block) attrs += ", margin=\"0.25,0.12\", fontsize=12";
  if (!n.group.empty()) attrs += fmt::format(", group=\"{}\"", n.group);
  if (!n.tooltip.empty()) attrs += fmt::format(", tooltip=\"{}\"", quote(n.tooltip));
  if (!n.pos.empty()) attrs += fmt::format(", pos=\"{}\"", n.pos);
  return fmt::format("{}{} [{}];\n", indent, n.id, attrs);
}

// "step12" → "step 12", "layer0" → "layer 0": the default cluster label.
std::string readable(std::string_view segment) {
  auto digit =
      std::find_if(segment.begin(), segment.end(), [](char c) { return std::isdigit(uint8_t(c)); });
  if (digit == segment.begin() || digit == segment.end()) return std::string(segment);
  return fmt::format("{} {}", std::string_view(segment.begin(), digit),
                     std::string_view(digit, segment.end()));
}

// Clusters nest by scope path; print each with its nodes and sub-clusters, in first-seen order.
void print_cluster(const Diagram& d, const std::string& path, int depth, std::string& out) {
  const std::string indent(std::size_t(2 * depth + 2), ' ');
  for (const DNode& n : d.nodes)
    if (n.cluster == path) out += node_line(n, indent);
  std::vector<std::string> children;
  for (const DNode& n : d.nodes) {
    if (n.cluster.size() <= path.size() || (!path.empty() && !n.cluster.starts_with(path + "/")))
      continue;
    const std::size_t start = path.empty() ? 0 : path.size() + 1;
    const std::string child = n.cluster.substr(0, n.cluster.find('/', start));
    if (std::find(children.begin(), children.end(), child) == children.end())
      children.push_back(child);
  }
  for (const std::string& child : children) {
    auto label = d.cluster_labels.find(child);
    const std::string text = label != d.cluster_labels.end()
                                 ? label->second
                                 : readable(child.substr(child.rfind('/') + 1));
    const bool inner = depth > 0;
    const bool gradient = d.gradient_clusters.contains(child.substr(0, child.find('/')));
    out += fmt::format(
        "{}subgraph {} {{\n{}  label=<<b>{}</b>>; style=\"rounded,filled\"; fillcolor=\"{}\"; "
        "color=\"{}\"; fontcolor=\"{}\"; fontsize={};\n",
        indent, cluster_id(child), indent, escape(text),
        gradient ? (inner ? "#fbe3e3" : "#fdf3f3") : (inner ? "#eef3fb" : "#f8f8f8"),
        gradient ? "#e6a0a0" : (inner ? "#9fb7dd" : "#bbbbbb"), gradient ? kGradientColor : "black",
        inner ? 10 : 12);
    if (auto bb = d.cluster_bb.find(child); bb != d.cluster_bb.end())
      out += fmt::format("{}  bb=\"{}\";\n", indent, bb->second);
    print_cluster(d, child, depth + 1, out);
    out += indent + "}\n";
  }
}

}  // namespace

std::string print_dot(const Diagram& d) {
  std::string out = "digraph rnngraph {\n";
  out += fmt::format(
      "  graph [rankdir={}, newrank=true, mclimit=0.01, nslimit=20, nslimit1=20, "
      "fontname=\"Helvetica\", nodesep=0.3, ranksep={}, "
      "bgcolor=\"white\", pad=0.2, forcelabels=true{}{}];\n",
      d.rankdir, d.ranksep,
      d.title.empty()
          ? ""
          : fmt::format(", label=<<b>{}</b>>, labelloc=t, fontsize=16", escape(d.title)),
      d.layout.empty() ? "" : fmt::format(", layout={}, bb=\"{}\"", d.layout, d.bb));
  out += "  node [fontname=\"Helvetica\", fontsize=10, height=0.3, margin=\"0.1,0.04\"];\n";
  out +=
      "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\", fontcolor=\"#444444\", "
      "arrowsize=0.6];\n";
  print_cluster(d, "", 0, out);
  std::map<std::string, Role> role_of;
  for (const DNode& n : d.nodes) role_of[n.id] = n.role;
  for (const DEdge& e : d.edges) {
    std::string attrs;
    if (e.invisible)  // only orders nodes
      attrs = "style=invis";
    else  // An xlabel where asked: Graphviz 2.42 loses labelled flat edges between clusters
          // ("lost edge", then a crash while freeing the layout).
      attrs = fmt::format("{}label=\" {}\"", e.xlabel ? "x" : "", e.label);
    // Weights feed every step: thin and light, so the data flow stands out.
    if (auto from = role_of.find(e.from); from != role_of.end() && from->second == Role::Parameter)
      attrs += ", penwidth=0.6, color=\"#d4b85a\", fontcolor=\"#a08a3c\"";
    if (e.recurrent) attrs += ", penwidth=1.8";
    if (e.gradient)
      attrs += fmt::format(", color=\"{}\", fontcolor=\"{}\"", kGradientColor, kGradientColor);
    else if (e.recurrent)
      attrs += ", color=\"#1f4e79\", fontcolor=\"#1f4e79\"";
    if (!e.ranked) attrs += ", constraint=false";
    if (e.reversed) attrs += ", dir=back";
    if (!e.id.empty()) attrs += fmt::format(", id=\"{}\"", e.id);
    if (!e.pos.empty()) attrs += fmt::format(", pos=\"{}\"", e.pos);
    if (!e.label_pos.empty())
      attrs += fmt::format(", {}lp=\"{}\"", e.xlabel ? "x" : "", e.label_pos);
    const auto& [tail, head] = e.reversed ? std::tie(e.to, e.from) : std::tie(e.from, e.to);
    out += fmt::format("  {} -> {} [{}];\n", tail, head, attrs);
  }
  for (const auto& rank : d.same_rank) {
    if (rank.empty()) continue;
    out += "  { rank=same;";
    for (const std::string& id : rank) out += " " + id + ";";
    out += " }\n";
  }
  // The legend: one sample per role drawn, in a row.
  std::vector<std::string> samples;
  std::string legend;
  if (d.legend)
    for (const DNode& sample : legend_samples(d, "legend")) {
      legend += node_line(sample, "    ");
      samples.push_back(sample.id);
    }
  if (!samples.empty()) {
    out +=
        "  subgraph cluster_legend {\n    label=<<b>legend</b>>; style=\"rounded\"; "
        "color=\"#cccccc\"; fontsize=10;\n";
    out += legend;
    for (std::size_t i = 1; i < samples.size(); ++i)
      out += fmt::format("    {} -> {} [style=invis];\n", samples[i - 1], samples[i]);
    if (d.rankdir != "LR") {  // a row; left to right, the invisible chain makes one already
      out += "    { rank=same;";
      for (const std::string& id : samples) out += " " + id + ";";
      out += " }\n";
    }
    out += "  }\n";
  }
  out += "}\n";
  return out;
}

std::vector<DNode> legend_samples(const Diagram& d, const std::string& cluster) {
  std::set<Role> roles;
  for (const DNode& n : d.nodes) roles.insert(n.role);
  std::vector<DNode> samples;
  for (Role role : roles)
    if (const char* name = style_of(role).legend)
      samples.push_back({fmt::format("legend_{}", samples.size()), name, role, cluster});
  return samples;
}

std::string cluster_id(const std::string& path) {
  std::string id = "cluster_";
  for (char c : path) id += std::isalnum(uint8_t(c)) ? c : '_';
  return id;
}

Steps find_steps(const Graph& g, bool with_backward) {
  Steps s;
  s.of.assign(g.size(), -1);
  const std::vector<char> fixed = passes::static_nodes(g);
  for (const Node& n : g.nodes()) {
    if (n.step < 0 || (n.backward && !with_backward) || fixed[std::size_t(n.id)]) continue;
    s.of[n.id] = n.step;
    s.count = std::max(s.count, n.step + 1);
  }
  s.members.resize(std::size_t(s.count));
  s.position.assign(g.size(), -1);
  for (const Node& n : g.nodes())
    if (s.of[n.id] >= 0) {
      auto& step = s.members[std::size_t(s.of[n.id])];
      s.position[n.id] = int(step.size());
      step.push_back(n.id);
    }
  return s;
}

bool has_marks(const Graph& g) {
  return std::any_of(g.nodes().begin(), g.nodes().end(),
                     [](const Node& n) { return n.mark && n.mark.kind != Mark::Kind::Derivative; });
}

namespace {
// A graph built by hand: steps 0 and 1 are built alike, so the k-th node placed at step 1
// mirrors the k-th of step 0, and what it reads from step 0 in place of a value from outside is
// the state.
std::map<int, int> compared_recurrence(const Graph& g, const Steps& steps) {
  std::map<int, int> state;
  if (steps.count < 2) return state;
  const std::vector<int>&step0 = steps.members[0], &step1 = steps.members[1];
  if (step0.empty() || step0.size() != step1.size()) return state;
  for (std::size_t k = 0; k < step1.size(); ++k) {
    const Node& q = g.node(step1[k]);
    if (q.kind != NodeKind::Op) continue;
    const Node& q0 = g.node(step0[k]);
    if (steps.of[q0.id] != 0 || q0.op != q.op || q0.inputs.size() != q.inputs.size()) continue;
    for (std::size_t i = 0; i < q.inputs.size(); ++i) {
      const int p = q.inputs[i], e = q0.inputs[i];
      if (steps.of[p] == 0 && steps.of[e] != 0) state[e] = p;
    }
  }
  return state;
}

// Where a marked state sits: layer (0 for a single layer), direction and slot.
using StateKey = std::tuple<int, bool, int>;
}  // namespace

std::map<int, int> find_recurrence(const Graph& g, const Steps& steps) {
  if (!has_marks(g)) return compared_recurrence(g, steps);
  std::map<StateKey, int> at_step0;  // the forward direction's states after step 0
  for (const Node& n : g.nodes())
    if (n.mark.kind == Mark::Kind::State && steps.of[n.id] == 0 && !n.reverse)
      at_step0.emplace(StateKey{std::max(n.layer, 0), false, n.mark.slot}, n.id);
  std::map<int, int> state;
  const auto readers = consumers(g);
  for (const Node& e : g.nodes()) {
    if (e.mark.kind != Mark::Kind::InitialState) continue;
    for (int r : readers[e.id]) {
      const Node& reader = g.node(r);
      if (steps.of[r] != 0 || reader.reverse) continue;
      auto p = at_step0.find({std::max(reader.layer, 0), false, e.mark.slot});
      if (p != at_step0.end()) state[e.id] = p->second;
    }
  }
  return state;
}

std::set<int> initial_states(const Graph& g, const Steps& steps) {
  std::set<int> found;
  if (!has_marks(g)) {
    for (const auto& [state, producer] : compared_recurrence(g, steps)) found.insert(state);
    return found;
  }
  const auto readers = consumers(g);
  for (const Node& e : g.nodes())
    if (e.mark.kind == Mark::Kind::InitialState &&
        std::any_of(readers[e.id].begin(), readers[e.id].end(),
                    [&](int r) { return steps.of[r] >= 0; }))
      found.insert(e.id);
  return found;
}

std::vector<std::vector<int>> hidden_states(const Graph& g) {
  const Steps steps = find_steps(g);
  std::map<std::pair<int, bool>, std::vector<int>> rows;  // (layer, reverse) → h by step
  for (const Node& n : g.nodes()) {
    if (n.mark.kind != Mark::Kind::State || n.mark.slot != 0 || steps.of[n.id] < 0) continue;
    auto& row = rows[{std::max(n.layer, 0), n.reverse}];
    row.resize(std::size_t(steps.count), -1);
    row[std::size_t(steps.of[n.id])] = n.id;
  }
  if (rows.empty())
    throw GraphError(
        "gradient flow is measured on model graphs (rnngraph build or train, models::build), "
        "whose hidden states are marked; this graph has none");
  std::vector<std::vector<int>> states;
  for (auto& [where, row] : rows) {
    if (std::find(row.begin(), row.end(), -1) != row.end())
      throw GraphError(
          fmt::format("layer {} has no marked hidden state at some step", where.first));
    states.push_back(std::move(row));
  }
  return states;
}

std::vector<std::vector<int>> consumers(const Graph& g) {
  std::vector<std::vector<int>> out(g.size());
  for (const Node& n : g.nodes())
    for (int in : n.inputs)
      if (out[in].empty() || out[in].back() != n.id) out[in].push_back(n.id);
  return out;
}

bool is_input_select(const Graph& g, const Node& n) {
  return n.is(select_op()) && g.node(n.inputs[0]).kind == NodeKind::Input;
}

std::string node_id(int id) { return fmt::format("n{}", id); }

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string op_label(const Node& n, std::string_view title) {
  if (title == n.name) return fmt::format("<b>{}</b>", escape(title));  // a parameter's name once
  return fmt::format("<b>{}</b><br/><font point-size=\"8\" color=\"#555555\">{}</font>",
                     escape(title), escape(n.name));
}

std::string shape_line(const Shape& shape) {
  return fmt::format("<br/><font point-size=\"8\">{}</font>", shape.str());
}

DNode plain_node(const Node& n) {
  DNode dn{node_id(n.id), "", Role::Op, n.scope};
  if (n.kind == NodeKind::Op) {
    dn.fill = std::string(n.op->color());
    dn.label = op_label(n, n.op->name());
  } else {
    dn.role = n.kind == NodeKind::Input       ? Role::Input
              : n.kind == NodeKind::Parameter ? Role::Parameter
                                              : Role::Constant;
    dn.label = op_label(n, n.kind == NodeKind::Constant && n.shape.numel() == 1
                               ? fmt::format("{:g}", n.value.values()[0])
                               : n.name);
  }
  dn.label += shape_line(n.shape);
  // A backward op says whose derivative it is part of: sub(1, mul) is "∂ of tanh_9".
  if (n.backward && n.mark.kind == Mark::Kind::Derivative)
    dn.label += fmt::format("<br/><font point-size=\"8\" color=\"{}\">∂ of {}</font>",
                            kGradientColor, escape(n.mark.label));
  dn.tooltip = tooltip(n);
  return dn;
}

std::string tooltip(const Node& n) {
  std::string text = n.path();
  text += n.kind == NodeKind::Op          ? fmt::format("\nop: {}", n.op->name())
          : n.kind == NodeKind::Input     ? std::string("\nfed input")
          : n.kind == NodeKind::Parameter ? std::string("\nparameter")
                                          : std::string("\nconstant");
  text += "\nshape: " + n.shape.str();
  for (const auto& [key, value] : n.attrs.ints) text += fmt::format("\n{} = {}", key, value);
  for (const auto& [key, value] : n.attrs.floats) text += fmt::format("\n{} = {:g}", key, value);
  for (const auto& [key, value] : n.attrs.lists)
    text += fmt::format("\n{} = [{}]", key, fmt::join(value, ", "));
  if (n.step >= 0) text += fmt::format("\nstep {}", n.step);
  if (n.layer >= 0) text += fmt::format(", layer {}", n.layer);
  if (n.backward) text += "\nbackward graph";
  return text;
}

std::string state_name(const Graph& g, const Node& n) {
  if (n.mark.kind == Mark::Kind::State || n.mark.kind == Mark::Kind::InitialState)
    return n.mark.role;
  const Node& input = is_input_select(g, n) ? g.node(n.inputs[0]) : n;
  return input.mark ? input.mark.role : input.name;
}

std::string cell_label(const Graph& g) {
  for (const Node& n : g.nodes())
    if (n.mark.kind == Mark::Kind::State && !n.mark.label.empty()) return n.mark.label;
  return "cell";
}

}  // namespace rnngraph::viz::detail
