// Shape, Tensor, views and the seeded initialisers.
#include <cmath>
#include <cstdint>

#include "helpers.h"

using namespace rnngraph;

BOOST_AUTO_TEST_SUITE(tensor)

BOOST_AUTO_TEST_CASE(shape_basics) {
  const Shape s{3, 2, 4};
  BOOST_CHECK_EQUAL(s.rank(), 3);
  BOOST_CHECK_EQUAL(s.numel(), 24);
  BOOST_CHECK_EQUAL(s.stride(0), 8);
  BOOST_CHECK_EQUAL(s.stride(2), 1);
  BOOST_CHECK_EQUAL(s.str(), "[3, 2, 4]");
  BOOST_CHECK(s.drop_first() == Shape({2, 4}));
  BOOST_CHECK(Shape({5}).drop_first() == Shape({1}));
  BOOST_CHECK(broadcast_shapes({4, 3}, {1, 3}) == Shape({4, 3}));
  BOOST_CHECK(broadcast_shapes({2, 1, 3}, {5, 1}) == Shape({2, 5, 3}));
  BOOST_CHECK_EQUAL(broadcast_shapes({4, 3}, {2, 3}).rank(), 0);
}

BOOST_AUTO_TEST_CASE(owning_tensors_are_aligned_and_zeroed) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t({n});
    BOOST_CHECK_EQUAL(reinterpret_cast<std::uintptr_t>(t.data()) % kTensorAlignment, 0u);
    for (float v : t.values()) BOOST_REQUIRE_EQUAL(v, 0.0f);
  }
}

