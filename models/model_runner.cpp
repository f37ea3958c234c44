#include <rnngraph/models/model_runner.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <shared_mutex>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/models/rolled.h>
#include <rnngraph/models/torch_state.h>

namespace rnngraph::models {

struct Model::Planned {
  int64_t steps = 0, batch = 0;
  bool masked = false;
  std::unique_ptr<Graph> graph;
  std::shared_ptr<const Plan> plan;
};

struct Model::Shared {
  std::mutex plans_mutex;
  std::list<std::shared_ptr<const Planned>> plans;      // most recently used first
  std::list<std::shared_ptr<const RolledPlan>> rolled;  // by batch, most recently used first
  std::shared_mutex weights;                            // runs hold it shared, update() exclusively
  // A writer waiting for `weights` holds this, and a run passes through it before taking its
  // shared lock: runs back to back on several copies cannot keep an update() out for ever
  // (glibc's rwlock prefers readers).
  std::mutex turnstile;
  // Bumped whenever the weights may change (weights(), graph(), update()): a RolledRun redoes
  // its weights-only work when the version it did it for is not this one.
  std::atomic<uint64_t> weights_version{0};

  // The graph for a shape, built and planned by the first copy that needs it; a copy asking for
  // it meanwhile waits for it rather than building its own.
  std::shared_ptr<const Planned> plan(const Config& config, const io::TensorMap& weights,
                                      int64_t steps, int64_t batch, bool masked) {
    const std::lock_guard lock(plans_mutex);
    for (auto it = plans.begin(); it != plans.end(); ++it)
      if ((*it)->steps == steps && (*it)->batch == batch && (*it)->masked == masked) {
        plans.splice(plans.begin(), plans, it);
        return plans.front();
      }
    auto p = std::make_shared<Planned>();
    p->steps = steps, p->batch = batch, p->masked = masked;
    p->graph = unroll(config, weights, steps, batch, masked);
    p->plan = std::make_shared<const Plan>(*p->graph);
    plans.push_front(std::move(p));
    if (plans.size() > 2 * kCachedShapes) plans.pop_back();  // copies in use keep theirs alive
    return plans.front();
  }
};

struct Model::Unrolled {
  std::shared_ptr<const Planned> planned;
  std::unique_ptr<Executor> run;
};

std::shared_ptr<const RolledPlan> Model::rolled_plan(int64_t batch) {
  const std::lock_guard lock(shared_->plans_mutex);
  auto& plans = shared_->rolled;
  for (auto it = plans.begin(); it != plans.end(); ++it)
    if ((*it)->batch() == batch) {
      plans.splice(plans.begin(), plans, it);
      return plans.front();
    }
  auto plan = std::make_shared<RolledPlan>(config_, weights_, batch);
  plan->plan();
  plans.push_front(std::move(plan));
  if (plans.size() > 2 * kCachedShapes) plans.pop_back();  // copies in use keep theirs alive
  return plans.front();
}

RolledRun& Model::rolled(int64_t batch) {
  for (auto it = rolled_.begin(); it != rolled_.end(); ++it)
    if ((*it)->plan().batch() == batch) {
      rolled_.splice(rolled_.begin(), rolled_, it);
      return *rolled_.front();
    }
  rolled_.push_front(std::make_shared<RolledRun>(rolled_plan(batch)));
  rolled_.front()->check_numerics(check_numerics_);
  if (rolled_.size() > kCachedShapes) rolled_.pop_back();
  return *rolled_.front();
}

Model::Model(Config config) : config_(std::move(config)), shared_(std::make_shared<Shared>()) {
  config_.masked = false;
  config_.training = false;   // a model runs without dropout
  Config one_step = config_;  // the weights do not depend on the shape: build the smallest
  one_step.steps = one_step.batch = 1;
  Graph g;
  build(g, one_step);
  weights_ = parameters(g);
}

Model::Model(Config config, io::TensorMap weights)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      shared_(std::make_shared<Shared>()) {
  config_.masked = false;
  config_.training = false;  // a model runs without dropout
}

Model::Model(const Model& other)
    : config_(other.config_),
      weights_(other.weights_),  // the same tensors: TensorMap holds shared storage
      shared_(other.shared_),
      check_numerics_(other.check_numerics_) {}

Model::~Model() = default;

const io::TensorMap& Model::weights() const {
  if (shared_) ++shared_->weights_version;  // the caller may write through it (null: moved from)
  return weights_;
}

void Model::update(const std::function<void(const io::TensorMap& weights)>& write) {
  const std::lock_guard turn(shared_->turnstile);
  const std::unique_lock lock(shared_->weights);
  ++shared_->weights_version;  // before: a write that throws half-way has changed them too
  write(weights_);
}

Model Model::load(const std::filesystem::path& path) {
  return from_file(io::read_graph_file(path), path.string());
}

Model Model::from_file(const io::GraphFile& file, const std::string& path) {
  if (!is_model(file))
    throw FormatError(fmt::format(
        "{}: not a model file (no recipe: a hand-built graph runs at its own shape only)", path));
  // The weights by name: a recipe file's tensors, or a node-by-node file's parameters.
  io::TensorMap stored = file.extra;
  if (file.graph)
    for (int id : file.graph->parameters())
      stored.emplace(file.graph->node(id).name, file.graph->node(id).value);
  try {
    const Config config = config_from_file(file);
    return Model(config, recipe_weights(config, stored));
  } catch (const FormatError& e) {
    throw FormatError(fmt::format("{}: {}", path, e.what()));
  }
}

void Model::save(const std::filesystem::path& path, const Recipe& meta,
                 const io::TensorMap& extra) const {
  const std::shared_lock lock(shared_->weights);  // never a half-updated set of weights
  save_file(weights_, config_, path, meta, extra);
}

Model::Unrolled& Model::unrolled(int64_t steps, int64_t batch, bool masked) {
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    const Planned& p = *(*it)->planned;
    if (p.steps == steps && p.batch == batch && p.masked == masked) {
      cache_.splice(cache_.begin(), cache_, it);  // most recently used first
      return *cache_.front();
    }
  }
  auto u = std::make_shared<Unrolled>();
  u->planned = shared_->plan(config_, weights_, steps, batch, masked);
  u->run = std::make_unique<Executor>(u->planned->plan);
  u->run->check_numerics(check_numerics_);
  cache_.push_front(std::move(u));
  if (cache_.size() > kCachedShapes) cache_.pop_back();
  return *cache_.front();
}

