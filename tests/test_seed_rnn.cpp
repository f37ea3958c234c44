// The seed's vanilla RNN against the numpy reference (tests/fixtures/make_seed_rnn.py), which
// follows the seed's step_forward and forward exactly.
#include "helpers.h"

using namespace rnngraph;
using rnngraph::testing::check_close;
using rnngraph::testing::fixture;

namespace {
void check_config(const std::string& name) {
  auto load = [&](const std::string& key) {
    return io::read_npy(fixture("seed_rnn_" + name + "_" + key + ".npy"));
  };
  const Tensor x = load("x"), h0 = load("h0"), w = load("w"), b = load("b");
  const Shape& xs = x.shape();
  const int64_t hidden = h0.shape()[1];

  // The seed's W and b are the one-layer RNN's W_l0 and b_l0; its h0 [B, H] is h0[0].
  Graph g;
  models::build(g, {.cell = models::Cell::Rnn,
                    .input_size = xs[2],
                    .hidden_size = hidden,
                    .steps = xs[0],
                    .batch = xs[1]});
  BOOST_REQUIRE(g.param("W_l0").shape() == w.shape());
  std::copy_n(w.data(), w.numel(), g.param("W_l0").data());
  std::copy_n(b.data(), b.numel(), g.param("b_l0").data());

  Executor run(g);
  const Results& out = run({{"x", x}, {"h0", h0.reshaped({1, xs[1], hidden})}});
  check_close(out["y"], load("hs"), 1e-5f);
  check_close(out["h_n"], load("h_last").reshaped({1, xs[1], hidden}), 1e-5f);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(seed_rnn)

BOOST_AUTO_TEST_CASE(the_seeds_own_example) { check_config("seed"); }  // s=5, n=2, T=3, h0=0
BOOST_AUTO_TEST_CASE(seven_steps_random_h0_and_bias) { check_config("long"); }
BOOST_AUTO_TEST_CASE(batch_of_four) { check_config("batch"); }
BOOST_AUTO_TEST_CASE(twenty_steps_one_feature_batch_two) { check_config("wide"); }

BOOST_AUTO_TEST_CASE(one_step_by_hand) {
  // h = tanh([h0, x] · W + b) with h0 = [1, -1], x = [2], W = [[.5, 0], [0, .5], [1, -1]], b = [.1,
  // .2]
  Graph g;
  auto h0 = g.input("h0", {1, 2});
  auto x = g.input("x", {1, 1});
  auto W = g.constant("W", Tensor({3, 2}, {0.5f, 0, 0, 0.5f, 1, -1}));
  auto b = g.constant("b", Tensor({1, 2}, {0.1f, 0.2f}));
  g.output("h", models::rnn_step(h0, x, W, b));
  Executor run(g);
  const Results& out = run({{"h0", Tensor({1, 2}, {1, -1})}, {"x", Tensor({1, 1}, {2})}});
  rnngraph::testing::check_values(out["h"], {1, 2}, {std::tanh(2.6f), std::tanh(-2.3f)});
}

BOOST_AUTO_TEST_CASE(unrolled_graph_has_the_seed_structure) {
  Graph g;
  models::build(g, {.cell = models::Cell::Rnn, .input_size = 2, .hidden_size = 5, .steps = 3});
  BOOST_CHECK(g.param("W_l0").shape() == Shape({7, 5}));  // (hidden + features) × hidden
  BOOST_CHECK(g.param("b_l0").shape() == Shape({1, 5}));
  int per_op[4] = {0, 0, 0, 0};
  for (const Node& n : g.nodes()) {
    if (n.kind != NodeKind::Op) continue;
    const std::string_view op = n.op->name();
    per_op[0] += op == "concat";
    per_op[1] += op == "matmul";
    per_op[2] += op == "add";
    per_op[3] += op == "tanh";
    if (op != "stack" && op != "select") {  // every step op is placed at its step
      BOOST_CHECK(n.scope.rfind("step", 0) == 0);
      BOOST_CHECK(n.step >= 0 && n.step < 3);
    }
  }
  for (int count : per_op) BOOST_CHECK_EQUAL(count, 3);
}

BOOST_AUTO_TEST_SUITE_END()
