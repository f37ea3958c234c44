// Gradients against finite differences, for every op and for unrolled models, on the graph as
// built and on the optimized graph (fused cells, packed and merged products: passes on); vjps
// deliberately off by 1% or missing a term, which the check must catch; the backward plan's
// memory.
//
// The check: loss = Σ y ⊙ R with a fixed random R (so every output element weighs differently and
// a transposed or misplaced gradient shows). For every element θ of every tensor checked, the
// numeric derivative is Richardson's extrapolation of central differences,
//   D(h) = (loss(θ + h) − loss(θ − h)) / 2h,   numeric = (4·D(h/2) − D(h)) / 3,
// whose truncation error is O(h⁴) instead of O(h²). The loss is summed in double from y, so the
// noise left is float32 rounding inside the forward pass (about 1e-7·|y| per element of y),
// which reaches the derivative divided by the step. Each tensor's error is
//   max |analytic − numeric| / max |numeric|     (over the tensor's elements)
// Measured (the test log prints each check's worst): the error falls as the step grows while
// rounding dominates and rises from h ≈ 0.12 on, where truncation does; at h = 0.08 the worst
// of every check here is 2.9e-4 (a GRU's W_r, whose gradients are the smallest, about 0.03),
// most are 1e-6 to 1e-4. kTolerance = 1e-3 is three times that worst and ten times under what
// a vjp scaled by 1.01 gives (1e-2: a_vjp_off_by_one_percent_is_caught). Every tensor's largest
// numeric derivative must be at least kNotTiny, so that no tensor passes by having nothing to
// compare.
#include <cmath>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/ops/kernels.h>

#include "custom_cells.h"
#include "helpers.h"

using namespace rnngraph;
using rnngraph::testing::Worst;

