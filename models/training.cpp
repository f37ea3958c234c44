#include <rnngraph/models/training.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <numbers>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/models/losses.h>
#include <rnngraph/models/torch_state.h>

namespace rnngraph::models {

std::string_view to_string(Task task) {
  return task == Task::Sine ? "sine" : task == Task::Text ? "text" : "data";
}

std::string_view to_string(LrSchedule::Kind kind) {
  switch (kind) {
    case LrSchedule::Kind::Constant:
      return "constant";
    case LrSchedule::Kind::Step:
      return "step";
    case LrSchedule::Kind::Cosine:
      return "cosine";
    case LrSchedule::Kind::Plateau:
      return "plateau";
  }
  return "?";
}

LrSchedule::Kind schedule_from_string(std::string_view name) {
  for (auto k : {LrSchedule::Kind::Constant, LrSchedule::Kind::Step, LrSchedule::Kind::Cosine,
                 LrSchedule::Kind::Plateau})
    if (to_string(k) == name) return k;
  throw GraphError(fmt::format(
      "unknown learning-rate schedule '{}' (expected constant, step, cosine or plateau)", name));
}

Task task_from_string(std::string_view name) {
  for (Task t : {Task::Sine, Task::Text, Task::Data})
    if (to_string(t) == name) return t;
  throw GraphError(fmt::format("unknown task '{}' (expected sine, text or data)", name));
}

std::string alphabet(std::string_view text) {
  std::array<bool, 256> seen{};
  for (unsigned char c : text) seen[c] = true;
  std::string out;
  for (int c = 0; c < 256; ++c)
    if (seen[std::size_t(c)]) out += char(c);
  return out;
}

namespace {

// The text task's streams: B segments of the corpus, each read in chunks of T (+1 for targets).
struct Streams {
  int64_t segment, chunks;
};
Streams streams(int64_t characters, int64_t T, int64_t B) {
  const int64_t segment = characters / B;
  return {segment, segment > 0 ? (segment - 1) / T : 0};
}

// Optimizer steps are stored as a float ("optim/step"), exact up to 2^24.
constexpr int64_t kMaxIterations = int64_t(1) << 24;

double meta_number(const Recipe& meta, std::string_view key) {
  auto it = meta.find(key);
  if (it == meta.end()) throw FormatError(fmt::format("the training checkpoint has no '{}'", key));
  double v = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || !std::isfinite(v))
    throw FormatError(fmt::format("the training checkpoint's '{}' is not a number", key));
  return v;
}

int64_t meta_count(const Recipe& meta, std::string_view key) {
  const double v = meta_number(meta, key);
  if (v < 0 || v > double(kMaxIterations) || v != std::floor(v))
    throw FormatError(
        fmt::format("the training checkpoint's '{}' is not a count up to {}", key, kMaxIterations));
  return int64_t(v);
}

void copy_into(const Tensor& to, const Tensor& from) {
  std::copy_n(from.data(), to.numel(), to.data());
}

// Rows `rows` of axis 1 of t [A, B, ...] (the batch axis of states and dropout masks).
Tensor slice_rows(const Tensor& t, Share rows) {
  const Shape& s = t.shape();
  if (rows.begin == 0 && rows.count == s[1]) return t;
  Tensor out(s.with(1, rows.count));
  const int64_t inner = s.stride(1);
  for (int64_t a = 0; a < s[0]; ++a)
    std::copy_n(t.data() + (a * s[1] + rows.begin) * inner, rows.count * inner,
                out.data() + a * rows.count * inner);
  return out;
}

// The whole [A, B, ...] tensor from every process's rows of it (`mine` is [A, B_r, ...]).
Tensor gather_rows(Communicator& comm, const Tensor& mine, int64_t batch) {
  const std::vector<float> all = comm.gather(mine.values());
  const Shape s = mine.shape().with(1, batch);
  Tensor out(s);
  const int64_t inner = s.stride(1);
  const float* from = all.data();
  for (int r = 0; r < comm.size(); ++r) {
    const Share rows = share_of(batch, r, comm.size());
    for (int64_t a = 0; a < s[0]; ++a, from += rows.count * inner)
      std::copy_n(from, rows.count * inner, out.data() + (a * batch + rows.begin) * inner);
  }
  return out;
}

}  // namespace

