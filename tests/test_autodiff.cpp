// Gradients against central finite differences, for every op and for unrolled models; a
// deliberately broken vjp that the check must catch; the backward plan's memory.
//
// The check: loss = Σ y ⊙ R with a fixed random R (so every output element weighs differently and
// a transposed or misplaced gradient shows), and for every element θ of every tensor checked,
//   |analytic - (loss(θ + ε) - loss(θ - ε)) / 2ε| ≤ 1e-2 · (1 + |numeric|)   with ε = 1e-2.
// Why this tolerance: central differences err by O(ε²·f''') ≈ 1e-4 here, and float32 rounding
// of the loss by about 1e-7·|loss|/ε ≈ 1e-4; a wrong sign errs by 2|g| and a missing term by the
// term itself, both of order 0.1 to 1 for these inputs (check_gradients demands that the
// gradient it checks is not tiny, so that such an error cannot hide).
#include <cmath>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include <rnngraph/ops/kernels.h>

#include "helpers.h"

using namespace rnngraph;

namespace {

struct GradCheck {
  double worst = 0;    // largest error / (1 + |numeric|)
  double largest = 0;  // largest |analytic| seen: a check of zeros proves nothing
  std::string where;
};

using Build = std::function<Value(Graph&)>;

// Builds y = build(g), loss = Σ y ⊙ R, gradients of every parameter and input, and compares
// each element with central differences. Inputs are fed from `feeds` (missing ones: N(0, 1)).
GradCheck check_gradients(const Build& build, Feeds feeds = {}) {
  Graph g;
  const Value y = build(g);
  const Value weights = g.constant("R", init::normal(0, 1, 99).tensor(y.shape()));
  const Value loss = sum(y * weights);
  g.output("loss", loss);
  std::vector<Value> wrt;
  for (const Node& n : g.nodes()) {
    if (n.kind == NodeKind::Parameter) wrt.emplace_back(g, n.id);
    if (n.kind == NodeKind::Input) {
      wrt.emplace_back(g, n.id);
      if (!feeds.contains(n.name))
        feeds.emplace(n.name, init::normal(0, 1, 7 + uint64_t(n.id)).tensor(n.shape));
    }
  }
  grad(loss, wrt);
  Executor run(g);
  const Results& first = run(feeds);
  std::vector<Tensor> analytic;
  for (const Value& w : wrt) analytic.push_back(first["grad/" + g.node(w.id()).name].clone());

  GradCheck result;
  const float eps = 1e-2f;
  for (std::size_t k = 0; k < wrt.size(); ++k) {
    const Node& n = g.node(wrt[k].id());
    const Tensor data = n.kind == NodeKind::Parameter ? n.value : feeds.at(n.name);
    if (n.name == "ids" || n.name == "tokens") continue;  // class ids: no gradient
    for (int64_t i = 0; i < data.numel(); ++i) {
      float& v = data.data()[i];
      const float saved = v;
      v = saved + eps;
      const double up = run(feeds)["loss"].values()[0];
      v = saved - eps;
      const double down = run(feeds)["loss"].values()[0];
      v = saved;
      const double numeric = (up - down) / (2 * eps);
      const double got = analytic[k].values()[i];
      const double err = std::fabs(got - numeric) / (1 + std::fabs(numeric));
      result.largest = std::max(result.largest, std::fabs(got));
      if (err > result.worst) {
        result.worst = err;
        result.where = fmt::format("{}[{}]: analytic {} vs numeric {}", n.name, i, got, numeric);
      }
    }
  }
  return result;
}

void expect_correct(const Build& build, Feeds feeds = {}) {
  const GradCheck r = check_gradients(build, std::move(feeds));
  BOOST_TEST_MESSAGE("worst " << r.worst << " at " << r.where);
  BOOST_CHECK_MESSAGE(r.worst <= 1e-2, "gradient mismatch: " << r.where);
  BOOST_CHECK_MESSAGE(r.largest > 0.05, "the gradients checked are all tiny: " << r.largest);
}

Value param(Graph& g, const char* name, const Shape& s, uint64_t seed, float scale = 1) {
  return g.parameter(name, s, init::uniform(-scale, scale, seed));
}

// tanh with a sign error in its vjp (grad · (1 + y²) instead of (1 - y²)): what the check exists
// to catch.
struct BrokenTanh final : kernels::UnaryOp<BrokenTanh> {
  std::string_view name() const override { return "broken_tanh"; }
  static float apply(float x) { return std::tanh(x); }
  std::vector<Value> vjp(const VjpArgs& a) const override {
    return {a.grad * (a.output * a.output + 1.0f)};
  }
};

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
    return g.apply(slice_op(), {joined}, {{"axis", -1}, {"begin", 1}, {"end", 3}});
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
  // select's own vjp (pad of one row), used when the tensor is not an input being gathered
  expect_correct([](Graph& g) {
    const Value a = tanh(param(g, "a", {3, 2, 2}, 19));
    return select(a, 1) * select(a, 2);
  });
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

BOOST_AUTO_TEST_CASE(unrolled_models_one_and_two_layers_batch_three) {
  for (models::Cell cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru})
    for (int64_t layers : {1, 2}) {
      BOOST_TEST_MESSAGE(models::to_string(cell) << " with " << layers << " layer(s)");
      expect_correct([&](Graph& g) {
        return models::build(g, {.cell = cell,
                                 .input_size = 2,
                                 .hidden_size = 3,
                                 .steps = 4,
                                 .batch = 3,
                                 .layers = layers,
                                 .seed = 5})
            .y;
      });
    }
}

BOOST_AUTO_TEST_CASE(model_with_embedding_and_output_layer) {
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
      {{"tokens", Tensor({3, 2}, {0, 4, 2, 2, 1, 3})}});
}

BOOST_AUTO_TEST_CASE(a_broken_vjp_is_caught) {
  static const BrokenTanh broken;
  const GradCheck r = check_gradients([](Graph& g) {
    return g.apply(broken, {param(g, "a", {3, 4}, 40, 2)});
  });
  BOOST_TEST_MESSAGE("broken tanh: worst " << r.worst << " at " << r.where);
  BOOST_CHECK_GT(r.worst, 0.1);  // ten times the tolerance at least
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
