// Training tasks end to end: data, the model with its loss and backward graph planned once,
// clipping, the optimizer, truncated BPTT, and checkpoints that are ordinary model files.
//
//   sine  next-step prediction of sine waves: x_t = sin(ω·t + φ), target x_{t+1}, with ω and φ
//         drawn per sequence and iteration; a linear output layer; MSE.
//   text  a character-level language model on a text file: one-hot characters in, logits over
//         the file's alphabet out, softmax cross-entropy. Truncated BPTT over B streams: stream
//         b reads segment b of the text (of N/B characters) in chunks of T; the final state of one
//         chunk is the initial state of the next (fed as data, so no gradient crosses the
//         boundary), and the state restarts from zeros when the streams wrap.
//   data  a dataset of the user's (models/dataset.h): the targets decide the loss (class ids:
//         cross-entropy, values: mean squared error, on each sample's last valid step or on every
//         valid step) and the output layer's size; one epoch reads every sample once, in shuffled
//         batches bucketed by length; the validation set is scored after every epoch.
//
// Data-parallel: with a communicator of N processes (TrainConfig::communicator; mpirun), every
// global batch is split into N contiguous blocks of rows (text: of streams), one per process.
// Each computes its block's loss and gradients; the gradients, weighted by each block's share of
// the loss's terms, are summed with one allreduce, so every process takes the optimizer step a
// single process would take on the whole batch, and the weights stay the same everywhere.
// Dropout masks are drawn for the whole batch and sliced, the validation set is scored in
// blocks and summed, and checkpoints hold the whole run (the text task's carried state
// gathered), so a run resumes on any number of processes.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rnngraph/framework/executor.h>
#include <rnngraph/models/communicator.h>
#include <rnngraph/models/dataset.h>
#include <rnngraph/models/evaluation.h>
#include <rnngraph/models/model.h>
#include <rnngraph/models/optim.h>

