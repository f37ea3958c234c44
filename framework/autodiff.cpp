#include <rnngraph/framework/autodiff.h>

#include <map>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph {

namespace {

// The gradient flowing into each forward node, summed as contributions arrive so that only the
// running sum stays alive (a weight shared by 500 steps never holds 500 partial gradients).
class Accumulator {
 public:
  explicit Accumulator(std::size_t n) : total_(n), blocks_(n) {}

  void add(int id, const Value& g) { total_[id] = total_[id] ? total_[id] + g : g; }

  // The gradient of a block of node `id`'s rows from `begin` (an op with Op::rows_of_input: x[t],
  // a chunk of x's steps, a weight's rows), kept per block and assembled by that op once the node
  // is reached, instead of padded copies of the node added together (T² work for a sequence).
  // False, keeping nothing, when the block overlaps one kept already (other than the same rows,
  // which are summed): the caller then runs the op's vjp.
  bool add_rows(Graph& g, int id, const Op& op, int64_t begin, const Value& grad) {
    const Shape shape = g.node(id).shape;  // a copy: `kept + grad` appends a node
    const int64_t row = shape.numel() / shape[0];
    const auto end_of = [&](int64_t first, const Value& block) {
      return first + block.shape().numel() / row;
    };
    const int64_t end = end_of(begin, grad);
    std::map<int64_t, Value>* own = nullptr;
    for (auto& [assembler, blocks] : blocks_[id]) {
      if (assembler == &op) own = &blocks;
      // The blocks kept do not overlap: only the last one starting before `end` can reach
      // `begin`.
      auto at = blocks.lower_bound(end);
      if (at == blocks.begin()) continue;
      --at;
      if (assembler == &op && at->first == begin && at->second.shape() == grad.shape()) {
        at->second = at->second + grad;
        return true;
      }
      if (end_of(at->first, at->second) > begin) return false;
    }
    if (!own) own = &blocks_[id].emplace_back(&op, std::map<int64_t, Value>{}).second;
    own->emplace(begin, grad);
    return true;
  }

  // The complete gradient of `id` (all its consumers have been visited), or an empty Value.
  Value take(Graph& g, int id) {
    // A copy of the shape: the assembly appends nodes, which may move the node storage.
    const Shape shape = g.node(id).shape;
    for (const auto& [assembler, blocks] : blocks_[id])
      add(id, assembler->assemble_rows(g, shape, blocks));
    blocks_[id].clear();
    return total_[id];
  }

 private:
  std::vector<Value> total_;
  // by node: each assembling op's blocks, by first row
  std::vector<std::vector<std::pair<const Op*, std::map<int64_t, Value>>>> blocks_;
};

}  // namespace

std::vector<Value> parameter_values(Graph& g) {
  std::vector<Value> out;
  for (int id : g.parameters()) out.emplace_back(g, id);
  return out;
}

std::vector<std::string> parameter_names(const Graph& g) {
  std::vector<std::string> out;
  for (int id : g.parameters()) out.push_back(g.node(id).name);
  return out;
}

std::vector<Value> grad(const Value& loss, std::span<const Value> wrt) {
  Graph& g = loss.graph();
  if (loss.shape().numel() != 1)
    throw GraphError(fmt::format("grad: the loss '{}' must hold one value, it is {}",
                                 loss.node().path(), loss.shape().str()));
  for (const Value& w : wrt)
    if (&w.graph() != &g) throw GraphError("grad: a wrt value belongs to another graph");

  const int n = int(g.size());  // the forward graph: nodes appended from here on are backward
  // Only nodes on a path from some wrt to the loss need a gradient.
  std::vector<char> from_wrt(std::size_t(n), 0);
  for (const Value& w : wrt) from_wrt[w.id()] = 1;
  for (int id = 0; id < n; ++id)
    for (int in : g.node(id).inputs) from_wrt[id] |= from_wrt[in];
  const int loss_id = loss.id();
  const std::vector<char> to_loss = g.ancestors(std::span<const int>(&loss_id, 1));

  Accumulator acc{std::size_t(n)};
  {
    auto at = g.place({.scope = loss.node().scope, .backward = true});
    acc.add(loss.id(), g.constant(g.fresh_name("grad_seed"), [&] {
      Tensor one(loss.shape());
      one.fill(1);
      return one;
    }()));
  }
  std::vector<Value> totals{std::size_t(n)};
  for (int id = loss.id(); id >= 0; --id) {
    if (!from_wrt[id] || !to_loss[id]) continue;
    Placement placement = g.node(id).placement();
    placement.backward = true;
    auto at = g.place(placement);
    const Value total = acc.take(g, id);
    totals[id] = total;
    if (!total || g.node(id).kind != NodeKind::Op) continue;

    // Copies, not references: the vjp appends nodes, which may move the node storage.
    const Node& node = g.node(id);
    VjpArgs args{{}, Value(g, id), total, node.attrs};
    for (int in : node.inputs) args.inputs.emplace_back(g, in);
    const Op& op = *node.op;
    std::vector<Shape> shapes;
    for (const Value& in : args.inputs) shapes.push_back(in.shape());
    if (const auto first = op.rows_of_input(shapes, args.attrs)) {
      const int base = args.inputs[0].id();
      if (!from_wrt[base] || acc.add_rows(g, base, op, *first, total)) continue;
    }
    const std::size_t before = g.size();
    const std::vector<Value> grads = op.vjp(args);
    // What each new node is the derivative of, for the diagrams ("sub" of tanh' = 1 - y²).
    for (std::size_t made = before; made < g.size(); ++made)
      if (!g.node(int(made)).mark)
        g.mark(Value(g, int(made)), {.kind = Mark::Kind::Derivative,
                                     .role = std::string(op.name()),
                                     .label = g.node(id).name});
    if (grads.size() != args.inputs.size())
      throw GraphError(fmt::format("{} ({}): vjp gave {} gradients for {} inputs",
                                   g.node(id).path(), op.name(), grads.size(), args.inputs.size()));
    for (std::size_t i = 0; i < grads.size(); ++i) {
      const int in = args.inputs[i].id();
      if (!grads[i] || !from_wrt[in]) continue;
      if (!(grads[i].shape() == args.inputs[i].shape()))
        throw GraphError(fmt::format("{} ({}): vjp gave a {} gradient for input {} of shape {}",
                                     g.node(id).path(), op.name(), grads[i].shape().str(), i,
                                     args.inputs[i].shape().str()));
      acc.add(in, grads[i]);
    }
  }

  std::vector<Value> out;
  for (const Value& w : wrt) {
    Value gw = w.id() < n ? totals[w.id()] : Value();
    if (!gw) {
      auto at = g.place({.backward = true});
      gw = g.constant(g.fresh_name("zero_grad"), Tensor(w.shape()));
    }
    g.output("grad/" + w.node().name, gw);
    out.push_back(gw);
  }
  return out;
}

}  // namespace rnngraph
