// The executor: repeatable runs, O(1)-in-T inference memory, persistent parameters, views.

#include "helpers.h"

using namespace rnngraph;
using rnngraph::testing::check_close;

namespace {
// A forward-only seed RNN returning only the last state.
std::size_t rnn_arena(int64_t steps) {
  Graph g;
  auto x = g.input("x", {steps, 2, 3});
  auto h0 = g.input("h0", {2, 4});
  auto W = g.parameter("W", {7, 4}, init::xavier(1));
  auto b = g.parameter("b", {1, 4});
  g.output("h_last", models::rnn_unroll(x, h0, W, b).back());
  return Executor(g).arena_bytes();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(executor)

BOOST_AUTO_TEST_CASE(repeated_runs_are_identical) {
  Graph g;
  models::build(g, {.input_size = 2, .hidden_size = 5, .steps = 6, .batch = 3, .seed = 3});
  Executor run(g);
  const Feeds feeds{{"x", init::normal(0, 1, 1).tensor({6, 3, 2})},
                    {"h0", init::normal(0, 1, 2).tensor({1, 3, 5})}};
  const Tensor first = run(feeds)["y"].clone();
  for (int i = 0; i < 5; ++i) {
    const Tensor again = run(feeds)["y"];
    BOOST_REQUIRE(again.shape() == first.shape());
    for (int64_t k = 0; k < first.numel(); ++k)
      BOOST_REQUIRE_EQUAL(again.values()[k], first.values()[k]);
  }
  // Another executor of the same graph (its own arena) agrees bit for bit.
  Executor other(g);
  check_close(other(feeds)["y"], first, 0.0f);
}

BOOST_AUTO_TEST_CASE(inference_memory_does_not_grow_with_steps) {
  // From T = 32 on: the hoisted input products hold one chunk of 32 steps (passes/).
  const std::size_t short_arena = rnn_arena(100), long_arena = rnn_arena(1000);
  BOOST_TEST_MESSAGE("arena T=100: " << short_arena << " bytes, T=1000: " << long_arena);
  BOOST_CHECK_GT(short_arena, 0u);
  BOOST_CHECK_LE(long_arena, short_arena);
}

BOOST_AUTO_TEST_CASE(arena_reuses_buffers) {
  // tanh(tanh(tanh(x))): each intermediate dies when the next is made, so at most two buffers
  // of 64 floats live at once.
  Graph g;
  auto x = g.input("x", {8, 8});
  g.output("y", tanh(tanh(tanh(tanh(x)))));
  Executor run(g);
  BOOST_CHECK_EQUAL(run.arena_bytes(), 2 * 64 * sizeof(float));
  BOOST_CHECK_EQUAL(run.plan().schedule().size(), 4u);
}

BOOST_AUTO_TEST_CASE(outputs_are_kept_while_others_are_reused) {
  Graph g;
  auto x = g.input("x", {1, 4});
  auto a = tanh(x);
  auto b = sigmoid(a);
  auto d = tanh(b + a);
  g.output("a", a);
  g.output("d", d);
  Executor run(g);
  const Tensor in({1, 4}, {0.1f, -0.2f, 0.3f, 2.0f});
  const Results& out = run({{"x", in}});
  for (int i = 0; i < 4; ++i) {
    const float ea = std::tanh(in.values()[i]);
    const float eb = 1 / (1 + std::exp(-ea));
    BOOST_CHECK_CLOSE(out["a"].values()[i], ea, 1e-4);
    BOOST_CHECK_CLOSE(out["d"].values()[i], std::tanh(eb + ea), 1e-4);
  }
}

BOOST_AUTO_TEST_CASE(parameters_survive_runs_and_can_be_written) {
  Graph g;
  auto x = g.input("x", {1, 2});
  auto W = g.parameter("W", {2, 2}, init::constant(1.0f));
  g.output("y", matmul(x, W));
  Executor run(g);
  const Feeds feeds{{"x", Tensor({1, 2}, {1, 2})}};
  rnngraph::testing::check_values(run(feeds)["y"], {1, 2}, {3, 3});
  rnngraph::testing::check_values(g.param("W"), {2, 2}, {1, 1, 1, 1});  // untouched by the run
  g.param("W").at({1, 1}) = 5;
  rnngraph::testing::check_values(run(feeds)["y"], {1, 2}, {3, 11});
  rnngraph::testing::check_values(run(feeds)["y"], {1, 2}, {3, 11});
}

BOOST_AUTO_TEST_CASE(select_is_a_view_and_needs_no_arena) {
  Graph g;
  auto x = g.input("x", {4, 2, 3});
  g.output("x2", x[2]);
  Executor run(g);
  BOOST_CHECK_EQUAL(run.arena_bytes(), 0u);
  BOOST_CHECK(run.plan().schedule().empty());
  const Tensor xs = init::uniform(-1, 1, 5).tensor({4, 2, 3});
  const Tensor& y = run({{"x", xs}})["x2"];
  BOOST_CHECK_EQUAL(y.data(), xs.data() + 2 * 6);  // no copy: a window of the fed tensor
}

BOOST_AUTO_TEST_CASE(only_what_the_outputs_need_runs) {
  Graph g;
  auto x = g.input("x", {2, 2});
  auto unused = g.input("unused", {3});
  g.output("side", tanh(unused));
  g.output("y", sigmoid(x));
  const std::vector<std::string> wanted{"y"};
  Executor run(g, wanted);
  BOOST_CHECK_EQUAL(run.plan().schedule().size(), 1u);
  BOOST_CHECK_NO_THROW(run({{"x", Tensor({2, 2})}}));  // "unused" need not be fed
  BOOST_CHECK_EQUAL(run({{"x", Tensor({2, 2})}})["y"].values()[0], 0.5f);
  BOOST_CHECK_THROW(Executor(g, std::vector<std::string>{"nope"}), GraphError);
}

BOOST_AUTO_TEST_CASE(a_value_used_twice_is_freed_once) {
  Graph g;
  auto x = g.input("x", {1, 3});
  auto t = tanh(x);
  g.output("y", tanh(t * t) + x);
  Executor run(g);
  const Results& out = run({{"x", Tensor({1, 3}, {0.5f, -1, 2})}});
  for (int i = 0; i < 3; ++i) {
    const float v = std::vector<float>{0.5f, -1, 2}[i];
    BOOST_CHECK_CLOSE(out["y"].values()[i], std::tanh(std::tanh(v) * std::tanh(v)) + v, 1e-4);
  }
}

BOOST_AUTO_TEST_CASE(outputs_are_assembled_in_place_so_working_memory_is_flat_in_T) {
  // y = stack(h_1 ... h_T): each h_t is computed straight into its row of y, so the arena less
  // the outputs' bytes is the same for T = 100 and T = 1000 (from T = 32 on, when the hoisted
  // input products hold a whole chunk of 32 steps).
  auto working = [](int64_t T) {
    Graph g;
    models::build(
        g, {.cell = models::Cell::Lstm, .input_size = 3, .hidden_size = 8, .steps = T, .batch = 2});
    const Plan plan(g, std::vector<std::string>{"y"});
    return plan.arena_bytes() - std::size_t(T * 2 * 8) * sizeof(float);
  };
  const std::size_t short_run = working(100), long_run = working(1000);
  BOOST_TEST_MESSAGE("working memory T=100: " << short_run << ", T=1000: " << long_run);
  BOOST_CHECK_EQUAL(short_run, long_run);

  // A concat along the first axis is assembled the same way; the values are right.
  Graph g;
  const Value a = g.input("a", {1, 2}), b = g.input("b", {2, 2});
  g.output("y", concat({tanh(a), b * 2.0f}, 0));
  const Value p = a * 3.0f;
  g.output("z", stack(std::vector<Value>{p, p}));  // one part twice: copied as usual
  Executor run(g);
  const Results& r = run({{"a", Tensor({1, 2}, {0, 1})}, {"b", Tensor({2, 2}, {1, 2, 3, 4})}});
  rnngraph::testing::check_values(r["y"], {3, 2}, {0, std::tanh(1.0f), 2, 4, 6, 8});
  rnngraph::testing::check_values(r["z"], {2, 1, 2}, {0, 3, 0, 3});
}

BOOST_AUTO_TEST_CASE(an_output_can_be_computed_into_the_callers_memory_for_one_run) {
  // y is computed by its op; z is assembled in place (its parts computed into its slot, its op
  // never run), and b_row is a window of a feed: neither has a slot of its own to move. y_row
  // (a window of y) and y2 (an op that reads y after it) follow y where it is computed.
  Graph g;
  const Value a = g.input("a", {1, 2}), b = g.input("b", {2, 2});
  const Value y = tanh(concat({a, b * 2.0f}, 0));
  g.output("y", y);
  g.output("b_row", b[1]);
  g.output("z", concat({tanh(a), b * 3.0f}, 0));
  g.output("y_row", y[1]);
  g.output("y2", y * 2.0f);
  Executor run(g);
  std::vector<Tensor> inputs;
  for (int id : run.plan().inputs())
    inputs.push_back(g.node(id).name == "a" ? Tensor({1, 2}, {0, 1})
                                            : Tensor({2, 2}, {1, 2, 3, 4}));
  std::vector<float> expected{0, 1, 2, 4, 6, 8};
  for (float& v : expected) v = std::tanh(v);
  BOOST_REQUIRE(run.writes_into_arena(0));
  BOOST_CHECK(!run.writes_into_arena(1));
  BOOST_CHECK(!run.writes_into_arena(2));
  Tensor mine({3, 2});
  const Tensor into[] = {mine};
  const Results& r = run.run_positional(inputs, into);
  BOOST_CHECK_EQUAL(r["y"].data(), mine.data());
  rnngraph::testing::check_values(mine, {3, 2}, expected);
  rnngraph::testing::check_values(r["y_row"], {2}, {expected[2], expected[3]});
  BOOST_CHECK_EQUAL(r["y_row"].data(), mine.data() + 2);
  std::vector<float> doubled = expected;
  for (float& v : doubled) v *= 2;
  rnngraph::testing::check_values(r["y2"], {3, 2}, doubled);
  // the next run without it computes y in the arena again, and leaves the caller's memory alone
  mine.fill(-1.0f);
  const Results& again = run.run_positional(inputs);
  BOOST_CHECK_NE(again["y"].data(), mine.data());
  rnngraph::testing::check_values(again["y"], {3, 2}, expected);
  rnngraph::testing::check_values(mine, {3, 2}, std::vector<float>(6, -1.0f));
  const Tensor not_a_slot[] = {Tensor(), Tensor({2}, {0, 0})};
  BOOST_CHECK_THROW(run.run_positional(inputs, not_a_slot), GraphError);
  const Tensor assembled[] = {Tensor(), Tensor(), Tensor({3, 2})};
  BOOST_CHECK_THROW(run.run_positional(inputs, assembled), GraphError);
  const Tensor wrong_shape[] = {Tensor({2, 3})};
  BOOST_CHECK_THROW(run.run_positional(inputs, wrong_shape), ShapeError);
}

BOOST_AUTO_TEST_CASE(wholes_inside_the_graph_are_assembled_in_place_nested_through_reshapes) {
  // Not an output: whole = concat(reshape(stack(p0, p1)), reshape(stack(p2, p3))), read by one
  // op. Each p_i is computed straight into its place in whole's buffer: neither stack nor the
  // concat runs, and the parts and the inner stacks are slots inside whole's.
  Graph g;
  const Value a = g.input("a", {1, 2});
  std::vector<Value> p;
  for (int i = 0; i < 4; ++i) p.push_back(tanh(a * float(i + 1)));
  const Value inner0 = stack(std::vector<Value>{p[0], p[1]});  // [2, 1, 2]
  const Value inner1 = stack(std::vector<Value>{p[2], p[3]});
  const Value whole = concat({reshape(inner0, {2, 2}), reshape(inner1, {2, 2})}, 0);  // [4, 2]
  g.output("y", whole * 2.0f);
  Executor run(g, {}, {.optimize = false});
  for (int id : run.plan().schedule())
    BOOST_CHECK_MESSAGE(g.node(id).op != &stack_op() && g.node(id).op != &concat_op(),
                        g.node(id).name << " ran: it should have been assembled in place");
  const auto offset = [&](const Value& v) { return run.plan().slot(v.id()).offset; };
  for (int i = 0; i < 4; ++i)
    BOOST_CHECK_EQUAL(offset(p[std::size_t(i)]),
                      offset(whole) + std::size_t(i) * 2 * sizeof(float));
  BOOST_CHECK_EQUAL(offset(inner1), offset(whole) + 4 * sizeof(float));
  std::vector<float> expected;
  for (int i = 1; i <= 4; ++i)
    for (float v : {0.5f, -1.0f}) expected.push_back(2 * std::tanh(v * float(i)));
  rnngraph::testing::check_values(run({{"a", Tensor({1, 2}, {0.5f, -1})}})["y"], {4, 2}, expected);
}

BOOST_AUTO_TEST_CASE(a_concat_of_rows_already_end_to_end_is_a_view) {
  // x's rows 0–1 and 2–5 in order are x itself: a view, not a copy. Out of order they are copied.
  Graph g;
  const Value x = g.input("x", {6, 2});
  const Value in_order = concat({slice(x, 0, 0, 2), slice(x, 0, 2, 6)}, 0);
  const Value swapped = concat({slice(x, 0, 2, 4), slice(x, 0, 0, 2)}, 0);
  g.output("y", in_order * 1.0f);
  g.output("z", swapped * 1.0f);
  Executor run(g, {}, {.optimize = false});
  const Plan::Slot& view = run.plan().slot(in_order.id());
  BOOST_CHECK(view.home == Plan::Home::View);
  BOOST_CHECK_EQUAL(view.base, x.id());
  BOOST_CHECK_EQUAL(view.elements, 0);
  BOOST_CHECK(run.plan().slot(swapped.id()).home == Plan::Home::Arena);
  std::vector<float> data(12);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = float(i);
  const Results& r = run({{"x", Tensor::from({6, 2}, data)}});
  rnngraph::testing::check_values(r["y"], {6, 2}, data);
  rnngraph::testing::check_values(r["z"], {4, 2}, {4, 5, 6, 7, 0, 1, 2, 3});
}

BOOST_AUTO_TEST_SUITE_END()
