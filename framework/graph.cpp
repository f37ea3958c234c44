#include <rnngraph/framework/graph.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph {

// ---- Init -----------------------------------------------------------------------------------

namespace {
// 24 random bits to a float in [0, 1): exact, and the same on every platform.
float unit_float(std::mt19937_64& rng) { return float(rng() >> 40) * (1.0f / 16777216.0f); }
}  // namespace

void Init::apply(const Tensor& t) const {
  std::mt19937_64 rng(seed);
  auto values = t.values();
  switch (kind) {
    case Kind::Zeros:
      t.fill(0);
      break;
    case Kind::Constant:
      t.fill(a);
      break;
    case Kind::Uniform:
      for (float& v : values) v = a + (b - a) * unit_float(rng);
      break;
    case Kind::Normal:  // Box-Muller; 1 - u keeps the logarithm finite
      for (std::size_t i = 0; i < values.size(); i += 2) {
        const double u1 = 1.0 - unit_float(rng), u2 = unit_float(rng);
        const double r = std::sqrt(-2.0 * std::log(u1)), phi = 2.0 * std::numbers::pi * u2;
        values[i] = float(a + b * r * std::cos(phi));
        if (i + 1 < values.size()) values[i + 1] = float(a + b * r * std::sin(phi));
      }
      break;
    case Kind::Xavier: {
      const Shape& s = t.shape();
      const double fan_in = double(s[0]), fan_out = double(s[s.rank() - 1]);
      const float bound = float(std::sqrt(6.0 / (fan_in + fan_out)));
      for (float& v : values) v = -bound + 2 * bound * unit_float(rng);
      break;
    }
  }
}

std::string_view to_string(Mark::Kind kind) {
  switch (kind) {
    case Mark::Kind::None:
      return "none";
    case Mark::Kind::StepInput:
      return "step_input";
    case Mark::Kind::InitialState:
      return "initial_state";
    case Mark::Kind::State:
      return "state";
    case Mark::Kind::Weight:
      return "weight";
    case Mark::Kind::OutputLayer:
      return "output_layer";
    case Mark::Kind::Derivative:
      return "derivative";
  }
  return "?";
}

std::string_view to_string(NodeKind kind) {
  switch (kind) {
    case NodeKind::Input:
      return "input";
    case NodeKind::Parameter:
      return "parameter";
    case NodeKind::Constant:
      return "constant";
    case NodeKind::Op:
      return "op";
  }
  return "?";
}

// ---- Value ----------------------------------------------------------------------------------

Graph& Value::graph() const {
  if (!graph_) throw GraphError("an empty Value was used");
  return *graph_;
}
const Node& Value::node() const { return graph().node(id_); }
Shape Value::shape() const { return node().shape; }

// ---- Graph ----------------------------------------------------------------------------------

void Graph::check_unique(std::string_view name) const {
  if (name.empty()) throw GraphError("inputs, parameters and constants need a name");
  if (contains(name)) throw GraphError(fmt::format("a node named '{}' exists already", name));
}

void Graph::reserve(std::size_t n) {
  nodes_.reserve(n);
  by_name_.reserve(n);
}

Node& Graph::append(Node node) {
  node.id = int(nodes_.size());
  node.scope = placement_.scope;
  node.step = placement_.step;
  node.layer = placement_.layer;
  node.backward = placement_.backward;
  node.reverse = placement_.reverse;
  by_name_.emplace(node.name, node.id);
  nodes_.push_back(std::move(node));
  return nodes_.back();
}

Value Graph::input(std::string name, Shape shape) {
  check_unique(name);
  Node n{.kind = NodeKind::Input, .name = std::move(name), .shape = shape};
  return Value(*this, append(std::move(n)).id);
}

Value Graph::parameter(std::string name, Shape shape, Init init) {
  check_unique(name);
  Tensor value(shape);
  init.apply(value);
  Node n{.kind = NodeKind::Parameter,
         .name = std::move(name),
         .shape = shape,
         .init = init,
         .value = value};
  return Value(*this, append(std::move(n)).id);
}

Value Graph::constant(std::string name, Tensor value) {
  check_unique(name);
  if (value.empty()) throw GraphError(fmt::format("constant '{}' has no data", name));
  Node n{
      .kind = NodeKind::Constant, .name = std::move(name), .shape = value.shape(), .value = value};
  return Value(*this, append(std::move(n)).id);
}

