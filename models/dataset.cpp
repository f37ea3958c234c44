#include <rnngraph/models/dataset.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph::models {

std::string_view to_string(TargetKind kind) {
  switch (kind) {
    case TargetKind::None:
      return "none";
    case TargetKind::SequenceClass:
      return "sequence class";
    case TargetKind::StepClass:
      return "step class";
    case TargetKind::SequenceValue:
      return "sequence value";
    case TargetKind::StepValue:
      return "step value";
  }
  return "?";
}

bool is_classification(TargetKind kind) {
  return kind == TargetKind::SequenceClass || kind == TargetKind::StepClass;
}

bool is_per_step(TargetKind kind) {
  return kind == TargetKind::StepClass || kind == TargetKind::StepValue;
}

namespace {

// "[3, 1, 2]": an element's index in an array of `shape`, from its flat offset.
std::string index_of(const Shape& shape, int64_t flat) {
  std::vector<int64_t> index(std::size_t(shape.rank()));
  for (int axis = shape.rank() - 1; axis >= 0; --axis) {
    index[std::size_t(axis)] = flat % shape[axis];
    flat /= shape[axis];
  }
  return fmt::format("[{}]", fmt::join(index, ", "));
}

// The number of ids an integer array refers to (its largest + 1), checked against `limit` (0:
// none) and for negative values.
int64_t count_ids(const Tensor& ids, std::string_view name, std::string_view what, int64_t limit,
                  std::span<const int64_t> lengths, int64_t steps) {
  const float* v = ids.data();
  float largest = -1;
  for (int64_t k = 0; k < ids.numel(); ++k) {
    // Per-step ids past a sample's length are padding, never read.
    if (steps > 0 && k % steps >= lengths[std::size_t(k / steps)]) continue;
    if (v[k] < 0)
      throw FormatError(
          fmt::format("{}: {} {} at {} is negative", name, what, v[k], index_of(ids.shape(), k)));
    if (v[k] != std::floor(v[k]))  // (floats read as ids: NaN fails here too)
      throw FormatError(fmt::format("{}: {} {} at {} is not a whole number", name, what, v[k],
                                    index_of(ids.shape(), k)));
    if (limit > 0 && v[k] >= float(limit))
      throw FormatError(fmt::format("{}: {} {} at {} is out of range: the model has {}", name, what,
                                    v[k], index_of(ids.shape(), k), limit));
    largest = std::max(largest, v[k]);
  }
  return limit > 0 ? limit : int64_t(largest) + 1;
}

// NaN or infinity within a sample's length: `per_row` elements a row, `per_step` a step.
void check_finite(const Tensor& values, std::string_view name, std::span<const int64_t> lengths,
                  int64_t per_step) {
  const float* v = values.data();
  const int64_t per_row = values.numel() / int64_t(lengths.size());
  for (int64_t k = 0; k < values.numel(); ++k) {
    const int64_t row = k / per_row;
    if (per_step > 0 && (k % per_row) / per_step >= lengths[std::size_t(row)]) continue;
    if (!std::isfinite(v[k]))
      throw FormatError(fmt::format("{}: {} at {}", name, v[k], index_of(values.shape(), k)));
  }
}

}  // namespace

std::string_view to_string(TargetsAs as) {
  return as == TargetsAs::Classes ? "classes" : as == TargetsAs::Values ? "values" : "dtype";
}

