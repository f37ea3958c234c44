// The seed's vanilla RNN: h_t = tanh(concat([h_{t-1}, x_t], axis 1) · W + b), with W of shape
// (hidden + features) × hidden and b of shape 1 × hidden.
#pragma once

#include <cstdint>
#include <vector>

#include <rnngraph/framework/graph.h>
#include <rnngraph/models/cell.h>

namespace rnngraph::models {

struct RnnWeights {
  Value W, b;
};

// One step: the seed's step_forward(x, h, s, w, b). h is [B, H], x is [B, I].
Value rnn_step(const Value& h, const Value& x, const Value& W, const Value& b);

// The seed's forward(x, h, s, w, b), unrolled: x is [T, B, I], h0 is [B, H]; returns every h_t
// (the seed returns the last). Step t's nodes are placed at step t.
// A complete model (layers, batches, a file format) is models::build with Cell::Rnn, whose
// W_l0 and b_l0 are the seed's W and b (see models/model.h).
std::vector<Value> rnn_unroll(const Value& x, const Value& h0, const Value& W, const Value& b);

// The cell "rnn": state h, parameters W and b, as registered.
CellDefinition rnn_cell();

}  // namespace rnngraph::models
