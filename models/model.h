// Complete recurrent models: a cell (RNN, LSTM, GRU), L stacked layers (layer k+1 reads layer
// k's h_t), batch B, unrolled over T steps.
//
// Graph contract (the CLI and graph files rely on it):
//   inputs      "x" [T, B, I], "h0" [L, B, H], and "c0" [L, B, H] for the LSTM
//   parameters  per layer k, suffixed "_l<k>": RNN W, b; LSTM W_f, W_i, W_o, W_c, b_f, b_i, b_o,
//               b_c; GRU W_r, W_z, b_r, b_z, W_in, b_in, W_hn, b_hn (shapes: see each cell)
//   outputs     "y" [T, B, H] (the top layer's h_t at every step), "h_n" [L, B, H] (final
//               states), and "c_n" [L, B, H] for the LSTM
// Step t's nodes have scope "step<t>" ("step<t>/layer<k>" when L > 1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rnngraph/framework/graph.h>

namespace rnngraph::models {

enum class Cell { Rnn, Lstm, Gru };
std::string_view to_string(Cell cell);
Cell cell_from_string(std::string_view name);  // "rnn", "lstm", "gru"; GraphError otherwise

struct Config {
  Cell cell = Cell::Rnn;
  int64_t input_size = 1, hidden_size = 1, steps = 1, batch = 1, layers = 1;
  uint64_t seed = 0;  // weights and biases ~ U(-1/sqrt(H), 1/sqrt(H)), as PyTorch initialises
};

void build(Graph& g, const Config& config);

struct ParameterSpec {
  std::string name;
  Shape shape;
};
// The parameters of layer `layer` (whose input has `input_size` features), in a fixed order.
std::vector<ParameterSpec> layer_parameters(Cell cell, int64_t layer, int64_t input_size,
                                            int64_t hidden_size);

}  // namespace rnngraph::models