namespace rnngraph::models {

enum class Task { Sine, Text, Data };
std::string_view to_string(Task task);
Task task_from_string(std::string_view name);  // "sine", "text", "data"

// How the learning rate moves, as torch.optim.lr_scheduler's: constant; step (StepLR: times
// `gamma` every `every` epochs, or iterations for the built-in tasks); cosine
// (CosineAnnealingLR over the whole run, down to 0); plateau (ReduceLROnPlateau: times `gamma`
// when the validation loss has not improved for `every` epochs; the data task with a validation
// set). `warmup` iterations first ramp it linearly up to the scheduled value (LinearLR).
struct LrSchedule {
  enum class Kind { Constant, Step, Cosine, Plateau };
  Kind kind = Kind::Constant;
  int64_t every = 10;
  double gamma = 0.1;
  int64_t warmup = 0;
};
std::string_view to_string(LrSchedule::Kind kind);
LrSchedule::Kind schedule_from_string(std::string_view name);  // GraphError naming the four

// The data task's loss, written with the graph API (models/losses.h): the model's outputs and
// the batch's inputs in, a scalar out. It must be a mean over the batch's terms (its rows; its
// valid steps for per-step targets), as the built-in ones are: data-parallel training weighs
// each process's share by those counts.
struct LossInputs {
  Value y;          // [T, B, O]: the output layer's, every step
  Value targets;    // the batch's targets: [B] or [T, B] class ids, [B, O] or [T, B, O] values
  Value mask;       // [T, B, 1]: 1 at the steps within each sample's length
  Value last;       // [T, B, 1]: 1 at each sample's last valid step (last_steps(y, last))
  TargetKind kind;  // what the dataset's targets are
};
using LossFunction = std::function<Value(const LossInputs&)>;
// What the targets decide: softmax cross-entropy for class ids, mean squared error for values,
// on each sample's last valid step or on every valid step.
Value default_loss(const LossInputs& in);

class Trainer;

struct TrainConfig {
  Task task = Task::Sine;
  std::filesystem::path text;  // the text task's corpus
  // The data task's samples, and the ones scored after every epoch (optional).
  std::shared_ptr<const Dataset> data, validation;
  // The files they came from, if any (load_training_data): stored in checkpoints, so that a run
  // on them resumes by itself. Without them, a data run cannot be resumed.
  std::optional<DataFiles> files;
  // The data task: epochs in all (iterations = epochs · batches per epoch); 0: `iterations`.
  int64_t epochs = 0;
  Cell cell = Cell::Lstm;
  int64_t hidden_size = 32, layers = 1, steps = 50, batch = 16;  // data: steps from the data
  int64_t proj_size = 0;           // PyTorch's proj_size (lstm): h projected to this width; 0: none
  int64_t iterations = 400;        // in all, counted from the first (a resumed run continues to it)
  std::string optimizer = "adam";  // "adam" or "sgd"
  double lr = 0.01;
  double momentum = 0, weight_decay = 0;  // SGD's momentum; L2 weight decay (SGD and Adam)
  LrSchedule schedule;
  double clip = 0;    // max global gradient norm; 0: no clipping
  uint64_t seed = 0;  // initial weights (and the sine task's data)
  // Dropout between layers and variational dropout on the recurrent state (models::Config);
  // the masks of iteration i come from the seed and i, so a resumed run draws the same ones.
  float dropout = 0, recurrent_dropout = 0;
  // The processes sharing each batch (see above); null: this one alone. `batch` stays the
  // global batch.
  std::shared_ptr<Communicator> communicator;
  // The data task: the loss (empty: default_loss), and a callback after each epoch's last
  // iteration, once the validation score is taken (last_validation()): for metrics of one's own,
  // logging, or saving.
  LossFunction loss;
  std::function<void(Trainer&)> on_epoch;
};

class Trainer {
 public:
  explicit Trainer(const TrainConfig& config);
  // Continues the run saved in `model` (see save()); `iterations` and `text` replace the saved
  // ones when given.
  // Under a communicator, every process resumes from the same file.
  static std::unique_ptr<Trainer> resume(const std::filesystem::path& model,
                                         std::optional<int64_t> iterations = std::nullopt,
                                         std::optional<std::filesystem::path> text = std::nullopt,
                                         std::shared_ptr<Communicator> communicator = nullptr);

  // Replaces the initial weights, by our names or PyTorch's (a state_dict as `rnngraph export`
  // writes it: the recurrent tensors, out.weight and out.bias), before the first iteration.
  // Every parameter must be given: FormatError for a missing, extra or mis-shaped tensor;
  // GraphError once training has begun.
  void load_weights(const io::TensorMap& state);
  // A model's weights (by our names) in place of the initial ones, for training it further on
  // new data: every one must fit this training's model (whose input and output sizes follow the
  // data), which must have no others but, where `weights` has none, its output layer, which then
  // starts fresh. FormatError naming `source` and the weight otherwise.
  void start_from(const io::TensorMap& weights, const std::string& source);

  // One iteration: the next batch, forward and backward, clipping, an optimizer step. Returns
  // the batch's loss (before the update). ("Step" is kept for a time step; an optimizer's
  // update is its step, as in torch.optim.)
  float iterate();
  bool done() const { return iteration_ >= config_.iterations; }
  int64_t iteration() const { return iteration_; }  // iterations completed
  // The data task: batches per epoch, and whether the last iteration finished an epoch.
  int64_t batches_per_epoch() const;
  bool epoch_finished() const { return iteration_ > 0 && iteration_ % batches_per_epoch() == 0; }
  int64_t epoch() const { return iteration_ / batches_per_epoch(); }  // epochs completed
  // The model with the current weights scored on the validation set (the data task).
  Evaluation validate();
  // The data task with a validation set: the score iterate() took at the end of the last epoch
  // (what the plateau schedule reads); empty before the first.
  const std::optional<Evaluation>& last_validation() const { return last_validation_; }
  // The lowest validation loss of the run so far, a resumed run's included; +inf before the
  // first.
  double lowest_validation() const { return lowest_validation_; }
  double lr() const;                                // the learning rate of the next iteration
  int64_t sequences() const { return sequences_; }  // samples trained on by this object so far
  // Under a communicator: seconds this process spent in the gradients' allreduce (the wait for
  // the slowest process included).
  double allreduce_seconds() const { return allreduce_seconds_; }
  int rank() const { return comm_ ? comm_->rank() : 0; }
  int processes() const { return comm_ ? comm_->size() : 1; }

