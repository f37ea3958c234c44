// The seed's textbook LSTM (colah's notation), on z = concat([h_{t-1}, x_t]):
//   f = sigmoid(z · W_f + b_f)      forget gate
//   i = sigmoid(z · W_i + b_i)      input gate
//   o = sigmoid(z · W_o + b_o)      output gate
//   c̃ = tanh(z · W_c + b_c)        the "tanh layer" (the seed's W_t)
//   c_t = f * c_{t-1} + i * c̃,   h_t = o * tanh(c_t)
// Every W is (hidden + features) × hidden, every b is 1 × hidden.
#pragma once

#include <rnngraph/framework/graph.h>
#include <rnngraph/models/cell.h>

namespace rnngraph::models {

struct LstmWeights {
  Value W_f, W_i, W_o, W_c;
  Value b_f, b_i, b_o, b_c;
};

struct LstmState {
  Value h, c;
};

LstmState lstm_step(const LstmState& state, const Value& x, const LstmWeights& w);

// The cell "lstm", as registered.
CellDefinition lstm_cell();

}  // namespace rnngraph::models
