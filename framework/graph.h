// Graph, Node, Value: the builder API. Nodes are appended in order, so the node list is already a
// topological order; every op node's shape is inferred (and checked) when it is created.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <rnngraph/framework/op.h>
#include <rnngraph/framework/tensor.h>

namespace rnngraph {

// How a parameter is initialised. Seeded and implemented here (not with <random>'s
// distributions, whose output differs between standard libraries), so a seed gives the same
// weights everywhere.
struct Init {
  enum class Kind { Zeros, Constant, Uniform, Normal, Xavier };
  Kind kind = Kind::Zeros;
  float a = 0, b = 0;  // Constant: value; Uniform: [a, b); Normal: mean a, stddev b
  uint64_t seed = 0;

  void apply(const Tensor& t) const;
  // A new tensor of `shape`, filled by this initialiser (random inputs for tests and demos).
  Tensor tensor(const Shape& shape) const {
    Tensor t(shape);
    apply(t);
    return t;
  }
};

namespace init {
inline Init zeros() { return {}; }
inline Init constant(float v) { return {Init::Kind::Constant, v, 0, 0}; }
inline Init uniform(float lo, float hi, uint64_t seed) {
  return {Init::Kind::Uniform, lo, hi, seed};
}
inline Init normal(float mean, float stddev, uint64_t seed) {
  return {Init::Kind::Normal, mean, stddev, seed};
}
// Glorot/Xavier uniform: U(-sqrt(6 / (fan_in + fan_out)), +...), fans from the first and last axis.
inline Init xavier(uint64_t seed) { return {Init::Kind::Xavier, 0, 0, seed}; }
}  // namespace init

enum class NodeKind { Input, Parameter, Constant, Op };
std::string_view to_string(NodeKind kind);

// Where a node sits in the model: what diagrams and passes read (never the scope string).
struct Placement {
  std::string scope;      // such as "step3/layer0"; groups nodes in diagrams
  int step = -1;          // the time step the node computes, -1 outside every step
  int layer = -1;         // the stacked layer, -1 outside every layer
  bool backward = false;  // made by grad(): part of the backward graph
  bool reverse = false;   // in a layer's right-to-left direction (a bidirectional model)
  bool operator==(const Placement&) const = default;
};

// What a node is to the recurrence it belongs to. The code that builds the steps records it
// (models::build marks every cell's x_t, state and weights), and diagrams read it instead of
// guessing roles from names, shapes or op patterns. Hand-built graphs may mark theirs
// (Graph::mark); rewrites and graph files keep marks.
struct Mark {
  enum class Kind : uint8_t {
    None,
    StepInput,     // x_t: what a step of the first layer reads
    InitialState,  // a state's value before step 0 (h0, or its window h0[k])
    State,         // a state's value after a step, what the next step reads
    Weight,        // a cell's parameter, shared by every step
    OutputLayer,   // a parameter of the layer that maps the hidden states to the outputs y
    Derivative,    // made by grad() in an op's vjp: role its op ("tanh"), label its node
  };
  Kind kind = Kind::None;
  std::string role;   // states: the variable's name ("h", "c"); weights: the role ("W_f")
  int slot = 0;       // states: the variable's position in the cell's state; 0 is handed up
  std::string label;  // what diagrams call it: a state's cell ("LSTM"), a weight's role
                      // ("forget gate"); empty: nothing beyond the role
  explicit operator bool() const { return kind != Kind::None; }
  bool operator==(const Mark&) const = default;
};
std::string_view to_string(Mark::Kind kind);

struct Node {
  int id = -1;
  NodeKind kind = NodeKind::Op;
  const Op* op = nullptr;  // only for NodeKind::Op
  std::string name;        // unique in the graph
  std::string scope;       // such as "step3/layer0"; groups nodes in diagrams
  int step = -1;           // see Placement
  int layer = -1;
  bool backward = false;
  bool reverse = false;
  Mark mark;
  std::vector<int> inputs;
  Attrs attrs;
  Shape shape;
  Init init;     // parameters
  Tensor value;  // parameters and constants: persistent data, shared with every executor

  // "scope/name", or the name alone at top level.
  std::string path() const { return scope.empty() ? name : scope + "/" + name; }
  Placement placement() const { return {scope, step, layer, backward, reverse}; }
  // An op node of this op (what passes match on).
  bool is(const Op& o) const { return kind == NodeKind::Op && op == &o; }
};

// Everything needed to recreate a node in another graph: how graph files are loaded and how
// rewrites copy a graph (Graph::add). Inputs are given separately, as Values of the new graph.
struct NodeSpec {
  NodeKind kind = NodeKind::Op;
  const Op* op = nullptr;
  std::string name;  // ops: kept when free, else the usual "<op>_<id>"
  Placement placement;
  Attrs attrs;
  Shape shape;  // inputs and parameters: their shape; ops: checked against the shape rule
  Init init;
  Tensor value;  // parameters: shared (not copied) when set, else `init` fills a new tensor
  Mark mark;

  static NodeSpec of(const Node& n) {
    return {n.kind, n.op, n.name, n.placement(), n.attrs, n.shape, n.init, n.value, n.mark};
  }
};

class Graph;

// A handle to one node's output. Cheap to copy; valid while its Graph lives.
class Value {
 public:
  Value() = default;
  Value(Graph& g, int id) : graph_(&g), id_(id) {}

  explicit operator bool() const { return graph_ != nullptr; }
  Graph& graph() const;
  int id() const { return id_; }
  // Valid until the graph's next append (see Graph::node): hold the Value, not the Node.
  const Node& node() const;
  // A copy: a reference into the node storage would dangle once an expression such as
  // sum_to(a * b, x.shape()) appends a node before the reference is read.
  Shape shape() const;
  // x[t]: select index t on the first axis (a view, no copy).
  Value operator[](int64_t t) const;
  bool operator==(const Value&) const = default;