namespace {

constexpr double kTolerance = 1e-3;
constexpr double kNotTiny = 1e-2;
constexpr float kStep = 8e-2f;

struct GradCheck {
  Worst error;                // the worst tensor's relative error, and where
  Worst tiny;                 // 1 / the smallest tensor's largest |numeric|: above 1/kNotTiny fails
  int tensors = 0;            // tensors compared
  std::set<std::string> ops;  // the ops whose gradients the check went through
  bool passes(double tolerance = kTolerance) const {
    return tensors > 0 && error.within(tolerance) && tiny.within(1 / kNotTiny);
  }
};

using Build = std::function<Value(Graph&)>;
enum class Passes { Off, On };

// Inputs that hold class ids or a mask: no derivative to take.
bool not_differentiable(const std::string& input) {
  return input == "ids" || input == "tokens" || input == "mask";
}

// Builds y = build(g), loss = Σ y ⊙ R, gradients of every parameter and input (through
// passes::training_graph: the graph as built, or optimized), and compares each element with
// finite differences of the same forward graph. Inputs are fed from `feeds` (missing ones:
// N(0, 1)).
GradCheck check_gradients(const Build& build, Feeds feeds = {}, Passes passes = Passes::Off,
                          float step = kStep) {
  Graph g;
  const Value y = build(g);
  const Tensor R = init::normal(0, 1, 99).tensor(y.shape());
  if (g.output_id("y") < 0) g.output("y", y);
  g.output("loss", sum(y * g.constant("R", R)));
  std::vector<std::string> wrt;
  for (const Node& n : g.nodes()) {
    if (n.kind == NodeKind::Parameter) wrt.push_back(n.name);
    if (n.kind != NodeKind::Input) continue;
    if (!feeds.contains(n.name))
      feeds.emplace(n.name, init::normal(0, 1, 7 + uint64_t(n.id)).tensor(n.shape));
    if (!not_differentiable(n.name)) wrt.push_back(n.name);
  }
  const bool optimized = passes == Passes::On;
  const auto trained = passes::training_graph(g, "loss", wrt, optimized);
  GradCheck result;
  for (const Node& n : trained->nodes())
    if (n.kind == NodeKind::Op && !n.backward) result.ops.insert(std::string(n.op->name()));
  Executor backward(*trained, {}, {.optimize = false});
  const Results& first = backward(feeds);
  std::map<std::string, Tensor> analytic;
  for (const std::string& name : wrt) analytic.emplace(name, first["grad/" + name].clone());

  Executor forward(g, std::vector<std::string>{"y"}, {.optimize = optimized});
  auto loss = [&] {
    const Tensor& out = forward(feeds)["y"];
    double total = 0;
    for (int64_t i = 0; i < out.numel(); ++i)
      total += double(out.values()[std::size_t(i)]) * R.values()[std::size_t(i)];
    return total;
  };
  for (const std::string& name : wrt) {
    const Node& n = g.find(name);
    const Tensor data = n.kind == NodeKind::Parameter ? n.value : feeds.at(name);
    std::vector<double> numeric(std::size_t(data.numel()));
    double scale = 0;
    for (int64_t i = 0; i < data.numel(); ++i) {
      float& v = data.data()[i];
      const float saved = v;
      auto central = [&](float h) {
        v = saved + h;
        const double up = loss();
        v = saved - h;
        const double down = loss();
        v = saved;
        // the step actually taken, after rounding θ ± h to float
        return (up - down) / (double(saved + h) - double(saved - h));
      };
      numeric[std::size_t(i)] = (4 * central(step / 2) - central(step)) / 3;
      scale = std::max(scale, std::fabs(numeric[std::size_t(i)]));
    }
    result.tiny.add(1 / scale, [&] { return fmt::format("{}: max |numeric| {}", name, scale); });
    const Tensor& got = analytic.at(name);
    for (int64_t i = 0; i < data.numel(); ++i) {
      const double a = got.values()[std::size_t(i)], e = numeric[std::size_t(i)];
      result.error.add(std::fabs(a - e) / scale, [&] {
        return fmt::format("{}{}: analytic {} vs numeric {} (max |numeric| {})", name,
                           rnngraph::testing::index_str(data.shape(), i), a, e, scale);
      });
    }
    ++result.tensors;
  }
  return result;
}

// The ops whose gradients a passing check of this suite went through.
std::set<std::string>& ops_checked() {
  static std::set<std::string> ops;
  return ops;
}

void expect_correct(const Build& build, Feeds feeds = {}, Passes passes = Passes::Off,
                    float step = kStep) {
  const GradCheck r = check_gradients(build, std::move(feeds), passes, step);
  if (r.passes()) ops_checked().insert(r.ops.begin(), r.ops.end());
  BOOST_TEST_MESSAGE((passes == Passes::On ? "passes on: " : "passes off: ")
                     << r.tensors << " tensors, worst " << r.error.error << " at " << r.error.where
                     << "; smallest scale " << r.tiny.where);
  BOOST_CHECK_MESSAGE(r.tensors > 0, "no tensor was checked");
  BOOST_CHECK_MESSAGE(r.error.within(kTolerance),
                      "gradient mismatch: " << r.error.error << " at " << r.error.where);
  BOOST_CHECK_MESSAGE(r.tiny.within(1 / kNotTiny),
                      "a tensor's gradients are all tiny: " << r.tiny.where);
}

Value param(Graph& g, const char* name, const Shape& s, uint64_t seed, float scale = 1) {
  return g.parameter(name, s, init::uniform(-scale, scale, seed));
}

// tanh with a sign error in its vjp (grad · (1 + y²) instead of (1 - y²)).
struct BrokenTanh final : kernels::UnaryOp<BrokenTanh> {
  std::string_view name() const override { return "broken_tanh"; }
  static float apply(float x) { return std::tanh(x); }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    return {a.grad * (a.output * a.output + 1.0f)};
  }
};

// An op computed as `inner` computes it, with a deliberately wrong vjp: every input's gradient
// scaled by `factor`, or the gradient of input `dropped` left out (a missing term of the product
// rule). The negative controls: the check must fail both.
struct WrongVjp final : Op {
  const Op& inner;
  float factor = 1;
  int dropped = -1;
  std::string label;
  WrongVjp(const Op& op, float scale, int drop)
      : inner(op), factor(scale), dropped(drop), label(fmt::format("wrong_{}", op.name())) {}
  std::string_view name() const override { return label; }
  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    return inner.infer(in, attrs);
  }
  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    inner.forward(in, out, attrs);
  }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    std::vector<Value> grads = inner.vjp(a);
    for (std::size_t k = 0; k < grads.size(); ++k)
      if (int(k) == dropped)
        grads[k] = Value();
      else if (grads[k])
        grads[k] = grads[k] * factor;
    return grads;
  }
};

