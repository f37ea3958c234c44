// The LSTM with peephole connections, as ONNX's LSTM operator defines them (its input P): the
// input and forget gates look at the previous cell state, the output gate at the new one.
//   i = sigmoid(z · W_i + p_i * c_{t-1} + b_i)      z = concat([h_{t-1}, x_t])
//   f = sigmoid(z · W_f + p_f * c_{t-1} + b_f)
//   c̃ = tanh(z · W_c + b_c)
//   c_t = f * c_{t-1} + i * c̃
//   o = sigmoid(z · W_o + p_o * c_t + b_o),   h_t = o * tanh(c_t)
// W and b as models/lstm.h; p_i, p_f, p_o are 1 × hidden. `rnngraph build lstm --peepholes`.
#pragma once

#include <rnngraph/models/cell.h>

namespace rnngraph::models {

// The cell "peephole_lstm": exports as an ONNX LSTM node with P; PyTorch has no peepholes.
CellDefinition peephole_lstm_cell();

}  // namespace rnngraph::models
