#include "diagram.h"

#include <functional>
#include <mutex>

#include <fmt/format.h>
#include <graphviz/gvc.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/ops/ops.h>

#include "views.h"

namespace rnngraph::viz {

View view_from_string(std::string_view name) {
  for (View v :
       {View::Auto, View::Blocks, View::Unrolled, View::Rolled, View::Cell, View::Gradflow})
    if (to_string(v) == name) return v;
  throw Error(fmt::format(
      "unknown view '{}' (expected blocks, unrolled, rolled, cell, gradflow or auto)", name));
}

std::string_view to_string(View view) {
  switch (view) {
    case View::Auto:
      return "auto";
    case View::Blocks:
      return "blocks";
    case View::Unrolled:
      return "unrolled";
    case View::Rolled:
      return "rolled";
    case View::Cell:
      return "cell";
    case View::Gradflow:
      return "gradflow";
  }
  return "?";
}

namespace {
// The extension of a diagram's path, checked before anything is drawn.
std::string check_extension(const std::filesystem::path& out) {
  const std::string extension = out.extension().string();
  if (extension != ".dot" && extension != ".svg" && extension != ".png" && extension != ".pdf")
    throw Error(fmt::format("'{}': diagrams are .dot, .svg, .png or .pdf files", out.string()));
  return extension;
}
}  // namespace

// The graph with its backward part appended: grad() of the sum of y (of every output when
// there is no y) with respect to every parameter.
std::unique_ptr<Graph> with_backward(const Graph& graph) {
  auto g = copy(graph);
  if (g->outputs().empty()) throw GraphError("the graph has no outputs to differentiate");
  Value loss;
  if (const int y = g->output_id("y"); y >= 0) {
    loss = sum(Value(*g, y));
  } else {
    for (const auto& [name, id] : graph.outputs()) {
      const Value s = sum(Value(*g, id));
      loss = loss ? loss + s : s;
    }
  }
  const std::vector<Value> wrt = parameter_values(*g);
  if (wrt.empty()) throw GraphError("the graph has no parameters to differentiate");
  grad(loss, wrt);
  return g;
}

std::string xml_escaped(std::string_view text) { return detail::escape(text); }

View drawn_view(const Graph& graph, const Options& options) {
  if (options.view != View::Auto) return options.view;
  if (options.grad) return View::Unrolled;
  return detail::find_steps(graph).count > 0 ? View::Blocks : View::Unrolled;
}

namespace detail {
Diagram draw(const Graph& graph, const Options& options) {
  if (options.grad) {
    if (options.view != View::Auto && options.view != View::Unrolled &&
        options.view != View::Rolled)
      throw GraphError(fmt::format(
          "the backward graph is drawn with the unrolled and rolled views, not the {} view",
          to_string(options.view)));
    Options drawn = options;
    drawn.grad = false;  // the graph drawn carries its backward part
    drawn.view = drawn_view(graph, options);
    return draw(*with_backward(graph), drawn);
  }
  if (options.steps_shown < 2)
    throw GraphError("steps shown must be at least 2 (the first and the last)");
  switch (drawn_view(graph, options)) {
    case View::Auto:
    case View::Blocks:
    case View::Gradflow:
      return block_view(graph, options);
    case View::Unrolled:
      return unrolled_view(graph, options);
    case View::Rolled:
      return rolled_view(graph, options);
    case View::Cell:
      return cell_view(graph, options);
  }
  return {};
}
}  // namespace detail

std::string to_dot(const Graph& graph, const Options& options) {
  return detail::print_dot(detail::place(detail::draw(graph, options)));
}

std::string to_dot(std::span<const Panel> panels, const std::string& title) {
  detail::Diagram all;
  all.title = title;
  std::string below;  // the previous panel's bottom node
  for (std::size_t i = 0; i < panels.size(); ++i) {
    detail::Diagram d = detail::draw(*panels[i].graph, panels[i].options);
    const std::string prefix = fmt::format("p{}_", i), box = fmt::format("panel{}", i);
    auto inside = [&](const std::string& path) { return path.empty() ? box : box + "/" + path; };
    all.rankdir = d.rankdir;
    all.ranksep = d.ranksep;
    all.cluster_labels[box] = d.title.empty() ? fmt::format("panel {}", i + 1) : d.title;
    for (const auto& [path, label] : d.cluster_labels) all.cluster_labels[inside(path)] = label;
    for (const std::string& path : d.gradient_clusters) all.gradient_clusters.insert(inside(path));
    for (detail::DNode& n : d.nodes) {
      n.id = prefix + n.id;
      n.cluster = inside(n.cluster);
      all.add(std::move(n));
    }
    for (detail::DEdge& e : d.edges) {
      e.from = prefix + e.from;
      e.to = prefix + e.to;
      if (!e.id.empty()) e.id = prefix + e.id;
      all.connect(std::move(e));
    }
    for (auto& rank : d.same_rank) {
      for (std::string& id : rank) id = prefix + id;
      all.same_rank.push_back(std::move(rank));
    }
    // Panels one above the other, not side by side: a wide diagram does not fit a slide.
    if (!below.empty() && !d.top_node.empty()) {
      // ranks grow downwards (TB) or upwards (BT, the block view's x_t at the bottom)
      if (d.rankdir == "BT")
        all.connect({prefix + d.top_node, below, "", false, true});
      else
        all.connect({below, prefix + d.top_node, "", false, true});
      // in line with the panel above, so it goes below it rather than beside
      const auto top =
          std::find_if(all.nodes.begin(), all.nodes.end(),
                       [&](const detail::DNode& n) { return n.id == prefix + d.top_node; });
      const auto above = std::find_if(all.nodes.begin(), all.nodes.end(),
                                      [&](const detail::DNode& n) { return n.id == below; });
      if (top != all.nodes.end() && above != all.nodes.end()) top->group = above->group = "panels";
    }
    below = d.bottom_node.empty() ? "" : prefix + d.bottom_node;
  }
  return detail::print_dot(all);
}

namespace {
// Graphviz reports problems through a callback; collect them for our exception instead of
// letting them reach stderr.
std::string graphviz_messages;
int collect_message(char* message) {
  graphviz_messages += message;
  return 0;
}
std::string take_messages() {
  std::string m = std::move(graphviz_messages);
  graphviz_messages.clear();
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  for (char& c : m)
    if (c == '\n') c = ' ';
  return m.empty() ? "" : ": " + m;
}
}  // namespace

// One Graphviz context for the whole process, never freed: Graphviz 2.43's text layout caches
// a pointer into the context's font table, so a second context after freeing the first reads
// freed memory (AddressSanitizer shows it).
namespace detail {
GVC_t* context() {
  static GVC_t* const gvc = gvContext();
  return gvc;
}
std::mutex& graphviz_mutex() {
  static std::mutex mutex;
  return mutex;
}
}  // namespace detail

namespace detail {
void with_layout(const std::string& dot, std::string_view failure, std::string_view hint,
                 const std::function<bool(GVC_t*, Agraph_t*)>& use) {
  std::lock_guard lock(graphviz_mutex());
  agseterrf(collect_message);
  GVC_t* gvc = context();
  Agraph_t* g = agmemread(dot.c_str());
  if (!g) throw Error("Graphviz could not read the DOT text" + take_messages());
  // A placed diagram names the engine that keeps its positions (layout=nop2), as the dot
  // program reads it.
  const char* engine = agget(g, const_cast<char*>("layout"));
  bool done = gvLayout(gvc, g, engine && *engine ? engine : "dot") == 0;
  if (done) {
    done = use(gvc, g);
    gvFreeLayout(gvc, g);
  }
  agclose(g);
  if (!done) throw Error(fmt::format("{}{}{}", failure, take_messages(), hint));
  // Graphviz can report an error and still return a (broken) layout.
  if (std::string messages = take_messages(); messages.find("Error") != std::string::npos)
    throw Error(fmt::format("Graphviz could not lay out the diagram{}", messages.substr(0, 300)));
  // Warnings of a successful layout are dropped.
}
}  // namespace detail

std::string render(const std::string& dot, std::string_view format) {
  std::string out;
  detail::with_layout(
      dot, fmt::format("Graphviz could not render {}", format),
      " (a format missing from a full install means its plugin registry is stale: run 'dot -c' "
      "as root)",
      [&](GVC_t* gvc, Agraph_t* g) {
        char* data = nullptr;
        unsigned int length = 0;
        const bool rendered =
            gvRenderData(gvc, g, std::string(format).c_str(), &data, &length) == 0;
        if (rendered && data) out.assign(data, length);
        gvFreeRenderData(data);
        return rendered;
      });
  return out;
}

void write_diagram(const Graph& graph, const Options& options, const std::filesystem::path& out) {
  check_extension(out);
  write_dot(to_dot(graph, options), out);
}

void write_dot(const std::string& dot, const std::filesystem::path& out) {
  const std::string extension = check_extension(out);
  const std::string bytes = extension == ".dot" ? dot : render(dot, extension.substr(1));
  io::write_atomically(
      out, [&](std::ostream& s) { s.write(bytes.data(), std::streamsize(bytes.size())); });
}

}  // namespace rnngraph::viz
