// Several threads: one plan shared by executors (forward, and forward + backward), a model's
// copies unrolling shapes for the first time at once, and weights updated while copies run.
// Built a second time under ThreadSanitizer (make test-tsan), where any data race fails it.
#include <atomic>
#include <thread>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/models/model_runner.h>

#include "helpers.h"

using namespace rnngraph;
using rnngraph::testing::check_close;

namespace {
models::Config lstm_config() {
  return {.cell = models::Cell::Lstm,
          .input_size = 3,
          .hidden_size = 8,
          .steps = 12,
          .batch = 2,
          .layers = 2,
          .seed = 5};
}

Feeds lstm_feeds(int64_t T, int64_t B, uint64_t seed) {
  return {{"x", init::normal(0, 1, seed).tensor({T, B, 3})},
          {"h0", init::normal(0, 1, seed + 1).tensor({2, B, 8})},
          {"c0", init::normal(0, 1, seed + 2).tensor({2, B, 8})}};
}

// Runs `work(i)` on `n` threads at once and waits for them.
template <class Work>
void on_threads(int n, Work work) {
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(work, i);
  for (std::thread& t : threads) t.join();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(concurrency)

BOOST_AUTO_TEST_CASE(one_plan_runs_on_several_threads) {
  // Each thread has its own executor (its own arena) over one shared plan.
  Graph g;
  models::build(g, lstm_config());
  const auto plan = std::make_shared<const Plan>(g);
  const Feeds feeds = lstm_feeds(12, 2, 3);
  const Tensor expected = Executor(plan)(feeds)["y"].clone();
  std::vector<Tensor> got(4);
  on_threads(4, [&](int i) {
    Executor run(plan);
    for (int k = 0; k < 10; ++k) got[std::size_t(i)] = run(feeds)["y"].clone();
  });
  for (const Tensor& t : got) check_close(t, expected, 0.0f);
}

BOOST_AUTO_TEST_CASE(one_forward_and_backward_plan_runs_on_several_threads) {
  Graph g;
  const models::Outputs out = models::build(g, lstm_config());
  std::vector<Value> wrt;
  std::vector<std::string> names;
  for (int id : g.parameters()) wrt.emplace_back(g, id), names.push_back("d/" + g.node(id).name);
  const std::vector<Value> grads = grad(sum(out.y * out.y), wrt);
  for (std::size_t i = 0; i < grads.size(); ++i) g.output(names[i], grads[i]);
  const auto plan = std::make_shared<const Plan>(g, names);
  // Every thread its own input; the answers computed on one thread first.
  std::vector<Feeds> feeds;
  std::vector<std::vector<Tensor>> expected;
  for (int i = 0; i < 4; ++i) {
    feeds.push_back(lstm_feeds(12, 2, uint64_t(10 * i + 1)));
    Executor run(plan);
    const Results& r = run(feeds.back());
    expected.emplace_back();
    for (const std::string& n : names) expected.back().push_back(r[n].clone());
  }
  std::vector<std::vector<Tensor>> got(4);
  on_threads(4, [&](int i) {
    Executor run(plan);
    for (int k = 0; k < 5; ++k) {
      const Results& r = run(feeds[std::size_t(i)]);
      got[std::size_t(i)].clear();
      for (const std::string& n : names) got[std::size_t(i)].push_back(r[n].clone());
    }
  });
  for (std::size_t i = 0; i < got.size(); ++i)
    for (std::size_t j = 0; j < names.size(); ++j) check_close(got[i][j], expected[i][j], 0.0f);
}

// Copies of one model, each on its own thread, asking for the same new shapes at the same time:
// each shape is built and planned once, and every copy computes what one model alone does.
BOOST_AUTO_TEST_CASE(model_copies_unroll_new_shapes_concurrently) {
  const models::Model model(lstm_config());
  const std::vector<std::pair<int64_t, int64_t>> shapes{{1, 1}, {5, 3}, {9, 2}, {16, 1}};
  std::vector<Tensor> expected;
  {
    models::Model alone(model);
    for (auto [T, B] : shapes)
      expected.push_back(alone.run(lstm_feeds(T, B, uint64_t(T * B)))["y"].clone());
  }
  std::atomic<int> mismatches{0};
  on_threads(4, [&](int i) {
    models::Model mine(model);  // shares the weights and the plans, not the buffers
    for (int k = 0; k < 3; ++k)
      for (std::size_t s = 0; s < shapes.size(); ++s) {
        const std::size_t at = (s + std::size_t(i)) % shapes.size();  // different orders
        const auto [T, B] = shapes[at];
        const Tensor y = mine.run(lstm_feeds(T, B, uint64_t(T * B)))["y"].clone();
        for (int64_t e = 0; e < y.numel(); ++e)
          if (y.data()[e] != expected[at].data()[e]) ++mismatches;
      }
  });
  BOOST_CHECK_EQUAL(mismatches.load(), 0);
}

// One thread writes every weight to a new constant, again and again, through update(); copies
// on three other threads run meanwhile. With x = 0, h0 = 0 and every weight w, all units of a
// step are equal (tanh(w), then tanh(H·w·h + w), ...): a run that read some weights before a
// write and some after would break that.
BOOST_AUTO_TEST_CASE(updates_are_never_seen_half_written) {
  models::Config c{
      .cell = models::Cell::Rnn, .input_size = 4, .hidden_size = 16, .steps = 6, .batch = 2};
  models::Model model(c);
  auto set_all = [](float w) {
    return [w](const io::TensorMap& weights) {
      for (const auto& [name, t] : weights)
        for (float& v : t.values()) v = w;
    };
  };
  model.update(set_all(0.02f));
  std::atomic<bool> done{false};
  std::atomic<int> runs{0}, torn{0};
  std::thread writer([&] {
    while (runs < 3) std::this_thread::yield();  // the copies are running
    for (int k = 1; k <= 200; ++k, std::this_thread::yield())
      model.update(set_all(0.001f * float(k % 50)));
    done = true;
  });
  on_threads(3, [&](int) {
    models::Model mine(model);
    const Feeds zeros{{"x", Tensor({6, 2, 4})}};
    while (!done) {
      const Tensor& y = mine.run(zeros)["y"];
      for (int64_t t = 0; t < 6; ++t)
        for (int64_t e = 1; e < 2 * 16; ++e)
          if (y.data()[t * 32 + e] != y.data()[t * 32]) ++torn;
      ++runs;
    }
  });
  writer.join();
  BOOST_TEST_MESSAGE("runs beside 200 updates: " << runs.load());
  BOOST_CHECK_GT(runs.load(), 0);
  BOOST_CHECK_EQUAL(torn.load(), 0);
}

BOOST_AUTO_TEST_SUITE_END()
