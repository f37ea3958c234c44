// rnngraph run: executes a graph file on an input sequence and writes the top layer's outputs.
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/threads.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph run G.json --input X.npy [--h0 H0.npy] [--c0 C0.npy] [--threads N]
                    [-o Y.npy]

Runs a graph file (from 'rnngraph build') on one input.

  --input X     x as [T, B, I] float32 .npy (PyTorch's sequence-first layout), or a CSV file
                of T lines with I numbers each (batch 1)
  --h0 H0       initial hidden states [L, B, H] (default zeros)
  --c0 C0       initial cell states [L, B, H], LSTM only (default zeros)
  --threads N   threads for the large products and fused cells (default 1)
  -o Y          where to write y, the top layer's hidden state at every step, [T, B, H]
                (.npy, or .csv when B = 1); without -o, y is printed
)";

int run_main(const std::vector<std::string>& argv) {
  const Args args(argv, {"--input", "--h0", "--c0", "--threads", "-o"});
  set_compute_threads(int(args.integer("--threads", 1, 1, 256)));
  if (args.positional().size() != 1) throw UsageError("run takes one graph file");
  const io::GraphFile file = io::load_graph(args.positional()[0]);
  const Graph& g = *file.graph;

  const Feeds feeds = model_feeds(g, args);
  // y when the graph has it (every model does), else its first output; only that is computed.
  const auto& outputs = g.outputs();
  if (outputs.empty()) throw GraphError("the graph declares no outputs");
  const std::vector<std::string> wanted{g.output_id("y") >= 0 ? "y" : outputs.front().first};
  Executor run(g, wanted);
  const Tensor& y = run(feeds)[wanted[0]];
  if (auto out = args.get("-o")) {
    write_array(*out, y);
    fmt::print(stderr, "wrote {} {} to {}\n", wanted[0], y.shape().str(), *out);
    return 0;
  }
  fmt::print("{} {}\n", wanted[0], y.shape().str());
  const int64_t row = y.shape()[y.shape().rank() - 1];
  for (int64_t r = 0; r < y.numel() / row; ++r)
    fmt::print("{}\n", fmt::join(y.values().subspan(std::size_t(r * row), std::size_t(row)), " "));
  return 0;
}
}  // namespace

Command run_command() { return {"run", "run a graph file on an input sequence", kUsage, run_main}; }

}  // namespace rnngraph::cli