// An LSTM (2 inputs, 3 hidden, 4 steps, batch 3) copied into g with each node of op `target`
// replaced by `wrong`: a model whose gradient is wrong in one kind of node.
Value lstm_with(Graph& g, const Op& target, const Op& wrong) {
  Graph source;
  models::build(source, {.cell = models::Cell::Lstm,
                         .input_size = 2,
                         .hidden_size = 3,
                         .steps = 4,
                         .batch = 3,
                         .seed = 5});
  std::vector<Value> copied;
  for (const Node& n : source.nodes()) {
    std::vector<Value> in;
    for (int id : n.inputs) in.push_back(copied[std::size_t(id)]);
    NodeSpec spec = NodeSpec::of(n);
    if (n.op == &target) spec.op = &wrong;
    copied.push_back(g.add(spec, in));
  }
  return copied[std::size_t(source.output_id("y"))];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(autodiff)

BOOST_AUTO_TEST_CASE(elementwise_ops_with_broadcasting) {
  expect_correct([](Graph& g) {  // bias row, scalar, equal shapes
    const Value a = param(g, "a", {3, 4}, 1), b = param(g, "b", {1, 4}, 2);
    return (a + b) * (a - b) + a * 2.0f;
  });
  expect_correct([](Graph& g) {
    const Value a = param(g, "a", {3, 4}, 3), b = param(g, "b", {3, 1}, 4);
    return div(a, b * b + 1.0f) - sub(b, a);
  });
  expect_correct([](Graph& g) {
    const Value a = param(g, "a", {2, 3}, 5), s = param(g, "s", {1}, 6);
    return mul(s, a) + add(a, s);
  });
}

BOOST_AUTO_TEST_CASE(activations_exp_and_log) {
  expect_correct([](Graph& g) { return tanh(param(g, "a", {3, 4}, 7, 2)); });
  expect_correct([](Graph& g) { return sigmoid(param(g, "a", {3, 4}, 8, 2)); });
  expect_correct([](Graph& g) { return exp(param(g, "a", {3, 4}, 9)); });
  expect_correct([](Graph& g) {
    return log(param(g, "a", {3, 4}, 10) * param(g, "b", {3, 4}, 11) + 2.0f);
  });
}

BOOST_AUTO_TEST_CASE(matmul_with_every_transpose) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      expect_correct([&](Graph& g) {
        const Value a = param(g, "a", ta ? Shape{4, 3} : Shape{3, 4}, 12);
        const Value b = param(g, "b", tb ? Shape{5, 4} : Shape{4, 5}, 13);
        return matmul(a, b, ta, tb);
      });
}

BOOST_AUTO_TEST_CASE(concat_stack_select_slice_pad_reshape) {
  expect_correct([](Graph& g) {
    const Value h = param(g, "h", {2, 3}, 14), x = g.input("x", {2, 2});
    return concat({h, x, h}, 1);
  });
  expect_correct([](Graph& g) {
    const Value a = param(g, "a", {1, 3}, 15), b = param(g, "b", {2, 3}, 16);
    return concat({a, b}, 0);
  });
  expect_correct([](Graph& g) {  // a negative axis as a file may store it
    const Value a = param(g, "a", {2, 1}, 41), b = param(g, "b", {2, 2}, 42);
    const Value joined = g.apply(concat_op(), {a, b}, {{"axis", -1}});
    return g.apply(slice_op(), {joined}, {{"axis", -1}, {"begin", 0}, {"end", 2}});
  });
  expect_correct([](Graph& g) {
    const Value x = g.input("x", {4, 2, 3});
    const Value parts[] = {x[3], x[1] * x[1], x[1]};  // x[0] and x[2] unused: zero rows
    return stack(parts);
  });
  expect_correct([](Graph& g) {
    const Value a = param(g, "a", {3, 6}, 17);
    return slice(a, 1, 1, 4) * slice(a, 1, 3, 6) + pad(slice(slice(a, 0, 1, 2), 1, 0, 3), 0, 2, 3);
  });
  expect_correct([](Graph& g) {
    const Value a = param(g, "a", {2, 6}, 18);
    return tanh(reshape(a, {3, 4}));
  });
  // select of a computed tensor: grad() gathers its rows (autodiff.cpp) as for an input's
  expect_correct([](Graph& g) {
    const Value a = tanh(param(g, "a", {3, 2, 2}, 19));
    return select(a, 1) * select(a, 2);
  });
}

BOOST_AUTO_TEST_CASE(row_blocks_are_gathered_into_one_concat) {
  // Slices of the first axis (a chunk of steps, a weight's rows) hand grad() blocks of rows: laid
  // end to end, rows no block covers zero, the same rows twice summed, and a block that overlaps
  // another sent through pad.
  expect_correct([](Graph& g) {
    const Value a = param(g, "a", {7, 2}, 43);
    const Value twice = slice(a, 0, 4, 6);  // rows 2 and 6 uncovered; rows 1–2 overlap 0–1
    return concat({tanh(slice(a, 0, 0, 2)), twice * twice,
                   slice(a, 0, 3, 4) * 2.0f + slice(a, 0, 3, 4), slice(a, 0, 1, 3)},
                  0);
  });
  // The gathering itself, by hand: one concat of the blocks and a zero row, no pad.
  Graph g;
  const Value a = g.parameter("a", {5, 1});
  a.node().value.values()[0] = 0.5f;
  const Value first = slice(a, 0, 0, 2), last = slice(a, 0, 3, 5);
  const Value loss = sum(tanh(first) + last * 3.0f);
  g.output("loss", loss);
  const Value wrt[] = {a};
  grad(loss, wrt);
  for (const Node& n : g.nodes())
    BOOST_CHECK_MESSAGE(n.op != &pad_op(), n.name << ": the blocks should be gathered, not padded");
  Executor run(g, {}, {.optimize = false});
  const float t = std::tanh(0.5f);
  rnngraph::testing::check_values(run({})["grad/a"], {5, 1}, {1 - t * t, 1, 0, 3, 3});
}