std::string Graph::fresh_name(std::string_view prefix) const {
  // Made for every op node: built by hand, as fmt::format showed in the profile of long graphs.
  std::string name(prefix);
  name += '_';
  name += std::to_string(nodes_.size());
  // Taken only when a copied graph kept a name from its source: count on until one is free.
  for (int k = 1; contains(name); ++k) name = fmt::format("{}_{}_{}", prefix, nodes_.size(), k);
  return name;
}

Value Graph::scalar(float v) { return constant(fresh_name("const"), Tensor({1}, {v})); }

Value Graph::apply(const Op& op, std::span<const Value> inputs, Attrs attrs) {
  std::vector<int> ids;
  std::vector<Shape> shapes;
  for (const Value& v : inputs) {
    if (&v.graph() != this)
      throw GraphError(fmt::format("{}: an input belongs to another graph", op.name()));
    ids.push_back(v.id());
    shapes.push_back(v.shape());
  }
  const std::string name = fresh_name(op.name());
  Shape shape;
  try {
    shape = op.infer(shapes, attrs);
  } catch (const ShapeError& e) {
    std::string args;
    for (const Value& v : inputs)
      args += fmt::format("{}'{}' {}", args.empty() ? "" : ", ", v.node().path(), v.shape().str());
    const std::string where = placement_.scope.empty() ? name : placement_.scope + "/" + name;
    throw ShapeError(fmt::format("{} ({}) of {}: {}", where, op.name(), args, e.what()));
  }
  Node n{.kind = NodeKind::Op,
         .op = &op,
         .name = name,
         .inputs = std::move(ids),
         .attrs = std::move(attrs),
         .shape = shape};
  return Value(*this, append(std::move(n)).id);
}

void Graph::output(std::string name, const Value& value) {
  if (&value.graph() != this)
    throw GraphError(fmt::format("output '{}' belongs to another graph", name));
  for (auto& [existing, id] : outputs_)
    if (existing == name) throw GraphError(fmt::format("output '{}' is declared twice", name));
  outputs_.emplace_back(std::move(name), value.id());
}

Graph::ScopeGuard::~ScopeGuard() {
  if (graph_) graph_->placement_ = std::move(saved_);
}

Graph::ScopeGuard Graph::scope(std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos)
    throw GraphError(fmt::format("scope name '{}' must be non-empty and have no '/'", name));
  ScopeGuard guard(*this, placement_);
  if (!placement_.scope.empty()) placement_.scope += '/';
  placement_.scope += name;
  return guard;
}

Graph::ScopeGuard Graph::scope(std::string_view name, int64_t index) {
  return scope(fmt::format("{}{}", name, index));
}

// The scope "<name><index>", with the index also recorded in the placement's `field`.
Graph::ScopeGuard Graph::indexed_scope(std::string_view name, int64_t index,
                                       int Placement::*field) {
  if (index < 0 || index > std::numeric_limits<int>::max())
    throw GraphError(fmt::format("{} {} is out of range", name, index));
  ScopeGuard guard = scope(name, index);
  placement_.*field = int(index);
  return guard;
}

Graph::ScopeGuard Graph::step(int64_t t) { return indexed_scope("step", t, &Placement::step); }
Graph::ScopeGuard Graph::layer(int64_t k) { return indexed_scope("layer", k, &Placement::layer); }

Graph::ScopeGuard Graph::reverse() {
  ScopeGuard guard = scope("reverse");
  placement_.reverse = true;
  return guard;
}

void Graph::mark(const Value& value, Mark mark) {
  if (&value.graph() != this) throw GraphError("mark: the value belongs to another graph");
  nodes_[std::size_t(value.id())].mark = std::move(mark);
}

Graph::ScopeGuard Graph::place(Placement placement) {
  ScopeGuard guard(*this, std::exchange(placement_, std::move(placement)));
  return guard;
}

Value Graph::add(const NodeSpec& spec, std::span<const Value> inputs) {
  const Value v = add_unmarked(spec, inputs);
  if (spec.mark) nodes_[std::size_t(v.id())].mark = spec.mark;
  return v;
}

