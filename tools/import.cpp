// rnngraph import: an ONNX RNN / LSTM / GRU model (torch.onnx.export's, or our own export) as a
// model file.
#include <fmt/format.h>

#include <rnngraph/models/model.h>
#include <rnngraph/onnx/onnx.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage = R"(usage: rnngraph import model.onnx -o G.json

Reads an ONNX model made of RNN, LSTM or GRU operators, one per layer (what torch.onnx.export
writes for nn.RNN, nn.LSTM and nn.GRU, with or without initial-state inputs, one direction or
bidirectional), and writes it as a model file: run, grad, dot, export and train --resume take it
like one made by build. ONNX's gate orders are mapped to ours (docs/formats.md).

Refused with exit code 2: other activations, clip, peepholes, a GRU without
linear_before_reset = 1, weights computed at run time, or ops besides the layers' plumbing
(reshaping outputs, slicing initial states, making zero states).
)";

int import_main(const std::vector<std::string>& argv) {
  const Args args(argv, {"-o"});
  if (args.positional().size() != 1) throw UsageError("import takes one ONNX file");
  const std::string out = args.require("-o");
  const onnx::Imported model = onnx::import_model(args.positional()[0]);
  models::save_file(model.weights, model.config, out, {{"imported_from", args.positional()[0]}});
  const models::Config& c = model.config;
  fmt::print("wrote {}: {} layer(s) of {}{}, input size {}, hidden size {}\n", out, c.layers,
             models::to_string(c.cell), c.bidirectional ? " (bidirectional)" : "", c.input_size,
             c.hidden_size);
  return 0;
}
}  // namespace

Command import_command() {
  return {"import", "read an ONNX RNN / LSTM / GRU model into a model file", kUsage, import_main};
}

}  // namespace rnngraph::cli
