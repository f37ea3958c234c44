// rnngraph run: executes a graph file on an input sequence and writes the top layer's outputs.
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/io/npy.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/framework/threads.h>
#include <rnngraph/models/model_runner.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph run G.json --input X.npy [--h0 H0.npy] [--c0 C0.npy] [--lengths L.npy]
                    [--state-in S.safetensors] [--state-out S.safetensors] [--threads N]
                    [--batch-first] [-o Y.npy]

Runs a model file (from 'rnngraph build' or 'train') on one input of any length and batch, or
a hand-built graph file on inputs of its own shapes.

  --input X       x as [T, B, I] .npy (PyTorch's sequence-first layout), or a CSV file of T
                  lines with I numbers each (batch 1); any T and B for a model file. float32
                  as is; numpy's float64 and int64 (token ids) are read as float32, with a
                  note when float64 values were rounded
  --batch-first   x is [B, T, I] (token ids [B, T]) and y is written [B, T, H], as with
                  PyTorch's batch_first=True; states stay [L, B, H] (model files)
  --h0 H0         initial hidden states [L, B, H] (default zeros)
  --c0 C0         initial cell states [L, B, H], LSTM only (default zeros)
  --lengths L     a padded batch: B lengths (int or float .npy, whole numbers 1..T). Past its
                  length a sample keeps its state and outputs zeros; h_n (and c_n) hold each
                  sample's last valid state (PyTorch's pack_padded_sequence)
  --state-in S    streaming: the initial state from a state file (h_n, and c_n, as a previous
                  --state-out wrote them); not with --h0 / --c0
  --state-out S   writes h_n (and c_n) [L, B, H] to a state file; the same file as --state-in
                  is fine, so a long sequence runs in chunks with the one run's outputs
  --threads N     threads for the large products and fused cells (default 1)
  --check-numerics  stop at the first op whose result holds a NaN or an infinity, naming it,
                  its layer and step (or steps), the step, sample and feature of x holding
                  the first non-finite value, and the ranges of its inputs (exit code 2)
  -o Y            where to write y, the top layer's output at every step, [T, B, H]
                  (.npy, or .csv when B = 1); without -o, y is printed
)";

void print_or_write(const Args& args, const std::string& name, const Tensor& y) {
  if (auto out = args.get("-o")) {
    write_array(*out, y);
    fmt::print(stderr, "wrote {} {} to {}\n", name, y.shape().str(), *out);
    return;
  }
  fmt::print("{} {}\n", name, y.shape().str());
  const int64_t row = y.shape()[y.shape().rank() - 1];
  for (int64_t r = 0; r < y.numel() / row; ++r)
    fmt::print("{}\n", fmt::join(y.values().subspan(std::size_t(r * row), std::size_t(row)), " "));
}

