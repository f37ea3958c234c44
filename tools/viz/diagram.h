// Graphviz diagrams of rnngraph graphs: DOT text, and SVG / PNG / PDF rendered in-process
// through Graphviz's own library (libgvc). Usable from C++ as rnngraph::viz (target
// rnngraph::viz), and from the command line as `rnngraph dot`.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <rnngraph/framework/graph.h>

namespace rnngraph::viz {

enum class View {
  Auto,      // Blocks for a graph unrolled over time steps, Unrolled for any other
  Blocks,    // the chain of repeated boxes: one box per cell per step and layer, state carried
             // left to right, x_t below, h_t above, the shared weights named once
  Unrolled,  // one cluster per time step, left to right; parameters once, wired into every step
  Rolled,    // one step with its recurrent edges (h_t → h_{t-1}), the seed's first figure
  Cell,      // one LSTM/GRU/RNN cell's inside, colah-style: gate layers and pointwise ops
};
View view_from_string(std::string_view name);  // "auto", "blocks", "unrolled", "rolled", "cell"
std::string_view to_string(View view);

struct Options {
  View view = View::Auto;
  // Unrolled: when the graph has more steps than this, draw the first steps_shown - 1, a
  // "… N steps …" node, and the last step.
  int steps_shown = 4;
  // Unrolled and rolled views: draw the backward graph too, grad() of the sum of the output y
  // (of every output, for graphs without y) with respect to every parameter.
  bool grad = false;
  std::string title;  // drawn above the diagram when not empty
};

// Deterministic: the same graph and options give the same bytes.
std::string to_dot(const Graph& graph, const Options& options = {});

// Lays out DOT text with Graphviz's dot engine and renders it: format is "svg", "png" or "pdf".
std::string render(const std::string& dot, std::string_view format);

// to_dot, then DOT text or a rendering chosen by the extension (.dot, .svg, .png, .pdf), written
// atomically.
void write_diagram(const Graph& graph, const Options& options, const std::filesystem::path& out);

}  // namespace rnngraph::viz