BOOST_AUTO_TEST_CASE(reductions_and_broadcasts) {
  expect_correct([](Graph& g) { return broadcast_to(sum(param(g, "a", {3, 4}, 20)), {2, 2}); });
  expect_correct([](Graph& g) {
    return sum(param(g, "a", {3, 4}, 21), 0) * mean(param(g, "b", {3, 4}, 22), 0);
  });
  expect_correct([](Graph& g) {
    return mean(param(g, "a", {3, 4}, 23), 1) + mean(param(g, "b", {2, 2}, 24));
  });
  expect_correct([](Graph& g) { return sum_to(param(g, "a", {2, 3, 4}, 25), {3, 1}); });
  expect_correct([](Graph& g) { return broadcast_to(param(g, "a", {1, 4}, 26), {3, 4}); });
}

BOOST_AUTO_TEST_CASE(softmax_logsumexp_gather_and_losses) {
  expect_correct([](Graph& g) { return logsumexp(param(g, "a", {3, 5}, 27, 3), 1); });
  expect_correct([](Graph& g) { return softmax(param(g, "a", {3, 5}, 28, 3), 1); });
  expect_correct([](Graph& g) { return softmax(param(g, "a", {4, 2}, 29, 3), 0); });
  expect_correct([](Graph& g) { return layer_norm(param(g, "a", {3, 7}, 33, 2)); });
  expect_correct([](Graph& g) { return layer_norm(param(g, "a", {2, 3, 4}, 34, 2), 0.1f); });
  const Feeds ids{{"ids", Tensor({4, 1}, {2, 0, 4, 4})}};
  expect_correct(
      [](Graph& g) {
        return gather(param(g, "a", {4, 5}, 30), g.input("ids", {4, 1}));
      },
      ids);
  expect_correct(
      [](Graph& g) {
        const Value logits = param(g, "a", {2, 2, 5}, 31, 3);
        return models::cross_entropy(logits, g.input("ids", {2, 2}));
      },
      {{"ids", Tensor({2, 2}, {1, 4, 0, 3})}});
  expect_correct([](Graph& g) {
    return models::mse_loss(tanh(param(g, "a", {3, 2}, 32)), g.input("target", {3, 2}));
  });
}

BOOST_AUTO_TEST_CASE(one_hot_ids_get_no_gradient) {
  Graph g;
  const Value ids = g.input("ids", {3});
  const Value W = param(g, "W", {4, 2}, 33);
  const Value loss = sum(matmul(one_hot(ids, 4), W));
  const auto grads = grad(loss, std::vector<Value>{W, ids});
  Executor run(g);
  const Results& r = run({{"ids", Tensor({3}, {1, 1, 3})}});
  // dW[k] = (number of rows with id k) for every column
  rnngraph::testing::check_values(r["grad/W"], {4, 2}, {0, 0, 2, 2, 0, 0, 1, 1});
  rnngraph::testing::check_values(r["grad/ids"], {3}, {0, 0, 0});
}