  const TrainConfig& config() const { return config_; }
  const Config& model() const { return model_; }
  // The model and its loss (for the data task, unrolled for the longest sample), whose
  // parameters are the ones trained.
  const Graph& graph() const { return *first_->graph; }
  // What each iteration runs: the optimized model, its loss and the backward graph.
  const Graph& training_graph() const { return *first_->trained; }
  std::size_t arena_bytes() const { return first_->run->arena_bytes(); }
  // Executor::check_numerics for every step: the first op whose result holds a NaN or an
  // infinity stops training with a NumericError naming it, instead of a loss of nan.
  // The optimizer's updates are checked too: a weight it makes non-finite stops training there,
  // named, before anything is saved.
  void check_numerics(bool on);

  // Writes M.json (the model's recipe and graph, as `rnngraph build` writes it, plus the training
  // settings) and M.safetensors (the parameters, and under "optim/" the optimizer state and the
  // carried BPTT state): everything resume() needs to continue exactly. Under a communicator
  // every process calls it (the carried state is gathered) and process 0 writes.
  void save(const std::filesystem::path& path) const;

 private:
  // The model and its loss unrolled for one length and batch, planned, with its feeds.
  struct Shaped {
    std::unique_ptr<Graph> graph, trained;
    std::unique_ptr<Executor> run;
    Feeds feeds;  // the batch being trained on, and the carried state
  };
  Shaped& shaped(int64_t steps, int64_t batch);
  // This process's block of the next batch in the feeds of its shape, and how many terms of the
  // batch's loss it holds; null when the block is empty (a last batch with fewer rows than
  // processes).
  Shaped* make_batch(double& terms);
  // This iteration's dropout masks for a global batch of `batch`, this process's `rows` of it.
  void feed_dropout(Feeds& feeds, int64_t steps, int64_t batch, Share rows) const;
  void data_batch(Shaped& at, const Batch& b);
  // The gradients and the loss averaged over the processes, each weighted by its loss's terms.
  void average(std::span<const Tensor> grads, float& loss, double terms);
  Share streams_share() const;  // the sine and text tasks: this process's rows of the batch

  TrainConfig config_;
  Config model_;
  bool check_numerics_ = false;
  std::string corpus_;      // text task: the file's bytes as class ids...
  std::vector<float> ids_;  // ...one per character
  // By (T, B); the first one's parameters are the ones trained, which the others share.
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Shaped>> shapes_;
  Shaped* first_ = nullptr;
  std::unique_ptr<Optimizer> optimizer_;
  std::vector<std::vector<int64_t>> batches_;  // the data task: this epoch's, by row
  int64_t batches_epoch_ = -1;
  std::unique_ptr<Model> validator_;  // (model_runner.h, through evaluation.h)
  std::optional<Evaluation> last_validation_;
  double best_validation_ = 0, plateau_factor_ = 1;  // the plateau schedule's state
  double lowest_validation_ = INFINITY;
  int64_t plateau_stale_ = 0;  // the data task:
                               // the model scored on the validation set
  int64_t iteration_ = 0;
  int64_t sequences_ = 0;
  std::shared_ptr<Communicator> comm_;  // null: one process
  bool synchronised_ = false;           // the weights broadcast from process 0
  std::vector<float> reduce_buffer_;
  double allreduce_seconds_ = 0;
};

// The text task's alphabet: the distinct bytes of `text`, sorted (class id = rank).
std::string alphabet(std::string_view text);

}  // namespace rnngraph::models
