// Training with the graph API: an LSTM learns to predict the next value of a sine wave.
// The loss and its gradients are nodes of the same graph; one Executor runs both; Adam updates
// the parameter tensors in place between runs.
#include <cmath>
#include <cstdio>

#include <rnngraph/rnngraph.h>

using namespace rnngraph;

int main() {
  const int64_t T = 50, B = 16, H = 32;
  Graph g;
  const auto model = models::build(g, {.cell = models::Cell::Lstm,
                                       .input_size = 1,
                                       .hidden_size = H,
                                       .steps = T,
                                       .batch = B,
                                       .output_size = 1});  // y_t = h_t · W_out + b_out
  const Value target = g.input("target", {T, B, 1});
  const Value loss = models::mse_loss(model.y, target);
  g.output("loss", loss);
  grad(loss, parameter_values(g));  // appends the backward graph: outputs "grad/W_f_l0", ...

  Executor run(g);  // plans forward + backward once
  models::Adam adam(models::graph_parameters(g), {.lr = 0.01});
  Tensor x({T, B, 1}), y({T, B, 1}), h0({1, B, H}), c0({1, B, H});
  for (int it = 1; it <= 400; ++it) {
    for (int64_t b = 0; b < B; ++b) {  // a wave of its own frequency and phase per sequence
      const float omega = 0.1f + 0.02f * float((it * 7 + b * 3) % 16), phi = float(b + it);
      for (int64_t t = 0; t < T; ++t) {
        x.at({t, b, 0}) = std::sin(omega * float(t) + phi);
        y.at({t, b, 0}) = std::sin(omega * float(t + 1) + phi);
      }
    }
    const Results& r = run({{"x", x}, {"target", y}, {"h0", h0}, {"c0", c0}});
    adam.step(r);  // reads r["grad/<parameter>"]
    if (it % 100 == 0) std::printf("iteration %d: loss %.5f\n", it, r["loss"].values()[0]);
  }
}