// Every cell (the built-in ones and a user's, tests/custom_cells.h), one and two layers, one and
// two directions, with and without lengths (the mask), on the graph as built and optimized
// (fused cells and their fused vjps).
BOOST_AUTO_TEST_CASE(unrolled_models_every_cell_layers_directions_lengths_passes) {
  const int64_t T = 4, B = 3;
  for (models::Cell cell :
       {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru,
        models::find_cell("peephole_lstm"), models::find_cell("ln_lstm"), testing::cifg()})
    for (int64_t layers : {1, 2})
      for (bool bidirectional : {false, true})
        for (bool masked : {false, true})
          for (Passes passes : {Passes::Off, Passes::On}) {
            if (bidirectional && masked && layers == 1) continue;  // 2 layers cover it
            BOOST_TEST_CONTEXT(models::to_string(cell)
                               << " L" << layers << (bidirectional ? " bidirectional" : "")
                               << (masked ? " masked" : "")
                               << (passes == Passes::On ? " passes on" : " passes off")) {
              Feeds feeds;
              if (masked) {  // lengths 4, 2, 3: padded steps in the middle of the batch
                const int64_t lengths[] = {4, 2, 3};
                feeds.emplace("mask", models::length_mask(lengths, T));
              }
              // Layer norm divides by each row's spread, and the rows of these tiny products
              // (x_t · W_x on two features) are spread little, so the layer-normalised LSTM
              // curves fast: the truncation error of the step 0.08 reaches 40% here. Measured
              // for it over this sweep (rows of 24, H = 6, and x away from zero), worst per
              // step: 0.02: 2e-2, 0.01: 1.1e-3, 0.005: 4.7e-4, 0.0035: 9e-4 (rounding from
              // there on); it is checked at 0.005.
              const bool layer_norm = cell.name() == "ln_lstm";
              // Seeds 5 to 8 leave one of the peephole LSTM's tensors (b_o, p_o, b_i) a largest
              // derivative of 0.006 to 0.009 (peepholes multiply the small c, and terms cancel):
              // under the guard against tensors that pass by having no gradient. 9 and 10 pass.
              const uint64_t seed = cell.name() == "peephole_lstm" ? 9 : 5;
              if (layer_norm) feeds.emplace("x", init::uniform(0.5f, 1.5f, 8).tensor({T, B, 2}));
              expect_correct(
                  [&](Graph& g) {
                    return models::build(g, {.cell = cell,
                                             .input_size = 2,
                                             .hidden_size = layer_norm ? 6 : 3,
                                             .steps = T,
                                             .batch = B,
                                             .layers = layers,
                                             .seed = seed,
                                             .masked = masked,
                                             .bidirectional = bidirectional})
                        .y;
                  },
                  feeds, passes,
                  std::getenv("STEP") ? std::stof(std::getenv("STEP"))
                  : layer_norm        ? 0.005f
                                      : kStep);
            }
          }
}

BOOST_AUTO_TEST_CASE(model_with_embedding_and_output_layer) {
  for (Passes passes : {Passes::Off, Passes::On})
    expect_correct(
        [](Graph& g) {
          return models::build(g, {.cell = models::Cell::Lstm,
                                   .input_size = 3,
                                   .hidden_size = 3,
                                   .steps = 3,
                                   .batch = 2,
                                   .output_size = 4,
                                   .tokens = models::TokenInput::Embedding,
                                   .vocab_size = 5})
              .y;
        },
        {{"tokens", Tensor({3, 2}, {0, 4, 2, 2, 1, 3})}}, passes);
}

// Negative controls: a check that cannot fail proves nothing.
BOOST_AUTO_TEST_CASE(a_broken_vjp_is_caught) {
  static const BrokenTanh broken;
  const GradCheck r = check_gradients([](Graph& g) {
    return g.apply(broken, {param(g, "a", {3, 4}, 40, 2)});
  });
  BOOST_TEST_MESSAGE("broken tanh: worst " << r.error.error << " at " << r.error.where);
  BOOST_CHECK(!r.passes());
  BOOST_CHECK_GT(r.error.error, 100 * kTolerance);
}

BOOST_AUTO_TEST_CASE(a_vjp_off_by_one_percent_is_caught) {
  static const WrongVjp tanh_1_01(tanh_op(), 1.01f, -1), sigmoid_1_01(sigmoid_op(), 1.01f, -1);
  const GradCheck op = check_gradients([](Graph& g) {
    return g.apply(tanh_1_01, {param(g, "a", {3, 4}, 40, 2)});
  });
  BOOST_TEST_MESSAGE("tanh vjp x 1.01: worst " << op.error.error << " at " << op.error.where);
  BOOST_CHECK(!op.passes());
  // In a model, where the sigmoid is one term of many: every LSTM gate's sigmoid
  const GradCheck model =
      check_gradients([](Graph& g) { return lstm_with(g, sigmoid_op(), sigmoid_1_01); });
  BOOST_TEST_MESSAGE("LSTM sigmoid vjp x 1.01: worst " << model.error.error << " at "
                                                       << model.error.where);
  BOOST_CHECK(!model.passes());
  // and the same model with the right sigmoid passes, so the difference is the 1%
  static const WrongVjp sigmoid_right(sigmoid_op(), 1.0f, -1);
  BOOST_CHECK(
      check_gradients([](Graph& g) { return lstm_with(g, sigmoid_op(), sigmoid_right); }).passes());
}

