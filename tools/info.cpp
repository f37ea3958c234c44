// rnngraph info: what a graph file holds: nodes by op, parameters, inputs, outputs, arena size.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/models/model.h>
#include <rnngraph/ops/ops.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage = R"(usage: rnngraph info G.json

Describes a graph file: its recipe, its nodes by kind and op, its parameters and their shapes,
its inputs and outputs, the arena the executor plans for computing every output
("arena bytes: N"), and, when the graph has an output y and parameters, the arena of
training it, "training arena bytes: N", with the bytes per step: forward plus the backward
pass of the sum of y, keeping the activations backward needs.
)";

int info_main(const std::vector<std::string>& argv) {
  const Args args(argv, {});
  if (args.positional().size() != 1) throw UsageError("info takes one graph file");
  const io::GraphFile file = models::load_file(args.positional()[0]);
  const Graph& g = *file.graph;

  std::map<std::string_view, int> by_op;
  std::map<NodeKind, int> by_kind;
  int64_t parameter_count = 0;
  for (const Node& n : g.nodes()) {
    ++by_kind[n.kind];
    if (n.kind == NodeKind::Op) ++by_op[n.op->name()];
    if (n.kind == NodeKind::Parameter) parameter_count += n.shape.numel();
  }
  fmt::print("graph: {}\n", args.positional()[0]);
  // Names and values from the file are printed escaped, like every message.
  for (const auto& [key, value] : file.meta)
    fmt::print("  {}: {}\n", printable(key, 200), printable(value, 200));
  if (models::is_model(file)) {
    const bool bi = file.meta.contains("bidirectional") && file.meta.at("bidirectional") == "true";
    fmt::print(
        "model: runs on any length and batch, {}; padded batches with per-sample lengths (run "
        "--lengths); below, the graph unrolled for the default shape T = {}, B = {}\n",
        bi ? "bidirectional (left to right, and right to left with each sample reversed within "
             "its length)"
           : "one direction (left to right)",
        file.meta.contains("steps") ? file.meta.at("steps") : "1",
        file.meta.contains("batch") ? file.meta.at("batch") : "1");
  }
  fmt::print("nodes: {} ({} inputs, {} parameters, {} constants, {} ops)\n", g.size(),
             by_kind[NodeKind::Input], by_kind[NodeKind::Parameter], by_kind[NodeKind::Constant],
             by_kind[NodeKind::Op]);
  fmt::print("ops:\n");
  for (const auto& [op, count] : by_op) fmt::print("  {:<10} {}\n", op, count);
  fmt::print("inputs:\n");
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Input)
      fmt::print("  {:<10} {}\n", printable(n.name, 200), n.shape.str());
  fmt::print("parameters: {} values\n", parameter_count);
  for (int id : g.parameters())
    fmt::print("  {:<10} {}\n", printable(g.node(id).name, 200), g.node(id).shape.str());
  fmt::print("outputs:\n");
  for (const auto& [name, id] : g.outputs())
    fmt::print("  {:<10} {}\n", printable(name, 200), g.node(id).shape.str());
  fmt::print("arena bytes: {}\n", Plan(g).arena_bytes());

  // Training memory: the same graph with the backward pass of sum(y) appended and planned.
  const int y = g.output_id("y");
  // (Skipped for a graph that already holds a backward pass or a loss of its own.)
  const bool trained_graph =
      std::any_of(g.nodes().begin(), g.nodes().end(), [](const Node& n) { return n.backward; }) ||
      g.output_id("loss") >= 0;
  if (y >= 0 && !g.parameters().empty() && !trained_graph) {
    Graph& mutable_graph = *file.graph;
    const Value yv(mutable_graph, y);
    const Value loss = sum(yv);
    mutable_graph.output("loss", loss);
    grad(loss, parameter_values(mutable_graph));
    const std::size_t bytes = Plan(mutable_graph).arena_bytes();
    const int64_t steps = yv.shape().rank() == 3 ? yv.shape()[0] : 1;
    fmt::print("training arena bytes: {} ({} per step; forward and backward of sum(y))\n", bytes,
               bytes / std::size_t(steps));
  }
  return 0;
}
}  // namespace

Command info_command() {
  return {"info", "describe a graph file: ops, parameters, arena size", kUsage, info_main};
}

}  // namespace rnngraph::cli
