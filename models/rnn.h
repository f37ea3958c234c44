// The seed's vanilla RNN: h_t = tanh(concat([h_{t-1}, x_t], axis 1) · W + b), with W of shape
// (hidden + features) × hidden and b of shape 1 × hidden.
#pragma once

#include <cstdint>
#include <vector>

#include <rnngraph/framework/graph.h>

namespace rnngraph::models {

struct RnnWeights {
  Value W, b;
};

// One step: the seed's step_forward(x, h, s, w, b). h is [B, H], x is [B, I].
Value rnn_step(const Value& h, const Value& x, const Value& W, const Value& b);

// The seed's forward(x, h, s, w, b), unrolled: x is [T, B, I], h0 is [B, H]; returns every h_t
// (the seed returns the last). Step t's nodes get the scope "step<t>".
std::vector<Value> rnn_unroll(const Value& x, const Value& h0, const Value& W, const Value& b);

struct RnnConfig {
  int64_t steps = 1, batch = 1, features = 1, hidden = 1;
  uint64_t seed = 0;  // W ~ U(-1/sqrt(H), 1/sqrt(H)) as PyTorch initialises; b = 0
};

// A complete graph: inputs "x" [T, B, I] and "h0" [B, H], parameters "W" and "b", outputs "h"
// (every h_t, [T, B, H]) and "h_last" ([B, H]).
void build_rnn(Graph& g, const RnnConfig& config);

}  // namespace rnngraph::models
