// The seed tutorial's own example through the graph API: hidden size s = 5, n_features = 2,
// time_steps = 3, h0 = 0, w and x drawn from a standard normal (np.random.randn), b = 0.
#include <cstdio>

#include <rnngraph/rnngraph.h>

using namespace rnngraph;

namespace {
// The seed's step_forward: concatenation, multiplication and addition, activation.
Value step_forward(const Value& x, const Value& h, const Value& w, const Value& b) {
  Value concated = concat({h, x}, -1);
  Value mul_add = matmul(concated, w) + b;
  return tanh(mul_add);
}

void print(const char* label, const Tensor& t) {
  std::printf("%s", label);
  for (float v : t.values()) std::printf(" % .6f", v);
  std::printf("\n");
}
}  // namespace

int main() {
  const int64_t s = 5, n_features = 2, time_steps = 3;

  Graph g;
  auto x = g.input("x", {time_steps, 1, n_features});
  auto h0 = g.input("h0", {1, s});
  auto w = g.parameter("w", {s + n_features, s}, init::normal(0, 1, 2024));
  auto b = g.parameter("b", {1, s}, init::zeros());

  // The seed's forward: one step_forward per time step, h carried along.
  Value h = h0;
  for (int64_t t = 0; t < time_steps; ++t) {
    auto scope = g.step(t);
    h = step_forward(x[t], h, w, b);
    g.output("h" + std::to_string(t + 1), h);
  }

  Executor run(g);
  const Tensor xs = init::normal(0, 1, 7).tensor({time_steps, 1, n_features});
  const Results& out = run({{"x", xs}, {"h0", Tensor({1, s})}});

  std::printf("seed RNN: s = %lld, n_features = %lld, time_steps = %lld, h0 = 0\n", (long long)s,
              (long long)n_features, (long long)time_steps);
  print("x   ", xs);
  for (const auto& [name, value] : out) print((name + "  ").c_str(), value);
  std::printf("forward(x, h0, s, w, b) = h%lld above; %zu graph nodes, arena %zu bytes\n",
              (long long)time_steps, g.size(), run.arena_bytes());
}
