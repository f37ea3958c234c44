// rnngraph dot: draws a graph file as DOT text or a Graphviz rendering.
#include <fmt/format.h>

#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/models/model.h>
#include <rnngraph/tools/viz/diagram.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {

constexpr std::string_view kUsage =
    R"(usage: rnngraph dot G.json -o OUT.{dot,svg,png,pdf}
                    [--view blocks|unrolled|rolled|cell|gradflow] [--steps-shown N]
                    [--optimized] [--grad] [--title TEXT] [--steps T] [--batch B]
                    [--input X.npy [--h0 H.npy] [--c0 C.npy] [--loss sum|mse|last]
                     [--target Y.npy]]                                  (gradflow)

Draws a graph file. DOT is written as text; SVG, PNG and PDF are rendered in-process by
Graphviz's dot layout. SVG nodes carry tooltips: full name, op, shape and attributes.

  --view blocks      one box per cell per step and layer, the state carried left to right,
                     x_t below, h_t above, the shared weights named once (the default for
                     model graphs)
  --view unrolled    every op, one box per time step, left to right; shared weights drawn
                     once and referenced inside each step (the default for other graphs)
  --view rolled      one step with its recurrent edges (h_t fed back as h_t-1)
  --view cell        the inside of one cell, colah-style: gate layers and pointwise ops
  --view gradflow    runs the model forward and backward on --input and shades each box of
                     the block view by ‖∂loss/∂h_t‖ on a log scale, with a colour bar
  --loss L           gradflow: sum, the sum of y (default); mse, mean((y - target)²) with
                     --target; last, the sum of the last step's y (how far back it reaches)
  --steps-shown N    with more steps than N, draw the first N-1, a "… k steps …" box and
                     the last (default 4; gradflow 12)
  --optimized        draw the graph after the graph passes (passes: LSTM cells
                     fused, input products hoisted out of the steps, weights packed)
  --grad             unrolled and rolled views: add the backward graph of the sum of y
                     (what rnngraph grad differentiates), in red, each step's backward part
                     beside the step it mirrors
  --title TEXT       a title above the diagram (default for a model file: its cell, sizes and
                     the view)
  --steps T, --batch B  a model file: unroll it for T steps and batch B (default: its recipe's
                     default shape; the rolled and cell views take at least 2 steps, which they
                     need to find the recurrence, and a bidirectional model 3, so that both
                     directions show)
)";

int dot_main(const std::vector<std::string>& argv) {
  const Args args(argv,
                  {"-o", "--view", "--steps-shown", "--title", "--input", "--h0", "--c0", "--loss",
                   "--target", "--steps", "--batch"},
                  {"--grad", "--optimized"});
  if (args.positional().size() != 1) throw UsageError("dot takes one graph file");
  viz::Options options;
  options.view = viz::view_from_string(args.get("--view").value_or("auto"));
  const bool gradflow = options.view == viz::View::Gradflow;
  options.steps_shown = int(args.integer("--steps-shown", gradflow ? 12 : 4, 2, 1000));
  options.grad = args.has("--grad");
  options.title = args.get("--title").value_or("");
  const std::string out = args.require("-o");
  for (const char* flag : {"--input", "--h0", "--c0", "--loss", "--target"})
    if (!gradflow && args.has(flag))
      throw UsageError(fmt::format("{} goes with --view gradflow", flag));
  const std::string loss = args.get("--loss").value_or("sum");
  if (gradflow && loss != "sum" && loss != "mse" && loss != "last")
    throw UsageError(fmt::format("--loss must be sum, mse or last, got '{}'", loss));
  if (gradflow && (loss == "mse") != args.has("--target"))
    throw UsageError("--target goes with --loss mse, and --loss mse needs --target");
  // Gradient flow on a model file: the model unrolled for the input's length and batch, else
  // for its default shape.
  const std::string path = args.positional()[0];
  io::GraphFile file;
  Feeds feeds;
  std::optional<models::Config> recipe;  // a model file's, for the default title
  if (gradflow) {
    if (!args.has("--input")) throw UsageError("--view gradflow needs --input X.npy");
    file = io::read_graph_file(path);
    feeds = unrolled_feeds(file, path, args);
  } else {
    file = io::read_graph_file(path);
    if (models::is_model(file)) {
      // The model unrolled for --steps and --batch (default: its recipe's). A view of the
      // recurrence (rolled, cell) needs two steps to find it; a bidirectional model three, so
      // that both directions show.
      std::optional<int64_t> steps;
      if (args.has("--steps")) steps = args.integer("--steps", std::nullopt, 1, 100000);
      const bool recurrence = options.view == viz::View::Rolled || options.view == viz::View::Cell;
      std::optional<int64_t> batch;
      if (args.has("--batch")) batch = args.integer("--batch", std::nullopt, 1, 100000);
      recipe = models::config_from_file(file);
      unroll_model_file(file, path, steps, batch,
                        steps                   ? 1
                        : recurrence            ? 2
                        : recipe->bidirectional ? 3
                                                : 1);
    } else {
      if (args.has("--steps") || args.has("--batch"))
        throw UsageError("--steps and --batch unroll a model file; this graph was built by hand");
      if (!file.graph) file = models::load_file(path);  // says what is wrong with it
    }
  }
  const Graph* drawn = file.graph.get();
  const auto optimized = args.has("--optimized") ? passes::optimize(*drawn) : nullptr;
  const Graph& g = optimized ? *optimized : *drawn;
  viz::GradientFlow flow;
  if (gradflow) {
    if (auto target = args.get("--target")) feeds.emplace("target", read_array(*target));
    flow = viz::gradient_flow(*drawn, feeds, loss);
    options.flow = &flow;
    if (options.title.empty())
      options.title = fmt::format("gradient flow, loss {} = {:.6g}", loss, flow.value);
  }
  const viz::View view = viz::drawn_view(g, options);
  // A model file's diagram says what it shows (a hand-built graph's has no recipe to say it).
  if (options.title.empty() && recipe) {
    const models::Config& c = *recipe;
    options.title =
        fmt::format("{}{}, input {}, hidden {}{}{}: {} view{}", models::to_string(c.cell),
                    c.layers > 1 ? fmt::format(", {} layers", c.layers) : "", c.input_size,
                    c.hidden_size, c.bidirectional ? ", bidirectional" : "",
                    c.precision != models::Precision::Float32
                        ? fmt::format(", products in {}", models::to_string(c.precision))
                        : "",
                    viz::to_string(view), options.grad ? " with the backward graph of sum(y)" : "");
  }
  viz::write_diagram(g, options, out);
  fmt::print(
      stderr, "wrote {} ({} view{})\n", out, viz::to_string(view),
      options.view == viz::View::Auto ? ", chosen for this graph; --view picks another" : "");
  return 0;
}
}  // namespace

Command dot_command() {
  return {"dot", "draw a graph file (DOT, SVG, PNG, PDF)", kUsage, dot_main};
}

}  // namespace rnngraph::cli
