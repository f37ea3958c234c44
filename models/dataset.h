// Datasets: samples held one per row, as a PyTorch Dataset holds them, and the batches that
// training and evaluation read from them (sequence-first, padded to the batch's longest sample,
// with the mask of each sample's length).
//
//   x        [N, T, I] features (float32 or float64), or [N, T] integer token ids
//   targets  [N] class ids       one class per sequence, scored on its last valid step
//            [N, T] class ids    a class per step (tagging, language models)
//            [N, O] or [N] values  one vector per sequence (regression), its last valid step
//            [N, T, O] values    a vector per step
//   lengths  [N] integers in 1..T; absent, every sample is T long
//
// Integer arrays hold ids, float arrays values: the dtype decides, as in PyTorch, where
// CrossEntropyLoss takes integer targets and MSELoss float ones.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rnngraph/framework/io/npy.h>
#include <rnngraph/framework/tensor.h>

namespace rnngraph::models {

// What the targets ask of a model; the loss and the output layer's size follow from them.
enum class TargetKind {
  None,           // no targets: a dataset to predict on
  SequenceClass,  // [N] class ids: softmax cross-entropy on each sample's last valid step
  StepClass,      // [N, T] class ids: cross-entropy on every valid step
  SequenceValue,  // [N, O] values: mean squared error on each sample's last valid step
  StepValue,      // [N, T, O] values: mean squared error on every valid step
};
std::string_view to_string(TargetKind kind);  // "none", "sequence class", ...
bool is_classification(TargetKind kind);
bool is_per_step(TargetKind kind);

// Some samples, sequence-first as the models take them, T the longest length among them. Steps
// past a sample's length hold zeros, and its mask 0 there.
struct Batch {
  Tensor x;        // [T, B, I] features, or [T, B] token ids
  Tensor targets;  // [B] ids, [T, B] ids, [B, O] or [T, B, O] values; empty without targets
  Tensor mask;     // [T, B, 1]: 1 where step t is within sample b's length
  std::vector<int64_t> lengths;
  std::vector<int64_t> rows;  // the samples' rows in the dataset, in batch order
};

// N samples of up to T steps with their lengths and optional targets. ArrayDataset holds arrays
// in memory; implement this for data that is not.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;        // N
  virtual int64_t steps() const = 0;       // T: the longest sample
  virtual int64_t features() const = 0;    // I; 0 for token ids
  virtual int64_t vocabulary() const = 0;  // token ids: how many there are; 0 for features
  virtual TargetKind targets() const = 0;
  virtual int64_t outputs() const = 0;  // classes, or values per target (O); 0 without targets
  virtual int64_t length(int64_t row) const = 0;
  // The samples at `rows` (each in 0..N-1), padded to the longest of them.
  virtual Batch batch(std::span<const int64_t> rows) const = 0;
};

// What a model already fixes, when there is one (0: learnt from the data): token ids and class
// ids must be below these.
struct DatasetLimits {
  int64_t vocabulary = 0;
  int64_t classes = 0;
};

// How targets are read: as their dtype says (integers: class ids, floats: values), or as class
// ids (whole numbers in a float array) or values (an integer array) whatever their dtype; the
// loss follows (cross-entropy for classes, mean squared error for values).
enum class TargetsAs { Dtype, Classes, Values };
std::string_view to_string(TargetsAs as);  // "dtype", "classes", "values"

// The names messages give the arrays (file names, for data read from files).
struct DatasetNames {
  std::string x = "x", targets = "targets", lengths = "lengths";
};

class ArrayDataset final : public Dataset {
 public:
  // The arrays as the header describes them. FormatError naming the array and the first
  // offending element for: N that disagrees between the arrays; a shape the layout does not
  // have; a length below 1 or above T, or a fractional one; NaN or infinity within a sample's
  // length; negative class or token ids, or ids at or above the limits.
  ArrayDataset(io::NpyArray x, std::optional<io::NpyArray> targets,
               std::optional<io::NpyArray> lengths, DatasetLimits limits = {},
               DatasetNames names = {}, TargetsAs targets_as = TargetsAs::Dtype);

  int64_t size() const override { return n_; }
  int64_t steps() const override { return t_; }
  int64_t features() const override { return tokens_ ? 0 : i_; }
  int64_t vocabulary() const override { return vocabulary_; }
  TargetKind targets() const override { return kind_; }
  int64_t outputs() const override { return outputs_; }
  int64_t length(int64_t row) const override { return lengths_[std::size_t(row)]; }
  Batch batch(std::span<const int64_t> rows) const override;

 private:
  Tensor x_, y_;
  std::vector<int64_t> lengths_;
  bool tokens_ = false;
  int64_t n_ = 0, t_ = 0, i_ = 0, vocabulary_ = 0, outputs_ = 0;
  TargetKind kind_ = TargetKind::None;
};

// The dataset of .npy files (see ArrayDataset), each named in messages by its path.
std::unique_ptr<ArrayDataset> load_dataset(const std::filesystem::path& x,
                                           const std::optional<std::filesystem::path>& targets,
                                           const std::optional<std::filesystem::path>& lengths,
                                           DatasetLimits limits = {},
                                           TargetsAs targets_as = TargetsAs::Dtype);

// Where a training run's samples come from, as `rnngraph train` names them: the files of
// load_dataset, and validation by a seeded hold-out of `validation_split` of them or from files
// of its own. Checkpoints store it, so a run on files resumes by itself.
struct DataFiles {
  std::filesystem::path x, targets;
  std::optional<std::filesystem::path> lengths;
  double validation_split = 0;  // 0: none, or the files below
  std::optional<std::filesystem::path> validation_x, validation_targets, validation_lengths;
  TargetsAs targets_as = TargetsAs::Dtype;  // `rnngraph train --loss`
};
struct TrainingData {
  std::shared_ptr<const Dataset> train, validation;  // validation: null without one
};
// The files read and checked (load_dataset), the hold-out drawn from `seed` (split_rows), and a
// separate validation set held to the training set's vocabulary and classes. GraphError for a
// split and validation files both.
TrainingData load_training_data(const DataFiles& files, uint64_t seed);

// A seeded hold-out: round(fraction · N) rows, at least one, for validation; the rest, at least
// one, for training; both in increasing order. GraphError for a fraction outside (0, 1) or a
// dataset too small to leave a row on each side.
struct Split {
  std::vector<int64_t> train, validation;
};
Split split_rows(int64_t n, double fraction, uint64_t seed);

// The samples `rows` of `data` as a dataset of their own (a training or validation split): same
// steps, features and targets. GraphError for a row outside the data or no rows.
std::shared_ptr<const Dataset> subset(std::shared_ptr<const Dataset> data,
                                      std::vector<int64_t> rows);

// One epoch's batches of `rows`: shuffled from `seed` and `epoch` (the same on every machine),
// `batch_size` rows each but the last. When the lengths vary, bucketed: each pool of 50 batches'
// rows is sorted by length and cut into batches, and the batches are shuffled, so a batch pads to
// little more than its own samples' lengths.
std::vector<std::vector<int64_t>> epoch_batches(const Dataset& data, std::span<const int64_t> rows,
                                                int64_t batch_size, uint64_t seed, int64_t epoch);

}  // namespace rnngraph::models
