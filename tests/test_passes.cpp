// Every pass keeps results equal: forward outputs and gradients, before and after, for the three
// cells, one and two layers, batch 1 and 3; and each does what it says to the graph.
#include <map>

#include <rnngraph/tools/viz/diagram.h>

#include "helpers.h"

using namespace rnngraph;

namespace {

using Pass = std::unique_ptr<Graph> (*)(const Graph&);

int count_ops(const Graph& g, const Op& op) {
  int n = 0;
  for (const Node& node : g.nodes()) n += node.kind == NodeKind::Op && node.op == &op;
  return n;
}

Feeds random_feeds(const Graph& g) {
  Feeds feeds;
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Input)
      feeds.emplace(n.name, init::normal(0, 1, 11 + uint64_t(n.id)).tensor(n.shape));
  return feeds;
}

// The model, with MSE against a target and the gradients of every parameter and x; `pass` is
// applied to the forward graph before grad() (how training uses it) and, separately, to the
// whole forward + backward graph.
void check_pass(const char* name, Pass pass, models::Cell cell, int64_t layers, int64_t batch) {
  BOOST_TEST_CONTEXT(name << " on " << models::to_string(cell) << " L=" << layers
                          << " B=" << batch) {
    const models::Config c{.cell = cell,
                           .input_size = 3,
                           .hidden_size = 4,
                           .steps = 5,
                           .batch = batch,
                           .layers = layers,
                           .seed = 3};
    auto with_loss = [&](Graph& g) {
      const Value y(g, [&] {
        for (const auto& [n, id] : g.outputs())
          if (n == "y") return id;
        return -1;
      }());
      const Value loss = models::mse_loss(y, g.input("target", y.shape()));
      g.output("loss", loss);
      std::vector<Value> wrt = parameter_values(g);
      wrt.emplace_back(g, g.find("x").id);
      grad(loss, wrt);
    };
    Graph reference;
    models::build(reference, c);
    with_loss(reference);
    // A pass that changes nothing returns nullptr: the graph itself is then its result.
    Graph forward;
    models::build(forward, c);
    const auto passed_first = pass(forward);
    Graph& first = passed_first ? *passed_first : forward;
    with_loss(first);
    const auto passed_after = pass(reference);
    const Graph& after = passed_after ? *passed_after : reference;

    const Feeds feeds = random_feeds(reference);
    // Planned as they are: the plan's own passes would otherwise run on all three.
    const PlanOptions as_is{.optimize = false};
    Executor a(reference, {}, as_is), b(first, {}, as_is), d(after, {}, as_is);
    const Results& ra = a(feeds);
    const Results& rb = b(feeds);
    const Results& rd = d(feeds);
    for (const auto& [output, t] : ra) {
      rnngraph::testing::check_close(rb[output], t, 1e-5f);
      rnngraph::testing::check_close(rd[output], t, 1e-5f);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_passes)

BOOST_AUTO_TEST_CASE(every_pass_keeps_outputs_and_gradients) {
  const std::map<const char*, Pass> all{
      {"eliminate_dead_nodes", passes::eliminate_dead_nodes},
      {"merge_common_subexpressions", passes::merge_common_subexpressions},
      {"split_concat_matmuls", passes::split_concat_matmuls},
      {"hoist_input_projections", passes::hoist_input_projections},
      {"merge_gate_products", passes::merge_gate_products},
      {"fuse_cells", passes::fuse_cells},
      {"merge_weight_gradients", passes::merge_weight_gradients},
      {"pack_recurrent_weights", passes::pack_recurrent_weights},
      {"optimize", passes::optimize}};
  for (const auto& [name, pass] : all)
    for (models::Cell cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru})
      for (int64_t layers : {1, 2})
        for (int64_t batch : {1, 3}) check_pass(name, pass, cell, layers, batch);
}

BOOST_AUTO_TEST_CASE(optimize_leaves_one_product_and_two_fused_loops_per_step) {
  Graph g;
  models::build(
      g, {.cell = models::Cell::Lstm, .input_size = 3, .hidden_size = 4, .steps = 6, .batch = 2});
  BOOST_CHECK_EQUAL(count_ops(g, matmul_op()), 24);  // 4 gates × 6 steps
  const auto o = passes::optimize(g);
  // One [T·B, I] · [I, 4H] product for the input, one [B, H] · [H, 4H] per step, on W_h packed
  // once.
  BOOST_CHECK_EQUAL(count_ops(*o, matmul_op()), 1);
  BOOST_CHECK_EQUAL(count_ops(*o, matmul_packed_op()), 6);
  BOOST_CHECK_EQUAL(count_ops(*o, pack_columns_op()), 1);
  BOOST_CHECK_EQUAL(count_ops(*o, concat_op()), 2);  // weights and biases side by side, once
  for (const Node& n : o->nodes())
    if (n.kind == NodeKind::Op && n.op == &matmul_op() && n.shape[0] != 2)
      BOOST_CHECK(n.shape == Shape({12, 16}));  // the hoisted input projection
  // The pointwise work is the fused cells' alone, each adding h·W_h, x_t·W_x and b itself.
  for (const Op* op : {&sigmoid_op(), &tanh_op(), &mul_op(), &add_op()})
    BOOST_CHECK_EQUAL(count_ops(*o, *op), 0);
  BOOST_CHECK_EQUAL(count_ops(*o, lstm_cell_op()), 6);
  BOOST_CHECK_EQUAL(count_ops(*o, lstm_hidden_op()), 6);
  for (const Node& n : o->nodes())
    if (n.kind == NodeKind::Op && n.op == &lstm_cell_op()) BOOST_CHECK_EQUAL(n.inputs.size(), 4u);
  BOOST_CHECK_EQUAL(o->param("W_f_l0").data(), g.param("W_f_l0").data());  // shared
}

BOOST_AUTO_TEST_CASE(an_lstm_steps_gate_gradients_are_one_op) {
  // Training an LSTM: each step's dA is one lstm_gates_grad, not lstm_cell_grad's plus
  // lstm_hidden_grad's added, and the gradients are those of the unfused model's backward.
  Graph g;
  models::build(g, {.cell = models::Cell::Lstm,
                    .input_size = 3,
                    .hidden_size = 4,
                    .steps = 6,
                    .batch = 2,
                    .seed = 5});
  g.output("loss", models::sum_loss(Value(g, g.output_id("y"))));
  std::vector<std::string> wrt = parameter_names(g);
  wrt.emplace_back("x");
  const auto fused = passes::training_graph(g, "loss", wrt, true);
  const auto plain = passes::training_graph(g, "loss", wrt, false);
  BOOST_CHECK_EQUAL(count_ops(*fused, lstm_gates_grad_op()), 6);
  for (const Node& n : fused->nodes()) {
    if (n.is(lstm_cell_grad_op()) || n.is(lstm_hidden_grad_op()))
      BOOST_CHECK_MESSAGE(n.attrs.get("wrt_state", 0), n.name << " still makes a dA");
    if (n.is(add_op())) BOOST_CHECK_MESSAGE(n.shape != Shape({2, 16}), n.name << " adds two dA");
  }
  const Feeds feeds = random_feeds(g);
  Executor a(*plain, {}, {.optimize = false}), b(*fused, {}, {.optimize = false});
  const Results& expected = a(feeds);
  const Results& got = b(feeds);
  for (const std::string& name : wrt)
    rnngraph::testing::check_close(got["grad/" + name], expected["grad/" + name], 1e-5f);
}

BOOST_AUTO_TEST_CASE(gru_steps_fuse_into_one_product_and_one_loop_each) {
  Graph g;
  models::build(
      g, {.cell = models::Cell::Gru, .input_size = 3, .hidden_size = 4, .steps = 5, .batch = 2});
  const auto o = passes::optimize(g);
  BOOST_CHECK_EQUAL(count_ops(*o, gru_cell_op()), 5);
  for (const Op* op : {&sigmoid_op(), &tanh_op(), &mul_op(), &sub_op(), &add_op()})
    BOOST_CHECK_EQUAL(count_ops(*o, *op), 0);
  // x · [W_r,x W_z,x W_in] for all steps at once; h · [W_r,h W_z,h W_hn] per step, packed.
  BOOST_CHECK_EQUAL(count_ops(*o, matmul_op()), 1);
  BOOST_CHECK_EQUAL(count_ops(*o, matmul_packed_op()), 5);
  Executor plain(g, {}, {.optimize = false}), optimized(*o, {}, {.optimize = false});
  const Feeds feeds = random_feeds(g);
  for (const char* out : {"y", "h_n"})
    rnngraph::testing::check_close(optimized(feeds)[out], plain(feeds)[out], 1e-5f);
}

BOOST_AUTO_TEST_CASE(input_products_are_hoisted_per_chunk_of_32_steps) {
  Graph g;
  models::build(g, {.cell = models::Cell::Rnn, .input_size = 3, .hidden_size = 4, .steps = 70});
  const auto o = passes::optimize(g);
  std::vector<int64_t> rows;
  for (const Node& n : o->nodes())
    if (n.kind == NodeKind::Op && (n.op == &matmul_op() || n.op == &matmul_packed_op()) &&
        n.shape[0] > 1)
      rows.push_back(n.shape[0]);
  BOOST_CHECK(rows == std::vector<int64_t>({32, 32, 6}));
  Executor plain(g, {}, {.optimize = false}), optimized(*o, {}, {.optimize = false});
  const Feeds feeds = random_feeds(g);
  rnngraph::testing::check_close(optimized(feeds)["y"], plain(feeds)["y"], 1e-5f);
}

BOOST_AUTO_TEST_CASE(dead_nodes_go_inputs_and_parameters_stay) {
  Graph g;
  const Value x = g.input("x", {2, 2});
  const Value unused_input = g.input("unused", {1});
  const Value W = g.parameter("W", {2, 2}, init::constant(1));
  tanh(x);  // computed by nothing that is an output
  g.output("y", matmul(x, W));
  const auto o = passes::eliminate_dead_nodes(g);
  BOOST_CHECK(o->contains("unused") && o->contains("W"));
  BOOST_CHECK_EQUAL(count_ops(*o, tanh_op()), 0);
  BOOST_CHECK_EQUAL(o->size(), 4u);
  (void)unused_input;
}

BOOST_AUTO_TEST_CASE(common_subexpressions_merge) {
  Graph g;
  const Value x = g.input("x", {2, 2});
  const Value a = tanh(x) + 1.0f, b = tanh(x) + 1.0f;  // two tanh, two equal scalars, two adds
  g.output("y", a * b);
  const auto o = passes::merge_common_subexpressions(g);
  BOOST_CHECK_EQUAL(count_ops(*o, tanh_op()), 1);
  BOOST_CHECK_EQUAL(count_ops(*o, add_op()), 1);
  Executor before(g, {}, {.optimize = false}), after(*o, {}, {.optimize = false});
  const Feeds feeds = random_feeds(g);
  rnngraph::testing::check_close(after(feeds)["y"], before(feeds)["y"], 0.0f);
}

BOOST_AUTO_TEST_CASE(an_optimized_plan_runs_the_optimized_graph) {
  Graph g;
  models::build(g, {.cell = models::Cell::Gru, .input_size = 3, .hidden_size = 4, .steps = 5});
  Executor plain(g, {}, {.optimize = false}), optimized(g);  // optimized by default
  BOOST_CHECK_LT(count_ops(optimized.plan().graph(), matmul_op()), count_ops(g, matmul_op()));
  const Feeds feeds = random_feeds(g);
  rnngraph::testing::check_close(optimized(feeds)["y"], plain(feeds)["y"], 1e-5f);
}

BOOST_AUTO_TEST_CASE(an_optimized_graph_is_drawable) {
  Graph g;
  models::build(g, {.cell = models::Cell::Lstm, .input_size = 2, .hidden_size = 3, .steps = 3});
  const auto o = passes::optimize(g);
  for (viz::View view : {viz::View::Unrolled, viz::View::Rolled, viz::View::Cell}) {
    const std::string dot = viz::to_dot(*o, {.view = view});
    BOOST_CHECK(dot.starts_with("digraph"));
    BOOST_CHECK(dot.find("matmul") != std::string::npos);
  }
  const auto dir = rnngraph::testing::scratch_dir("graph_passes");
  auto r = rnngraph::testing::run_cli(
      dir, "build lstm --input-size 2 --hidden-size 3 --steps 3 -o g.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  r = rnngraph::testing::run_cli(dir, "dot g.json --optimized -o opt.svg");
  BOOST_CHECK_MESSAGE(r.code == 0, r.err);
  BOOST_CHECK(io::read_file(dir / "opt.svg").find("<svg") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
