// models::Model runs a cell's step graph T times (models/rolled.h) instead of unrolling; these
// tests hold it to the unrolled graph (models::build, planned with every pass), which the other
// suites check against PyTorch, ONNX Runtime and finite differences.
#include <boost/test/unit_test.hpp>

#include <rnngraph/models/rolled.h>
#include <rnngraph/rnngraph.h>

#include "custom_cells.h"
#include "helpers.h"

using namespace rnngraph;
using namespace rnngraph::testing;

namespace {

// The same products over other row counts (a chunk of steps against all of them) round
// differently: measured worst 3.9e-6 (ln_lstm, 2 layers, both directions, T = 130).
constexpr double kTolerance = 1e-5;

// The unrolled graph's results for the same feeds and lengths, on `weights` (the model's).
Results unrolled(const models::Config& config, const io::TensorMap& weights, const Feeds& feeds,
                 const std::vector<int64_t>& lengths) {
  const Tensor& x = feeds.at("x");
  auto g = models::unroll(config, weights, x.shape()[0], x.shape()[1], !lengths.empty());
  Feeds all = feeds;
  if (!lengths.empty()) all["mask"] = models::length_mask(lengths, x.shape()[0]);
  Executor run(*g);
  Results out;
  for (const auto& [name, t] : run.run(all)) out.set(name, t.clone());
  return out;
}

Results unrolled(const models::Model& m, const Feeds& feeds, const std::vector<int64_t>& lengths) {
  return unrolled(m.config(), m.weights(), feeds, lengths);
}

void check_like_unrolled(models::Model& m, int64_t T, int64_t B, std::vector<int64_t> lengths) {
  Feeds feeds{{"x", init::normal(0, 1, uint64_t(T * 7 + B)).tensor({T, B, m.config().input_size})}};
  uint64_t seed = 100;
  for (const models::StateVariable& s : models::model_state(m.config()))
    feeds.emplace(s.name + "0",
                  init::normal(0, 1, ++seed)
                      .tensor({m.config().layers * models::directions(m.config()), B, s.size}));
  const Results expected = unrolled(m, feeds, lengths);
  const Results& got = m.run(feeds, lengths);
  for (const auto& [name, t] : expected) check_close(got[name], t, kTolerance, name);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rolled)

// Lengths crossing the hoisted chunks' edges (64 steps), every cell, 1 and 2 layers, both
// directions, with and without lengths.
BOOST_AUTO_TEST_CASE(runs_every_cell_as_the_unrolled_graph_does) {
  std::vector<models::Config> configs;
  for (const models::Cell& cell :
       {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru,
        models::find_cell("peephole_lstm"), models::find_cell("ln_lstm"), cifg()})
    for (int64_t layers : {1, 2})
      for (bool bi : {false, true})
        configs.push_back({.cell = cell,
                           .input_size = 3,
                           .hidden_size = 5,
                           .layers = layers,
                           .seed = 3,
                           .bidirectional = bi});
  models::Config projected = configs[2 * 4];  // gru L1 one direction, made an lstm
  projected.cell = models::Cell::Lstm, projected.proj_size = 2, projected.layers = 2;
  configs.push_back(projected);
  // A four-layer LSTM: the buffer between layers 0 and 1 is written again by layer 2 before
  // layer 0's next chunk reads its last h_t (only the top layer computes h_t straight into y's
  // rows, which stay)
  models::Config four = configs[1 * 4];  // lstm L1 one direction
  four.layers = 4;
  configs.push_back(four);
  models::Config tokens{.cell = models::Cell::Gru,
                        .input_size = 4,
                        .hidden_size = 5,
                        .layers = 2,
                        .output_size = 3,
                        .tokens = models::TokenInput::Embedding,
                        .vocab_size = 6};
  for (const models::Config& c : configs)
    BOOST_TEST_CONTEXT(c.cell.name() << " L" << c.layers << (c.bidirectional ? " bi" : "")
                                     << (c.proj_size ? " proj" : "")) {
      models::Model m(c);
      for (int64_t T : {1, 63, 65, 130}) check_like_unrolled(m, T, 3, {});
      check_like_unrolled(m, 70, 4, {70, 3, 65, 1});
    }
  // A token input through an embedding, and an output layer.
  models::Model m(tokens);
  Tensor ids({70, 2});
  for (int64_t i = 0; i < ids.numel(); ++i) ids.data()[i] = float((i * 5) % 6);
  const Feeds feeds{{"tokens", ids}};
  auto g = models::unroll(tokens, m.weights(), 70, 2);
  Executor run(*g);
  const Tensor expected = run.run({{"tokens", ids}, {"h0", Tensor({2, 2, 5})}})["y"].clone();
  check_close(m.run(feeds)["y"], expected, kTolerance, "tokens, output layer");
}

// What depends on other samples of the batch (a sum over it) must not be computed for a chunk of
// steps at once: the cell below is only right when it stays in the loop.
BOOST_AUTO_TEST_CASE(only_row_wise_work_is_hoisted) {
  models::CellDefinition d = cifg_definition("batch_mixing");
  d.step = [](const models::CellState& s, const Value& x, const models::CellWeights& w) {
    const Value mixed = x + sum(x, 0) * 0.1f;  // every sample sees the batch's sum of x_t
    return cifg_definition().step(s, mixed, w);
  };
  models::Model m({.cell = models::Cell(std::make_shared<const models::CellDefinition>(d)),
                   .input_size = 3,
                   .hidden_size = 4,
                   .layers = 2,
                   .seed = 2});
  check_like_unrolled(m, 70, 3, {});
  check_like_unrolled(m, 9, 3, {9, 2, 5});
}

BOOST_AUTO_TEST_CASE(weights_written_between_runs_reach_the_next_run) {
  // A run keeps the weights' merged, packed or quantized forms for the runs after it; a write
  // through update(), weights() or an unrolled graph's parameters must reach them. Each write below
  // changes the results (by ten times the tolerance, checked), and the run after it must equal the
  // unrolled graph on the new weights, built from a reference to them taken before the first run
  // (asking for them again would itself tell the model they may have changed). int8 within its
  // quantization noise: the step graph's products quantize other rows than the unrolled graph's
  // (measured 3.3e-4 here, y of 0.045).
  for (models::Precision precision : {models::Precision::Float32, models::Precision::Int8}) {
    BOOST_TEST_CONTEXT("precision " << int(precision)) {
      models::Model m({.cell = models::Cell::Lstm,
                       .input_size = 3,
                       .hidden_size = 5,
                       .layers = 2,
                       .seed = 3,
                       .output_size = 2,
                       .precision = precision});
      const Feeds feeds{{"x", init::normal(0, 1, 4).tensor({70, 2, 3})},
                        {"h0", Tensor({2, 2, 5})},
                        {"c0", Tensor({2, 2, 5})}};
      const io::TensorMap& weights = m.weights();
      const double tolerance = precision == models::Precision::Int8 ? 1e-3 : kTolerance;
      auto run_then_check = [&](const Tensor& before, const std::string& how) {
        const Tensor got = m.run(feeds)["y"].clone();
        float moved = 0;
        for (std::size_t i = 0; i < got.values().size(); ++i)
          moved = std::max(moved, std::fabs(got.values()[i] - before.values()[i]));
        BOOST_CHECK_MESSAGE(moved > 10 * tolerance, how << ": y moved by " << moved);
        check_close(got, unrolled(m.config(), weights, feeds, {})["y"], tolerance, how);
        return got;
      };
      const Tensor first = m.run(feeds)["y"].clone();
      m.update([](const io::TensorMap& w) {
        for (const auto& [name, t] : w)
          for (float& v : t.values()) v *= 0.5f;
      });
      const Tensor halved = run_then_check(first, "update()");
      for (const char* name : {"W_c_l0", "W_c_l1"})
        for (float& v : m.weights().at(name).values()) v = -v;
      const Tensor negated = run_then_check(halved, "weights()");
      // an unrolled graph's parameters are the same tensors
      for (float& v : m.graph(5, 2).param("W_c_l0").values()) v = -v;
      run_then_check(negated, "graph()");
    }
  }
}

BOOST_AUTO_TEST_CASE(new_lengths_cost_no_plan_and_memory_is_flat_in_T) {
  models::Config c{.cell = models::Cell::Lstm, .input_size = 8, .hidden_size = 16, .layers = 2};
  const io::TensorMap weights = models::Model(c).weights();
  auto plan = std::make_shared<models::RolledPlan>(c, weights, 2);
  plan->plan();
  models::RolledRun run(plan);
  Feeds feeds{{"h0", Tensor({2, 2, 16})}, {"c0", Tensor({2, 2, 16})}};
  std::size_t first = 0;
  for (int64_t T : {64 * 3, 64 * 40}) {  // equal chunks of 64 steps
    feeds["x"] = init::normal(0, 1, 1).tensor({T, 2, 8});
    run.run(feeds, Tensor(), 0);
    if (!first) first = run.working_bytes();
    BOOST_TEST(run.working_bytes() == first, "T = " << T);
  }
  // The step graphs hold one step's nodes, whatever T is.
  BOOST_TEST(plan->nodes() < 100u);
}

// A chunk holds as many steps as keep what it hoists for a layer within the plan's chunk bytes:
// an LSTM hoists x · W_x, [B, 4H] a step, 240 bytes at B = 3 and H = 5, so 1000 bytes hold 4
// steps; a GRU's [B, 3H] is 180 bytes, 5 steps. Runs in such chunks, the last one padded, and
// with samples' lengths, equal the unrolled graph.
BOOST_AUTO_TEST_CASE(chunks_hold_what_fits_their_bytes_and_run_as_unrolled) {
  for (const auto& [cell, steps] : {std::pair{models::Cell::Lstm, 4}, {models::Cell::Gru, 5}})
    for (bool bi : {false, true}) {
      const models::Config c{.cell = cell,
                             .input_size = 3,
                             .hidden_size = 5,
                             .layers = 2,
                             .seed = 5,
                             .bidirectional = bi};
      BOOST_TEST_CONTEXT(c.cell.name() << (bi ? " bi" : "")) {
        const io::TensorMap weights = models::Model(c).weights();
        auto plan = std::make_shared<models::RolledPlan>(c, weights, 3, 1000);
        plan->plan();
        BOOST_TEST(plan->max_hoisted_steps() == steps);
        // the fewest padded steps in chunks longer than half the most: 9 steps in 3 chunks of 3;
        // 13 in 5 of 3 (2 padded; 4 of 4 would pad 3, and 7 of 2 are too short), or 3 of 5 (2
        // padded, as 5 of 3 would)
        BOOST_TEST(plan->hoisted_steps(9) == 3);
        BOOST_TEST(plan->hoisted_steps(13) == (steps == 4 ? 3 : 5));
        models::RolledRun run(plan);
        for (const auto& [T, lengths] :
             {std::pair<int64_t, std::vector<int64_t>>{1, {}}, {9, {}}, {13, {13, 6, 1}}}) {
          Feeds feeds{{"x", init::normal(0, 1, uint64_t(T)).tensor({T, 3, 3})}};
          for (const models::StateVariable& s : models::model_state(c))
            feeds.emplace(s.name + "0", init::normal(0, 1, 7).tensor({2 * (bi ? 2 : 1), 3, 5}));
          const Tensor mask = lengths.empty() ? Tensor() : models::length_mask(lengths, T);
          const Results& got = run.run(feeds, mask, 0);
          for (const auto& [name, t] : unrolled(c, weights, feeds, lengths))
            check_close(got[name], t, kTolerance, fmt::format("T = {}, {}", T, name));
        }
      }
    }
}

// The bytes bound the chunk, within 1 and 64 steps: the large LSTM (B = 64, H = 512) hoists 512
// KiB a step, 4 steps in a 2 MiB L2. With at most 2 steps, an odd length still runs in chunks of
// 2 (one padded step), not of 1.
BOOST_AUTO_TEST_CASE(a_large_lstm_hoists_a_few_steps_at_a_time) {
  const models::Config c{.cell = models::Cell::Lstm, .input_size = 512, .hidden_size = 512};
  const io::TensorMap weights = models::Model(c).weights();
  for (const auto& [bytes, steps] : {std::pair<std::size_t, int64_t>{std::size_t(2) << 20, 4},
                                     {std::size_t(1) << 20, 2},
                                     {1000, 1},
                                     {std::size_t(1) << 30, 64}}) {
    models::RolledPlan plan(c, weights, 64, bytes);
    plan.plan();
    BOOST_TEST(plan.max_hoisted_steps() == steps, bytes << " bytes");
    if (steps == 2) BOOST_TEST(plan.hoisted_steps(101) == 2);
  }
}

BOOST_AUTO_TEST_SUITE_END()
