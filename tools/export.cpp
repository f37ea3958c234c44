// rnngraph export: a graph file as an ONNX model that ONNX Runtime serves.
#include <fmt/format.h>

#include <rnngraph/models/model.h>
#include <rnngraph/onnx/onnx.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage = R"(usage: rnngraph export G.json -o model.onnx [--opset N] [--lengths]

Writes G.json as an ONNX model (checked by libonnx's checker before it is written).

A model file (from build, train or import) becomes ONNX's own RNN / LSTM / GRU operators, one per
layer, for any sequence length T and batch B:
  inputs   x [T, B, I] float32 (tokens [T, B] int64 for a text model), h0 [L*D, B, H]
           (and c0 for the LSTM), D = 2 when bidirectional; lengths [B] int32 with --lengths
  outputs  y [T, B, D*H] (or [T, B, O] through a trained model's output layer), h_n [L*D, B, H]
           (and c_n), as PyTorch orders them
Any other graph file becomes its ops (MatMul, Gemm, Concat, Add, Tanh, Slice, ...) at its fixed
shapes, with its own inputs and outputs.

  -o model.onnx   the file to write
  --opset N       ONNX opset, 13 to 17 (default 17)
  --lengths       add the lengths input: per-sample lengths of a padded batch; y is 0 past each
                  sample's length and h_n (c_n) hold each sample's last valid state
)";

int export_main(const std::vector<std::string>& argv) {
  const Args args(argv, {"-o", "--opset"}, {"--lengths"});
  if (args.positional().size() != 1) throw UsageError("export takes one graph file");
  onnx::ExportOptions options;
  options.opset = int(args.integer("--opset", onnx::kDefaultOpset, onnx::kMinOpset, onnx::kMaxOpset));
  options.lengths = args.has("--lengths");
  const std::string out = args.require("-o");
  const io::GraphFile file = models::load_file(args.positional()[0]);
  if (options.lengths && !file.meta.contains("cell"))
    throw UsageError("--lengths is for model files; this graph was built by hand");
  onnx::save(file, out, options);
  fmt::print("wrote {} (opset {}{})\n", out, options.opset, options.lengths ? ", with lengths" : "");
  return 0;
}
}  // namespace

Command export_command() {
  return {"export", "write a graph file as an ONNX model (for ONNX Runtime)", kUsage, export_main};
}

}  // namespace rnngraph::cli
