// Builds h = tanh([h0, x] · W + b) for one step with known numbers and checks the result.
#include <cmath>
#include <cstdio>

#include <rnngraph/rnngraph.h>

int main() {
  using namespace rnngraph;
  Graph g;
  auto x = g.input("x", {1, 1});
  auto h0 = g.input("h0", {1, 1});
  auto W = g.parameter("W", {2, 1}, init::constant(0.5f));
  auto b = g.parameter("b", {1, 1}, init::constant(0.25f));
  const Value h = models::rnn_step(h0, x, W, b);
  g.output("h", h);
  grad(sum(h), std::vector<Value>{W});  // dh/dW = (1 - h²) · [h0, x]ᵀ
  Executor run(g);
  const Results& out = run({{"x", Tensor({1, 1}, {1.0f})}, {"h0", Tensor({1, 1}, {2.0f})}});
  const float expected = std::tanh(0.5f * 2.0f + 0.5f * 1.0f + 0.25f);  // tanh(1.75)
  const float got = out["h"].values()[0];
  const float dW0 = out["grad/W"].values()[0], expected_dW0 = (1 - expected * expected) * 2.0f;
  std::printf("consumer: h = %.6f (expected %.6f), dh/dW[0] = %.6f (expected %.6f)\n", got,
              expected, dW0, expected_dW0);
  return std::fabs(got - expected) < 1e-6f && std::fabs(dW0 - expected_dW0) < 1e-5f ? 0 : 1;
}
