// rnngraph bench: times the forward pass of a model graph with the given shapes, the way
// bench/compare_torch.py times PyTorch's, so the two can be compared in one run.
#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/threads.h>
#include <rnngraph/models/losses.h>
#include <rnngraph/models/model.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph bench {rnn|lstm|gru} --batch B --input-size I --hidden-size H --steps T
                      [--layers L] [--threads N] [--repeat R] [--json] [--train]

Times the forward pass (x [T, B, I] to every h_t) of a model with random weights: one warm-up
run, then R timed runs (default 20); prints the median and the fastest.

  --threads N   OpenBLAS threads for the matrix products (default 1)
  --json        one JSON object instead of the text line (bench/compare_torch.py reads it)
  --train       time forward + backward instead: the gradient of the sum of y with respect
                to every parameter and x, h0 (and c0), as PyTorch's y.sum().backward()
                computes it; the arena then holds what backward needs
)";

int bench_main(const std::vector<std::string>& argv) {
  const Args args(
      argv,
      {"--batch", "--input-size", "--hidden-size", "--steps", "--layers", "--threads", "--repeat"},
      {"--json", "--train"});
  const bool train = args.has("--train");
  const models::Config c = model_config(args, "bench", std::nullopt);
  const int threads = int(args.integer("--threads", 1, 1, 256));
  const int repeat = int(args.integer("--repeat", 20, 1, 100000));
  set_compute_threads(threads);

  Graph g;
  const models::Outputs model = models::build(g, c);
  std::vector<std::string> outputs{"y"};
  if (train) {
    std::vector<Value> wrt = parameter_values(g);
    for (const char* input : {"x", "h0", "c0"})
      if (g.contains(input)) wrt.emplace_back(g, g.find(input).id);
    grad(models::sum_loss(model.y), wrt);
    for (const Value& w : wrt) outputs.push_back("grad/" + g.node(w.id()).name);
  }
  Executor run(g, outputs);
  Feeds feeds{{"x", init::normal(0, 1, 1).tensor({c.steps, c.batch, c.input_size})},
              {"h0", Tensor({c.layers, c.batch, c.hidden_size})}};
  if (c.cell == models::Cell::Lstm) feeds.emplace("c0", Tensor({c.layers, c.batch, c.hidden_size}));

  run(feeds);  // warm-up: first touch of the arena, OpenBLAS's buffers
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run(feeds);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2], fastest = ms.front();
  if (args.has("--json")) {
    fmt::print(
        "{{\"engine\": \"rnngraph\", \"cell\": \"{}\", \"batch\": {}, \"input_size\": {}, "
        "\"hidden_size\": {}, "
        "\"steps\": {}, \"layers\": {}, \"threads\": {}, \"repeat\": {}, \"median_ms\": {:.4f}, "
        "\"min_ms\": {:.4f}, \"arena_bytes\": {}, \"train\": {}}}\n",
        models::to_string(c.cell), c.batch, c.input_size, c.hidden_size, c.steps, c.layers, threads,
        repeat, median, fastest, run.arena_bytes(), train);
  } else {
    fmt::print(
        "{} B={} I={} H={} T={} L={} threads={}: {:.3f} ms per {} (median of {}, fastest "
        "{:.3f}), "
        "{:.0f} sequences/s, arena {} bytes\n",
        models::to_string(c.cell), c.batch, c.input_size, c.hidden_size, c.steps, c.layers, threads,
        median, train ? "forward + backward" : "forward", repeat, fastest,
        1000.0 * double(c.batch) / median, run.arena_bytes());
  }
  return 0;
}
}  // namespace

Command bench_command() {
  return {"bench", "time a model's forward pass (compare with bench/compare_torch.py)", kUsage,
          bench_main};
}

}  // namespace rnngraph::cli
