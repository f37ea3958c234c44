#include <rnngraph/models/lstm.h>

#include <rnngraph/ops/ops.h>

namespace rnngraph::models {

LstmState lstm_step(const LstmState& state, const Value& x, const LstmWeights& w) {
  const Value z = concat({state.h, x}, 1);
  const Value f = sigmoid(matmul(z, w.W_f) + w.b_f);
  const Value i = sigmoid(matmul(z, w.W_i) + w.b_i);
  const Value o = sigmoid(matmul(z, w.W_o) + w.b_o);
  const Value c_tilde = tanh(matmul(z, w.W_c) + w.b_c);
  const Value c = f * state.c + i * c_tilde;
  return {o * tanh(c), c};
}

}  // namespace rnngraph::models
