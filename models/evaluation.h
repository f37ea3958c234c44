// A model scored on a dataset: its loss as training computes it (softmax cross-entropy for class
// ids, mean squared error for values, on each sample's last valid step or on every valid step)
// and, for classes, its accuracy. What `rnngraph eval` prints.
#pragma once

#include <cstdint>
#include <optional>

#include <rnngraph/models/dataset.h>
#include <rnngraph/models/model_runner.h>

namespace rnngraph::models {

struct Evaluation {
  double loss = 0;                  // mean over the scored steps (values: over their elements)
  std::optional<double> accuracy;   // classes: the share of scored steps whose argmax is right
  int64_t samples = 0, scored = 0;  // N, and the steps scored (N for sequence targets)
};

// The dataset's limits for this model: its vocabulary and, with an output layer, its classes.
DatasetLimits limits_of(const Config& model);

// Runs `model` over `data` in batches of up to `batch_size` rows, in order. GraphError when the
// dataset does not fit the model (features, no targets, or targets of another width than the
// model's outputs).
Evaluation evaluate(Model& model, const Dataset& data, int64_t batch_size = 256);

}  // namespace rnngraph::models
