// Every op against values computed by hand.
#include <cmath>

#include <rnngraph/ops/activations.h>
#include <rnngraph/ops/packed_gemm.h>

#include "helpers.h"

using namespace rnngraph;
using rnngraph::testing::check_values;
using rnngraph::testing::run_one;

namespace {
Value c(Graph& g, const char* name, const Shape& s, std::vector<float> v) {
  return g.constant(name, Tensor::from(s, v));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ops)

BOOST_AUTO_TEST_CASE(concat_axis1_is_the_rnn_cell_concat) {
  auto y = run_one([](Graph& g) {
    return concat({c(g, "h", {2, 2}, {1, 2, 3, 4}), c(g, "x", {2, 1}, {9, 8})}, 1);
  });
  check_values(y, {2, 3}, {1, 2, 9, 3, 4, 8});
}

BOOST_AUTO_TEST_CASE(concat_axis0_and_negative_axis_and_three_parts) {
  auto y0 = run_one([](Graph& g) {
    return concat({c(g, "a", {1, 2}, {1, 2}), c(g, "b", {2, 2}, {3, 4, 5, 6})}, 0);
  });
  check_values(y0, {3, 2}, {1, 2, 3, 4, 5, 6});
  auto y1 = run_one([](Graph& g) {
    return concat({c(g, "a", {1, 1}, {1}), c(g, "b", {1, 2}, {2, 3}), c(g, "d", {1, 1}, {4})}, -1);
  });
  check_values(y1, {1, 4}, {1, 2, 3, 4});
}

BOOST_AUTO_TEST_CASE(concat_middle_axis_of_rank3) {
  auto y = run_one([](Graph& g) {
    return concat(
        {c(g, "a", {2, 1, 2}, {1, 2, 3, 4}), c(g, "b", {2, 2, 2}, {5, 6, 7, 8, 9, 10, 11, 12})}, 1);
  });
  check_values(y, {2, 3, 2}, {1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12});
}

BOOST_AUTO_TEST_CASE(matmul_non_square) {
  // [[1,2,3],[4,5,6]] · [[1,0],[0,1],[1,1]] = [[4,5],[10,11]]
  auto y = run_one([](Graph& g) {
    return matmul(c(g, "a", {2, 3}, {1, 2, 3, 4, 5, 6}), c(g, "b", {3, 2}, {1, 0, 0, 1, 1, 1}));
  });
  check_values(y, {2, 2}, {4, 5, 10, 11});
}

BOOST_AUTO_TEST_CASE(matmul_transposed_operands) {
  // aᵀ with a = [[1,4],[2,5],[3,6]] (3×2) is [[1,2,3],[4,5,6]]
  auto ta = run_one([](Graph& g) {
    return matmul(c(g, "a", {3, 2}, {1, 4, 2, 5, 3, 6}), c(g, "b", {3, 2}, {1, 0, 0, 1, 1, 1}),
                  true);
  });
  check_values(ta, {2, 2}, {4, 5, 10, 11});
  // bᵀ with b = [[1,0,1],[0,1,1]] (2×3)
  auto tb = run_one([](Graph& g) {
    return matmul(c(g, "a", {2, 3}, {1, 2, 3, 4, 5, 6}), c(g, "b", {2, 3}, {1, 0, 1, 0, 1, 1}),
                  false, true);
  });
  check_values(tb, {2, 2}, {4, 5, 10, 11});
  auto both = run_one([](Graph& g) {
    return matmul(c(g, "a", {3, 2}, {1, 4, 2, 5, 3, 6}), c(g, "b", {2, 3}, {1, 0, 1, 0, 1, 1}),
                  true, true);
  });
  check_values(both, {2, 2}, {4, 5, 10, 11});
}

BOOST_AUTO_TEST_CASE(matmul_degenerate_shapes) {
  check_values(run_one([](Graph& g) {
                 return matmul(c(g, "a", {1, 1}, {3}), c(g, "b", {1, 1}, {-2}));
               }),
               {1, 1}, {-6});
  // row · column = dot product; column · row = outer product
  check_values(run_one([](Graph& g) {
                 return matmul(c(g, "a", {1, 3}, {1, 2, 3}), c(g, "b", {3, 1}, {4, 5, 6}));
               }),
               {1, 1}, {32});
  check_values(run_one([](Graph& g) {
                 return matmul(c(g, "a", {2, 1}, {1, 2}), c(g, "b", {1, 3}, {3, 4, 5}));
               }),
               {2, 3}, {3, 4, 5, 6, 8, 10});
}

BOOST_AUTO_TEST_CASE(add_broadcasts_bias_row_and_scalar) {
  check_values(run_one([](Graph& g) {
                 return c(g, "a", {2, 3}, {1, 2, 3, 4, 5, 6}) + c(g, "b", {1, 3}, {10, 20, 30});
               }),
               {2, 3}, {11, 22, 33, 14, 25, 36});
  check_values(run_one([](Graph& g) {
                 return c(g, "a", {2, 2}, {1, 2, 3, 4}) + 0.5f;
               }),
               {2, 2}, {1.5f, 2.5f, 3.5f, 4.5f});
  check_values(run_one([](Graph& g) {
                 return c(g, "a", {2, 2}, {1, 2, 3, 4}) + c(g, "b", {2, 2}, {4, 3, 2, 1});
               }),
               {2, 2}, {5, 5, 5, 5});
}

BOOST_AUTO_TEST_CASE(add_broadcasts_column_against_row_and_rank3) {
  check_values(run_one([](Graph& g) {
                 return c(g, "col", {2, 1}, {1, 2}) + c(g, "row", {1, 3}, {10, 20, 30});
               }),
               {2, 3}, {11, 21, 31, 12, 22, 32});
  check_values(run_one([](Graph& g) {
                 return c(g, "a", {2, 1, 2}, {1, 2, 3, 4}) + c(g, "r", {1, 2}, {10, 20});
               }),
               {2, 1, 2}, {11, 22, 13, 24});
  // [2, 1, 3] * [2, 1]: both sides broadcast (the 4-d strided path)
  check_values(run_one([](Graph& g) {
                 return c(g, "a", {2, 1, 3}, {1, 2, 3, 4, 5, 6}) * c(g, "b", {2, 1}, {1, 10});
               }),
               {2, 2, 3}, {1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60});
}

BOOST_AUTO_TEST_CASE(sub_and_mul_broadcast) {
  check_values(run_one([](Graph& g) {
                 return c(g, "a", {2, 2}, {1, 2, 3, 4}) - c(g, "b", {1, 2}, {1, 1});
               }),
               {2, 2}, {0, 1, 2, 3});
  check_values(run_one([](Graph& g) {
                 return 1.0f - c(g, "z", {1, 3}, {0.25f, 0.5f, 1});
               }),
               {1, 3}, {0.75f, 0.5f, 0});
  check_values(run_one([](Graph& g) {
                 return c(g, "a", {2, 2}, {1, 2, 3, 4}) * c(g, "b", {1, 2}, {2, -1});
               }),
               {2, 2}, {2, -2, 6, -4});
  check_values(run_one([](Graph& g) {
                 return 3.0f * c(g, "a", {1, 2}, {1, -2});
               }),
               {1, 2}, {3, -6});
}

BOOST_AUTO_TEST_CASE(tanh_and_sigmoid) {
  check_values(run_one([](Graph& g) {
                 return tanh(c(g, "a", {1, 4}, {0, 1, -1, 20}));
               }),
               {1, 4}, {0, 0.76159416f, -0.76159416f, 1});
  check_values(run_one([](Graph& g) {
                 return sigmoid(c(g, "a", {1, 4}, {0, 2, -2, -100}));
               }),
               {1, 4}, {0.5f, 0.88079708f, 0.11920292f, 0});
}

BOOST_AUTO_TEST_CASE(slice_on_each_axis) {
  // axis 1 of [2, 4]: not contiguous, copied
  check_values(run_one([](Graph& g) {
                 return slice(c(g, "a", {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), 1, 1, 3);
               }),
               {2, 2}, {2, 3, 6, 7});
  // axis 0: contiguous, a view
  check_values(run_one([](Graph& g) {
                 return slice(c(g, "a", {3, 2}, {1, 2, 3, 4, 5, 6}), 0, 1, 3);
               }),
               {2, 2}, {3, 4, 5, 6});
  // axis 1 of [1, 4]: contiguous too (a gate block of a batch-1 row)
  check_values(run_one([](Graph& g) {
                 return slice(c(g, "a", {1, 4}, {1, 2, 3, 4}), -1, 2, 4);
               }),
               {1, 2}, {3, 4});
}

BOOST_AUTO_TEST_CASE(select_is_x_of_t) {
  check_values(run_one([](Graph& g) {
                 return c(g, "x", {3, 1, 2}, {1, 2, 3, 4, 5, 6})[1];
               }),
               {1, 2}, {3, 4});
  check_values(run_one([](Graph& g) { return select(c(g, "v", {3}, {7, 8, 9}), 2); }), {1}, {9});
}

BOOST_AUTO_TEST_CASE(sum_and_mean) {
  auto a = [](Graph& g) { return c(g, "a", {2, 3}, {1, 2, 3, 4, 5, 6}); };
  check_values(run_one([&](Graph& g) { return sum(a(g)); }), {1}, {21});
  check_values(run_one([&](Graph& g) { return mean(a(g)); }), {1}, {3.5f});
  check_values(run_one([&](Graph& g) { return sum(a(g), 0); }), {1, 3}, {5, 7, 9});
  check_values(run_one([&](Graph& g) { return sum(a(g), 1); }), {2, 1}, {6, 15});
  check_values(run_one([&](Graph& g) { return mean(a(g), -1); }), {2, 1}, {2, 5});
  check_values(run_one([&](Graph& g) { return mean(a(g), 0); }), {1, 3}, {2.5f, 3.5f, 4.5f});
}

BOOST_AUTO_TEST_CASE(stack_adds_a_first_axis) {
  check_values(run_one([](Graph& g) {
                 std::vector<Value> parts{c(g, "a", {1, 2}, {1, 2}), c(g, "b", {1, 2}, {3, 4})};
                 return stack(parts);
               }),
               {2, 1, 2}, {1, 2, 3, 4});
}

BOOST_AUTO_TEST_CASE(vectorised_activations_within_their_stated_bounds_on_every_isa) {
  // ops/activations.h states: tanh within 3e-7 absolute; exp and sigmoid within 3e-7 relative
  // (exp on [-87.3, 88.7], sigmoid above -87.3). Checked against double precision on a dense
  // grid, at the clamps (tanh's 2|x| at 20; sigmoid's at -88 and -88.7), and at the ends.
  // Each ISA's loop (ops/isa.h) is checked: the CPU runs only one of them in a model.
  for (kernels::Isa isa : kernels::runnable_isas()) {
    BOOST_TEST_CONTEXT(kernels::isa_name(isa)) {
      std::vector<float> x;
      for (double v = -100; v <= 100; v += 0.00123) x.push_back(float(v));
      for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-40f, 10.0f, -10.0f, 9.99999f, -88.0f, -88.7f,
                      -88.69999f, -87.3f, 88.7f, 87.3f, 50.0f})
        x.push_back(v);
      std::vector<float> y(x.size());
      rnngraph::testing::Worst tanh_err, exp_err, sigmoid_err;
      auto at = [&](std::size_t i) {
        return [&, i] { return fmt::format("x = {}: {}", x[i], y[i]); };
      };
      kernels::tanh_array(x.data(), y.data(), int64_t(x.size()), isa);
      for (std::size_t i = 0; i < x.size(); ++i)
        tanh_err.add(std::fabs(y[i] - std::tanh(double(x[i]))), at(i));
      kernels::exp_array(x.data(), y.data(), int64_t(x.size()), isa);
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i] < -87.3f) BOOST_CHECK_EQUAL(y[i], 0.0f);
        if (x[i] > 88.7f) BOOST_CHECK(std::isinf(y[i]));
        if (x[i] < -87.3f || x[i] > 88.7f) continue;
        const double e = std::exp(double(x[i]));
        exp_err.add(std::fabs(y[i] - e) / e, at(i));
      }
      kernels::sigmoid_array(x.data(), y.data(), int64_t(x.size()), isa);
      for (std::size_t i = 0; i < x.size(); ++i) {
        const double s = 1 / (1 + std::exp(-double(x[i])));
        if (x[i] >= -87.3f)
          sigmoid_err.add(std::fabs(y[i] - s) / s, at(i));
        else
          BOOST_CHECK_LT(y[i], 1.3e-38f);
      }
      BOOST_TEST_MESSAGE("max error: tanh " << tanh_err.error << " at " << tanh_err.where
                                            << ", exp " << exp_err.error << " (relative) at "
                                            << exp_err.where << ", sigmoid " << sigmoid_err.error
                                            << " (relative) at " << sigmoid_err.where);
      BOOST_CHECK_MESSAGE(tanh_err.within(3e-7),
                          "tanh: " << tanh_err.error << " at " << tanh_err.where);
      BOOST_CHECK_MESSAGE(exp_err.within(3e-7),
                          "exp: " << exp_err.error << " at " << exp_err.where);
      BOOST_CHECK_MESSAGE(sigmoid_err.within(3e-7),
                          "sigmoid: " << sigmoid_err.error << " at " << sigmoid_err.where);
      const float nan = std::nanf(""), inf = INFINITY;
      const float special[] = {nan, inf, -inf};
      float out[3];
      kernels::tanh_array(special, out, 3, isa);
      BOOST_CHECK(std::isnan(out[0]) && out[1] == 1.0f && out[2] == -1.0f);
      kernels::sigmoid_array(special, out, 3, isa);
      BOOST_CHECK(std::isnan(out[0]) && out[1] == 1.0f && out[2] == 0.0f);
      kernels::exp_array(special, out, 3, isa);
      BOOST_CHECK(std::isnan(out[0]) && std::isinf(out[1]) && out[1] > 0 && out[2] == 0.0f);
      // tanh keeps the sign of zero (its error of 0 would not show it)
      const float zeros[] = {0.0f, -0.0f};
      kernels::tanh_array(zeros, out, 2, isa);
      BOOST_CHECK(out[0] == 0.0f && !std::signbit(out[0]) && std::signbit(out[1]));
    }
  }
}

