// A model that runs on any sequence length and batch: it holds its recipe and one set of
// weights, unrolls a graph for the shape it is fed (T, B, with or without per-sample lengths),
// and keeps the last few planned graphs (a small LRU). Every unrolled graph shares the model's
// weight tensors: nothing is copied per shape, and a weight written through weights() is seen
// by every cached graph.
//
//   models::Model m = models::Model::load("lstm.json");
//   const Results& r = m.run({{"x", x}});                    // any [T, B, I]; h0, c0 zeros
//   const Results& p = m.run({{"x", padded}}, {5, 3, 7});    // lengths, one per sample
//   m.run({{"x", chunk}, {"h0", state["h_n"]}, ...});        // streaming: carry h_n (and c_n)
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <span>
#include <vector>

#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/models/model.h>

namespace rnngraph::models {

class RolledPlan;
class RolledRun;

// Threads. One Model runs on one thread at a time: run() reuses its buffers, and its results
// stay valid until its next run. For several threads, give each a copy: copies share the weights
// and the planned graphs (each shape is built and planned once, under a lock, by whichever copy
// needs it first) and have buffers of their own. Weights written through update() are never
// read half-written: update() waits for the runs in progress on every copy and holds new ones
// back until it returns. (Writing through weights() directly has no such guarantee.)
class Model {
 public:
  // Random weights from config.seed, as build() makes them.
  explicit Model(Config config);
  // The recipe and weights of a model file (a recipe file, or a node-by-node model file with a
  // recipe in its meta). FormatError for a graph file without a recipe.
  static Model load(const std::filesystem::path& path);
  // The same from a file read already (models::load_file); `path` names it in messages.
  static Model from_file(const io::GraphFile& file, const std::string& path);
  // Another handle on the same weights and planned graphs, with buffers of its own: one per
  // thread.
  Model(const Model& other);
  Model& operator=(const Model&) = delete;
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;
  ~Model();
  // Writes a recipe file: the recipe (with `meta`) and the weights (with `extra`).
  void save(const std::filesystem::path& path, const Recipe& meta = {},
            const io::TensorMap& extra = {}) const;

  const Config& config() const { return config_; }
  // By our parameter names; the tensors every unrolled graph reads. A run keeps what it makes
  // from the weights alone (merged, packed or quantized weights) for the runs after it, until
  // the weights may have changed: until weights(), graph() or update() is called. So a write
  // through this map (or a graph's parameters, the same tensors) is seen by the next run when
  // it was asked for after the last run (model.weights().at(..).fill(0)), not through a
  // reference kept from before it.
  const io::TensorMap& weights() const;

  // Writes the weights (an optimizer step, new values) while no copy of this model runs.
  void update(const std::function<void(const io::TensorMap& weights)>& write);

  // Runs on feeds["x"] [T, B, I] (or "tokens" [T, B]) of any T and B; "h0" (and "c0")
  // [L, B, H] default to zeros. With `lengths` (one per sample, 1 ≤ length ≤ T) the batch is
  // padded: see Config::masked. The results stay valid until the next run.
  const Results& run(const Feeds& feeds, std::span<const int64_t> lengths = {});

  // The graph unrolled for T steps and batch B (masked: with the "mask" input), from the cache
  // or built and planned now.
  const Graph& graph(int64_t steps, int64_t batch, bool masked = false);

  // Executor::check_numerics for every run from now on: a NaN or an infinity stops the run with a
  // NumericError naming the op that made it.
  void check_numerics(bool on);

  static constexpr std::size_t kCachedShapes = 4;

 private:
  struct Planned;   // a graph unrolled for one shape and its plan: shared by copies
  struct Shared;    // the planned graphs by shape, and the weights' lock
  struct Unrolled;  // a Planned and this Model's executor for it
  Unrolled& unrolled(int64_t steps, int64_t batch, bool masked);
  // run(): the step graphs planned for a batch size (shared by copies), and this copy's runs.
  std::shared_ptr<const RolledPlan> rolled_plan(int64_t batch);
  RolledRun& rolled(int64_t batch);
  bool model_state_has(std::string_view initial) const;

  Model(Config config, io::TensorMap weights);

  Config config_;
  io::TensorMap weights_;
  std::shared_ptr<Shared> shared_;
  std::list<std::shared_ptr<Unrolled>> cache_;    // most recently used first
  std::list<std::shared_ptr<RolledRun>> rolled_;  // by batch, most recently used first
  bool check_numerics_ = false;
};

// Per-sample lengths as a mask [T, B, 1] (1 where t < length); ShapeError unless there is one
// length per sample, each in 1 ..= T.
Tensor length_mask(std::span<const int64_t> lengths, int64_t steps);
// Lengths from B numbers (an int or float .npy: io::read_npy_numbers): ShapeError unless there
// are B of them, each a whole number in 1 ..= T.
std::vector<int64_t> lengths_from(std::span<const double> values, int64_t batch, int64_t steps);

}  // namespace rnngraph::models
