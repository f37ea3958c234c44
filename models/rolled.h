// Inference without unrolling: what models::Model::run does. Each layer and direction's cell step
// is built once (for a batch size), optimized by the graph passes and planned once; a run of
// any length executes that one plan T times. What the step computes from x_t alone (the input
// products, and weights packed or merged by the passes) is hoisted out of the loop: what depends
// on x for a chunk of steps at a time in one plan of its own, as one large product; what depends
// on the weights alone (merged, packed or quantized weights) once, in another, kept between runs
// until the weights may have changed. So a
// length not seen before costs no graph and no plan, and the working memory does not grow with
// T.
//
// Training, gradients and diagrams keep the unrolled graph (models::build): backward needs every
// step's values, and the views draw the steps.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/models/model.h>

namespace rnngraph::models {

// The step graphs of every layer and direction for one batch size, optimized, split into the
// part hoisted out of the loop and the recurrent part, and planned: immutable after
// construction (but for the hoisted part's plans, made per chunk size under a lock), shared by
// every RolledRun of one model and batch.
class RolledPlan {
 public:
  // Builds and optimizes the step graphs on `weights` (shared, not copied); plan() plans them.
  // `chunk_bytes` bounds the hoisted values of a chunk of steps (0: this core's L2 cache).
  RolledPlan(const Config& config, const io::TensorMap& weights, int64_t batch,
             std::size_t chunk_bytes = 0);
  ~RolledPlan();
  void plan();

  // How many steps the hoisted part computes at once for a sequence of `steps`: chunks of equal
  // size (the last one padded), so one hoisted plan serves the whole sequence, each at most
  // max_hoisted_steps() long, with the fewest padded steps that chunks longer than half that
  // allow.
  int64_t hoisted_steps(int64_t steps) const;
  // At most kMaxHoistedSteps, and as many as keep the values one chunk hoists for a layer (x's
  // products, [steps·B, 4H] for an LSTM) within chunk_bytes, so that the loop reads each step's
  // rows from the cache they were written to, not from memory: the large LSTM (B = 64, H = 512,
  // 512 KiB a step) ran 6–12% faster in chunks of 4 steps than of 50 on a 2 MiB L2 (int8 9%,
  // bf16 17%). Set by plan().
  int64_t max_hoisted_steps() const { return max_hoisted_steps_; }
  static constexpr int64_t kMaxHoistedSteps = 64;

  struct Layer;  // one layer and direction
  const Config& config() const { return config_; }
  const io::TensorMap& weights() const { return weights_; }
  int64_t batch() const { return batch_; }
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  // The hoisted part of layer `at` that depends on x, planned for `rows` rows of x (a chunk of
  // steps times B), and what feeds each of its inputs, in the plan's order: -1 x, j >= 0 the
  // static plan's output j.
  struct Hoisted {
    std::shared_ptr<const Plan> plan;
    std::vector<int> sources;
  };
  Hoisted hoisted(std::size_t at, int64_t rows) const;
  // Nodes of all step graphs: what diagrams would draw once.
  std::size_t nodes() const;

 private:
  Config config_;
  io::TensorMap weights_;  // shared with the model
  int64_t batch_;
  std::size_t chunk_bytes_;
  int64_t max_hoisted_steps_ = kMaxHoistedSteps;
  std::vector<std::unique_ptr<Layer>> layers_;
};

// One layer and direction: its optimized step graph, the part of it that needs no state (the
// hoisted part, rebuilt for any number of rows), and the recurrent rest, planned.
struct RolledPlan::Layer {
  int64_t layer = 0;
  bool reverse = false;
  int64_t input = 0;  // x_t's width
  std::vector<StateVariable> state;
  std::unique_ptr<Graph> step;     // the step graph after the passes
  std::vector<int> hoisted_nodes;  // its nodes computed before the loop, in order
  std::vector<int> row_nodes;      // those that depend on x: the chunk plan's
  std::vector<int> frontier;       // hoisted nodes the loop reads: input "hoisted<i>"
  std::vector<char> per_row;       // frontier i depends on x (rows of a chunk), else static
  // Where frontier i is: the static plan's output (static), or the chunk plan's (per row).
  std::vector<int> frontier_at;
  // The static part: hoisted nodes that read no x, once per state of the weights; its outputs are
  // those the loop or the chunk plan reads. None when nothing is static.
  std::vector<int> static_outputs;
  std::shared_ptr<const Plan> static_plan;
  std::unique_ptr<Graph> recurrent;  // the loop's graph: x_t, hoisted<i>, state → next state
  std::shared_ptr<const Plan> recurrent_plan;
  // What feeds each of the recurrent plan's inputs, in its order: -1 x_t, -2 - j state j,
  // i >= 0 frontier i.
  std::vector<int> bindings;

  mutable std::mutex mutex;  // the hoisted plans (owning their graphs), per row count, the last 4
  mutable std::list<std::pair<int64_t, Hoisted>> hoisted_plans;
};

// One thread's buffers and executors for a RolledPlan: runs feeds of any length T.
class RolledRun {
 public:
  explicit RolledRun(std::shared_ptr<const RolledPlan> plan);
  ~RolledRun();
  // feeds: "x" [T, B, I] (or "tokens" [T, B]) and every state variable's "<s>0" [L·D, B, size];
  // `mask` [T, B, 1] (1 within a sample's length) or empty. Results: "y" and "<s>_n", valid
  // until the next run. `weights_version` names the state of the weights: what is made from
  // them alone (merged, packed or quantized weights) is made again only when it differs from
  // the last run's.
  const Results& run(const Feeds& feeds, const Tensor& mask, uint64_t weights_version);
  void check_numerics(bool on);
  const RolledPlan& plan() const { return *plan_; }
  // The memory a run works in beside its feeds and y: the plans' arenas (the hoisted chunk's
  // values among them), the carried state and the buffers between layers.
  std::size_t working_bytes() const;

 private:
  struct Buffers;
  std::shared_ptr<const RolledPlan> plan_;
  std::unique_ptr<Buffers> buffers_;
  bool check_numerics_ = false;
  Results results_;
  std::optional<uint64_t> statics_version_;  // of the weights the layers' statics were made from
};

}  // namespace rnngraph::models