BOOST_AUTO_TEST_CASE(activations_of_a_sum_equal_the_activation_of_the_summed_array) {
  // tanh_of_sum / sigmoid_of_sum (the fused cells' gates): three terms, n across the 16-lane
  // vectors' edge, the output in place of the first or the last term, on every ISA. The sum in
  // float is the same in either order for these values (multiples of 1/64), so the results must
  // match the one-array functions bit for bit.
  for (kernels::Isa isa : kernels::runnable_isas())
    for (int64_t n : {1, 15, 16, 17, 100}) {
      BOOST_TEST_CONTEXT(kernels::isa_name(isa) << " n=" << n) {
        std::vector<float> a(n), b(n), c(n), sum(n), want(n), got(n);
        for (int64_t i = 0; i < n; ++i) {
          a[std::size_t(i)] = float(i % 7 - 3) / 4, b[std::size_t(i)] = float(i % 5) / 16;
          c[std::size_t(i)] = float(i % 3 - 1) / 64;
          sum[std::size_t(i)] = a[std::size_t(i)] + b[std::size_t(i)] + c[std::size_t(i)];
        }
        for (bool tanh_gate : {false, true}) {
          auto one = tanh_gate ? kernels::tanh_array : kernels::sigmoid_array;
          auto of_sum = tanh_gate ? kernels::tanh_of_sum : kernels::sigmoid_of_sum;
          one(sum.data(), want.data(), n, isa);
          const float* terms[] = {a.data(), b.data(), c.data()};
          of_sum(std::span<const float* const>(terms), got.data(), n, isa);
          BOOST_CHECK(got == want);
          std::vector<float> first = a, last = c;  // y in place of a term
          const float* in_first[] = {first.data(), b.data(), c.data()};
          of_sum(std::span<const float* const>(in_first), first.data(), n, isa);
          BOOST_CHECK(first == want);
          const float* in_last[] = {a.data(), b.data(), last.data()};
          of_sum(std::span<const float* const>(in_last), last.data(), n, isa);
          BOOST_CHECK(last == want);
        }
      }
    }
}

