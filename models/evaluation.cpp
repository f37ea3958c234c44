#include <rnngraph/models/evaluation.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph::models {

DatasetLimits limits_of(const Config& c) {
  return {.vocabulary = c.tokens == TokenInput::None ? 0 : c.vocab_size, .classes = c.output_size};
}

namespace {

// The model's outputs per step: its output layer's, else what the top layer hands up.
int64_t outputs_of(const Config& c) {
  return c.output_size > 0 ? c.output_size : directions(c) * cell_output_size(c);
}

void check_fit(const Config& c, const Dataset& data) {
  if (data.targets() == TargetKind::None)
    throw GraphError("eval needs targets: give the dataset's targets (--targets Y.npy)");
  const bool tokens = c.tokens != TokenInput::None;
  if (tokens != (data.features() == 0))
    throw GraphError(tokens ? "the model reads token ids ([N, T] integers), the data holds features"
                            : "the model reads features ([N, T, I] floats), the data holds ids");
  if (tokens && data.vocabulary() > c.vocab_size)
    throw GraphError(fmt::format("the data holds token ids up to {}, the model reads {}",
                                 data.vocabulary() - 1, c.vocab_size));
  if (!tokens && data.features() != c.input_size)
    throw GraphError(fmt::format("the data has {} features per step, the model reads {}",
                                 data.features(), c.input_size));
  if (data.outputs() != outputs_of(c))
    throw GraphError(
        fmt::format("the targets have {} {}, the model gives {} outputs per step", data.outputs(),
                    is_classification(data.targets()) ? "classes" : "values", outputs_of(c)));
}

}  // namespace

Evaluation evaluate(Model& model, const Dataset& data, int64_t batch_size) {
  if (batch_size < 1) throw GraphError("the batch size must be at least 1");
  const Config& c = model.config();
  check_fit(c, data);
  const TargetKind kind = data.targets();
  const int64_t O = data.outputs();
  double loss = 0, right = 0;
  Evaluation e{.samples = data.size()};
  for (int64_t first = 0; first < data.size(); first += batch_size) {
    std::vector<int64_t> rows(std::size_t(std::min(batch_size, data.size() - first)));
    std::iota(rows.begin(), rows.end(), first);
    const Batch b = data.batch(rows);
    const int64_t B = int64_t(rows.size());
    const Tensor& y =
        model.run({{c.tokens == TokenInput::None ? "x" : "tokens", b.x}}, b.lengths)["y"];
    // One scored step: y's row at (t, j) against the target's.
    auto score = [&](int64_t t, int64_t j, const float* target) {
      const float* out = y.data() + (t * B + j) * O;
      if (!is_classification(kind)) {
        for (int64_t o = 0; o < O; ++o) loss += std::pow(double(out[o]) - target[o], 2) / O;
      } else {
        const double top = *std::max_element(out, out + O);
        double sum = 0;
        for (int64_t o = 0; o < O; ++o) sum += std::exp(double(out[o]) - top);
        const int64_t id = int64_t(*target);
        loss += top + std::log(sum) - out[id];
        right += int64_t(std::max_element(out, out + O) - out) == id;
      }
      ++e.scored;
    };
    for (int64_t j = 0; j < B; ++j) {
      const int64_t length = b.lengths[std::size_t(j)];
      if (is_per_step(kind))
        for (int64_t t = 0; t < length; ++t)
          score(t, j, b.targets.data() + (t * B + j) * (kind == TargetKind::StepClass ? 1 : O));
      else
        score(length - 1, j, b.targets.data() + j * (kind == TargetKind::SequenceClass ? 1 : O));
    }
  }
  e.loss = loss / double(e.scored);
  if (is_classification(kind)) e.accuracy = right / double(e.scored);
  return e;
}

}  // namespace rnngraph::models
