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

namespace rnngraph::models {

CellDefinition gru_cell() {
  return {
      .name = "gru",
      .label = "GRU",
      .state =
          [](const CellSizes& s) {
            return std::vector<StateVariable>{{"h", s.hidden}};
          },
      .parameters =
          [](const CellSizes& s) {
            const int64_t H = s.hidden;
            const Shape on_hx{H + s.input, H}, bias{1, H};
            return std::vector<CellParameter>{
                {"W_r", on_hx},         {"W_z", on_hx}, {"b_r", bias},    {"b_z", bias},
                {"W_in", {s.input, H}}, {"b_in", bias}, {"W_hn", {H, H}}, {"b_hn", bias}};
          },
      .step =
          [](const CellState& s, const Value& x, const CellWeights& w) {
            return CellState{gru_step(s[0], x,
                                      {w["W_r"], w["W_z"], w["b_r"], w["b_z"], w["W_in"], w["b_in"],
                                       w["W_hn"], w["b_hn"]})};
          },
      // PyTorch stacks r, z, n (n's two products kept apart); ONNX z, r, h.
      .torch = TorchLayout{{{.W = "W_r", .b = "b_r"},
                            {.W = "W_z", .b = "b_z"},
                            {.W_x = "W_in", .W_h = "W_hn", .b_x = "b_in", .b_h = "b_hn"}}},
      .onnx = OnnxLayout{.op_type = "GRU", .order = {1, 0, 2}, .linear_before_reset = true},
      .roles = {{"W_r", "reset gate"},
                {"W_z", "update gate"},
                {"W_in", "candidate (x)"},
                {"W_hn", "candidate (h)"}},
  };
}

}  // namespace rnngraph::models