Value Graph::add_unmarked(const NodeSpec& spec, std::span<const Value> inputs) {
  auto guard = place(spec.placement);
  if (spec.kind != NodeKind::Op && !inputs.empty())
    throw GraphError(fmt::format("{} '{}' takes no inputs", to_string(spec.kind), spec.name));
  switch (spec.kind) {
    case NodeKind::Input:
      return input(spec.name, spec.shape);
    case NodeKind::Constant:  // a constant's name is only a label: a taken one is replaced
      return constant(contains(spec.name) ? fresh_name("const") : spec.name, spec.value);
    case NodeKind::Parameter: {
      if (spec.value.empty()) return parameter(spec.name, spec.shape, spec.init);
      if (!(spec.value.shape() == spec.shape))
        throw ShapeError(fmt::format("parameter '{}' is {} but its data is {}", spec.name,
                                     spec.shape.str(), spec.value.shape().str()));
      check_unique(spec.name);
      Node n{.kind = NodeKind::Parameter,
             .name = spec.name,
             .shape = spec.shape,
             .init = spec.init,
             .value = spec.value};
      return Value(*this, append(std::move(n)).id);
    }
    case NodeKind::Op:
      break;
  }
  if (!spec.op) throw GraphError(fmt::format("op node '{}' has no op", spec.name));
  const Value v = apply(*spec.op, inputs, spec.attrs);
  if (spec.shape.rank() != 0 && !(v.shape() == spec.shape))
    throw ShapeError(fmt::format("{} ({}): the description says {}, the op gives {}",
                                 v.node().path(), spec.op->name(), spec.shape.str(),
                                 v.shape().str()));
  // Keep a meaningful name ("logits") when it is free; generated names follow the new id.
  const std::string_view op = spec.op->name();
  const bool generated =
      spec.name.size() > op.size() && spec.name.starts_with(op) && spec.name[op.size()] == '_';
  if (!spec.name.empty() && !generated && spec.name != v.node().name && !contains(spec.name)) {
    Node& n = nodes_[v.id()];
    by_name_.erase(n.name);
    n.name = spec.name;
    by_name_.emplace(n.name, n.id);
  }
  return v;
}

const Node& Graph::node(int id) const {
  if (id < 0 || id >= int(nodes_.size())) throw GraphError(fmt::format("no node with id {}", id));
  return nodes_[id];
}

bool Graph::contains(std::string_view name) const { return by_name_.find(name) != by_name_.end(); }

const Node& Graph::find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw GraphError(fmt::format("the graph has no node named '{}'", name));
  return nodes_[it->second];
}

const Tensor& Graph::param(std::string_view name) const {
  const Node& n = find(name);
  if (n.kind != NodeKind::Parameter) throw GraphError(fmt::format("'{}' is not a parameter", name));
  return n.value;
}

void Graph::share_parameter(std::string_view name, const Tensor& value) {
  const Node& n = find(name);
  if (n.kind != NodeKind::Parameter) throw GraphError(fmt::format("'{}' is not a parameter", name));
  if (!(n.shape == value.shape()))
    throw GraphError(fmt::format("parameter '{}' is {}, the tensor given for it {}", name,
                                 n.shape.str(), value.shape().str()));
  nodes_[std::size_t(n.id)].value = value;
}

int Graph::output_id(std::string_view name) const {
  for (const auto& [key, id] : outputs_)
    if (key == name) return id;
  return -1;
}

std::vector<char> Graph::ancestors(std::span<const int> ids) const {
  std::vector<char> marked(nodes_.size(), 0);
  for (int id : ids) marked[std::size_t(id)] = 1;
  for (int id = int(nodes_.size()) - 1; id >= 0; --id)  // node order is a topological order
    if (marked[std::size_t(id)])
      for (int in : nodes_[std::size_t(id)].inputs) marked[std::size_t(in)] = 1;
  return marked;
}

std::vector<int> Graph::parameters() const {
  std::vector<int> ids;
  for (const Node& n : nodes_)
    if (n.kind == NodeKind::Parameter) ids.push_back(n.id);
  return ids;
}

}  // namespace rnngraph

namespace rnngraph {

Value Op::assemble_rows(Graph& g, const Shape& input,
                        const std::map<int64_t, Value>& blocks) const {
  (void)g, (void)blocks;
  throw GraphError(
      fmt::format("op {} hands its gradient back as rows of its input {} but does "
                  "not assemble them (Op::assemble_rows)",
                  name(), input.str()));
}

}  // namespace rnngraph
