// Every shape rule: the exception type, and a message naming the op, the nodes and the shapes.
#include <string>

#include "helpers.h"

using namespace rnngraph;

namespace {
// Runs `build`, expects ShapeError whose message contains every fragment.
template <class Build>
void expect_shape_error(Build build, std::initializer_list<std::string> fragments) {
  Graph g;
  try {
    build(g);
    BOOST_ERROR("no ShapeError thrown");
  } catch (const ShapeError& e) {
    const std::string message = e.what();
    BOOST_TEST_MESSAGE(message);
    for (const std::string& f : fragments)
      BOOST_CHECK_MESSAGE(message.find(f) != std::string::npos,
                          "'" << f << "' not in: " << message);
  }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(shape_errors)

BOOST_AUTO_TEST_CASE(matmul_inner_dimensions) {
  expect_shape_error(
      [](Graph& g) {
        auto x = g.input("x", {1, 7});
        auto W = g.parameter("W", {6, 5});
        auto scope = g.scope("step", 3);
        matmul(x, W);
      },
      {"step3/matmul_2", "(matmul)", "'x' [1, 7]", "'W' [6, 5]", "inner dimensions"});
  expect_shape_error(
      [](Graph& g) {
        matmul(g.input("a", {2, 3}), g.input("b", {2, 3}), false, false);
      },
      {"matmul", "[2, 3]"});
  expect_shape_error(
      [](Graph& g) {
        matmul(g.input("a", {2, 3}), g.input("b", {2, 3}), true, true);
      },
      {"matmul", "[2, 3]^T"});
  expect_shape_error(
      [](Graph& g) {
        matmul(g.input("a", {2, 3, 4}), g.input("b", {4, 3}));
      },
      {"matmul", "two matrices", "[2, 3, 4]", "[4, 3]"});
}

BOOST_AUTO_TEST_CASE(concat_off_axis_mismatch) {
  expect_shape_error(
      [](Graph& g) {
        concat({g.input("h", {2, 5}), g.input("x", {3, 2})}, 1);
      },
      {"concat", "'h' [2, 5]", "'x' [3, 2]", "differ off axis 1"});
  expect_shape_error(
      [](Graph& g) {
        concat({g.input("h", {2, 5}), g.input("x", {2, 5, 1})}, 0);
      },
      {"concat", "[2, 5, 1]"});
  expect_shape_error(
      [](Graph& g) {
        concat({g.input("h", {2, 5}), g.input("x", {2, 5})}, 2);
      },
      {"concat", "axis 2 is out of range"});
}

BOOST_AUTO_TEST_CASE(elementwise_broadcast_mismatch) {
  expect_shape_error(
      [](Graph& g) {
        g.input("a", {2, 3}) + g.input("b", {1, 4});
      },
      {"(add)", "[2, 3]", "[1, 4]", "do not broadcast"});
  expect_shape_error(
      [](Graph& g) {
        g.input("a", {2, 3}) - g.input("b", {3, 3});
      },
      {"(sub)", "[3, 3]"});
  expect_shape_error([](Graph& g) { g.input("a", {2, 3}) * g.input("b", {2}); }, {"(mul)", "[2]"});
}

BOOST_AUTO_TEST_CASE(slice_select_reduce_stack) {
  expect_shape_error(
      [](Graph& g) {
        slice(g.input("a", {2, 4}), 1, 3, 5);
      },
      {"(slice)", "[3, 5)", "[2, 4]"});
  expect_shape_error([](Graph& g) { slice(g.input("a", {2, 4}), 1, 2, 2); }, {"(slice)", "empty"});
  expect_shape_error(
      [](Graph& g) {
        g.input("x", {3, 1, 2})[3];
      },
      {"(select)", "index 3", "[3, 1, 2]"});
  expect_shape_error([](Graph& g) { sum(g.input("a", {2, 4}), 2); }, {"(sum)", "axis 2", "rank 2"});
  expect_shape_error([](Graph& g) { mean(g.input("a", {2, 4}), -3); }, {"(mean)", "axis -3"});
  expect_shape_error(
      [](Graph& g) {
        std::vector<Value> parts{g.input("a", {2, 4}), g.input("b", {2, 3})};
        stack(parts);
      },
      {"(stack)", "[2, 4]", "[2, 3]"});
  expect_shape_error(
      [](Graph& g) {
        std::vector<Value> parts{g.input("a", {1, 1, 1, 1})};
        stack(parts);
      },
      {"(stack)", "rank 4"});
}

BOOST_AUTO_TEST_CASE(bad_shapes_and_feeds) {
  BOOST_CHECK_THROW(Shape({1, 2, 3, 4, 5}), ShapeError);
  BOOST_CHECK_THROW(Shape({2, 0}), ShapeError);
  BOOST_CHECK_THROW(Shape({int64_t(1) << 30, int64_t(1) << 30, int64_t(1) << 30}),
                    ShapeError);  // overflow
  BOOST_CHECK_THROW(Tensor::from({2, 2}, std::vector<float>{1, 2, 3}), ShapeError);

  Graph g;
  auto x = g.input("x", {3, 1, 2});
  g.output("y", tanh(x[0]));
  Executor run(g);
  try {
    run({{"x", Tensor({3, 1, 4})}});
    BOOST_ERROR("no ShapeError for a wrongly shaped feed");
  } catch (const ShapeError& e) {
    BOOST_CHECK(std::string(e.what()).find("'x' expects [3, 1, 2], fed [3, 1, 4]") !=
                std::string::npos);
  }
  BOOST_CHECK_THROW(run({}), GraphError);  // missing feed
  BOOST_CHECK_THROW(run({{"x", Tensor({3, 1, 2})}, {"typo", Tensor({1})}}), GraphError);  // unknown
}

BOOST_AUTO_TEST_CASE(every_error_is_an_rnngraph_error) {
  Graph g;
  BOOST_CHECK_THROW(g.input("a", {2, 3}) + g.input("b", {4}), Error);
  BOOST_CHECK_THROW(g.input("a", {1}), GraphError);  // duplicate name
  BOOST_CHECK_THROW(g.find("nothing"), Error);
  BOOST_CHECK_THROW(Executor{g}, GraphError);  // no outputs declared
  Graph other;
  BOOST_CHECK_THROW(add(g.input("c", {1}), other.input("d", {1})), GraphError);
}

BOOST_AUTO_TEST_SUITE_END()
