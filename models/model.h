// Complete recurrent models: a cell (rnn, lstm, gru or a registered one: models/cell.h), L
// stacked layers (layer k+1 reads layer
// k's h_t), batch B, unrolled over T steps; optionally a token input in front and a linear
// output layer on top (what training tasks need).
//
// Graph contract (the CLI and graph files rely on it):
//   inputs      "x" [T, B, I], or "tokens" [T, B] (class ids) with a token input;
//               "<s>0" [L, B, size] for each state variable s of the cell: "h0" (and "c0" for
//               the LSTM); "mask" [T, B, 1] when masked
//   parameters  per layer k, the cell's parameter roles suffixed "_l<k>": RNN W, b; LSTM W_f,
//               W_i, W_o, W_c, b_f, b_i, b_o, b_c; GRU W_r, W_z, b_r, b_z, W_in, b_in, W_hn,
//               b_hn (shapes: see each cell);
//               "embedding" [V, I] with an embedded token input; "W_out" [H, O] and "b_out"
//               [1, O] with an output layer
//   outputs     "y" [T, B, H] (the top layer's h_t at every step), or [T, B, O] through the
//               output layer; "<s>_n" [L, B, size] per state variable: "h_n" (final states),
//               and "c_n" for the LSTM
// Step t's nodes are placed at step t (scope "step<t>"), layer k's at layer k ("step<t>/layer<k>"
// when L > 1).
//
// The seed's RNN is the one-layer Cell::Rnn model: its W ((hidden + features) × hidden, on
// concat([h, x])) is W_l0, its b is b_l0, its h0 [B, H] is h0[0], its list of h_t is y and its
// last h is h_n[0].
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <filesystem>

#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/models/cell.h>