Trainer::Trainer(const TrainConfig& c) : config_(c), comm_(c.communicator) {
  if (c.iterations < 1 || c.steps < 1 || c.batch < 1 || c.hidden_size < 1 || c.layers < 1)
    throw GraphError("train: iterations, steps, batch, hidden size and layers must be at least 1");
  if (c.iterations > kMaxIterations)
    throw GraphError(fmt::format("train: at most {} iterations", kMaxIterations));
  if (!(c.momentum >= 0 && c.momentum < 1) || !(c.weight_decay >= 0) ||
      !std::isfinite(c.weight_decay) || c.schedule.every < 1 || c.schedule.warmup < 0 ||
      !(c.schedule.gamma > 0 && c.schedule.gamma <= 1))
    throw GraphError(fmt::format(
        "train: momentum is in [0, 1), weight decay 0 or more, the schedule's gamma in (0, 1] "
        "and its period at least 1 (got {}, {}, {}, {})",
        c.momentum, c.weight_decay, c.schedule.gamma, c.schedule.every));
  if (c.schedule.kind == LrSchedule::Kind::Plateau && !c.validation)
    throw GraphError(
        "train: the plateau schedule reads the validation loss: give a validation set");
  if (!(c.lr > 0) || !(c.clip >= 0) || !std::isfinite(c.lr) || !std::isfinite(c.clip))
    throw GraphError(
        fmt::format("train: the learning rate must be above 0 and the clip norm 0 or "
                    "more (got {} and {})",
                    c.lr, c.clip));
  model_ = {.cell = c.cell,
            .input_size = 1,
            .hidden_size = c.hidden_size,
            .steps = c.steps,
            .batch = c.batch,
            .layers = c.layers,
            .seed = c.seed,
            .output_size = 1,
            .dropout = c.dropout,
            .recurrent_dropout = c.recurrent_dropout,
            .proj_size = c.proj_size};
  if (c.task == Task::Data) {
    if (!c.data || c.data->targets() == TargetKind::None)
      throw GraphError("train: the data task needs a dataset with targets");
    const bool tokens = c.data->features() == 0;
    model_.tokens = tokens ? TokenInput::OneHot : TokenInput::None;
    model_.vocab_size = tokens ? c.data->vocabulary() : 0;
    model_.input_size = tokens ? c.data->vocabulary() : c.data->features();
    model_.output_size = c.data->outputs();
    model_.steps = c.data->steps();
    if (c.epochs > 0) config_.iterations = c.epochs * batches_per_epoch();
    if (config_.iterations > kMaxIterations)
      throw GraphError(fmt::format("train: at most {} iterations", kMaxIterations));
    if (c.validation) {
      validator_ = std::make_unique<Model>(model_);
    }
  }
  if (c.task == Task::Text) {
    corpus_ = io::read_file(c.text);
    const std::string symbols = alphabet(corpus_);
    if (streams(int64_t(corpus_.size()), c.steps, c.batch).chunks < 1)
      throw GraphError(
          fmt::format("train: '{}' has {} characters, too few for {} streams of {} + 1",
                      c.text.string(), corpus_.size(), c.batch, c.steps));
    std::array<float, 256> id_of{};
    for (std::size_t k = 0; k < symbols.size(); ++k) id_of[uint8_t(symbols[k])] = float(k);
    for (unsigned char ch : corpus_) ids_.push_back(id_of[ch]);
    const int64_t V = int64_t(symbols.size());
    model_.tokens = TokenInput::OneHot;
    model_.vocab_size = model_.input_size = model_.output_size = V;
    model_.vocabulary = symbols;
  }

  // The longest batch: for data, T samples' longest and no more rows than the data has; this
  // process's share of it.
  if (c.task != Task::Data && c.batch < processes())
    throw GraphError(
        fmt::format("train: a batch of {} cannot be shared by {} processes: give "
                    "--batch {} or more",
                    c.batch, processes(), processes()));
  const int64_t steps = c.task == Task::Data ? c.data->steps() : c.steps;
  first_ =
      c.task == Task::Data
          ? &shaped(steps,
                    std::max<int64_t>(
                        1, share_of(std::min(c.batch, c.data->size()), rank(), processes()).count))
          : &shaped(steps, streams_share().count);
  const Graph& g = *first_->graph;
  if (c.optimizer == "adam")
    optimizer_ = std::make_unique<Adam>(graph_parameters(g),
                                        AdamOptions{.lr = c.lr, .weight_decay = c.weight_decay});
  else if (c.optimizer == "sgd")
    optimizer_ = std::make_unique<Sgd>(
        graph_parameters(g),
        SgdOptions{.lr = c.lr, .momentum = c.momentum, .weight_decay = c.weight_decay});
  else
    throw GraphError(fmt::format("unknown optimizer '{}' (expected adam or sgd)", c.optimizer));
}

