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

namespace rnngraph::models {

CellDefinition lstm_cell() {
  return {
      .name = "lstm",
      .label = "LSTM",
      // With a projection (PyTorch's proj_size P), h is P wide: h_t = (o * tanh(c_t)) · W_hr.
      .state =
          [](const CellSizes& s) {
            return std::vector<StateVariable>{{"h", s.projection ? s.projection : s.hidden},
                                              {"c", s.hidden}};
          },
      .parameters =
          [](const CellSizes& s) {
            const int64_t h = s.projection ? s.projection : s.hidden;
            const Shape on_hx{h + s.input, s.hidden}, bias{1, s.hidden};
            std::vector<CellParameter> p{{"W_f", on_hx}, {"W_i", on_hx}, {"W_o", on_hx},
                                         {"W_c", on_hx}, {"b_f", bias},  {"b_i", bias},
                                         {"b_o", bias},  {"b_c", bias}};
            if (s.projection) p.push_back({"W_hr", {s.hidden, s.projection}});
            return p;
          },
      .step =
          [](const CellState& s, const Value& x, const CellWeights& w) {
            const LstmState next = lstm_step(
                {s[0], s[1]}, x,
                {w["W_f"], w["W_i"], w["W_o"], w["W_c"], w["b_f"], w["b_i"], w["b_o"], w["b_c"]});
            if (w.contains("W_hr")) return CellState{matmul(next.h, w["W_hr"]), next.c};
            return CellState{next.h, next.c};
          },
      // PyTorch stacks i, f, g (our c̃), o; ONNX i, o, f, c.
      .torch = TorchLayout{.gates = {{.W = "W_i", .b = "b_i"},
                                     {.W = "W_f", .b = "b_f"},
                                     {.W = "W_c", .b = "b_c"},
                                     {.W = "W_o", .b = "b_o"}},
                           .projection = "W_hr"},
      .onnx = OnnxLayout{.op_type = "LSTM", .order = {0, 3, 1, 2}},
      .roles = {{"W_f", "forget gate"},
                {"W_i", "input gate"},
                {"W_o", "output gate"},
                {"W_c", "tanh layer"},
                {"W_hr", "projection"}},
      .projects = true,
  };
}

}  // namespace rnngraph::models
