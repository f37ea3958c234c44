// The GRU with PyTorch's equations (nn.GRU), written on our [h, x] layout:
//   r = sigmoid(concat([h, x]) · W_r + b_r)             reset gate
//   z = sigmoid(concat([h, x]) · W_z + b_z)             update gate
//   n = tanh(x · W_in + b_in + r * (h · W_hn + b_hn))   candidate
//   h' = (1 - z) * n + z * h
// W_r, W_z are (hidden + features) × hidden; W_in is features × hidden, W_hn hidden × hidden
// (n needs h's product on its own, so it keeps two matrices, and two biases, as PyTorch does).
#pragma once

#include <rnngraph/framework/graph.h>
#include <rnngraph/models/cell.h>

namespace rnngraph::models {

struct GruWeights {
  Value W_r, W_z, b_r, b_z;
  Value W_in, b_in, W_hn, b_hn;
};

Value gru_step(const Value& h, const Value& x, const GruWeights& w);

// The cell "gru", as registered.
CellDefinition gru_cell();

}  // namespace rnngraph::models
