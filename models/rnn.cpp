#include <rnngraph/models/rnn.h>

#include <cmath>

#include <rnngraph/ops/ops.h>

namespace rnngraph::models {

Value rnn_step(const Value& h, const Value& x, const Value& W, const Value& b) {
  return tanh(matmul(concat({h, x}, 1), W) + b);
}

std::vector<Value> rnn_unroll(const Value& x, const Value& h0, const Value& W, const Value& b) {
  Graph& g = x.graph();
  std::vector<Value> hs;
  Value h = h0;
  for (int64_t t = 0; t < x.shape()[0]; ++t) {
    auto scope = g.scope("step", t);
    h = rnn_step(h, x[t], W, b);
    hs.push_back(h);
  }
  return hs;
}

void build_rnn(Graph& g, const RnnConfig& c) {
  const float k = 1.0f / std::sqrt(float(c.hidden));
  auto x = g.input("x", {c.steps, c.batch, c.features});
  auto h0 = g.input("h0", {c.batch, c.hidden});
  auto W = g.parameter("W", {c.hidden + c.features, c.hidden}, init::uniform(-k, k, c.seed));
  auto b = g.parameter("b", {1, c.hidden}, init::zeros());
  const std::vector<Value> hs = rnn_unroll(x, h0, W, b);
  g.output("h", stack(hs));
  g.output("h_last", hs.back());
}

}  // namespace rnngraph::models