 private:
  Graph* graph_ = nullptr;
  int id_ = -1;
};

// What an op's vjp is given: copies, never references into the graph's node storage, because the
// vjp appends nodes and appending may move every node (see Graph::node).
struct VjpArgs {
  std::vector<Value> inputs;  // the forward node's inputs
  Value output;               // the forward node itself (tanh's vjp reads y)
  Value grad;                 // ∂loss/∂output, the shape of output
  Attrs attrs;                // the forward node's attributes
};

class Graph {
 public:
  Graph() = default;
  // Values point at their graph, so a graph stays where it was built.
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  Value input(std::string name, Shape shape);
  Value parameter(std::string name, Shape shape, Init init = init::zeros());
  Value constant(std::string name, Tensor value);
  Value scalar(float value);  // an unnamed [1] constant, for expressions like 1 - z

  // Appends an op node; its shape rule runs now. A mismatch throws ShapeError naming the op, the
  // node, its inputs and their shapes.
  Value apply(const Op& op, std::span<const Value> inputs, Attrs attrs = {});
  Value apply(const Op& op, std::initializer_list<Value> inputs, Attrs attrs = {}) {
    return apply(op, std::span<const Value>(inputs.begin(), inputs.size()), std::move(attrs));
  }

  // Recreates a node from its description (see NodeSpec) on `inputs`, at the spec's placement.
  Value add(const NodeSpec& spec, std::span<const Value> inputs = {});

  // Marks a value as a result of the graph, returned by every run under `name`.
  void output(std::string name, const Value& value);
  // Records what a value is to the recurrence (see Mark), replacing any earlier mark.
  void mark(const Value& value, Mark mark);

  // Opens a naming scope until the guard is destroyed: nodes made meanwhile get scope
  // "outer/name" (or "outer/name<index>" with an index), which diagrams draw as clusters.
  // step(t) and layer(k) open the scopes "step<t>" and "layer<k>" and also record t and k in the
  // nodes' placement, which is what diagrams and passes read. The guard restores the placement
  // it found.
  class ScopeGuard {
   public:
    ScopeGuard(Graph& g, Placement saved) : graph_(&g), saved_(std::move(saved)) {}
    ScopeGuard(ScopeGuard&& other) noexcept
        : graph_(std::exchange(other.graph_, nullptr)), saved_(std::move(other.saved_)) {}
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;
    ~ScopeGuard();

   private:
    Graph* graph_;
    Placement saved_;
  };
  [[nodiscard]] ScopeGuard scope(std::string_view name);
  [[nodiscard]] ScopeGuard scope(std::string_view name, int64_t index);
  [[nodiscard]] ScopeGuard step(int64_t t);
  [[nodiscard]] ScopeGuard layer(int64_t k);
  // The scope "reverse", with Placement::reverse set: a layer's right-to-left direction.
  [[nodiscard]] ScopeGuard reverse();
  // Places the nodes made until the guard is destroyed exactly at `placement` (grad() puts each
  // backward node beside the forward node it mirrors).
  [[nodiscard]] ScopeGuard place(Placement placement);
  const std::string& current_scope() const { return placement_.scope; }

  std::span<const Node> nodes() const { return nodes_; }
  // Room for n nodes, so a graph built to a known size (a rewrite) never regrows.
  void reserve(std::size_t n);
  // The rule for references: appending a node may move every node, so a `const Node&` is valid
  // only until the next append. Code that appends (vjps, rewrites) holds ids or Values instead.
  const Node& node(int id) const;
  std::size_t size() const { return nodes_.size(); }
  const std::vector<std::pair<std::string, int>>& outputs() const { return outputs_; }

  // Lookup by name; GraphError when absent.
  const Node& find(std::string_view name) const;
  bool contains(std::string_view name) const;
  // A parameter's persistent tensor: write into it to load weights.
  const Tensor& param(std::string_view name) const;
  // Makes parameter `name` use `value`'s storage (not a copy): graphs unrolled for several
  // shapes then share one set of weights. Call before planning. GraphError for another shape.
  void share_parameter(std::string_view name, const Tensor& value);
  std::vector<int> parameters() const;  // ids, in creation order
  // The id of the output declared as `name`, or -1.
  int output_id(std::string_view name) const;
  // Marks (1) the nodes that `ids` depend on, `ids` included: what computing them needs.
  std::vector<char> ancestors(std::span<const int> ids) const;
  // A name no node has: "<prefix>_<next id>", with a further counter when a copied graph
  // already holds that one.
  std::string fresh_name(std::string_view prefix) const;

 private:
  Node& append(Node node);
  Value add_unmarked(const NodeSpec& spec, std::span<const Value> inputs);
  ScopeGuard indexed_scope(std::string_view name, int64_t index, int Placement::*field);
  void check_unique(std::string_view name) const;

  std::vector<Node> nodes_;
  std::vector<std::pair<std::string, int>> outputs_;
  // Hashed, with lookup by string_view (no allocation): a 10,000-step model has 250,000 names.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int, NameHash, std::equal_to<>> by_name_;
  Placement placement_;
};

// Elementwise arithmetic with broadcasting (see ops/add.cpp and friends); scalars become [1]
// constants.
Value operator+(const Value& a, const Value& b);
Value operator-(const Value& a, const Value& b);
Value operator*(const Value& a, const Value& b);
Value operator/(const Value& a, const Value& b);
Value operator+(const Value& a, float b);
Value operator-(float a, const Value& b);
Value operator-(const Value& a, float b);
Value operator*(float a, const Value& b);
Value operator*(const Value& a, float b);

}  // namespace rnngraph