BOOST_AUTO_TEST_CASE(select_is_a_view_sharing_storage) {
  Tensor x({3, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor x1 = x[1];
  BOOST_CHECK(x1.shape() == Shape({2, 2}));
  BOOST_CHECK_EQUAL(x1.data(), x.data() + 4);
  BOOST_CHECK_EQUAL(x1.at({1, 0}), 6.0f);
  x1.at({0, 0}) = 42;  // writes through
  BOOST_CHECK_EQUAL(x.at({1, 0, 0}), 42.0f);
  Tensor kept = x[2];
  x = Tensor();  // the view keeps the storage alive
  BOOST_CHECK_EQUAL(kept.at({1, 1}), 11.0f);
  BOOST_CHECK_THROW(kept[2], ShapeError);
  BOOST_CHECK_THROW(kept.at({0, 2}), ShapeError);
  BOOST_CHECK_THROW(kept.reshaped({3}), ShapeError);
  BOOST_CHECK(kept.reshaped({4}).shape() == Shape({4}));
}

BOOST_AUTO_TEST_CASE(clone_is_deep) {
  Tensor a({2}, {1, 2});
  Tensor b = a.clone();
  b.at({0}) = 9;
  BOOST_CHECK_EQUAL(a.at({0}), 1.0f);
}

BOOST_AUTO_TEST_CASE(initialisers_are_seeded_and_have_the_right_statistics) {
  auto draw = [](Init init, Shape s = {200, 100}) { return init.tensor(s); };
  const Tensor u1 = draw(init::uniform(-0.5f, 0.5f, 7)), u2 = draw(init::uniform(-0.5f, 0.5f, 7));
  const Tensor u3 = draw(init::uniform(-0.5f, 0.5f, 8));
  BOOST_CHECK(std::equal(u1.values().begin(), u1.values().end(), u2.values().begin()));
  BOOST_CHECK(!std::equal(u1.values().begin(), u1.values().end(), u3.values().begin()));

  auto stats = [](const Tensor& t) {
    double m = 0, v = 0, lo = 1e9, hi = -1e9;
    for (float x : t.values()) m += x, lo = std::min(lo, double(x)), hi = std::max(hi, double(x));
    m /= double(t.numel());
    for (float x : t.values()) v += (x - m) * (x - m);
    return std::array<double, 4>{m, v / double(t.numel()), lo, hi};
  };
  auto [um, uv, ulo, uhi] = stats(u1);  // U(-.5, .5): mean 0, variance 1/12
  BOOST_CHECK_SMALL(um, 0.01);
  BOOST_CHECK_CLOSE(uv, 1.0 / 12, 3.0);
  BOOST_CHECK(ulo >= -0.5 && uhi < 0.5);

  auto [nm, nv, nlo, nhi] = stats(draw(init::normal(1.0f, 2.0f, 3)));
  BOOST_CHECK_SMALL(nm - 1.0, 0.05);
  BOOST_CHECK_CLOSE(nv, 4.0, 3.0);

  const Tensor x = draw(init::xavier(4), {30, 10});  // bound sqrt(6 / 40)
  auto [xm, xv, xlo, xhi] = stats(x);
  const double bound = std::sqrt(6.0 / 40.0);
  BOOST_CHECK(xlo >= -bound && xhi <= bound);
  BOOST_CHECK_GT(xhi, 0.9 * bound);

  const Tensor zeros = draw(init::zeros()), quarters = draw(init::constant(0.25f));
  for (float v : zeros.values()) BOOST_REQUIRE_EQUAL(v, 0.0f);
  for (float v : quarters.values()) BOOST_REQUIRE_EQUAL(v, 0.25f);
}

BOOST_AUTO_TEST_CASE(graph_scopes_and_names) {
  Graph g;
  auto x = g.input("x", {2, 1, 3});
  Value y;
  {
    auto layer = g.scope("layer", 0);
    auto step = g.scope("step", 1);
    y = tanh(x[1]);
  }
  BOOST_CHECK_EQUAL(y.node().scope, "layer0/step1");
  BOOST_CHECK_EQUAL(y.node().path(), "layer0/step1/tanh_2");
  BOOST_CHECK_EQUAL(g.current_scope(), "");
  BOOST_CHECK_EQUAL(x.node().scope, "");
  BOOST_CHECK(g.find("x").kind == NodeKind::Input);
  BOOST_CHECK_THROW(g.param("x"), GraphError);
  BOOST_CHECK_THROW((void)g.scope("a/b"), GraphError);
}

// The tests' comparison helpers (tests/helpers.h): a NaN or an infinity never passes, and the
// report names the worst element.
BOOST_AUTO_TEST_CASE(test_comparisons_fail_on_nan_and_name_the_worst_element) {
  using rnngraph::testing::difference;
  const float nan = std::nanf(""), inf = INFINITY;
  const Tensor expected({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto d = difference(Tensor({2, 3}, {1, 2, 3.5f, 4, 5.25f, 6}), expected);
  BOOST_CHECK_EQUAL(d.worst.error, 0.5);
  BOOST_CHECK(d.worst.where.starts_with("[0, 2]: 3.5 vs 3"));
  BOOST_CHECK(d.worst.within(0.5) && !d.worst.within(0.25));
  BOOST_CHECK_EQUAL(d.max_expected, 6.0);
  for (float bad : {nan, inf, -inf}) {
    const auto got = difference(Tensor({2, 3}, {1, 2, 3, bad, 5, 6}), expected);
    BOOST_CHECK(!got.worst.within(1e30));
    BOOST_CHECK_EQUAL(got.worst.nonfinite, 1);
    BOOST_CHECK(got.worst.where.starts_with("[1, 0]"));
    BOOST_CHECK(!difference(expected, Tensor({2, 3}, {1, 2, 3, bad, 5, 6})).worst.within(1e30));
  }
  const Tensor all_nan({2, 3}, {nan, nan, nan, nan, nan, nan});
  BOOST_CHECK(!difference(all_nan, expected).worst.within(1e30));
  rnngraph::testing::Worst worst;  // a NaN after a finite error still counts
  worst.add(0.1, [] { return std::string("first"); });
  worst.add(nan, [] { return std::string("second"); });
  BOOST_CHECK(!worst.within(1));
  BOOST_CHECK_EQUAL(worst.where, "second");
}

BOOST_AUTO_TEST_SUITE_END()