BOOST_AUTO_TEST_CASE(div_exp_log) {
  auto a = [](Graph& g) { return c(g, "a", {1, 3}, {1, 2, 4}); };
  check_values(run_one([&](Graph& g) { return div(a(g), c(g, "b", {1}, {2})); }), {1, 3},
               {0.5f, 1, 2});
  check_values(run_one([&](Graph& g) { return exp(a(g)); }), {1, 3},
               {std::exp(1.0f), std::exp(2.0f), std::exp(4.0f)}, 1e-5f);
  check_values(run_one([&](Graph& g) { return log(a(g)); }), {1, 3},
               {0, std::log(2.0f), std::log(4.0f)});
}

BOOST_AUTO_TEST_CASE(reshape_pad_broadcast_to_sum_to) {
  auto a = [](Graph& g) { return c(g, "a", {2, 3}, {1, 2, 3, 4, 5, 6}); };
  check_values(run_one([&](Graph& g) {
                 return reshape(a(g), {3, 2});
               }),
               {3, 2}, {1, 2, 3, 4, 5, 6});
  check_values(run_one([&](Graph& g) { return pad(a(g), 1, 1, 5); }), {2, 5},
               {0, 1, 2, 3, 0, 0, 4, 5, 6, 0});
  check_values(run_one([&](Graph& g) { return pad(a(g), 0, 1, 3); }), {3, 3},
               {0, 0, 0, 1, 2, 3, 4, 5, 6});
  check_values(run_one([&](Graph& g) {
                 return broadcast_to(c(g, "r", {1, 2}, {7, 8}), {3, 2});
               }),
               {3, 2}, {7, 8, 7, 8, 7, 8});
  check_values(run_one([&](Graph& g) {
                 return broadcast_to(c(g, "s", {1}, {9}), {2, 2});
               }),
               {2, 2}, {9, 9, 9, 9});
  check_values(run_one([&](Graph& g) { return sum_to(a(g), {1, 3}); }), {1, 3}, {5, 7, 9});
  check_values(run_one([&](Graph& g) { return sum_to(a(g), {2, 1}); }), {2, 1}, {6, 15});
  check_values(run_one([&](Graph& g) { return sum_to(a(g), {1}); }), {1}, {21});
}

