// RNN, LSTM and GRU (1 and 2 layers, batch 1 and 3) against PyTorch's nn.RNN / nn.LSTM / nn.GRU
// (fixtures from tests/fixtures/make_torch_models.py), and the state_dict mapping both ways.
#include "helpers.h"

using namespace rnngraph;
using rnngraph::testing::check_close;
using rnngraph::testing::fixture;

namespace {
constexpr int64_t kInput = 3, kHidden = 4, kSteps = 5;

models::Config config(models::Cell cell, int64_t layers, int64_t batch) {
  return {.cell = cell,
          .input_size = kInput,
          .hidden_size = kHidden,
          .steps = kSteps,
          .batch = batch,
          .layers = layers};
}

void check_against_torch(models::Cell cell, int64_t layers, int64_t batch) {
  const std::string name = fmt::format("torch_{}_L{}_B{}", models::to_string(cell), layers, batch);
  BOOST_TEST_CONTEXT(name) {
    auto load = [&](const char* key) { return io::read_npy(fixture(name + "_" + key + ".npy")); };
    Graph g;
    const models::Config c = config(cell, layers, batch);
    models::build(g, c);
    models::load_weights(g, c, io::read_safetensors(fixture(name + ".safetensors")));
    Feeds feeds{{"x", load("x")}, {"h0", load("h0")}};
    if (cell == models::Cell::Lstm) feeds.emplace("c0", load("c0"));
    Executor run(g);
    const Results& out = run(feeds);
    check_close(out["y"], load("y"), 1e-5f);
    check_close(out["h_n"], load("h_n"), 1e-5f);
    if (cell == models::Cell::Lstm) check_close(out["c_n"], load("c_n"), 1e-5f);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(torch_models)

BOOST_AUTO_TEST_CASE(rnn_matches_pytorch) {
  for (int64_t layers : {1, 2})
    for (int64_t batch : {1, 3}) check_against_torch(models::Cell::Rnn, layers, batch);
}

BOOST_AUTO_TEST_CASE(lstm_matches_pytorch) {
  for (int64_t layers : {1, 2})
    for (int64_t batch : {1, 3}) check_against_torch(models::Cell::Lstm, layers, batch);
}

BOOST_AUTO_TEST_CASE(gru_matches_pytorch) {
  for (int64_t layers : {1, 2})
    for (int64_t batch : {1, 3}) check_against_torch(models::Cell::Gru, layers, batch);
}

BOOST_AUTO_TEST_CASE(textbook_lstm_equals_the_one_imported_from_pytorch_layout) {
  // Graph A: an LSTM from four random textbook matrices per layer.
  const models::Config c = config(models::Cell::Lstm, 2, 3);
  Graph a;
  models::build(a, c);
  uint64_t seed = 1;
  for (int id : a.parameters()) init::normal(0, 0.5f, seed++).apply(a.node(id).value);

  // PyTorch's layout of A: gate f is block 1 of weight_ih (rows H..2H), transposed, and
  // W_f's rows H.. are x's part.
  const io::TensorMap state = models::torch_state(a, c);
  const Tensor &w_ih = state.at("weight_ih_l0"), &W_f = a.param("W_f_l0");
  for (int64_t gate_col = 0; gate_col < kHidden; ++gate_col)
    for (int64_t i = 0; i < kInput; ++i)
      BOOST_REQUIRE_EQUAL(w_ih.at({kHidden + gate_col, i}), W_f.at({kHidden + i, gate_col}));

  // Graph B: the same model imported from that layout. Same outputs, to the bit.
  Graph b;
  models::build(b, c);
  models::load_torch_state(b, c, state);
  const Feeds feeds{{"x", init::normal(0, 1, 7).tensor({kSteps, 3, kInput})},
                    {"h0", init::normal(0, 1, 8).tensor({2, 3, kHidden})},
                    {"c0", init::normal(0, 1, 9).tensor({2, 3, kHidden})}};
  Executor ra(a), rb(b);
  const Tensor ya = ra(feeds)["y"].clone();
  check_close(rb(feeds)["y"], ya, 0.0f);
}

BOOST_AUTO_TEST_CASE(pytorch_state_round_trips_through_our_parameters) {
  for (models::Cell cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru}) {
    const std::string name = fmt::format("torch_{}_L2_B1", models::to_string(cell));
    const io::TensorMap state = io::read_safetensors(fixture(name + ".safetensors"));
    const models::Config c = config(cell, 2, 1);
    Graph g;
    models::build(g, c);
    models::load_torch_state(g, c, state);
    const io::TensorMap back = models::torch_state(g, c);
    BOOST_REQUIRE_EQUAL(back.size(), state.size());
    for (const auto& [key, original] : state) {
      if (key.starts_with("bias")) continue;  // biases come back summed into bias_ih
      check_close(back.at(key), original, 0.0f);
    }
    // The summed biases still give the same per-gate total.
    for (int64_t layer : {0, 1}) {
      const Tensor &bi = back.at(fmt::format("bias_ih_l{}", layer)),
                   &bh = back.at(fmt::format("bias_hh_l{}", layer));
      const Tensor &oi = state.at(fmt::format("bias_ih_l{}", layer)),
                   &oh = state.at(fmt::format("bias_hh_l{}", layer));
      const int64_t summed =
          cell == models::Cell::Gru ? 2 * kHidden : oi.numel();  // GRU's n stays split
      for (int64_t k = 0; k < oi.numel(); ++k) {
        if (k < summed)
          BOOST_CHECK_CLOSE(bi.values()[k] + bh.values()[k], oi.values()[k] + oh.values()[k], 1e-4);
        else
          BOOST_CHECK(bi.values()[k] == oi.values()[k] && bh.values()[k] == oh.values()[k]);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(our_own_names_round_trip) {
  const models::Config c = config(models::Cell::Gru, 2, 1);
  Graph a, b;
  models::build(
      a, models::Config{c.cell, c.input_size, c.hidden_size, c.steps, c.batch, c.layers, 42});
  models::build(b, c);
  models::load_weights(b, c, models::parameters(a));
  for (int id : a.parameters()) check_close(b.node(id).value, a.node(id).value, 0.0f);
}

BOOST_AUTO_TEST_CASE(mismatched_states_are_format_errors) {
  const models::Config c = config(models::Cell::Lstm, 1, 1);
  Graph g;
  models::build(g, c);
  io::TensorMap state = io::read_safetensors(fixture("torch_lstm_L2_B1.safetensors"));
  BOOST_CHECK_THROW(models::load_torch_state(g, c, state), FormatError);  // an extra layer
  state = io::read_safetensors(fixture("torch_gru_L1_B1.safetensors"));
  BOOST_CHECK_THROW(models::load_torch_state(g, c, state), FormatError);  // 3 gates, not 4
  state = io::read_safetensors(fixture("torch_lstm_L1_B1.safetensors"));
  state.erase("bias_hh_l0");
  BOOST_CHECK_THROW(models::load_torch_state(g, c, state), FormatError);
  io::TensorMap own = models::parameters(g);
  own.erase("W_f_l0");
  BOOST_CHECK_THROW(models::load_parameters(g, own), FormatError);
  own = models::parameters(g);
  own["W_f_l0"] = Tensor({2, 2});
  BOOST_CHECK_THROW(models::load_parameters(g, own), FormatError);
}

BOOST_AUTO_TEST_CASE(model_graph_contract) {
  Graph g;
  models::build(g, config(models::Cell::Lstm, 2, 3));
  BOOST_CHECK(g.find("h0").shape == Shape({2, 3, kHidden}));
  BOOST_CHECK(g.find("c0").shape == Shape({2, 3, kHidden}));
  BOOST_CHECK(g.find("W_c_l1").shape == Shape({2 * kHidden, kHidden}));  // layer 1 reads h
  BOOST_CHECK(g.find("W_c_l0").shape == Shape({kHidden + kInput, kHidden}));
  BOOST_CHECK_EQUAL(g.parameters().size(), 16u);
  BOOST_CHECK_EQUAL(g.outputs().size(), 3u);
  BOOST_CHECK_THROW(models::cell_from_string("transformer"), GraphError);
  Graph bad;
  BOOST_CHECK_THROW(models::build(bad, config(models::Cell::Rnn, 0, 1)), GraphError);
}

// nn.LSTM(proj_size=2): outputs, final states and every gradient of y.sum() + h_n.sum() +
// c_n.sum(), 1 and 2 layers, one direction and both (tests/fixtures/make_torch_proj.py); its
// state_dict (weight_hr_l<k>) imported and exported unchanged.
BOOST_AUTO_TEST_CASE(lstm_with_a_projection_matches_pytorch) {
  for (int64_t layers : {1, 2})
    for (bool bi : {false, true}) {
      const std::string name = fmt::format("torch_proj_L{}{}", layers, bi ? "_bi" : "");
      BOOST_TEST_CONTEXT(name) {
        const models::Config c{.cell = models::Cell::Lstm,
                               .input_size = 3,
                               .hidden_size = 5,
                               .layers = layers,
                               .bidirectional = bi,
                               .proj_size = 2};
        const io::TensorMap state = io::read_safetensors(fixture(name + ".safetensors"));
        const io::TensorMap data = io::read_safetensors(fixture(name + "_data.safetensors"));
        const io::TensorMap weights = models::from_torch_state(c, state);
        // Exported, the weights come back as they were (the biases summed into bias_ih).
        const io::TensorMap exported = models::torch_state(weights, c);
        BOOST_TEST(exported.size() == state.size());
        for (const auto& [key, tensor] : exported)
          if (key.starts_with("weight")) check_close(tensor, state.at(key), 0, "exported " + key);
        check_close(models::from_torch_state(c, exported).at("W_hr_l0"), weights.at("W_hr_l0"), 0,
                    "W_hr imported again");
        const Tensor& x = data.at("x");
        auto g = models::unroll(c, weights, x.shape()[0], x.shape()[1]);
        const Value loss = sum(Value(*g, g->output_id("y"))) + sum(Value(*g, g->output_id("h_n"))) +
                           sum(Value(*g, g->output_id("c_n")));
        g->output("loss", loss);
        std::vector<std::string> wrt{"x"};
        for (const auto& [key, w] : weights) wrt.push_back(key);
        for (bool optimized : {false, true}) {
          const auto trained = passes::training_graph(*g, "loss", wrt, optimized);
          Executor run(*trained, {}, {.optimize = false});
          const Results& r = run({{"x", x}, {"h0", data.at("h0")}, {"c0", data.at("c0")}});
          for (const char* out : {"y", "h_n", "c_n"}) check_close(r[out], data.at(out), 1e-5, out);
          io::TensorMap grads;
          for (const auto& [key, w] : weights) grads.emplace(key, r["grad/" + key].clone());
          for (const auto& [key, grad] : models::torch_gradients(c, grads))
            rnngraph::testing::check_relative(grad, data.at("grad/" + key), 1e-5, "grad/" + key);
          rnngraph::testing::check_relative(r["grad/x"], data.at("grad/x"), 1e-5, "grad/x");
        }
      }
    }
  BOOST_CHECK_THROW(
      models::Model({.cell = models::Cell::Gru, .input_size = 3, .hidden_size = 5, .proj_size = 2}),
      GraphError);
  BOOST_CHECK_THROW(
      models::Model(
          {.cell = models::Cell::Lstm, .input_size = 3, .hidden_size = 5, .proj_size = 5}),
      GraphError);
}

BOOST_AUTO_TEST_SUITE_END()