BOOST_AUTO_TEST_CASE(a_dropped_term_is_caught) {
  // mul without its second input's gradient: in the LSTM, c_t = f ⊙ c_{t-1} + i ⊙ c̃ loses the
  // path through c_{t-1} (the forget gate's factor) and h_t = o ⊙ tanh(c_t) the one to c_t.
  static const WrongVjp mul_dropping(mul_op(), 1.0f, 1);
  const GradCheck r =
      check_gradients([](Graph& g) { return lstm_with(g, mul_op(), mul_dropping); });
  BOOST_TEST_MESSAGE("LSTM mul without its second gradient: worst " << r.error.error << " at "
                                                                    << r.error.where);
  BOOST_CHECK(!r.passes());
}

// Every registered op's gradient went through a passing finite-difference check above (the
// fused cells and packed products through the models with passes on), or the op has none by
// design. A new op fails here until it has a check. Run alone, it runs the checks it depends on.
BOOST_AUTO_TEST_CASE(
    every_registered_op_has_its_gradient_checked,
    *boost::unit_test::depends_on("autodiff/elementwise_ops_with_broadcasting") *
        boost::unit_test::depends_on("autodiff/activations_exp_and_log") *
        boost::unit_test::depends_on("autodiff/matmul_with_every_transpose") *
        boost::unit_test::depends_on("autodiff/concat_stack_select_slice_pad_reshape") *
        boost::unit_test::depends_on("autodiff/reductions_and_broadcasts") *
        boost::unit_test::depends_on("autodiff/softmax_logsumexp_gather_and_losses") *
        boost::unit_test::depends_on(
            "autodiff/unrolled_models_every_cell_layers_directions_lengths_passes") *
        boost::unit_test::depends_on("autodiff/model_with_embedding_and_output_layer")) {
  // Ops without a gradient: class ids in (one_hot), a packed copy of a weight whose gradient
  // goes to the weight itself (pack_columns), the fused cells' gradient ops (no second
  // derivatives), and int8 products, which run forward only (suite quantize checks that they
  // refuse).
  const std::set<std::string> none{
      "one_hot",       "pack_columns", "lstm_cell_grad",   "lstm_gates_grad", "lstm_hidden_grad",
      "gru_cell_grad", "matmul_int8",  "quantize_columns", "matmul_bf16",     "pack_bf16"};
  int checked = 0;
  for (const Op* op : all_ops()) {
    const std::string name(op->name());
    if (none.contains(name)) continue;
    BOOST_CHECK_MESSAGE(ops_checked().contains(name),
                        "op '" << name << "' has no finite-difference check in this suite");
    ++checked;
  }
  BOOST_TEST_MESSAGE(checked << " ops checked against finite differences, " << none.size()
                             << " without a gradient");
  BOOST_CHECK_GE(checked, 25);
}

BOOST_AUTO_TEST_CASE(shared_parameter_gets_the_sum_of_its_uses) {
  // y = W·x1 + W·x2 with W used twice: dL/dW = (x1 + x2)ᵀ summed, checked by hand
  Graph g;
  const Value W = g.parameter("W", {1, 2}, init::constant(1));
  const Value x1 = g.constant("x1", Tensor({2, 1}, {1, 2})),
              x2 = g.constant("x2", Tensor({2, 1}, {3, 5}));
  const Value loss = sum(matmul(W, x1) + matmul(W, x2));
  const auto grads = grad(loss, std::vector<Value>{W});
  Executor run(g);
  rnngraph::testing::check_values(run({})["grad/W"], {1, 2}, {4, 7});
}

BOOST_AUTO_TEST_CASE(backward_nodes_carry_the_step_and_layer_they_mirror) {
  Graph g;
  const auto out = models::build(
      g, {.cell = models::Cell::Lstm, .input_size = 2, .hidden_size = 3, .steps = 3, .layers = 2});
  const Value loss = sum(out.y);
  const int forward = int(g.size());
  grad(loss, parameter_values(g));
  int per_step[3] = {0, 0, 0};
  bool layers_seen[2] = {false, false};
  for (const Node& n : g.nodes().subspan(std::size_t(forward))) {
    BOOST_REQUIRE(n.backward);
    if (n.step >= 0) ++per_step[n.step];
    if (n.layer >= 0) layers_seen[n.layer] = true;
  }
  for (int count : per_step) BOOST_CHECK_GT(count, 20);
  BOOST_CHECK(layers_seen[0] && layers_seen[1]);
  BOOST_CHECK(g.contains("W_f_l1"));
  for (const auto& [name, id] : g.outputs())
    if (name.starts_with("grad/")) BOOST_CHECK(g.node(id).backward);
}

