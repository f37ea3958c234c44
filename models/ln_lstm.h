// The layer-normalised LSTM (Ba, Kiros and Hinton 2016, "Layer Normalization", §3.1), as DyNet's
// VanillaLSTMBuilder(ln_lstm = true) computes it: the input's and the state's gate products are
// normalised apart, each with a gain and a bias, and so is the cell state before its tanh.
//   a = LN(x_t · W_x) * g_x + β_x + LN(h_{t-1} · W_h) * g_h + β_h + b     [B, 4H]: i, f, o, g
//   c_t = σ(a_f) * c_{t-1} + σ(a_i) * tanh(a_g)
//   h_t = σ(a_o) * tanh(LN(c_t) * g_c + β_c)
// LN normalises each row to mean 0, variance 1 (ops: layer_norm). W_x is features × 4H, W_h
// hidden × 4H; gains start at 1, their biases and b at 0 (1 × 4H, and 1 × H for the cell
// state). `rnngraph build lstm --layer-norm`.
#pragma once

#include <rnngraph/models/cell.h>

namespace rnngraph::models {

// The cell "ln_lstm".
CellDefinition ln_lstm_cell();

}  // namespace rnngraph::models
