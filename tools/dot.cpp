// rnngraph dot: draws a graph file as DOT text or a Graphviz rendering.
#include <fmt/format.h>

#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/tools/viz/diagram.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph dot G.json -o OUT.{dot,svg,png,pdf} [--view unrolled|rolled|cell]
                    [--steps-shown N] [--optimized] [--grad] [--title TEXT]

Draws a graph file. DOT is written as text; SVG, PNG and PDF are rendered in-process by
Graphviz's dot layout.

  --view unrolled    one cluster per time step, left to right, parameters drawn once (default)
  --view rolled      one step with its recurrent edges (h_t fed back as h_t-1)
  --view cell        the inside of one cell, colah-style: gate layers and pointwise ops
  --steps-shown N    unrolled: with more steps than N, draw the first N-1, a "… k steps …"
                     node and the last (default 4)
  --optimized        draw the graph after the graph passes (framework/passes: LSTM cells
                     fused, input products hoisted out of the steps, weights packed)
  --grad             draw the backward graph too (not drawn yet: refused)
  --title TEXT       a title above the diagram
)";

int dot_main(const std::vector<std::string>& argv) {
  const Args args(argv, {"-o", "--view", "--steps-shown", "--title"}, {"--grad", "--optimized"});
  if (args.positional().size() != 1) throw UsageError("dot takes one graph file");
  viz::Options options;
  options.view = viz::view_from_string(args.get("--view").value_or("auto"));
  options.steps_shown = int(args.integer("--steps-shown", 4, 2, 1000));
  options.grad = args.has("--grad");
  options.title = args.get("--title").value_or("");
  const std::string out = args.require("-o");
  const io::GraphFile file = io::load_graph(args.positional()[0]);
  const Graph& g = *file.graph;
  viz::write_diagram(args.has("--optimized") ? *passes::optimize(g) : g, options, out);
  fmt::print(stderr, "wrote {} ({} view)\n", out, viz::to_string(options.view));
  return 0;
}
}  // namespace

Command dot_command() {
  return {"dot", "draw a graph file (DOT, SVG, PNG, PDF)", kUsage, dot_main};
}

}  // namespace rnngraph::cli
