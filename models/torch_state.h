// PyTorch nn.RNN (tanh) / nn.LSTM / nn.GRU state_dicts <-> our textbook parameters.
//
// PyTorch keeps, per layer k, weight_ih_l{k} [G·H, I], weight_hh_l{k} [G·H, H], bias_ih_l{k} and
// bias_hh_l{k} [G·H], with gates stacked in the order i, f, g, o (LSTM) or r, z, n (GRU), and
// computes x · W_ihᵀ + h · W_hhᵀ. We compute concat([h, x]) · W, so for each gate
//   W_gate = [W_hh_gateᵀ ; W_ih_gateᵀ]   ((H + I) × H),   b_gate = b_ih_gate + b_hh_gate.
// LSTM: W_i, W_f, W_c (PyTorch's g), W_o. GRU: W_r, W_z as above; n keeps its two matrices and
// biases (W_in = W_ih_nᵀ, W_hn = W_hh_nᵀ, b_in, b_hn), since r multiplies h's part alone.
// Export puts a summed bias in bias_ih and zeros in bias_hh: the same function, not the same
// tensors. docs/formats.md has the full table.
#pragma once

#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/models/model.h>

namespace rnngraph::models {

// Gates per layer in PyTorch's layout: 1 (RNN), 4 (LSTM), 3 (GRU); GraphError for a cell
// without one.
int64_t gate_count(const Cell& cell);
// PyTorch's name of layer `layer`'s tensor `base`: "weight_ih_l1", "bias_hh_l0_reverse".
std::string torch_name(std::string_view base, int64_t layer, bool reverse);

// True when the map uses PyTorch's names (weight_ih_l0, ...).
bool is_torch_state(const io::TensorMap& state);

// Writes PyTorch's tensors into the parameters of a graph made by build(g, config).
// FormatError for a missing, extra or mis-shaped tensor.
void load_torch_state(Graph& g, const Config& config, const io::TensorMap& state);
io::TensorMap torch_state(const Graph& g, const Config& config);
// The same by name, without a graph: PyTorch's state → our weights (FormatError as above; the
// modules torch_state_dict adds, out.weight, out.bias and embedding.weight, are taken too where
// the recipe has an output layer or an embedding), and
// our weights (models::Model::weights()) → PyTorch's state.
io::TensorMap from_torch_state(const Config& config, const io::TensorMap& state);
// GraphError for a weight the recipe needs that is missing or shaped otherwise, and for a cell
// with parameters PyTorch has no place for.
io::TensorMap torch_state(const io::TensorMap& weights, const Config& config);
// The gates' tensors alone, in PyTorch's layout, whatever else the cell has (a peephole LSTM's
// p_i, p_f, p_o): what ONNX's operators start from.
io::TensorMap torch_gate_state(const io::TensorMap& weights, const Config& config);
// torch_state plus the rest of a model's weights as PyTorch modules hold them: an output layer
// as an nn.Linear's "out.weight" [O, D·H] (W_outᵀ) and "out.bias" [O], an embedding as an
// nn.Embedding's "embedding.weight" [V, I]. What `rnngraph export M.json -o S.safetensors` writes.
io::TensorMap torch_state_dict(const io::TensorMap& weights, const Config& config);
// Gradients by our parameter names → what PyTorch's param.grad holds after the same loss
// (the bias gradient goes to both bias_ih and bias_hh, since b = b_ih + b_hh).
io::TensorMap torch_gradients(const Config& config, const io::TensorMap& grads);
// The same for every gradient: the recurrent layers' by PyTorch's names, the rest (an output
// layer's, x's, h0's) by their own.
io::TensorMap torch_named_gradients(const Config& config, const io::TensorMap& grads);

// Our own names (W_f_l0, ...): every parameter of the graph must be present with its shape.
void load_parameters(Graph& g, const io::TensorMap& state);
io::TensorMap parameters(const Graph& g);

// Either layout, chosen by is_torch_state.
void load_weights(Graph& g, const Config& config, const io::TensorMap& state);

}  // namespace rnngraph::models