ArrayDataset::ArrayDataset(io::NpyArray x, std::optional<io::NpyArray> targets,
                           std::optional<io::NpyArray> lengths, DatasetLimits limits,
                           DatasetNames names, TargetsAs targets_as) {
  const Shape& xs = x.values.shape();
  if (xs.rank() != 2 && xs.rank() != 3)
    throw FormatError(fmt::format("{}: {} is neither [N, T, I] features nor [N, T] token ids",
                                  names.x, xs.str()));
  n_ = xs[0];
  t_ = xs[1];
  tokens_ = x.integer && xs.rank() == 2;
  i_ = xs.rank() == 3 ? xs[2] : 1;
  x_ = x.values;

  lengths_.assign(std::size_t(n_), t_);
  if (lengths) {
    const Shape& ls = lengths->values.shape();
    if (ls.rank() != 1 || ls[0] != n_)
      throw FormatError(fmt::format("{}: {} lengths for the {} samples of {} (expected [{}])",
                                    names.lengths, ls.str(), n_, names.x, n_));
    for (int64_t k = 0; k < n_; ++k) {
      const float v = lengths->values.data()[k];
      if (!(v >= 1 && v <= float(t_) && v == std::floor(v)))  // 3.0 in a float file is fine
        throw FormatError(
            fmt::format("{}: sample {} has length {}; lengths are integers from 1 to T = {}",
                        names.lengths, k, v, t_));
      lengths_[std::size_t(k)] = int64_t(v);
    }
  }

  if (tokens_)
    vocabulary_ = count_ids(x_, names.x, "token id", limits.vocabulary, lengths_, t_);
  else
    check_finite(x_, names.x, lengths_, i_);

  if (!targets) return;
  if (targets_as != TargetsAs::Dtype) targets->integer = targets_as == TargetsAs::Classes;
  y_ = targets->values;
  const Shape& ys = y_.shape();
  if (ys[0] != n_)
    throw FormatError(
        fmt::format("{}: {} targets for the {} samples of {}", names.targets, ys[0], n_, names.x));
  const bool per_step = ys.rank() >= 2 && ys[1] == t_ && (targets->integer || ys.rank() == 3);
  if (targets->integer) {
    if (ys.rank() > 2 || (ys.rank() == 2 && ys[1] != t_))
      throw FormatError(fmt::format(
          "{}: class ids are [N] (one per sequence) or [N, T] = [{}, {}] (one per step), not {}",
          names.targets, n_, t_, ys.str()));
    kind_ = per_step ? TargetKind::StepClass : TargetKind::SequenceClass;
    outputs_ =
        count_ids(y_, names.targets, "class id", limits.classes, lengths_, per_step ? t_ : 0);
    return;
  }
  if (ys.rank() == 3 && ys[1] != t_)
    throw FormatError(fmt::format("{}: per-step values are [N, T, O] with T = {}, not {}",
                                  names.targets, t_, ys.str()));
  if (ys.rank() > 3)
    throw FormatError(
        fmt::format("{}: values are [N], [N, O] or [N, T, O], not {}", names.targets, ys.str()));
  kind_ = ys.rank() == 3 ? TargetKind::StepValue : TargetKind::SequenceValue;
  outputs_ = ys.rank() == 1 ? 1 : ys[ys.rank() - 1];
  if (ys.rank() == 1) y_ = y_.reshaped({n_, 1});
  check_finite(y_, names.targets, lengths_, kind_ == TargetKind::StepValue ? outputs_ : 0);
}

Batch ArrayDataset::batch(std::span<const int64_t> rows) const {
  const int64_t B = int64_t(rows.size());
  if (B == 0) throw GraphError("a batch needs at least one sample");
  Batch b;
  int64_t T = 0;
  for (int64_t r : rows) {
    if (r < 0 || r >= n_)
      throw GraphError(fmt::format("sample {} is outside the dataset's {} rows", r, n_));
    T = std::max(T, lengths_[std::size_t(r)]);
    b.lengths.push_back(lengths_[std::size_t(r)]);
  }
  b.rows.assign(rows.begin(), rows.end());
  const int64_t I = tokens_ ? 1 : i_, O = outputs_;
  b.x = tokens_ ? Tensor({T, B}) : Tensor({T, B, I});
  b.mask = Tensor({T, B, 1});
  if (kind_ == TargetKind::SequenceClass) b.targets = Tensor({B});
  if (kind_ == TargetKind::StepClass) b.targets = Tensor({T, B});
  if (kind_ == TargetKind::SequenceValue) b.targets = Tensor({B, O});
  if (kind_ == TargetKind::StepValue) b.targets = Tensor({T, B, O});
  for (int64_t j = 0; j < B; ++j) {
    const int64_t r = rows[std::size_t(j)], len = b.lengths[std::size_t(j)];
    for (int64_t t = 0; t < len; ++t) {
      std::copy_n(x_.data() + (r * t_ + t) * I, I, b.x.data() + (t * B + j) * I);
      b.mask.data()[t * B + j] = 1;
      if (kind_ == TargetKind::StepClass) b.targets.data()[t * B + j] = y_.data()[r * t_ + t];
      if (kind_ == TargetKind::StepValue)
        std::copy_n(y_.data() + (r * t_ + t) * O, O, b.targets.data() + (t * B + j) * O);
    }
    if (kind_ == TargetKind::SequenceClass) b.targets.data()[j] = y_.data()[r];
    if (kind_ == TargetKind::SequenceValue)
      std::copy_n(y_.data() + r * O, O, b.targets.data() + j * O);
  }
  return b;
}

std::unique_ptr<ArrayDataset> load_dataset(const std::filesystem::path& x,
                                           const std::optional<std::filesystem::path>& targets,
                                           const std::optional<std::filesystem::path>& lengths,
                                           DatasetLimits limits, TargetsAs targets_as) {
  std::optional<io::NpyArray> y, l;
  if (targets) y = io::read_npy_array(*targets);
  if (lengths) l = io::read_npy_array(*lengths);
  return std::make_unique<ArrayDataset>(
      io::read_npy_array(x), std::move(y), std::move(l), limits,
      DatasetNames{x.string(), targets ? targets->string() : "", lengths ? lengths->string() : ""},
      targets_as);
}