BOOST_AUTO_TEST_CASE(planner_reuse_gives_bit_identical_gradients_at_T_500) {
  // Long backward graphs are where planners go wrong: the same gradients with buffer reuse on and
  // off, bit for bit.
  Graph g;
  const int64_t T = 500;
  const auto out = models::build(g, {.cell = models::Cell::Lstm,
                                     .input_size = 3,
                                     .hidden_size = 8,
                                     .steps = T,
                                     .batch = 2,
                                     .seed = 4});
  const Value target = g.input("target", out.y.shape());
  grad(models::mse_loss(out.y, target), parameter_values(g));
  Executor reuse(g), fresh(g, {}, {.reuse_memory = false});
  const Feeds feeds{{"x", init::normal(0, 1, 1).tensor({T, 2, 3})},
                    {"h0", init::normal(0, 1, 2).tensor({1, 2, 8})},
                    {"c0", Tensor({1, 2, 8})},
                    {"target", init::normal(0, 1, 3).tensor({T, 2, 8})}};
  const Results& a = reuse(feeds);
  const Results& b = fresh(feeds);
  BOOST_TEST_MESSAGE("training arena: " << reuse.arena_bytes() / T << " bytes per step with reuse, "
                                        << fresh.arena_bytes() / T << " without");
  BOOST_CHECK_LT(reuse.arena_bytes() * 2, fresh.arena_bytes());
  int compared = 0;
  for (const auto& [name, t] : a) {
    if (!name.starts_with("grad/")) continue;
    const Tensor& u = b[name];
    BOOST_REQUIRE(u.shape() == t.shape());
    BOOST_CHECK_MESSAGE(std::equal(t.values().begin(), t.values().end(), u.values().begin()),
                        name << " differs with and without buffer reuse");
    ++compared;
  }
  BOOST_CHECK_EQUAL(compared, 8);
}

BOOST_AUTO_TEST_CASE(a_plan_made_before_grad_still_runs_and_knows_its_size) {
  Graph g;
  const auto out =
      models::build(g, {.cell = models::Cell::Gru, .input_size = 2, .hidden_size = 3, .steps = 4});
  // Planned as built: the passes fuse the cells before grad() and cannot after it (the
  // backward graph reads the cells' nodes), which would change the rounding, not the plan.
  const PlanOptions as_is{.optimize = false};
  Executor before(g, {}, as_is);
  const Feeds feeds{{"x", init::normal(0, 1, 1).tensor({4, 1, 2})}, {"h0", Tensor({1, 1, 3})}};
  const Tensor y = before(feeds)["y"].clone();
  grad(sum(out.y), parameter_values(g));  // appends hundreds of nodes
  rnngraph::testing::check_close(before(feeds)["y"], y, 0.0f);
  BOOST_CHECK_THROW(before.plan().slot(int(g.size()) - 1), GraphError);
  Executor after(g, {}, as_is);
  rnngraph::testing::check_close(after(feeds)["y"], y, 0.0f);
}

