#include <rnngraph/models/rnn.h>

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
    auto scope = g.step(t);
    h = rnn_step(h, x[t], W, b);
    hs.push_back(h);
  }
  return hs;
}

}  // namespace rnngraph::models

namespace rnngraph::models {

CellDefinition rnn_cell() {
  return {
      .name = "rnn",
      .label = "RNN",
      .state =
          [](const CellSizes& s) {
            return std::vector<StateVariable>{{"h", s.hidden}};
          },
      .parameters =
          [](const CellSizes& s) {
            return std::vector<CellParameter>{{"W", {s.hidden + s.input, s.hidden}},
                                              {"b", {1, s.hidden}}};
          },
      .step = [](const CellState& s, const Value& x,
                 const CellWeights& w) { return CellState{rnn_step(s[0], x, w["W"], w["b"])}; },
      .torch = TorchLayout{{{.W = "W", .b = "b"}}},
      .onnx = OnnxLayout{.op_type = "RNN", .order = {0}},
  };
}

}  // namespace rnngraph::models
