// rnngraph grad: the gradient of a loss of a graph's output with respect to every parameter (and
// optionally the inputs), by appending the backward graph and running it once.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/threads.h>
#include <rnngraph/models/losses.h>
#include <rnngraph/models/model.h>
#include <rnngraph/models/torch_state.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph grad G.json --input X.npy [--h0 H0.npy] [--c0 C0.npy]
                     [--loss sum|mse] [--target Y.npy] [--names native|torch]
                     [--wrt params|all] [--threads N] -o GRADS.safetensors

Runs the graph forward and backward and writes the gradient of a loss of its output y.

  --input X      x as [T, B, I] .npy (or CSV, batch 1); for a token model, the class ids
                 [T, B]; float64 and int64 arrays are read as float32
  --h0, --c0     initial states [L, B, H] (default zeros)
  --loss L       sum: the sum of every element of y (default); mse: mean((y - target)²)
  --target Y     the target of mse, y's shape
  --names N      native: our parameter names (W_f_l0, ...; default); torch: PyTorch's
                 nn.RNN/nn.LSTM/nn.GRU names and layouts (weight_ih_l0, ...), exactly what
                 param.grad holds after the same loss (model graphs only; an output layer or
                 embedding keeps its native name)
  --wrt W        params: every parameter (default); all: the inputs x, h0 and c0 too, saved as
                 "x", "h0", "c0"
  --threads N    threads for the large products and fused cells (default 1)
  --check-numerics  stop at the first op (forward or backward) whose result holds a NaN or an
                 infinity, naming it, its step and layer, and the ranges of its inputs
  -o GRADS       the safetensors file to write

Prints "loss: X" on stdout.
)";

int grad_main(const std::vector<std::string>& argv) {
  const Args args(
      argv,
      {"--input", "--h0", "--c0", "--loss", "--target", "--names", "--wrt", "--threads", "-o"},
      {"--check-numerics"});
  if (args.positional().size() != 1) throw UsageError("grad takes one graph file");
  const std::string out = args.require("-o");
  if (!out.ends_with(".safetensors"))
    throw UsageError(fmt::format("-o '{}': gradients are written as .safetensors", out));
  const std::string loss_name = args.get("--loss").value_or("sum");
  if (loss_name != "sum" && loss_name != "mse")
    throw UsageError(fmt::format("--loss must be sum or mse, got '{}'", loss_name));
  if ((loss_name == "mse") != args.has("--target"))
    throw UsageError("--target goes with --loss mse, and --loss mse needs --target");
  const std::string names = args.get("--names").value_or("native");
  if (names != "native" && names != "torch")
    throw UsageError(fmt::format("--names must be native or torch, got '{}'", names));
  const std::string wrt_kind = args.get("--wrt").value_or("params");
  if (wrt_kind != "params" && wrt_kind != "all")
    throw UsageError(fmt::format("--wrt must be params or all, got '{}'", wrt_kind));
  set_compute_threads(int(args.integer("--threads", 1, 1, 256)));

  const std::string path = args.positional()[0];
  io::GraphFile file = io::read_graph_file(path);
  if (names == "torch" && !models::is_model(file))
    throw UsageError("--names torch needs a model graph (from rnngraph build or train)");
  if (models::is_model(file)) {
    const models::Precision precision = models::config_from_file(file).precision;
    if (precision != models::Precision::Float32)
      throw FormatError(fmt::format(
          "{}: a model quantized to {} has no gradients (it runs forward only): take them of "
          "the float32 model it came from",
          path, models::to_string(precision)));
  }
  Feeds feeds = unrolled_feeds(file, path, args);  // a model file: unrolled for the input's shape
  Graph& g = *file.graph;
  const int y = g.output_id("y");
  if (y < 0) throw GraphError("the graph has no output 'y'");
  const Value yv(g, y);
  Value loss = models::sum_loss(yv);
  if (loss_name == "mse") {
    Tensor target = read_array(*args.get("--target"));
    loss = models::mse_loss(yv, g.input("target", target.shape()));
    feeds.emplace("target", target);
  }
  g.output("loss", loss);

  const std::vector<std::string> wrt = gradient_targets(g, wrt_kind == "all");
  const auto trained = passes::training_graph(g, "loss", wrt);

  std::vector<std::string> wanted{"loss"};
  for (const std::string& name : wrt) wanted.push_back("grad/" + name);
  Executor run(*trained, wanted, {.optimize = false});
  run.check_numerics(args.has("--check-numerics"));
  const Results& r = run(feeds);

  io::TensorMap grads;
  for (const std::string& name : wrt) grads.emplace(name, r["grad/" + name].clone());
  if (names == "torch")
    grads = models::torch_named_gradients(models::config_from_file(file), grads);
  io::write_safetensors(out, grads);
  fmt::print("loss: {}\n", r["loss"].values()[0]);
  fmt::print(stderr, "wrote {} gradients to {}\n", grads.size(), out);
  return 0;
}
}  // namespace

Command grad_command() {
  return {"grad", "gradients of a loss with respect to parameters (and inputs)", kUsage, grad_main};
}

}  // namespace rnngraph::cli