Value default_loss(const LossInputs& in) {
  switch (in.kind) {
    case TargetKind::SequenceClass:
      return cross_entropy(last_steps(in.y, in.last), in.targets);
    case TargetKind::StepClass:
      return masked_cross_entropy(in.y, in.targets, in.mask);
    case TargetKind::SequenceValue:
      return mse_loss(last_steps(in.y, in.last), in.targets);
    case TargetKind::StepValue:
      return masked_mse_loss(in.y, in.targets, in.mask);
    case TargetKind::None:
      break;
  }
  throw GraphError("training on data needs targets");
}

namespace {
// The data task's loss on the outputs y [T, B, O], with the batch's inputs "targets" and "last"
// [T, B, 1] (each sample's last valid step).
Value data_loss(Graph& g, const Value& y, TargetKind kind, const LossFunction& custom) {
  const Shape s = y.shape();
  const int64_t T = s[0], B = s[1], O = s[2];
  const Shape targets = kind == TargetKind::SequenceClass   ? Shape{B}
                        : kind == TargetKind::StepClass     ? Shape{T, B}
                        : kind == TargetKind::SequenceValue ? Shape{B, O}
                                                            : Shape{T, B, O};
  const LossInputs in{.y = y,
                      .targets = g.input("targets", targets),
                      .mask = Value(g, g.find("mask").id),
                      .last = g.input("last", {T, B, 1}),
                      .kind = kind};
  const Value loss = custom ? custom(in) : default_loss(in);
  if (loss.shape().numel() != 1)
    throw GraphError(fmt::format("train: the loss must be a scalar, got {}", loss.shape().str()));
  return loss;
}
}  // namespace

Trainer::Shaped& Trainer::shaped(int64_t steps, int64_t batch) {
  auto& slot = shapes_[{steps, batch}];
  if (slot) return *slot;
  auto at = std::make_unique<Shaped>();
  at->graph = std::make_unique<Graph>();
  Graph& g = *at->graph;
  Config training = model_;
  training.steps = steps;
  training.batch = batch;
  training.training = true;  // with the dropout inputs, if any
  training.masked = config_.task == Task::Data;
  const Outputs out = build(g, training);
  const Value loss = config_.task == Task::Sine ? mse_loss(out.y, g.input("target", out.y.shape()))
                     : config_.task == Task::Text
                         ? cross_entropy(out.y, g.input("targets", {steps, batch}))
                         : data_loss(g, out.y, config_.data->targets(), config_.loss);
  g.output("loss", loss);
  if (first_)  // one set of weights: the first shape's, which the optimizer updates
    for (int id : g.parameters())
      g.share_parameter(g.node(id).name, first_->graph->param(g.node(id).name));
  // Backward is derived from the optimized forward graph (fused cells have fused vjps); the
  // parameters are shared, so the optimizer and checkpoints see one set.
  at->trained = passes::training_graph(g, "loss", parameter_names(g));
  at->run = std::make_unique<Executor>(*at->trained, std::span<const std::string>(),
                                       PlanOptions{.optimize = false});
  at->run->check_numerics(check_numerics_);
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Input) at->feeds.emplace(n.name, Tensor(n.shape));  // zeros
  slot = std::move(at);
  return *slot;
}