namespace rnngraph::models {

// The cell's name, and a registered cell by name (find_cell: GraphError otherwise).
const std::string& to_string(const Cell& cell);
Cell cell_from_string(std::string_view name);

enum class TokenInput { None, OneHot, Embedding };

// The precision the products of the weights run in: float32, int8 (dynamic quantization) or
// bfloat16 weights with float32 sums; cells and state are float32 in all three.
using Precision = passes::Precision;
std::string_view to_string(Precision precision);  // "f32", "int8", "bf16"
// "f32", "int8" or "bf16"; anything else throws FormatError naming `what`.
Precision precision_from_string(std::string_view name, std::string_view what);

struct Config {
  Cell cell = Cell::Rnn;
  int64_t input_size = 1, hidden_size = 1, steps = 1, batch = 1, layers = 1;
  uint64_t seed = 0;  // weights and biases ~ U(-1/sqrt(H), 1/sqrt(H)), as PyTorch initialises
  // A linear layer on every h_t: y_t = h_t · W_out + b_out, [T, B, output_size]; 0: none.
  // Initialised like PyTorch's nn.Linear: U(-1/sqrt(H), 1/sqrt(H)).
  int64_t output_size = 0;
  // Token input: "tokens" [T, B] holds class ids in [0, vocab_size). OneHot feeds their one-hot
  // rows (input_size must equal vocab_size); Embedding looks them up in a learned [V, I] matrix
  // (initialised N(0, 1), like nn.Embedding).
  TokenInput tokens = TokenInput::None;
  int64_t vocab_size = 0;
  // The symbols behind the class ids, one byte each (a character model's alphabet); optional.
  std::string vocabulary;
  // Variable lengths in a batch (not part of the recipe: a run-time choice): an input "mask"
  // [T, B, 1] holds 1 where step t is within sample b's length, else 0. Past its length a
  // sample's state stays as it was and its outputs are 0, so h_n (and c_n) hold each sample's
  // last valid state: PyTorch's pack_padded_sequence, forward and backward.
  bool masked = false;
  // A second direction per layer, right to left (PyTorch's bidirectional=True): its
  // parameters end in "_reverse"; layer k+1 reads both directions' h_t side by side, [B, 2H];
  // h0, c0, h_n and c_n are [L·2, B, H] (layer k's directions at 2k and 2k+1), y [T, B, 2H].
  // With lengths, the reverse direction runs each sample from its own last step.
  bool bidirectional = false;
  // Dropout while training; run, grad and export never apply it. `dropout`: PyTorch's dropout=
  // on every layer's output but the last one's, a fresh mask per step and sample (inputs
  // "dropout_l<k>" [T, B, D·H], k < L - 1). `recurrent_dropout`: variational dropout (Gal and
  // Ghahramani 2016) on h_{t-1} as each step reads it, one mask per sequence for each layer and
  // direction (input "recurrent_dropout" [L·D, B, H]); the state carried on is not dropped.
  // Masks hold 0 or 1 / (1 - p); dropout_masks draws them. Both are part of the recipe.
  float dropout = 0, recurrent_dropout = 0;
  // PyTorch's proj_size (cells that project: lstm): h_t = (o * tanh(c_t)) · W_hr is P wide, so
  // h0, h_n are [L·D, B, P], y [T, B, D·P], and c stays H wide. 0: none.
  int64_t proj_size = 0;
  // The precision the products run in (`rnngraph quantize`): Float32, or Int8, dynamic
  // quantization (ops/int8_gemm.h: weights per output column, activations per row as each
  // product runs; nonlinearities and state float32). An Int8 model runs forward only: training
  // and gradients refuse it (GraphError).
  Precision precision = Precision::Float32;
  // Build the dropout inputs (a training graph); not part of the recipe.
  bool training = false;
};

// 2 for a bidirectional model, else 1.
inline int64_t directions(const Config& c) { return c.bidirectional ? 2 : 1; }
// The sizes layer k's cell is made for: its input width, H and the projection.
CellSizes cell_sizes(const Config& c, int64_t layer);
// The width of what a layer hands up per direction: the size of the cell's first state (H).
int64_t cell_output_size(const Config& c);
// Layer k's input width: the input size, or what the layer below hands up (D·H).
int64_t layer_input_size(const Config& c, int64_t layer);
// The cell's state variables (as layer 0 has them): the model's "<s>0" inputs and "<s>_n"
// outputs.
std::vector<StateVariable> model_state(const Config& c);

// The model's results, also declared as the graph outputs of the contract.
struct Outputs {
  Value y, h_n, c_n;         // c_n only for a cell with a state "c" (the LSTM)
  std::vector<Value> final;  // every state variable's "<s>_n", in the cell's order
};

Outputs build(Graph& g, const Config& config);

// The parts build() puts around the layers, for the config's steps and batch: x [T, B, I] from
// the input "tokens" [T, B] (one-hot rows, or rows of the parameter "embedding"), and the output
// layer y = hs · W_out + b_out on hs [T, B, D·H] (parameters "W_out", "b_out").
Value token_input(Graph& g, const Config& config);
Value output_layer(Graph& g, const Config& config, const Value& hs);

// The one unroller every command goes through: the model `config` built for `steps` and `batch`
// (masked: with the "mask" input of per-sample lengths) on the given weights, shared rather than
// copied. FormatError for a weight the recipe needs that is missing or shaped otherwise.
std::unique_ptr<Graph> unroll(const Config& config, const io::TensorMap& weights, int64_t steps,
                              int64_t batch, bool masked = false);

// Seeded dropout masks for a training graph of `steps` and `batch` (Config::training), by input
// name: the same seed gives the same masks. Empty without dropout.
Feeds dropout_masks(const Config& config, int64_t steps, int64_t batch, uint64_t seed);

// Carries a run's final state into the next run: h_n (and c_n) of `results` copied into the
// feeds h0 (and c0), where `feeds` holds them. Truncated BPTT and step-by-step sampling use it.
void carry_state(const Results& results, Feeds& feeds);

// The recipe as a graph file's "meta" (cell, sizes, options, vocabulary), and back. FormatError
// for a recipe that is missing a field or holds a bad value.
using Recipe = std::map<std::string, std::string, std::less<>>;
// A recipe names its cell: a registered one, or one whose step graphs `stored` holds (a model
// file of a user cell, io::GraphFile::graphs; a registered cell of that name comes first).
Recipe recipe(const Config& config);
Config config_from_recipe(const Recipe& recipe, const io::NamedGraphs& stored = {});
// The same for a file read already: its recipe and stored cell.
Config config_from_file(const io::GraphFile& file);
// A model file: a recipe (what build and train write), not a graph built by hand.
bool is_model(const io::GraphFile& file);

// Model files. save_file writes a recipe file (io::save_recipe): recipe(config) plus `meta`,
// and g's parameters plus `extra`, and for a cell that is not built in its step graphs; it is
// independent of the length and batch. load_file reads
// any graph file: a recipe file comes back built by build() for the recipe's default steps and
// batch, with the file's weights; a node-by-node file (hand-built graphs, and model files
// written before recipes) as it is.
void save_file(const Graph& g, const Config& config, const std::filesystem::path& path,
               const Recipe& meta = {}, const io::TensorMap& extra = {});
// The same from the weights by name (models::Model keeps them so).
void save_file(const io::TensorMap& weights, const Config& config,
               const std::filesystem::path& path, const Recipe& meta = {},
               const io::TensorMap& extra = {});
io::GraphFile load_file(const std::filesystem::path& path);
// The weights the recipe `config` makes (names and shapes, whatever its steps and batch), taken
// from `stored` by name, shared rather than copied. FormatError for one missing or shaped
// otherwise.
io::TensorMap recipe_weights(const Config& config, const io::TensorMap& stored);

struct ParameterSpec {
  std::string name;
  Shape shape;
  std::optional<Init> init;  // the cell's own initialiser, if it has one
};
// The parameters of layer `layer`, in the cell's order; `reverse`: the right-to-left
// direction's, named "<name>_l<k>_reverse".
std::vector<ParameterSpec> layer_parameters(const Config& c, int64_t layer, bool reverse = false);

}  // namespace rnngraph::models
