#include <rnngraph/models/ln_lstm.h>

#include <rnngraph/ops/ops.h>

namespace rnngraph::models {

CellDefinition ln_lstm_cell() {
  return {
      .name = "ln_lstm",
      .label = "LN-LSTM",
      .state =
          [](const CellSizes& s) {
            return std::vector<StateVariable>{{"h", s.hidden}, {"c", s.hidden}};
          },
      .parameters =
          [](const CellSizes& s) {
            const int64_t H = s.hidden;
            const Shape gates{1, 4 * H}, state{1, H};
            return std::vector<CellParameter>{
                {"W_x", {s.input, 4 * H}},        {"W_h", {H, 4 * H}},
                {"b", gates, init::zeros()},      {"g_x", gates, init::constant(1)},
                {"beta_x", gates, init::zeros()}, {"g_h", gates, init::constant(1)},
                {"beta_h", gates, init::zeros()}, {"g_c", state, init::constant(1)},
                {"beta_c", state, init::zeros()}};
          },
      .step =
          [](const CellState& s, const Value& x, const CellWeights& w) {
            const Value &h = s[0], &c = s[1];
            const int64_t H = h.shape()[1];
            const Value a = layer_norm(matmul(x, w["W_x"])) * w["g_x"] + w["beta_x"] +
                            layer_norm(matmul(h, w["W_h"])) * w["g_h"] + w["beta_h"] + w["b"];
            auto gate = [&](int64_t k) { return slice(a, 1, k * H, (k + 1) * H); };
            const Value i = sigmoid(gate(0)), f = sigmoid(gate(1)), o = sigmoid(gate(2));
            const Value c_next = f * c + i * tanh(gate(3));
            return CellState{o * tanh(layer_norm(c_next) * w["g_c"] + w["beta_c"]), c_next};
          },
      .roles = {{"W_x", "gates (input)"}, {"W_h", "gates (state)"}},
  };
}

}  // namespace rnngraph::models
