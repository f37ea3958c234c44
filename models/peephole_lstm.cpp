#include <rnngraph/models/peephole_lstm.h>

#include <rnngraph/models/lstm.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::models {

CellDefinition peephole_lstm_cell() {
  CellDefinition d = lstm_cell();
  d.name = "peephole_lstm";
  d.label = "peephole LSTM";
  d.projects = false;  // its step has no projection
  d.parameters = [](const CellSizes& s) {
    std::vector<CellParameter> p = lstm_cell().parameters(s);
    for (const char* role : {"p_i", "p_f", "p_o"}) p.push_back({role, {1, s.hidden}});
    return p;
  };
  d.step = [](const CellState& s, const Value& x, const CellWeights& w) {
    const Value &h = s[0], &c = s[1];
    const Value z = concat({h, x}, 1);
    const Value i = sigmoid(matmul(z, w["W_i"]) + w["p_i"] * c + w["b_i"]);
    const Value f = sigmoid(matmul(z, w["W_f"]) + w["p_f"] * c + w["b_f"]);
    const Value c_tilde = tanh(matmul(z, w["W_c"]) + w["b_c"]);
    const Value c_next = f * c + i * c_tilde;
    const Value o = sigmoid(matmul(z, w["W_o"]) + w["p_o"] * c_next + w["b_o"]);
    return CellState{o * tanh(c_next), c_next};
  };
  d.onnx->peepholes = {"p_i", "p_o", "p_f"};  // ONNX's P: i, o, f
  d.roles.emplace("p_i", "peephole (input gate)");
  d.roles.emplace("p_f", "peephole (forget gate)");
  d.roles.emplace("p_o", "peephole (output gate)");
  return d;
}

}  // namespace rnngraph::models