void Trainer::check_numerics(bool on) {
  check_numerics_ = on;
  for (auto& [shape, at] : shapes_) at->run->check_numerics(on);
}

int64_t Trainer::batches_per_epoch() const {
  if (config_.task != Task::Data) return 1;
  return (config_.data->size() + config_.batch - 1) / config_.batch;
}

Share Trainer::streams_share() const { return share_of(config_.batch, rank(), processes()); }

// This iteration's dropout masks (seeded by the iteration: a resumed run draws the same ones),
// drawn for the whole batch so that every process cuts its rows from the same masks.
void Trainer::feed_dropout(Feeds& feeds, int64_t steps, int64_t batch, Share rows) const {
  for (auto& [name, mask] : dropout_masks(
           model_, steps, batch, config_.seed * 1000003 + uint64_t(iteration_) * 7919 + 17))
    feeds.at(name) = slice_rows(mask, rows);
}

Trainer::Shaped* Trainer::make_batch(double& terms) {
  if (config_.task == Task::Data) {
    const Dataset& data = *config_.data;
    const int64_t epoch = iteration_ / batches_per_epoch();
    if (epoch != batches_epoch_) {
      std::vector<int64_t> rows(static_cast<std::size_t>(data.size()));
      std::iota(rows.begin(), rows.end(), 0);
      batches_ = epoch_batches(data, rows, config_.batch, config_.seed, epoch);
      batches_epoch_ = epoch;
    }
    const std::vector<int64_t>& rows = batches_[std::size_t(iteration_ % batches_per_epoch())];
    const int64_t B = int64_t(rows.size());
    sequences_ += B;
    const Share mine = share_of(B, rank(), processes());
    terms = 0;
    if (mine.count == 0) return nullptr;
    // The whole batch's longest sample, rounded up to a multiple of 8 (the mask covers the
    // rest): a few graphs serve every batch, and every process unrolls as far as one would.
    int64_t longest = 0;
    for (int64_t row : rows) longest = std::max(longest, data.length(row));
    const int64_t T = std::min(data.steps(), (longest + 7) / 8 * 8);
    const Batch b =
        data.batch(std::span(rows).subspan(std::size_t(mine.begin), std::size_t(mine.count)));
    Shaped& at = shaped(T, mine.count);
    data_batch(at, b);
    feed_dropout(at.feeds, T, B, mine);
    if (is_per_step(data.targets()))  // the loss is a mean over the valid steps
      for (float m : b.mask.values()) terms += m;
    else
      terms = double(mine.count);
    return &at;
  }
  Feeds& feeds = first_->feeds;
  const int64_t T = config_.steps, B = config_.batch;
  const Share mine = streams_share();
  const int64_t rows = mine.count;
  feed_dropout(feeds, T, B, mine);
  sequences_ += B;
  terms = double(rows);
  if (config_.task == Task::Sine) {
    // Each iteration's waves come from its own seed, so a resumed run sees the same data;
    // every process draws the whole batch's and keeps its rows.
    std::mt19937_64 rng(config_.seed * 1000003 + uint64_t(iteration_) + 1);
    auto unit = [&] { return float(rng() >> 40) * (1.0f / 16777216.0f); };
    float *x = feeds.at("x").data(), *target = feeds.at("target").data();
    for (int64_t b = 0; b < B; ++b) {
      const float omega = 0.1f + 0.3f * unit(), phi = 2 * std::numbers::pi_v<float> * unit();
      const int64_t j = b - mine.begin;
      if (j < 0 || j >= rows) continue;
      for (int64_t t = 0; t < T; ++t) {
        x[t * rows + j] = std::sin(omega * float(t) + phi);
        target[t * rows + j] = std::sin(omega * float(t + 1) + phi);
      }
    }
    return first_;
  }
  const Streams s = streams(int64_t(ids_.size()), T, B);
  const int64_t chunk = iteration_ % s.chunks;
  if (chunk == 0)  // the streams start (again) from their beginnings, and so does the state
    for (const char* state : {"h0", "c0"})
      if (feeds.contains(state)) feeds.at(state).fill(0);
  float *tokens = feeds.at("tokens").data(), *targets = feeds.at("targets").data();
  for (int64_t j = 0; j < rows; ++j)  // stream mine.begin + j
    for (int64_t t = 0; t < T; ++t) {
      const int64_t at = (mine.begin + j) * s.segment + chunk * T + t;
      tokens[t * rows + j] = ids_[std::size_t(at)];
      targets[t * rows + j] = ids_[std::size_t(at + 1)];
    }
  return first_;
}