// A model file: any length and batch, lengths, streaming state.
int run_model(const Args& args, const io::GraphFile& file) {
  models::Model model = models::Model::from_file(file, args.positional()[0]);
  model.check_numerics(args.has("--check-numerics"));
  const models::Config& c = model.config();
  const bool tokens = c.tokens != models::TokenInput::None;
  Feeds feeds{{tokens ? "tokens" : "x", read_array(args.require("--input"))}};
  Tensor& x = feeds.begin()->second;
  if (tokens && x.shape().rank() == 3 && x.shape()[2] == 1)
    x = x.reshaped({x.shape()[0], x.shape()[1]});  // CSV: [T, 1, 1]
  const bool batch_first = args.has("--batch-first");
  if (batch_first) x = swap_first_axes(x);
  if (x.shape().rank() < 2)
    throw ShapeError(fmt::format("the input is {}, not [T, B, ...]", x.shape().str()));
  const int64_t steps = x.shape()[0], batch = x.shape()[1];
  const std::vector<models::StateVariable> state_vars = models::model_state(c);
  const bool has_c = std::any_of(state_vars.begin(), state_vars.end(),
                                 [](const models::StateVariable& s) { return s.name == "c"; });
  if (c.bidirectional && (args.has("--state-in") || args.has("--state-out")))
    throw UsageError(
        "a bidirectional model cannot stream: its reverse direction starts from the end of the "
        "sequence");
  if (args.has("--state-in") && (args.has("--h0") || args.has("--c0")))
    throw UsageError("--state-in gives h0 (and c0): not with --h0 or --c0");
  if (!has_c && args.has("--c0"))
    throw UsageError(fmt::format("--c0 is for cells with a state c (an LSTM); {} has none",
                                 models::to_string(c.cell)));
  // A state from a file is checked here, so the message names the file the user passed.
  auto feed_state = [&](const models::StateVariable& s, const Tensor& value,
                        const std::string& source) {
    const Shape expected{c.layers * models::directions(c), batch, s.size};
    if (value.shape() != expected)
      throw ShapeError(
          fmt::format("{} is {}; the model and the input's batch of {} need {} "
                      "([layers * directions, batch, {}])",
                      source, value.shape().str(), batch, expected.str(), s.size));
    feeds.emplace(s.name + "0", value.clone());
  };
  for (const models::StateVariable& s : state_vars)
    if (auto path = args.get(fmt::format("--{}0", s.name)))
      feed_state(s, read_array(*path), fmt::format("{} (--{}0)", *path, s.name));
  if (auto path = args.get("--state-in")) {
    const io::TensorMap state = io::read_safetensors(*path);
    for (const models::StateVariable& s : state_vars) {
      auto it = state.find(s.name + "_n");
      if (it == state.end())
        throw FormatError(fmt::format("{}: no '{}_n' in the state file", *path, s.name));
      feed_state(s, it->second, fmt::format("the state file {}'s {}_n", *path, s.name));
    }
  }
  std::vector<int64_t> lengths;
  if (auto path = args.get("--lengths"))
    lengths = models::lengths_from(io::read_npy_numbers(*path), batch, steps);
  const Results& r = model.run(feeds, lengths);
  if (auto path = args.get("--state-out")) {
    io::TensorMap state;
    std::vector<std::string> names;
    for (const models::StateVariable& s : state_vars) {
      names.push_back(s.name + "_n");
      state.emplace(names.back(), r[names.back()]);
    }
    io::write_safetensors(*path, state);
    fmt::print(stderr, "wrote the state ({}) to {}\n", fmt::join(names, ", "), *path);
  }
  print_or_write(args, "y", batch_first ? swap_first_axes(r["y"]) : r["y"]);
  return 0;
}

int run_main(const std::vector<std::string>& argv) {
  const Args args(
      argv,
      {"--input", "--h0", "--c0", "--lengths", "--state-in", "--state-out", "--threads", "-o"},
      {"--check-numerics", "--batch-first"});
  set_compute_threads(int(args.integer("--threads", 1, 1, 256)));
  if (args.positional().size() != 1) throw UsageError("run takes one graph file");
  // A model file needs no graph at its default shape: the model unrolls for the input.
  io::GraphFile file = io::read_graph_file(args.positional()[0]);
  if (models::is_model(file)) return run_model(args, file);
  if (!file.graph) file = models::load_file(args.positional()[0]);  // says what is wrong
  for (const char* flag : {"--lengths", "--state-in", "--state-out", "--batch-first"})
    if (args.has(flag))
      throw UsageError(fmt::format("{} needs a model file (from rnngraph build or train)", flag));
  const Graph& g = *file.graph;
  const Feeds feeds = model_feeds(g, args);
  // y when the graph has it, else its first output; only that is computed.
  const auto& outputs = g.outputs();
  if (outputs.empty()) throw GraphError("the graph declares no outputs");
  const std::vector<std::string> wanted{g.output_id("y") >= 0 ? "y" : outputs.front().first};
  Executor run(g, wanted);
  run.check_numerics(args.has("--check-numerics"));
  print_or_write(args, wanted[0], run(feeds)[wanted[0]]);
  return 0;
}
}  // namespace

Command run_command() { return {"run", "run a graph file on an input sequence", kUsage, run_main}; }

}  // namespace rnngraph::cli
