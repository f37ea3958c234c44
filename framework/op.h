// The interface every op implements, one op per file under ops/ (DyNet/Marian style): a name,
// a shape rule, a forward kernel, a vector-Jacobian product written with graph ops (so backward
// is itself a graph), and a colour for diagrams.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rnngraph/framework/tensor.h>

namespace rnngraph {

class Graph;
class Value;
struct Node;
struct VjpArgs;  // framework/graph.h

// Attributes of a node: integers (axis, transpose flags, ranges), floats (scales) and integer
// lists (target shapes). Ordered, so files and diagrams print them deterministically.
struct Attrs {
  std::map<std::string, int64_t, std::less<>> ints;
  std::map<std::string, double, std::less<>> floats;
  std::map<std::string, std::vector<int64_t>, std::less<>> lists;

  Attrs() = default;
  Attrs(std::initializer_list<std::pair<const std::string, int64_t>> items) : ints(items) {}
  int64_t get(std::string_view key, int64_t fallback) const {
    auto it = ints.find(key);
    return it == ints.end() ? fallback : it->second;
  }
  double get_float(std::string_view key, double fallback) const {
    auto it = floats.find(key);
    return it == floats.end() ? fallback : it->second;
  }
  // An empty list when absent.
  std::span<const int64_t> get_list(std::string_view key) const {
    auto it = lists.find(key);
    return it == lists.end() ? std::span<const int64_t>() : std::span<const int64_t>(it->second);
  }
  bool operator==(const Attrs&) const = default;
};

class Op {
 public:
  virtual ~Op() = default;
  virtual std::string_view name() const = 0;

  // The output shape, or ShapeError describing the mismatch; Graph prefixes the node's name,
  // scope and input names, so the rule only speaks of shapes.
  virtual Shape infer(std::span<const Shape> in, const Attrs& attrs) const = 0;

  // Writes the result into `out`, whose shape is infer()'s. `out` may hold stale data and never
  // aliases an input.
  virtual void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const = 0;

  // Gradients with respect to each input (one per input, each of that input's shape), built as
  // graph nodes from the output's gradient; an empty Value means "no gradient flows to this
  // input" (class ids, for instance).
  virtual std::vector<Value> vjp(const VjpArgs& args) const = 0;

  // When the output is a contiguous window of input 0, its offset in elements: the executor then
  // aliases it instead of copying (x[t] costs nothing).
  virtual std::optional<int64_t> view_offset(std::span<const Shape> in, const Attrs& attrs) const {
    (void)in, (void)attrs;
    return std::nullopt;
  }

  // True when the output is the inputs' data laid end to end, in order (stack; concat along the
  // first axis). The planner may then have each input written straight into its place in the
  // output, and the op itself never runs.
  virtual bool lays_inputs_end_to_end(const Attrs& attrs) const {
    (void)attrs;
    return false;
  }

  // Backward hooks for ops whose output is a block of input 0's rows (select: row t; slice on
  // the first axis: rows [begin, end), such as a chunk of steps or a weight's rows). When
  // rows_of_input() gives the block's first row, grad() does not call vjp(): it keeps the
  // gradient as that block of input 0's, and once every reader of that input has been visited,
  // assemble_rows() makes the input's gradient from the blocks in one node (rows no block
  // covers are zero), instead of padded copies added together (T² work for T selects). A
  // block's rows are its gradient's elements over a row's. A block that overlaps another, but
  // for one at the same rows (summed), goes through vjp() as usual.
  virtual std::optional<int64_t> rows_of_input(std::span<const Shape> in,
                                               const Attrs& attrs) const {
    (void)in, (void)attrs;
    return std::nullopt;
  }
  // blocks: each block's gradient by its first row.
  virtual Value assemble_rows(Graph& g, const Shape& input,
                              const std::map<int64_t, Value>& blocks) const;

  // Fill colour of the op's nodes in diagrams.
  virtual std::string_view color() const { return "#f2f2f2"; }
};

// The registry of ops: how graph files find the op of a node by name, and what tests walk. The
// ops layer registers its ops when the library loads (ops/registry.cpp); a program may register
// its own. GraphError for a second op of a registered name.
void register_op(const Op& op);
// The op with this name, or nullptr.
const Op* find_op(std::string_view name);
std::vector<const Op*> all_ops();  // in registration order

}  // namespace rnngraph