// The batch into the feeds of its shape, whose length may exceed the batch's longest sample:
// the steps after it are zeros, outside every mask.
void Trainer::data_batch(Shaped& at, const Batch& b) {
  const int64_t B = int64_t(b.rows.size());
  auto place = [&](const char* name, const Tensor& from) {
    const Tensor& to = at.feeds.at(name);
    to.fill(0);
    std::copy_n(from.data(), from.numel(), to.data());  // sequence-first: the first steps
  };
  place(model_.tokens == TokenInput::None ? "x" : "tokens", b.x);
  place("mask", b.mask);
  place("targets", b.targets);
  const Tensor& last = at.feeds.at("last");
  last.fill(0);
  for (int64_t j = 0; j < B; ++j) last.data()[(b.lengths[std::size_t(j)] - 1) * B + j] = 1;
}

void Trainer::load_weights(const io::TensorMap& state) {
  if (iteration_ > 0)
    throw GraphError(fmt::format(
        "train: weights can be loaded before the first iteration, not after {}", iteration_));
  // Every parameter from the file: a state without the output layer is an error, not a
  // partial start.
  load_parameters(*first_->graph, is_torch_state(state) ? from_torch_state(model_, state) : state);
}

double Trainer::lr() const {
  const LrSchedule& s = config_.schedule;
  double factor = 1;
  switch (s.kind) {
    case LrSchedule::Kind::Constant:
      break;
    case LrSchedule::Kind::Step: {  // per epoch for the data task, else per iteration
      const int64_t at = config_.task == Task::Data ? epoch() : iteration_;
      factor = std::pow(s.gamma, double(at / s.every));
      break;
    }
    case LrSchedule::Kind::Cosine:
      factor = 0.5 * (1 + std::cos(std::numbers::pi * double(iteration_) /
                                   double(std::max<int64_t>(config_.iterations, 1))));
      break;
    case LrSchedule::Kind::Plateau:
      factor = plateau_factor_;
      break;
  }
  if (iteration_ < s.warmup) factor *= double(iteration_ + 1) / double(s.warmup);
  return config_.lr * factor;
}