BOOST_AUTO_TEST_CASE(logsumexp_softmax_one_hot_gather) {
  // Large logits: a naive exp would overflow; the stable forms give exact small numbers.
  auto x = [](Graph& g) { return c(g, "x", {2, 2}, {1000, 1000, 0, std::log(3.0f)}); };
  check_values(run_one([&](Graph& g) { return logsumexp(x(g), 1); }), {2, 1},
               {1000 + std::log(2.0f), std::log(4.0f)}, 1e-4f);
  check_values(run_one([&](Graph& g) { return softmax(x(g), 1); }), {2, 2},
               {0.5f, 0.5f, 0.25f, 0.75f});
  check_values(run_one([&](Graph& g) {
                 return one_hot(c(g, "ids", {3}, {2, 0, 1}), 3);
               }),
               {3, 3}, {0, 0, 1, 1, 0, 0, 0, 1, 0});
  check_values(run_one([&](Graph& g) {
                 return gather(x(g), c(g, "ids", {2, 1}, {1, 0}));
               }),
               {2, 1}, {1000, 0});
  BOOST_CHECK_THROW(run_one([&](Graph& g) { return one_hot(c(g, "ids", {1}, {3}), 3); }),
                    ShapeError);
  BOOST_CHECK_THROW(run_one([&](Graph& g) {
                      return gather(x(g), c(g, "ids", {2, 1}, {0.5f, 0}));
                    }),
                    ShapeError);
}

