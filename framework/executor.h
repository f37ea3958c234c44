// Plan once, run many times. The Plan fixes the order of the ops, the last use of every value
// and the offset of every intermediate in one arena (best-fit reuse, in the spirit of
// ggml-alloc); an Executor owns one arena and runs the plan with no allocation per run.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rnngraph/framework/graph.h>

namespace rnngraph {

// Input tensors by input name. Fed tensors are read in place, never copied.
using Feeds = std::map<std::string, Tensor, std::less<>>;

struct PlanOptions {
  // Reuse arena buffers whose values are dead (the default). Off, every value gets its own
  // buffer: a reference for testing the planner, and a way to inspect every intermediate.
  bool reuse_memory = true;
  // Plan the graph optimized by the installed optimizer (the library's passes::optimize,
  // framework/passes/passes.h) instead of the graph itself: the same outputs, computed with fused
  // cells and fewer, larger products. plan.graph() is then the optimized graph, which shares the
  // parameters. Off for a graph optimized already (as passes::training_graph makes), or to
  // inspect the graph as built.
  bool optimize = true;
};

// What PlanOptions::optimize applies. The executor knows no pass and no cell: the passes, which
// name ops, install passes::optimize when the library loads (framework/passes/optimize.cpp);
// nullptr plans graphs as built.
using GraphOptimizer = std::unique_ptr<Graph> (*)(const Graph&);
void install_graph_optimizer(GraphOptimizer optimizer);

// A plan describes the graph as it was when planned: nodes appended later (grad() appends the
// backward graph to the same graph) are not part of it, and running it stays correct. Plan the
// graph again to compute the new outputs.
class Plan {
 public:
  // Plans the computation of `outputs` (names given to Graph::output; all of them when empty).
  // Nodes the outputs do not need are never run.
  explicit Plan(const Graph& graph, std::span<const std::string> outputs = {},
                PlanOptions options = {});

  const Graph& graph() const { return *graph_; }
  // Op nodes that compute something, in execution order (views are resolved, not run). (Not
  // "steps": a step is a time step of a model.)
  const std::vector<int>& schedule() const { return schedule_; }
  const std::vector<std::pair<std::string, int>>& outputs() const { return outputs_; }
  const std::vector<int>& inputs() const { return inputs_; }  // input nodes the outputs need
  const std::vector<int>& views() const { return views_; }    // nodes that alias another's data
  std::size_t arena_bytes() const { return arena_bytes_; }
  // How many of the graph's nodes existed when it was planned (ids below this).
  int node_count() const { return int(slots_.size()); }

  // Where a node's data lives.
  enum class Home { Unused, Feed, Persistent, Arena, View };
  struct Slot {
    Home home = Home::Unused;
    std::size_t offset = 0;  // Arena: byte offset
    int base = -1;           // View: the node it is a window of
    int64_t elements = 0;    // View: offset in elements into base
  };
  // GraphError for an id the plan does not know (a node appended after planning).
  const Slot& slot(int id) const;
  // Whether node id's op writes all of its value into an arena slot that is its alone: not a
  // whole assembled from parts computed into it, nor a part of one (so the executor can compute
  // it into other memory instead).
  bool owns_slot(int id) const { return slot(id).home == Home::Arena && owns_slot_[id]; }

 private:
  const Graph* graph_;
  std::shared_ptr<const Graph> optimized_;  // owned when planned with options.optimize
  std::vector<int> schedule_;
  std::vector<int> inputs_;
  std::vector<int> views_;
  std::vector<std::pair<std::string, int>> outputs_;
  std::vector<Slot> slots_;
  std::vector<char> owns_slot_;  // per node: see owns_slot
  std::size_t arena_bytes_ = 0;
};

// Named results of a run: views into the executor's arena (or parameters, or feeds), valid until
// the next run. clone() a tensor to keep it longer.
class Results {
 public:
  const Tensor& operator[](std::string_view name) const;
  // Sets (or adds) a result: for runs assembled from several plans (models::Model's step loop).
  void set(std::string_view name, const Tensor& tensor);
  std::size_t size() const { return items_.size(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  friend class Executor;
  std::vector<std::pair<std::string, Tensor>> items_;
};

class Executor {
 public:
  explicit Executor(const Graph& graph, std::span<const std::string> outputs = {},
                    PlanOptions options = {});
  explicit Executor(std::shared_ptr<const Plan> plan);

  // Checks the feeds (GraphError for a missing or unknown one, ShapeError for a wrong shape),
  // then runs every step.
  const Results& run(const Feeds& feeds);
  const Results& operator()(const Feeds& feeds) { return run(feeds); }
  // The same for a loop that feeds one plan many times (models::Model runs a cell's step graph
  // once per time step): the inputs in the order of plan().inputs(), no names looked up, their
  // shapes checked (ShapeError).
  const Results& run_positional(std::span<const Tensor> inputs);
  // The same, with output i (plan().outputs()'s order) computed straight into `into[i]` where
  // that is not empty: the caller's memory, of the output's shape, for a loop that collects one
  // result a step (models::Model writes each h_t into its y so, not copying it there). Only an
  // output with an arena slot of its own can (writes_into_arena); GraphError for another, and
  // ShapeError for a tensor of another shape. The memory must not overlap the inputs' (kernels
  // never write over what they read). The next run computes the output in the arena again
  // unless it is redirected again (a node given as two outputs goes with either).
  const Results& run_positional(std::span<const Tensor> inputs, std::span<const Tensor> into);
  // Whether output i is computed into an arena slot of its own (Plan::owns_slot: not a feed, a
  // parameter, a window of another node's data or an assembled whole), so that run_positional
  // can redirect it.
  bool writes_into_arena(std::size_t output) const;

  const Plan& plan() const { return *plan_; }
  std::size_t arena_bytes() const { return plan_->arena_bytes(); }

  // Off by default. On, every op's result is scanned after it runs, and the first that holds a
  // NaN or an infinity stops the run with a NumericError naming the node, its op, its step and
  // layer, and the range of each of its inputs (one pass over every result: a debugging aid).
  void check_numerics(bool on) { check_numerics_ = on; }

 private:
  void bind_feeds(const Feeds& feeds);
  void bind_views();
  const Results& run_schedule();
  Tensor arena_tensor(int id) const;  // node id's place in the arena
  void restore_redirected();          // the outputs redirected by the last run: in the arena again
  [[noreturn]] void report_non_finite(const Node& node) const;

  std::shared_ptr<const Plan> plan_;
  std::shared_ptr<float> arena_;  // memory::allocate: counted against the memory limit
  bool check_numerics_ = false;
  std::vector<Tensor> tensors_;  // per node: where its value is during a run
  std::vector<Tensor> args_;     // scratch: the current step's inputs
  std::vector<int> redirected_;  // outputs the last run wrote into the caller's memory
  Results results_;
};

}  // namespace rnngraph