void Model::check_numerics(bool on) {
  check_numerics_ = on;
  for (const auto& u : cache_) u->run->check_numerics(on);
  for (const auto& r : rolled_) r->check_numerics(on);
}

const Graph& Model::graph(int64_t steps, int64_t batch, bool masked) {
  ++shared_->weights_version;  // its parameters are the weights' tensors: a caller may write them
  return *unrolled(steps, batch, masked).planned->graph;
}

const Results& Model::run(const Feeds& feeds, std::span<const int64_t> lengths) {
  const bool tokens = config_.tokens != TokenInput::None;
  const char* input = tokens ? "tokens" : "x";
  auto x = feeds.find(input);
  if (x == feeds.end()) throw GraphError(fmt::format("the model needs the input '{}'", input));
  const Shape& shape = x->second.shape();
  if (shape.rank() != (tokens ? 2 : 3) || (!tokens && shape[2] != config_.input_size))
    throw ShapeError(fmt::format("input '{}' must be {}, got {}", input,
                                 tokens ? "[T, B]" : fmt::format("[T, B, {}]", config_.input_size),
                                 shape.str()));
  const int64_t steps = shape[0], batch = shape[1];
  if (steps < 1 || batch < 1)
    throw ShapeError(fmt::format("input '{}' {} has no steps or no samples", input, shape.str()));
  Feeds all = feeds;
  const int64_t rows = config_.layers * directions(config_);
  for (const StateVariable& s : model_state(config_)) {  // the initial state defaults to zeros
    const std::string name = s.name + "0";
    auto it = all.find(name);
    if (it == all.end()) {
      all.emplace(name, Tensor({rows, batch, s.size}));
    } else if (!(it->second.shape() == Shape{rows, batch, s.size})) {
      throw ShapeError(fmt::format("input '{}' expects {}, fed {}", name,
                                   Shape{rows, batch, s.size}.str(), it->second.shape().str()));
    }
  }
  for (const auto& [name, tensor] : all)
    if (name != input && !(name.ends_with('0') && model_state_has(name)))
      throw GraphError(fmt::format("feed '{}' does not name an input of the model", name));
  const Tensor mask = lengths.empty() ? Tensor() : length_mask(lengths, steps);
  RolledRun& r = rolled(batch);
  { const std::lock_guard turn(shared_->turnstile); }  // behind any update() already waiting
  const std::shared_lock lock(shared_->weights);  // no update() while the run reads the weights
  return r.run(all, mask, shared_->weights_version);
}

bool Model::model_state_has(std::string_view initial) const {
  for (const StateVariable& s : model_state(config_))
    if (s.name + "0" == initial) return true;
  return false;
}

Tensor length_mask(std::span<const int64_t> lengths, int64_t steps) {
  const auto batch = int64_t(lengths.size());
  Tensor mask({steps, batch, 1});
  for (int64_t b = 0; b < batch; ++b) {
    if (lengths[std::size_t(b)] < 1 || lengths[std::size_t(b)] > steps)
      throw ShapeError(fmt::format("sample {}'s length {} is not between 1 and the {} steps", b,
                                   lengths[std::size_t(b)], steps));
    for (int64_t t = 0; t < lengths[std::size_t(b)]; ++t)
      mask.values()[std::size_t(t * batch + b)] = 1;
  }
  return mask;
}

std::vector<int64_t> lengths_from(std::span<const double> values, int64_t batch, int64_t steps) {
  if (int64_t(values.size()) != batch)
    throw ShapeError(
        fmt::format("{} lengths for a batch of {} (one per sample)", values.size(), batch));
  std::vector<int64_t> out;
  for (double v : values) {
    if (!(v == std::floor(v)) || v < 1 || v > double(steps))
      throw ShapeError(
          fmt::format("length {} is not a whole number between 1 and the {} steps", v, steps));
    out.push_back(int64_t(v));
  }
  return out;
}

}  // namespace rnngraph::models
