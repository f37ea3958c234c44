// gradient_flow: the model run forward and backward, and ‖∂loss/∂h_t‖ read off the backward
// graph for every layer's hidden state at every step.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/models/losses.h>
#include <rnngraph/ops/ops.h>

#include "diagram.h"
#include "diagram_model.h"

namespace rnngraph::viz {

GradientFlow gradient_flow(const Graph& model, const Feeds& feeds, std::string_view loss) {
  if (loss != "sum" && loss != "mse" && loss != "last")
    throw Error(fmt::format("unknown loss '{}' (expected sum, mse or last)", loss));
  auto g = copy(model);
  const std::vector<std::vector<int>> states = detail::hidden_states(*g);
  const Value y(*g, g->output_id("y"));
  Value objective;
  if (loss == "mse") {
    auto target = feeds.find("target");
    if (target == feeds.end())
      throw GraphError("the mse loss needs a target shaped like y (feed \"target\")");
    objective = models::mse_loss(y, g->input("target", target->second.shape()));
  } else if (loss == "last") {
    objective = models::sum_loss(y[y.shape()[0] - 1]);
  } else {
    objective = models::sum_loss(y);
  }
  g->output("loss", objective);
  std::vector<Value> wrt;
  for (const auto& layer : states)
    for (int id : layer) wrt.emplace_back(*g, id);
  grad(objective, wrt);

  std::vector<std::string> wanted{"loss"};
  for (const Value& h : wrt) wanted.push_back("grad/" + h.node().name);
  Feeds fed = feeds;
  if (loss != "mse") fed.erase("target");  // fed for mse only; harmless to pass along otherwise
  Executor run(*g, wanted, {.optimize = false});
  const Results& r = run(fed);
  GradientFlow flow{.loss = std::string(loss), .value = r["loss"].values()[0]};
  // One row per layer: a bidirectional layer's two directions (two rows of h_n, placed at the
  // same layer) are one state [h→, h←], whose norm combines both.
  std::size_t next = 0;
  std::map<int, std::vector<double>> squares;  // layer → per step
  for (const auto& row : states) {
    std::vector<double>& sums = squares[std::max(g->node(row.front()).layer, 0)];
    sums.resize(row.size(), 0.0);
    for (std::size_t t = 0; t < row.size(); ++t)
      for (float v : r["grad/" + wrt[next++].node().name].values()) sums[t] += double(v) * v;
  }
  for (const auto& [layer, sums] : squares) {
    std::vector<double>& norms = flow.norms.emplace_back();
    for (double sum : sums) norms.push_back(std::sqrt(sum));
  }
  return flow;
}

}  // namespace rnngraph::viz