BOOST_AUTO_TEST_CASE(cross_entropy_by_hand) {
  // logits [[0, ln 3]] with class 1: -log(3/4); with class 0: -log(1/4); the mean of both.
  Graph g;
  const Value logits = c(g, "l", {2, 1, 2}, {0, std::log(3.0f), 0, std::log(3.0f)});
  g.output("y", models::cross_entropy(logits, c(g, "ids", {2, 1}, {1, 0})));
  Executor run(g);
  check_values(run({})["y"], {1}, {-(std::log(0.75f) + std::log(0.25f)) / 2});
}

BOOST_AUTO_TEST_CASE(every_op_is_registered_by_name) {
  for (const char* name :
       {"add",    "broadcast_to", "concat", "div",     "exp", "gather",  "log",    "logsumexp",
        "matmul", "mean",         "mul",    "one_hot", "pad", "reshape", "select", "sigmoid",
        "slice",  "softmax",      "stack",  "sub",     "sum", "sum_to",  "tanh"}) {
    const Op* op = find_op(name);
    BOOST_REQUIRE_MESSAGE(op, name);
    BOOST_CHECK_EQUAL(op->name(), name);
  }
  BOOST_CHECK(find_op("no_such_op") == nullptr);
}

namespace {
// The product op(A) · op(B) in double precision, and each element's rounding bound for any
// float summation order: γ_k · Σ_p |a_rp · b_pc|, γ_k = k·u / (1 - k·u), u = 2⁻²⁴ (Higham,
// Accuracy and Stability of Numerical Algorithms, §3.1).
struct ExactProduct {
  std::vector<double> value, bound;
  ExactProduct(const Tensor& a, bool ta, const Tensor& b, bool tb) {
    const int64_t m = a.shape()[ta ? 1 : 0], k = a.shape()[ta ? 0 : 1], n = b.shape()[tb ? 0 : 1];
    value.resize(std::size_t(m * n));
    bound.resize(std::size_t(m * n));
    const double u = std::ldexp(1.0, -24), gamma = double(k) * u / (1 - double(k) * u);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c) {
        double sum = 0, magnitude = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double term =
              double(ta ? a.at({p, r}) : a.at({r, p})) * double(tb ? b.at({c, p}) : b.at({p, c}));
          sum += term;
          magnitude += std::fabs(term);
        }
        value[std::size_t(r * n + c)] = sum;
        bound[std::size_t(r * n + c)] = gamma * magnitude;
      }
  }
  // How many elements of `got` lie outside their bound (NaN counts as outside).
  int outside(const Tensor& got) const {
    int count = 0;
    for (std::size_t i = 0; i < value.size(); ++i)
      count += !(std::fabs(got.data()[i] - value[i]) <= bound[i]);
    return count;
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(packed_products_within_the_float_bound_of_double_on_every_isa) {
  // The micro-kernels against the product in double precision, each element within the
  // rounding bound of any float summation order (ExactProduct): a wrong index or a lost term is
  // far outside it. Shapes around the tiles' edges (6 and 8 rows, 16 and 32 columns, 84-row
  // blocks) and a tall product, both W and Wᵀ packed, every ISA at or below the CPU's best.
  BOOST_TEST_MESSAGE("best ISA here: " << kernels::isa_name(kernels::best_isa()));
  for (auto [m, k, n] : {std::tuple{1, 1, 1},
                         {1, 32, 128},
                         {7, 5, 33},
                         {9, 64, 31},
                         {13, 3, 48},
                         {32, 256, 1024},
                         {17, 100, 70},
                         {65, 7, 40},
                         {130, 40, 96},
                         {300, 20, 50}})
    for (bool transposed : {false, true}) {
      const Tensor a = init::normal(0, 1, 1).tensor({m, k});
      const Tensor w = init::normal(0, 1, 2).tensor(transposed ? Shape{n, k} : Shape{k, n});
      const ExactProduct exact(a, false, w, transposed);
      std::vector<float> packed(std::size_t(kernels::packed_size(k, n)));
      kernels::pack_columns(w.data(), transposed ? k : n, k, n, transposed, packed.data());
      for (kernels::Isa isa : kernels::runnable_isas()) {
        BOOST_TEST_CONTEXT(kernels::isa_name(isa) << " m=" << m << " k=" << k << " n=" << n
                                                  << (transposed ? " Wᵀ" : " W")) {
          Tensor got({m, n});
          kernels::packed_gemm(a.data(), k, m, k, packed.data(), n, got.data(), n, isa);
          BOOST_CHECK_EQUAL(exact.outside(got), 0);
        }
      }
    }
}

BOOST_AUTO_TEST_CASE(general_products_within_the_float_bound_of_double_on_every_isa) {
  // kernels::gemm, op(A) · op(B) with op(B) packed a block at a time: every transpose, depths
  // across the 256-deep blocks (their sums accumulate into C), widths across the 2048-wide
  // blocks and the partial last panel, rows across the 84-row blocks of op(A)'s packed copy.
  for (auto [m, k, n] :
       {std::tuple{1, 1, 1}, {6, 257, 17}, {50, 600, 40}, {3, 20, 2100}, {97, 513, 33}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Tensor a = init::normal(0, 1, 3).tensor(ta ? Shape{k, m} : Shape{m, k});
        const Tensor b = init::normal(0, 1, 4).tensor(tb ? Shape{n, k} : Shape{k, n});
        const ExactProduct exact(a, ta, b, tb);
        for (kernels::Isa isa : kernels::runnable_isas()) {
          BOOST_TEST_CONTEXT(kernels::isa_name(isa) << " m=" << m << " k=" << k << " n=" << n
                                                    << (ta ? " Aᵀ" : " A") << (tb ? " Bᵀ" : " B")) {
            Tensor got({m, n});
            kernels::gemm(ta, tb, m, n, k, a.data(), a.shape()[1], b.data(), b.shape()[1],
                          got.data(), n, isa);
            BOOST_CHECK_EQUAL(exact.outside(got), 0);
          }
        }
      }
}

BOOST_AUTO_TEST_SUITE_END()