void Trainer::average(std::span<const Tensor> grads, float& loss, double terms) {
  const auto start = std::chrono::steady_clock::now();
  std::size_t total = 0;
  for (const Tensor& g : grads) total += std::size_t(g.numel());
  reduce_buffer_.resize(total);
  // Σ_r terms_r · g_r / Σ_r terms_r: each process's gradient is the mean over its own terms.
  float* to = reduce_buffer_.data();
  for (const Tensor& g : grads)
    for (float v : g.values()) *to++ = v * float(terms);
  double scalars[2] = {double(loss) * terms, terms};
  comm_->sum(reduce_buffer_);
  comm_->sum(scalars);
  const float inverse = float(1 / scalars[1]);
  const float* from = reduce_buffer_.data();
  for (const Tensor& g : grads)
    for (float& v : g.values()) v = *from++ * inverse;
  loss = float(scalars[0] / scalars[1]);
  allreduce_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

float Trainer::iterate() {
  if (comm_ && !synchronised_) {  // every process starts from process 0's weights
    for (const auto& [name, p] : optimizer_->parameters()) comm_->broadcast(p.values());
    synchronised_ = true;
  }
  optimizer_->set_lr(lr());
  double terms = 0;
  Shaped* at = make_batch(terms);
  const Results* r = at ? &at->run->run(at->feeds) : nullptr;
  float loss = r ? (*r)["loss"].values()[0] : 0;
  std::vector<Tensor> grads;
  if (r)
    grads = optimizer_->gradients(*r);
  else  // no rows for this process in this batch: it adds nothing, but takes the same step
    for (const auto& [name, p] : optimizer_->parameters()) grads.emplace_back(p.shape());
  if (comm_ && comm_->size() > 1) average(grads, loss, terms);
  if (config_.clip > 0) clip_grad_norm(grads, float(config_.clip));
  optimizer_->step(grads);
  if (check_numerics_)
    for (int id : first_->graph->parameters()) {
      const Node& p = first_->graph->node(id);
      for (float v : p.value.values())
        if (!std::isfinite(v))
          throw NumericError(fmt::format(
              "the optimizer step of iteration {} made parameter '{}' {} {} (loss {}): lower "
              "--lr or set --clip",
              iteration_ + 1, p.name, p.shape.str(), v, loss));
    }
  // truncated BPTT: this chunk's final state starts the next
  if (config_.task == Task::Text) carry_state(*r, at->feeds);
  ++iteration_;
  if (validator_ && epoch_finished()) {
    last_validation_ = validate();
    lowest_validation_ = std::min(lowest_validation_, last_validation_->loss);
    const LrSchedule& s = config_.schedule;
    // An improvement is one of more than 1e-4 relative: ReduceLROnPlateau's default threshold.
    if (epoch() == 1 || last_validation_->loss < best_validation_ * (1 - 1e-4)) {
      best_validation_ = last_validation_->loss;
      plateau_stale_ = 0;
    } else if (++plateau_stale_ >= s.every && s.kind == LrSchedule::Kind::Plateau) {
      plateau_factor_ *= s.gamma;  // ReduceLROnPlateau: and the wait starts again
      plateau_stale_ = 0;
    }
  }
  if (config_.on_epoch && config_.task == Task::Data && epoch_finished()) config_.on_epoch(*this);
  return loss;
}

Evaluation Trainer::validate() {
  if (!validator_) throw GraphError("train: no validation set to score");
  validator_->update([&](const io::TensorMap& weights) {
    for (const auto& [name, tensor] : weights) copy_into(tensor, first_->graph->param(name));
  });
  if (processes() == 1) return evaluate(*validator_, *config_.validation);
  // Each process scores its block of the samples; the sums make the whole set's score.
  const Share mine = share_of(config_.validation->size(), rank(), processes());
  Evaluation part;
  if (mine.count > 0) {
    std::vector<int64_t> rows(std::size_t(mine.count));
    std::iota(rows.begin(), rows.end(), mine.begin);
    part = evaluate(*validator_, *subset(config_.validation, std::move(rows)));
  }
  const double scored = double(part.scored);
  double sums[4] = {part.loss * scored, part.accuracy.value_or(0) * scored, scored,
                    double(part.samples)};
  comm_->sum(sums);
  Evaluation all{
      .loss = sums[0] / sums[2], .samples = int64_t(sums[3]), .scored = int64_t(sums[2])};
  if (is_classification(config_.validation->targets())) all.accuracy = sums[1] / sums[2];
  return all;
}

void Trainer::save(const std::filesystem::path& path) const {
  Recipe meta = recipe(model_);
  meta["task"] = std::string(to_string(config_.task));
  meta["iteration"] = std::to_string(iteration_);
  meta["iterations"] = std::to_string(config_.iterations);
  meta["optimizer"] = config_.optimizer;
  meta["lr"] = fmt::format("{}", config_.lr);  // shortest form that reads back exactly
  meta["clip"] = fmt::format("{}", config_.clip);
  meta["momentum"] = fmt::format("{}", config_.momentum);
  meta["weight_decay"] = fmt::format("{}", config_.weight_decay);
  meta["lr_schedule"] = std::string(to_string(config_.schedule.kind));
  meta["lr_every"] = std::to_string(config_.schedule.every);
  meta["lr_gamma"] = fmt::format("{}", config_.schedule.gamma);
  meta["warmup"] = std::to_string(config_.schedule.warmup);
  if (config_.task == Task::Data && config_.files) {
    // The files, absolute so that a resume from another directory finds them, and the
    // validation state that schedules and "keep the best model" read.
    const DataFiles& f = *config_.files;
    auto absolute = [](const std::filesystem::path& p) {
      return std::filesystem::absolute(p).lexically_normal().string();
    };
    meta["data"] = absolute(f.x);
    meta["targets"] = absolute(f.targets);
    if (f.lengths) meta["lengths"] = absolute(*f.lengths);
    if (f.validation_split > 0) meta["val_split"] = fmt::format("{}", f.validation_split);
    if (f.validation_x) meta["val_data"] = absolute(*f.validation_x);
    if (f.validation_targets) meta["val_targets"] = absolute(*f.validation_targets);
    if (f.validation_lengths) meta["val_lengths"] = absolute(*f.validation_lengths);
    if (f.targets_as != TargetsAs::Dtype) meta["targets_as"] = std::string(to_string(f.targets_as));
    if (last_validation_) {
      meta["plateau_best"] = fmt::format("{}", best_validation_);
      meta["plateau_stale"] = std::to_string(plateau_stale_);
      meta["plateau_factor"] = fmt::format("{}", plateau_factor_);
      meta["lowest_validation"] = fmt::format("{}", lowest_validation_);
    }
  }
  io::TensorMap extra = optimizer_->state();
  if (config_.task == Task::Text) {
    // Absolute, so that a resume from another directory finds the corpus.
    meta["text"] = std::filesystem::absolute(config_.text).lexically_normal().string();
    for (const char* state : {"h0", "c0"})
      if (first_->feeds.contains(state)) {
        const Tensor& mine = first_->feeds.at(state);  // the whole batch's, from every process
        extra.emplace(fmt::format("optim/carry/{}", state),
                      processes() > 1 ? gather_rows(*comm_, mine, config_.batch) : mine);
      }
  }
  if (rank() != 0) return;
  save_file(parameters(*first_->graph), model_, path, meta, extra);  // the weights by name
}

std::unique_ptr<Trainer> Trainer::resume(const std::filesystem::path& path,
                                         std::optional<int64_t> iterations,
                                         std::optional<std::filesystem::path> text,
                                         std::shared_ptr<Communicator> communicator) {
  const io::GraphFile file = models::load_file(path);
  if (!file.meta.contains("task"))
    throw FormatError(
        fmt::format("{}: not a training checkpoint (no task in its recipe)", path.string()));
  const Config m = config_from_file(file);
  if (m.precision != Precision::Float32)
    throw FormatError(fmt::format(
        "{}: a model quantized to {} runs forward only: resume the float32 checkpoint it came "
        "from",
        path.string(), to_string(m.precision)));
  const bool data = task_from_string(file.meta.at("task")) == Task::Data;
  if (data && !file.meta.contains("data"))
    throw FormatError(fmt::format(
        "{}: a run on data in memory (not files) cannot be resumed: train it again, or use the "
        "saved model as it is",
        path.string()));
  TrainConfig c{.task = task_from_string(file.meta.at("task")),
                .cell = m.cell,
                .hidden_size = m.hidden_size,
                .layers = m.layers,
                .steps = m.steps,
                .batch = m.batch,
                .proj_size = m.proj_size,
                .iterations = iterations ? *iterations : meta_count(file.meta, "iterations"),
                .optimizer = file.meta.contains("optimizer") ? file.meta.at("optimizer") : "",
                .lr = meta_number(file.meta, "lr"),
                .clip = meta_number(file.meta, "clip"),
                .seed = m.seed,
                .dropout = m.dropout,
                .recurrent_dropout = m.recurrent_dropout,
                .communicator = std::move(communicator)};
  // Written since schedules exist; older checkpoints trained at a constant rate.
  auto number_or = [&](std::string_view key, double fallback) {
    return file.meta.contains(key) ? meta_number(file.meta, key) : fallback;
  };
  c.momentum = number_or("momentum", 0);
  c.weight_decay = number_or("weight_decay", 0);
  if (file.meta.contains("lr_schedule"))
    c.schedule = {.kind = schedule_from_string(file.meta.at("lr_schedule")),
                  .every = meta_count(file.meta, "lr_every"),
                  .gamma = meta_number(file.meta, "lr_gamma"),
                  .warmup = meta_count(file.meta, "warmup")};
  if (c.task == Task::Text)
    c.text = text ? *text
                  : std::filesystem::path(file.meta.contains("text") ? file.meta.at("text") : "");
  if (data) {
    auto path_of = [&](std::string_view key) -> std::optional<std::filesystem::path> {
      if (auto it = file.meta.find(key); it != file.meta.end()) return it->second;
      return std::nullopt;
    };
    DataFiles f{.x = *path_of("data"),
                .targets = path_of("targets").value_or(""),
                .lengths = path_of("lengths"),
                .validation_split = number_or("val_split", 0),
                .validation_x = path_of("val_data"),
                .validation_targets = path_of("val_targets"),
                .validation_lengths = path_of("val_lengths")};
    if (auto as = file.meta.find("targets_as"); as != file.meta.end()) {
      if (as->second != "classes" && as->second != "values")
        throw FormatError(fmt::format("{}: targets_as is classes or values, not '{}'",
                                      path.string(), as->second.substr(0, 40)));
      f.targets_as = as->second == "classes" ? TargetsAs::Classes : TargetsAs::Values;
    }
    const TrainingData loaded = load_training_data(f, c.seed);
    c.data = loaded.train;
    c.validation = loaded.validation;
    c.files = f;
  }
  auto trainer = std::make_unique<Trainer>(c);
  if (trainer->model_.vocabulary != m.vocabulary)
    throw FormatError(
        fmt::format("{}: the text's alphabet differs from the checkpoint's", path.string()));
  load_parameters(*trainer->first_->graph, parameters(*file.graph));
  trainer->optimizer_->load_state(file.extra);
  for (const char* state : {"h0", "c0"})
    if (auto it = file.extra.find(fmt::format("optim/carry/{}", state)); it != file.extra.end()) {
      // The whole batch's state, saved on any number of processes: this process's rows of it.
      const Tensor& to = trainer->first_->feeds.at(state);
      const Shape whole = to.shape().with(1, c.batch);
      if (!(it->second.shape() == whole))
        throw FormatError(fmt::format("{}: the carried state '{}' is {}, expected {}",
                                      path.string(), state, it->second.shape().str(), whole.str()));
      copy_into(to, slice_rows(it->second, trainer->streams_share()));
    }
  trainer->iteration_ = meta_count(file.meta, "iteration");
  if (file.meta.contains("plateau_best")) {
    trainer->best_validation_ = meta_number(file.meta, "plateau_best");
    trainer->plateau_stale_ = meta_count(file.meta, "plateau_stale");
    trainer->plateau_factor_ = meta_number(file.meta, "plateau_factor");
    trainer->lowest_validation_ = meta_number(file.meta, "lowest_validation");
  }
  if (trainer->iteration_ != trainer->optimizer_->steps() || trainer->iteration_ < 0)
    throw FormatError(fmt::format("{}: iteration {} disagrees with the optimizer's {} steps",
                                  path.string(), trainer->iteration_,
                                  trainer->optimizer_->steps()));
  return trainer;
}

void Trainer::start_from(const io::TensorMap& theirs, const std::string& source) {
  const Graph& g = graph();
  io::TensorMap weights = parameters(g);
  for (const auto& [name, tensor] : theirs) {
    auto it = weights.find(name);
    if (it == weights.end())
      throw FormatError(
          fmt::format("{}: its weight '{}' has no place in the model trained here", source, name));
    if (!(it->second.shape() == tensor.shape()))
      throw FormatError(fmt::format(
          "{}: its weight '{}' is {}, but training on this data needs {} (input and output sizes "
          "follow the data)",
          source, name, tensor.shape().str(), it->second.shape().str()));
    it->second = tensor;
  }
  for (int id : g.parameters()) {
    const Node& p = g.node(id);
    if (!theirs.contains(p.name) && p.mark.kind != Mark::Kind::OutputLayer)
      throw FormatError(fmt::format("{}: it has no weight '{}' {}", source, p.name, p.shape.str()));
  }
  load_weights(weights);
}

}  // namespace rnngraph::models
