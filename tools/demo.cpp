// rnngraph demo, the main job: the seed's RNN (s = 5, n_features = 2, T = 3) and an LSTM built,
// run, saved, and drawn in every view.
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/models/model.h>
#include <rnngraph/models/rnn.h>
#include <rnngraph/models/training.h>
#include <rnngraph/tools/viz/diagram.h>

#include "cli.h"
#include "loss_curve.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage = R"(usage: rnngraph demo [--out DIR]

Builds the seed tutorial's vanilla RNN (hidden size s = 5, n_features = 2, time_steps = 3,
h0 = 0, w ~ randn, b = 0) and a textbook LSTM of the same sizes, runs both on one random
sequence and prints their outputs, saves both graphs, and renders their block, unrolled,
rolled and cell diagrams and their backward graphs (each as PNG and SVG) into DIR (default
./rnngraph-demo). Draws the gradient flow of an RNN and an LSTM on one 40-step sequence, side
by side (gradient_flow.svg). Then trains an LSTM (hidden 32) to predict sine waves for 400
iterations (about a second) and writes its loss curve (sine_loss.svg) and the trained model
(sine_lstm.json) beside the diagrams.
)";

// One line per row, numbered from `first`: x1, x2, ... or c3 for the last cell state.
void print_rows(std::string_view name, const Tensor& t, int64_t first = 1) {
  const int64_t row = t.shape()[t.shape().rank() - 1];
  for (int64_t r = 0; r < t.numel() / row; ++r)
    fmt::print("  {}{} = [{:9.5f}]\n", name, r + first,
               fmt::join(t.values().subspan(std::size_t(r * row), std::size_t(row)), ", "));
}

// Writes one diagram as PNG (for slides) and SVG (for the web); returns both paths.
std::vector<std::string> draw_both(const Graph& g, const viz::Options& options,
                                   const std::filesystem::path& stem) {
  std::vector<std::string> files;
  for (const char* extension : {".png", ".svg"}) {
    std::filesystem::path path = stem;
    path += extension;
    viz::write_diagram(g, options, path);
    files.push_back(path.string());
  }
  return files;
}

// Saves the graph (recipe and weights) and draws it in every view, and its backward graph;
// returns the files written.
std::vector<std::string> save_and_draw(const Graph& g, const models::Config& config,
                                       const std::filesystem::path& dir, const std::string& name,
                                       const std::string& title) {
  const std::filesystem::path recipe = dir / (name + ".json");
  models::save_file(g, config, recipe);
  std::vector<std::string> files{recipe.string(), io::parameters_path(recipe).string()};
  auto add = [&](const std::vector<std::string>& more) {
    files.insert(files.end(), more.begin(), more.end());
  };
  for (viz::View view :
       {viz::View::Blocks, viz::View::Unrolled, viz::View::Rolled, viz::View::Cell})
    add(draw_both(g,
                  {.view = view, .title = fmt::format("{}: {} view", title, viz::to_string(view))},
                  dir / fmt::format("{}_{}", name, viz::to_string(view))));
  // The backward graph beside the forward one.
  for (viz::View view : {viz::View::Unrolled, viz::View::Rolled})
    add(draw_both(g,
                  {.view = view,
                   .grad = true,
                   .title = fmt::format("{}: {} view with the backward graph of sum(y)", title,
                                        viz::to_string(view))},
                  dir / fmt::format("{}_{}_grad", name, viz::to_string(view))));
  return files;
}

// An RNN and an LSTM of the same sizes on the same long sequence, one above the other, each step
// shaded by how much of the last output's gradient reaches it.
std::vector<std::string> draw_gradient_flow(const std::filesystem::path& dir) {
  constexpr int64_t kSteps = 40, kInput = 2, kHidden = 16;
  const Tensor x = init::normal(0, 1, 11).tensor({kSteps, 1, kInput});
  Graph rnn, lstm;
  models::build(rnn, {.input_size = kInput, .hidden_size = kHidden, .steps = kSteps, .seed = 3});
  models::build(lstm, {.cell = models::Cell::Lstm,
                       .input_size = kInput,
                       .hidden_size = kHidden,
                       .steps = kSteps,
                       .seed = 3});
  // The forget gate's bias at 1, the usual LSTM initialisation (Gers et al. 2000, Jozefowicz et
  // al. 2015): the cell state then carries the gradient back, which is what the picture shows.
  lstm.param("b_f_l0").fill(1);
  const Tensor zeros({1, 1, kHidden});
  const viz::GradientFlow rnn_flow = viz::gradient_flow(rnn, {{"x", x}, {"h0", zeros}}, "last");
  const viz::GradientFlow lstm_flow =
      viz::gradient_flow(lstm, {{"x", x}, {"h0", zeros}, {"c0", zeros}}, "last");
  double lo = 0, hi = 0;  // one scale for both
  for (const auto* flow : {&rnn_flow, &lstm_flow})
    for (const auto& row : flow->norms)
      for (double v : row)
        if (v > 0) lo = lo > 0 ? std::min(lo, v) : v, hi = std::max(hi, v);
  viz::Options options{
      .view = viz::View::Gradflow, .steps_shown = 8, .flow_min = lo, .flow_max = hi};
  std::vector<viz::Panel> panels{{&rnn, options}, {&lstm, options}};
  panels[0].options.flow = &rnn_flow;
  panels[0].options.flow_bar = false;
  panels[0].options.title = fmt::format("RNN, hidden {}", kHidden);
  panels[1].options.flow = &lstm_flow;
  panels[1].options.title = fmt::format("LSTM, hidden {}, forget bias 1", kHidden);
  const std::string dot = viz::to_dot(
      panels, fmt::format("How far back the last output's gradient reaches: ‖∂y_{}/∂h_t‖ over "
                          "{} steps, the same input",
                          kSteps - 1, kSteps));
  std::vector<std::string> files;
  for (const char* extension : {".svg", ".png"}) {
    const auto path = dir / fmt::format("gradient_flow{}", extension);
    viz::write_dot(dot, path);
    files.push_back(path.string());
  }
  fmt::print(
      "gradient flow over {} steps (loss: the last step's outputs): ‖∂L/∂h_0‖ = {:.1e} "
      "for the RNN, {:.1e} for the LSTM\n",
      kSteps, rnn_flow.norms[0][0], lstm_flow.norms[0][0]);
  return files;
}

