// Graphviz diagrams of rnngraph graphs: DOT text, and SVG / PNG / PDF rendered in-process
// through Graphviz's own library (libgvc). Usable from C++ as rnngraph::viz (target
// rnngraph::viz), and from the command line as `rnngraph dot`.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/graph.h>

namespace rnngraph::viz {

enum class View {
  Auto,      // Blocks for a graph unrolled over time steps, Unrolled for any other
  Blocks,    // the chain of repeated boxes: one box per cell per step and layer, state carried
             // left to right, x_t below, h_t above, the shared weights named once
  Unrolled,  // one cluster per time step, left to right; parameters once, wired into every step
  Rolled,    // one step with its recurrent edges (h_t → h_{t-1}), the seed's first figure
  Cell,      // one LSTM/GRU/RNN cell's inside, colah-style: gate layers and pointwise ops
  Gradflow,  // the block view with each box shaded by ‖∂loss/∂h_t‖ (log scale), from a run
};
// Text made safe inside XML and Graphviz's HTML-like labels (&, <, >, " escaped): for SVG the
// tools write by hand, such as the loss curve.
std::string xml_escaped(std::string_view text);

// "auto", "blocks", "unrolled", "rolled", "cell", "gradflow"
View view_from_string(std::string_view name);
std::string_view to_string(View view);

struct Options;
// The view a diagram of `graph` with `options` is drawn in: options.view, or for Auto the one
// it stands for (blocks for a graph unrolled over steps, else unrolled; unrolled with --grad).
View drawn_view(const Graph& graph, const Options& options);

struct GradientFlow;

struct Options {
  View view = View::Auto;
  // Blocks, unrolled, gradflow: when the graph has more than steps_shown + 1 steps, draw
  // steps_shown of them: the first steps_shown - 1, a "… N steps …" node, and the last step
  // (gradflow: the first and the last half each).
  int steps_shown = 4;
  // Unrolled and rolled views: draw the backward graph too, grad() of the sum of the output y
  // (of every output, for graphs without y) with respect to every parameter.
  bool grad = false;
  std::string title;  // drawn above the diagram when not empty
  // Blocks: what each box is called, the model's cell ("LSTM", "mgu"); empty for a graph built
  // by hand, whose cell is then recognised from its ops.
  std::string cell;
  // Gradflow: the norms that shade the boxes (from gradient_flow), and the colour scale's ends;
  // both 0: the norms' own smallest and largest (panels drawn together pass a common scale).
  const GradientFlow* flow = nullptr;
  double flow_min = 0, flow_max = 0;
  bool flow_bar = true;  // draw the colour bar (panels drawn together draw one)
};

// How much gradient reaches each step: ‖∂loss/∂h_t‖ (the Frobenius norm over batch and hidden
// units) of every layer's hidden state at every step, the total derivative through y_t and
// through the steps after t. For model graphs (models::build's contract: outputs y and h_n).
struct GradientFlow {
  std::vector<std::vector<double>> norms;  // [layer][step]
  std::string loss;                        // "sum", "mse" or "last"
  double value = 0;                        // the loss
};
// Runs `model` forward and backward on `feeds`. loss "sum": Σ y (the default); "mse":
// mean((y - target)²) with feeds["target"] shaped like y; "last": Σ y_{T-1}, the last step's
// outputs alone, which shows how far back the final output's gradient reaches.
GradientFlow gradient_flow(const Graph& model, const Feeds& feeds, std::string_view loss = "sum");

// Deterministic: the same graph and options give the same bytes.
std::string to_dot(const Graph& graph, const Options& options = {});

// Several diagrams in one picture, one above the other, each in a box titled by its options'
// title (the demo's RNN and LSTM gradient flows).
struct Panel {
  const Graph* graph;
  Options options;
};
std::string to_dot(std::span<const Panel> panels, const std::string& title = "");

// Lays out DOT text with Graphviz's dot engine and renders it: format is "svg", "png" or "pdf".
std::string render(const std::string& dot, std::string_view format);

// to_dot, then DOT text or a rendering chosen by the extension (.dot, .svg, .png, .pdf), written
// atomically.
void write_diagram(const Graph& graph, const Options& options, const std::filesystem::path& out);
// DOT text (from to_dot) written or rendered by the extension of `out`, atomically.
void write_dot(const std::string& dot, const std::filesystem::path& out);

}  // namespace rnngraph::viz
