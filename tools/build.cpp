// rnngraph build: a model (RNN, LSTM, GRU; stacked) written as a recipe in G.json plus its
// weights in G.safetensors, from PyTorch or our own names, or seeded at random.
#include <fmt/format.h>

#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/models/model.h>
#include <rnngraph/models/torch_state.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph build CELL --input-size I --hidden-size H [--steps T]
                      [--batch B] [--layers L] [--bidirectional] [--proj-size P]
                      [--peepholes | --layer-norm]
                      [--dropout P] [--recurrent-dropout P] [--weights W.safetensors]
                      [--seed N] -o G.json

Builds the unrolled graph of a recurrent model and writes it as G.json, with its parameters in
G.safetensors beside it.

  CELL               the cell: rnn (the seed's tanh RNN), lstm (the textbook LSTM), gru
                     (PyTorch's GRU), peephole_lstm, ln_lstm, or a cell a program registered
  --proj-size P      with lstm: PyTorch's proj_size, a projected output h_t = (o * tanh(c_t))
                     · W_hr of P < H values (weight_hr_l<k> in PyTorch's state_dict); h0, h_n
                     are [L, B, P], y [T, B, P]
  --peepholes        with lstm: the LSTM with peephole connections as ONNX defines them
                     (peephole_lstm: p_i, p_f, p_o; exports as an ONNX LSTM with P)
  --layer-norm       with lstm: the layer-normalised LSTM of Ba et al. 2016, as DyNet's
                     ln_lstm (ln_lstm)
  --input-size I     features per step
  --hidden-size H    hidden units per layer
  --steps T          the default length (default 1): the model runs on any length and batch,
                     this is the shape that dot, info and fixed-shape uses unroll
  --batch B          the default batch (default 1), likewise
  --layers L         stacked layers (default 1)
  --bidirectional    a second, right-to-left direction per layer (PyTorch's
                     bidirectional=True; its weights end in _reverse): y is [T, B, 2H], h0 and
                     h_n [2L, B, H]
  --dropout P, --recurrent-dropout P
                     dropout for training the model (between layers; variational on h):
                     stored in the recipe, never applied by run, grad or export
  --weights W        a safetensors file: a PyTorch nn.RNN/nn.LSTM/nn.GRU state_dict
                     (weight_ih_l0, ...) or our own parameter names (W_f_l0, ...)
  --seed N           seed of the random U(-1/sqrt(H), 1/sqrt(H)) weights when --weights is
                     absent (default 0)
  -o G.json          the model file to write: its recipe (cell, sizes, layers, default
                     shape), a few hundred bytes whatever T is; the weights go beside it in
                     G.safetensors

The model's inputs are x [T, B, I] for any T and B, h0 [L, B, H] (and c0 for the LSTM); its
outputs are y [T, B, H], h_n [L, B, H] (and c_n).
)";

int build_main(const std::vector<std::string>& argv) {
  const Args args(argv,
                  {"--input-size", "--hidden-size", "--steps", "--batch", "--layers", "--weights",
                   "--seed", "--dropout", "--recurrent-dropout", "--proj-size", "-o"},
                  {"--bidirectional", "--peepholes", "--layer-norm"});
  models::Config c = model_config(args, "build", 1, 1);
  c.cell = lstm_variant(args, c.cell);
  c.seed = uint64_t(args.integer("--seed", 0, 0, int64_t(1) << 62));
  c.bidirectional = args.has("--bidirectional");
  c.proj_size = args.integer("--proj-size", 0, 0, 1 << 24);
  c.dropout = float(args.number("--dropout", 0, 0, 0.99));
  c.recurrent_dropout = float(args.number("--recurrent-dropout", 0, 0, 0.99));
  const std::string out = args.require("-o");
  if (!out.ends_with(".json"))
    throw UsageError(fmt::format("-o '{}': graph files end in .json", out));

  Graph g;
  models::build(g, c);
  std::string source = fmt::format("random (seed {})", c.seed);
  if (auto weights = args.get("--weights")) {
    const io::TensorMap state = io::read_safetensors(*weights);
    models::load_weights(g, c, state);
    source = fmt::format("{} ({} layout)", *weights,
                         models::is_torch_state(state) ? "PyTorch" : "rnngraph");
  }
  models::save_file(g, c, out, {{"weights", source}});
  fmt::print(
      "wrote {} and {}: {} with {} layer(s), input {}, hidden {}, {} steps, batch {}, {} nodes; "
      "weights {}\n",
      out, io::parameters_path(out).string(), models::to_string(c.cell), c.layers, c.input_size,
      c.hidden_size, c.steps, c.batch, g.size(), source);
  return 0;
}
}  // namespace

Command build_command() {
  return {"build", "build a model (rnn, lstm, gru, a variant or a registered cell) into G.json",
          kUsage, build_main};
}

}  // namespace rnngraph::cli