BOOST_AUTO_TEST_CASE(loss_must_be_a_scalar) {
  Graph g;
  const Value a = param(g, "a", {2, 2}, 1);
  BOOST_CHECK_THROW(grad(tanh(a), std::vector<Value>{a}), GraphError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rewrites)

BOOST_AUTO_TEST_CASE(copy_gives_an_equal_graph_sharing_parameters) {
  Graph g;
  models::build(
      g, {.cell = models::Cell::Gru, .input_size = 2, .hidden_size = 3, .steps = 4, .batch = 2});
  const auto c = copy(g);
  BOOST_REQUIRE_EQUAL(c->size(), g.size());
  for (const Node& n : g.nodes()) {
    const Node& m = c->node(n.id);
    BOOST_CHECK(m.name == n.name && m.placement() == n.placement() && m.shape == n.shape &&
                m.attrs == n.attrs && m.op == n.op && m.inputs == n.inputs);
  }
  BOOST_CHECK_EQUAL(c->param("W_r_l0").data(), g.param("W_r_l0").data());  // shared, not copied
  const Feeds feeds{{"x", init::normal(0, 1, 1).tensor({4, 2, 2})}, {"h0", Tensor({1, 2, 3})}};
  const PlanOptions as_is{.optimize = false};  // the copy itself, not the passes, is tested
  Executor a(g, {}, as_is), b(*c, {}, as_is);
  rnngraph::testing::check_close(b(feeds)["y"], a(feeds)["y"], 0.0f);
}

// Replaces every tanh by 2·sigmoid(2x) − 1, the same function: a rewrite that changes the graph.
struct TanhThroughSigmoid final : Rewriter {
  int replaced = 0;
  Value rewrite(Graph& out, const Node& node, std::span<const Value> inputs) override {
    if (node.op != &tanh_op()) return Rewriter::rewrite(out, node, inputs);
    ++replaced;
    auto at = out.place(node.placement());
    return 2.0f * sigmoid(2.0f * inputs[0]) - 1.0f;
  }
};

BOOST_AUTO_TEST_CASE(a_rewriter_replaces_nodes_and_keeps_results) {
  Graph g;
  models::build(g, {.cell = models::Cell::Lstm, .input_size = 2, .hidden_size = 3, .steps = 3});
  const std::size_t before = g.size();
  TanhThroughSigmoid pass;
  const auto r = rewrite(g, pass);
  BOOST_CHECK_EQUAL(pass.replaced, 6);  // c̃ and tanh(c) at each of 3 steps
  BOOST_CHECK_EQUAL(g.size(), before);  // the source is untouched
  BOOST_CHECK_GT(r->size(), before);
  const Feeds feeds{{"x", init::normal(0, 1, 1).tensor({3, 1, 2})},
                    {"h0", init::normal(0, 1, 2).tensor({1, 1, 3})},
                    {"c0", init::normal(0, 1, 3).tensor({1, 1, 3})}};
  const PlanOptions as_is{.optimize = false};  // the rewrite itself, not the passes, is tested
  Executor a(g, {}, as_is), b(*r, {}, as_is);
  rnngraph::testing::check_close(b(feeds)["y"], a(feeds)["y"], 1e-6f);
  for (const Node& n : r->nodes())  // replacements sit where the tanh was
    if (n.kind == NodeKind::Op && n.op == &sigmoid_op()) BOOST_CHECK_GE(n.step, 0);
}

BOOST_AUTO_TEST_CASE(rewriting_a_long_gru_keeps_names_unique) {
  // Each replacement adds constants, so the copy's ids drift from the source's and a generated
  // name ("const_40") can meet one copied from the source: both must survive.
  Graph g;
  models::build(g, {.cell = models::Cell::Gru, .input_size = 2, .hidden_size = 3, .steps = 12});
  TanhThroughSigmoid pass;
  const auto r = rewrite(g, pass);
  std::set<std::string> names;
  for (const Node& n : r->nodes()) BOOST_CHECK_MESSAGE(names.insert(n.name).second, n.name);
  const auto twice = rewrite(*r, pass);  // and again, on a graph full of kept names
  const Feeds feeds{{"x", init::normal(0, 1, 1).tensor({12, 1, 2})}, {"h0", Tensor({1, 1, 3})}};
  const PlanOptions as_is{.optimize = false};  // the rewrites themselves, not the passes
  Executor a(g, {}, as_is), b(*twice, {}, as_is);
  rnngraph::testing::check_close(b(feeds)["y"], a(feeds)["y"], 1e-5f);
}

BOOST_AUTO_TEST_CASE(float_and_list_attributes_and_placements_survive_a_file) {
  Graph g;
  const Value x = g.input("x", {2, 3});
  Value y;
  {
    auto step = g.step(4);
    auto layer = g.layer(1);
    Attrs attrs;
    attrs.floats["scale"] = 0.25;  // not read by tanh; carried like any attribute
    attrs.lists["note"] = {1, -2, 3};
    y = reshape(g.apply(tanh_op(), {x}, attrs), {3, 2});
  }
  g.output("y", y);
  const auto path = rnngraph::testing::scratch_dir("rewrites") / "attrs.json";
  io::save_graph(g, path);
  const io::GraphFile file = io::load_graph(path);
  const Node& t = file.graph->node(1);
  BOOST_CHECK_EQUAL(t.attrs.get_float("scale", 0), 0.25);
  BOOST_CHECK(t.attrs.lists.at("note") == std::vector<int64_t>({1, -2, 3}));
  BOOST_CHECK_EQUAL(t.step, 4);
  BOOST_CHECK_EQUAL(t.layer, 1);
  BOOST_CHECK(file.graph->node(y.id()).shape == Shape({3, 2}));

  // A file from before placements were stored: step and layer come from the scope.
  auto doc = nlohmann::json::parse(io::read_file(path));
  for (auto& node : doc["nodes"]) node.erase("step"), node.erase("layer");
  io::write_atomically(path, [&](std::ostream& out) { out << doc.dump(); });
  const io::GraphFile old = io::load_graph(path);
  BOOST_CHECK_EQUAL(old.graph->node(1).step, 4);
  BOOST_CHECK_EQUAL(old.graph->node(1).layer, 1);
}

BOOST_AUTO_TEST_SUITE_END()