TrainingData load_training_data(const DataFiles& f, uint64_t seed) {
  const bool separate = f.validation_x.has_value();
  if (separate && f.validation_split > 0)
    throw GraphError("validation: a split of the data or files of its own, not both");
  if (!separate && (f.validation_targets || f.validation_lengths))
    throw GraphError("validation targets and lengths go with validation samples");
  TrainingData out;
  out.train = load_dataset(f.x, f.targets, f.lengths, {}, f.targets_as);
  if (f.validation_split > 0) {
    const Split rows = split_rows(out.train->size(), f.validation_split, seed);
    out.validation = subset(out.train, rows.validation);
    out.train = subset(out.train, rows.train);
  } else if (separate) {
    if (!f.validation_targets) throw GraphError("validation samples need their targets");
    const Dataset& d = *out.train;
    out.validation = load_dataset(
        *f.validation_x, f.validation_targets, f.validation_lengths,
        {.vocabulary = d.vocabulary(), .classes = is_classification(d.targets()) ? d.outputs() : 0},
        f.targets_as);
  }
  return out;
}

namespace {
// Fisher-Yates with our own draw (std::uniform_int_distribution differs between standard
// libraries), so a seed gives the same order everywhere.
void shuffle(std::vector<int64_t>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}
}  // namespace

Split split_rows(int64_t n, double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction < 1))
    throw GraphError(fmt::format("the validation split is a fraction in (0, 1), got {}", fraction));
  const int64_t held = std::max<int64_t>(1, std::llround(fraction * double(n)));
  if (n - held < 1)
    throw GraphError(fmt::format(
        "a validation split of {} leaves no sample to train on: the dataset has {} sample{}",
        fraction, n, n == 1 ? "" : "s"));
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 1000003 + 0x5eed);
  shuffle(order, rng);
  Split s{std::vector<int64_t>(order.begin() + held, order.end()),
          std::vector<int64_t>(order.begin(), order.begin() + held)};
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.validation.begin(), s.validation.end());
  return s;
}

namespace {
class Subset final : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> data, std::vector<int64_t> rows)
      : data_(std::move(data)), rows_(std::move(rows)) {}
  int64_t size() const override { return int64_t(rows_.size()); }
  int64_t steps() const override { return data_->steps(); }
  int64_t features() const override { return data_->features(); }
  int64_t vocabulary() const override { return data_->vocabulary(); }
  TargetKind targets() const override { return data_->targets(); }
  int64_t outputs() const override { return data_->outputs(); }
  int64_t length(int64_t row) const override { return data_->length(rows_[std::size_t(row)]); }
  Batch batch(std::span<const int64_t> rows) const override {
    std::vector<int64_t> mapped;
    for (int64_t r : rows) {
      if (r < 0 || r >= size())
        throw GraphError(fmt::format("sample {} is outside the dataset's {} rows", r, size()));
      mapped.push_back(rows_[std::size_t(r)]);
    }
    Batch b = data_->batch(mapped);
    b.rows.assign(rows.begin(), rows.end());
    return b;
  }

 private:
  std::shared_ptr<const Dataset> data_;
  std::vector<int64_t> rows_;
};
}  // namespace

std::shared_ptr<const Dataset> subset(std::shared_ptr<const Dataset> data,
                                      std::vector<int64_t> rows) {
  if (rows.empty()) throw GraphError("a subset of a dataset needs at least one row");
  for (int64_t r : rows)
    if (r < 0 || r >= data->size())
      throw GraphError(fmt::format("row {} is outside the dataset's {} rows", r, data->size()));
  return std::make_shared<Subset>(std::move(data), std::move(rows));
}

std::vector<std::vector<int64_t>> epoch_batches(const Dataset& data, std::span<const int64_t> rows,
                                                int64_t batch_size, uint64_t seed, int64_t epoch) {
  if (batch_size < 1) throw GraphError("the batch size must be at least 1");
  std::vector<int64_t> order(rows.begin(), rows.end());
  std::mt19937_64 rng(seed * 1000003 + uint64_t(epoch) * 7919 + 1);
  shuffle(order, rng);
  const bool varying = std::any_of(order.begin(), order.end(), [&](int64_t r) {
    return data.length(r) != data.length(order.front());
  });
  if (varying) {
    const std::size_t pool = std::size_t(batch_size) * 50;
    for (std::size_t at = 0; at < order.size(); at += pool) {
      const auto end = order.begin() + std::ptrdiff_t(std::min(order.size(), at + pool));
      std::stable_sort(order.begin() + std::ptrdiff_t(at), end,
                       [&](int64_t a, int64_t b) { return data.length(a) < data.length(b); });
    }
  }
  std::vector<std::vector<int64_t>> batches;
  for (std::size_t at = 0; at < order.size(); at += std::size_t(batch_size))
    batches.emplace_back(
        order.begin() + std::ptrdiff_t(at),
        order.begin() + std::ptrdiff_t(std::min(order.size(), at + std::size_t(batch_size))));
  if (varying) {
    std::vector<int64_t> which(batches.size());
    std::iota(which.begin(), which.end(), 0);
    shuffle(which, rng);
    std::vector<std::vector<int64_t>> shuffled;
    for (int64_t k : which) shuffled.push_back(std::move(batches[std::size_t(k)]));
    batches = std::move(shuffled);
  }
  return batches;
}

}  // namespace rnngraph::models
