#include <rnngraph/models/gru.h>

#include <rnngraph/ops/ops.h>

namespace rnngraph::models {

Value gru_step(const Value& h, const Value& x, const GruWeights& w) {
  const Value hx = concat({h, x}, 1);
  const Value r = sigmoid(matmul(hx, w.W_r) + w.b_r);
  const Value z = sigmoid(matmul(hx, w.W_z) + w.b_z);
  const Value n = tanh(matmul(x, w.W_in) + w.b_in + r * (matmul(h, w.W_hn) + w.b_hn));
  return (1.0f - z) * n + z * h;
}

}  // namespace rnngraph::models
