// A cell of your own with everything the built-in cells get: the minimal gated unit (MGU, Zhou
// et al. 2016), one forget gate instead of the GRU's two gates:
//   f  = sigmoid(concat([h, x]) · W_f + b_f)
//   h̃  = tanh(concat([f * h, x]) · W_h + b_h)
//   h' = (1 - f) * h + f * h̃
// Registered once, it is a cell like rnn, lstm and gru: any length and batch from one model,
// lengths, layers, directions, training, model files. The file it writes (DIR/custom.json)
// carries the cell's step graph, so `rnngraph run|grad|dot|info|train --resume` read it without
// this program.
//
//   custom_cell [-o DIR]      (default ./custom-cell)
#include <cstdio>
#include <filesystem>
#include <string>

#include <rnngraph/rnngraph.h>

using namespace rnngraph;
using namespace rnngraph::models;

CellDefinition mgu_cell() {
  return {
      .name = "mgu",
      .label = "MGU",  // what diagrams call it
      .state =
          [](const CellSizes& s) {
            return std::vector<StateVariable>{{"h", s.hidden}};
          },
      .parameters =
          [](const CellSizes& s) {
            const Shape on_hx{s.hidden + s.input, s.hidden}, bias{1, s.hidden};
            return std::vector<CellParameter>{
                {"W_f", on_hx}, {"W_h", on_hx}, {"b_f", bias}, {"b_h", bias}};
          },
      .step =
          [](const CellState& state, const Value& x, const CellWeights& w) {
            const Value& h = state[0];
            const Value f = sigmoid(matmul(concat({h, x}, 1), w["W_f"]) + w["b_f"]);
            const Value h_tilde = tanh(matmul(concat({f * h, x}, 1), w["W_h"]) + w["b_h"]);
            return CellState{(1.0f - f) * h + f * h_tilde};
          },
      .roles = {{"W_f", "forget gate"}, {"W_h", "candidate"}},
  };
}

int main(int argc, char** argv) {
  const std::filesystem::path dir =
      argc == 3 && std::string(argv[1]) == "-o" ? argv[2] : "custom-cell";
  const Cell mgu = register_cell(mgu_cell());

  // One model, any length and batch; a padded batch with lengths; two layers, both directions.
  Model model(
      Config{.cell = mgu, .input_size = 3, .hidden_size = 16, .layers = 2, .bidirectional = true});
  const Tensor short_x = init::normal(0, 1, 1).tensor({5, 2, 3});
  const Tensor long_x = init::normal(0, 1, 2).tensor({40, 3, 3});
  std::printf("T = 5:  y %s\n", model.run({{"x", short_x}})["y"].shape().str().c_str());
  const Results& padded = model.run({{"x", long_x}}, std::vector<int64_t>{40, 17, 3});
  std::printf("T = 40, lengths 40, 17, 3: y %s, h_n %s\n", padded["y"].shape().str().c_str(),
              padded["h_n"].shape().str().c_str());

  // Trained like any cell: next-step prediction of sine waves.
  Trainer trainer(
      {.cell = mgu, .hidden_size = 16, .steps = 30, .batch = 16, .iterations = 200, .lr = 0.01});
  while (!trainer.done()) {
    const float loss = trainer.iterate();
    if (trainer.iteration() % 50 == 0)
      std::printf("iteration %lld: loss %.5f\n", static_cast<long long>(trainer.iteration()), loss);
  }
  std::filesystem::create_directories(dir);
  trainer.save(dir / "custom.json");
  std::printf("wrote %s: try rnngraph info %s\n", (dir / "custom.json").c_str(),
              (dir / "custom.json").c_str());
}
