// rnngraph export: a graph file as an ONNX model that ONNX Runtime serves.
#include <filesystem>

#include <fmt/format.h>

#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/models/model.h>
#include <rnngraph/models/model_runner.h>
#include <rnngraph/models/torch_state.h>
#include <rnngraph/onnx/onnx.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph export G.json -o model.onnx [--opset N] [--lengths]
       rnngraph export M.json -o state.safetensors

Writes G.json as an ONNX model (checked by libonnx's checker before it is written).

A model file (from build, train or import) becomes ONNX's own RNN / LSTM / GRU operators, one per
layer, for any sequence length T and batch B; a model of a cell without an ONNX operator (a
user's cell, ln_lstm) becomes one ONNX Scan per layer and direction over the cell's step graph,
for any T and B too:
  inputs   x [T, B, I] float32 (tokens [T, B] int64 for a text model), h0 [L*D, B, H]
           (and c0 for an LSTM; s0 for each state s of a user's cell), D = 2 when
           bidirectional; lengths [B] int32 with --lengths
  outputs  y [T, B, D*H] (or [T, B, O] through a trained model's output layer), h_n [L*D, B, H]
           (and c_n), as PyTorch orders them
Any other graph file becomes its ops (MatMul, Gemm, Concat, Add, Tanh, Slice, ...) at its fixed
shapes, with its own inputs and outputs.

  -o model.onnx   the file to write
  --opset N       ONNX opset, 13 to 17 (default 17)
  --lengths       add the lengths input: per-sample lengths of a padded batch; the layers'
                  outputs are 0 past each sample's length (y is b_out there with an output
                  layer) and h_n (c_n) hold each sample's last valid state

To a .safetensors file, a model file's weights are written as a PyTorch state_dict instead:
nn.RNN / nn.LSTM / nn.GRU's weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ... (and
*_reverse), plus out.weight [O, D*H] and out.bias [O] for an output layer (an nn.Linear) and
embedding.weight [V, I] for an embedding (an nn.Embedding). docs/deploy.md continues training
from it in PyTorch.
)";

int export_main(const std::vector<std::string>& argv) {
  const Args args(argv, {"-o", "--opset"}, {"--lengths"});
  if (args.positional().size() != 1) throw UsageError("export takes one graph file");
  onnx::ExportOptions options;
  options.opset =
      int(args.integer("--opset", onnx::kDefaultOpset, onnx::kMinOpset, onnx::kMaxOpset));
  options.lengths = args.has("--lengths");
  const std::string out = args.require("-o");
  // The file's name says its format: nothing is written under a name that promises another
  if (!out.ends_with(".onnx") && !out.ends_with(".safetensors"))
    throw UsageError(fmt::format(
        "{}: export writes .onnx (ONNX) or .safetensors (a PyTorch state_dict){}", quote(out),
        out.ends_with(".pt") || out.ends_with(".pth")
            ? "; for PyTorch, write the .safetensors state_dict and load it with "
              "safetensors.torch.load_file (docs/deploy.md)"
            : ""));
  const io::GraphFile file = models::load_file(args.positional()[0]);
  if (out.ends_with(".safetensors")) {
    std::error_code ignored;
    if (std::filesystem::weakly_canonical(out, ignored) ==
        std::filesystem::weakly_canonical(io::parameters_path(args.positional()[0]), ignored))
      throw UsageError(
          fmt::format("'{}' holds the model's own weights; write the state_dict elsewhere", out));
    if (!models::is_model(file))
      throw UsageError(
          "a PyTorch state_dict is written for model files; this graph was built by hand");
    if (args.has("--opset") || options.lengths)
      throw UsageError("--opset and --lengths are for ONNX files, not a .safetensors state_dict");
    const models::Model m = models::Model::from_file(file, args.positional()[0]);
    io::write_safetensors(out, models::torch_state_dict(m.weights(), m.config()));
    fmt::print("wrote {} (a PyTorch state_dict)\n", out);
    return 0;
  }
  if (options.lengths && !models::is_model(file))
    throw UsageError("--lengths is for model files; this graph was built by hand");
  const std::string bytes = onnx::save(file, out, options);
  fmt::print("wrote {} (opset {}{})\n{}", out, options.opset,
             options.lengths ? ", with lengths" : "", onnx::signature(bytes));
  return 0;
}
}  // namespace

Command export_command() {
  return {"export", "write a graph file as an ONNX model (for ONNX Runtime)", kUsage, export_main};
}

}  // namespace rnngraph::cli