int demo_main(const std::vector<std::string>& argv) {
  const Args args(argv, {"--out"});
  if (!args.positional().empty()) throw UsageError("demo takes no positional arguments");
  const std::filesystem::path dir = args.get("--out").value_or("rnngraph-demo");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("cannot create '{}': {}", dir.string(), ec.message()));

  const int64_t s = 5, n_features = 2, time_steps = 3;
  const Tensor x = init::normal(0, 1, 7).tensor({time_steps, 1, n_features});

  // The seed's RNN, its weights drawn like np.random.randn.
  Graph rnn;
  const models::Config rnn_config{.input_size = n_features, .hidden_size = s, .steps = time_steps};
  models::build(rnn, rnn_config);
  init::normal(0, 1, 2024).apply(rnn.param("W_l0"));  // the seed's W; its b stays 0
  rnn.param("b_l0").fill(0);
  Executor run_rnn(rnn);
  const Results& r = run_rnn({{"x", x}, {"h0", Tensor({1, 1, s})}});
  fmt::print(
      "seed RNN: h_t = tanh(concat([h_(t-1), x_t]) . W + b), s = {}, n_features = {}, T = {}, h0 = "
      "0\n",
      s, n_features, time_steps);
  print_rows("x", x);
  print_rows("h", r["y"]);

  // The textbook LSTM: forget, input, output gates and the tanh layer on concat([h, x]).
  Graph lstm;
  const models::Config lstm_config{.cell = models::Cell::Lstm,
                                   .input_size = n_features,
                                   .hidden_size = s,
                                   .steps = time_steps,
                                   .seed = 1};
  models::build(lstm, lstm_config);
  Executor run_lstm(lstm);
  const Results& l = run_lstm({{"x", x}, {"h0", Tensor({1, 1, s})}, {"c0", Tensor({1, 1, s})}});
  fmt::print(
      "LSTM: f, i, o = sigmoid(.), c~ = tanh(.), c_t = f*c_(t-1) + i*c~, h_t = o*tanh(c_t)\n");
  print_rows("h", l["y"]);
  print_rows("c", l["c_n"], time_steps);

  std::vector<std::string> files =
      save_and_draw(rnn, rnn_config, dir, "rnn", "seed RNN (s = 5, n = 2, T = 3)");
  const auto more =
      save_and_draw(lstm, lstm_config, dir, "lstm", "LSTM (hidden 5, input 2, T = 3)");
  files.insert(files.end(), more.begin(), more.end());
  const auto flow = draw_gradient_flow(dir);
  files.insert(files.end(), flow.begin(), flow.end());
  // Training: BPTT through the unrolled LSTM, Adam, on next-step prediction of sine waves.
  models::Trainer trainer({.task = models::Task::Sine,
                           .cell = models::Cell::Lstm,
                           .hidden_size = 32,
                           .iterations = 400});
  std::vector<float> losses;
  while (!trainer.done()) losses.push_back(trainer.iterate());
  fmt::print(
      "\ntrained an LSTM (hidden 32) on sine waves: MSE {:.4f} at iteration 1, {:.5f} at {}\n",
      losses.front(), losses.back(), losses.size());
  write_loss_curve(dir / "sine_loss.svg", losses, "LSTM 32 on sine waves: loss per iteration");
  trainer.save(dir / "sine_lstm.json");
  for (const char* name : {"sine_loss.svg", "sine_lstm.json", "sine_lstm.safetensors"})
    files.push_back((dir / name).string());

  fmt::print("\nwrote {} files to {}/:\n", files.size(), dir.string());
  for (const std::string& f : files) fmt::print("  {}\n", f);
  fmt::print(
      "try: rnngraph info {0}/lstm.json;  rnngraph dot {0}/lstm.json -o lstm.pdf --view cell\n",
      dir.string());
  return 0;
}
}  // namespace

Command demo_command() {
  return {"demo", "the main job: seed RNN and LSTM built, run, drawn; an LSTM trained", kUsage,
          demo_main};
}

}  // namespace rnngraph::cli
