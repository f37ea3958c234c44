// rnngraph eval: a model's loss (and accuracy, for classes) on a dataset of .npy files.
#include <cmath>

#include <fmt/format.h>

#include <rnngraph/models/evaluation.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {

constexpr std::string_view kUsage =
    R"(usage: rnngraph eval M.json --data X.npy --targets Y.npy [--lengths L.npy]
                     [--batch-size B] [--json]

Scores a model file on a dataset, one sample per row (docs/formats.md, "Datasets"):

  --data X.npy       [N, T, I] features (float32 or float64), or [N, T] integer token ids
  --targets Y.npy    [N] class ids (scored on each sample's last valid step), [N, T] class ids
                     (every valid step), [N, O] or [N] values, [N, T, O] values (integers are
                     class ids, floats values)
  --lengths L.npy    [N] lengths in 1..T; steps past a sample's length are never scored
  --batch-size B     samples run at once (default 256); the result does not depend on it
  --json             the last line is one JSON object: loss, n (samples), scored (steps),
                     and for classes accuracy

Prints the mean loss as training computes it (softmax cross-entropy for class ids, mean squared
error for values), the accuracy for classes, and bits per character for a character model
(a loss in nats divided by ln 2).
)";

int eval_main(const std::vector<std::string>& argv) {
  const Args args(argv, {"--data", "--targets", "--lengths", "--batch-size"}, {"--json"});
  if (args.positional().size() != 1) throw UsageError("eval takes one model file");
  if (!args.has("--targets"))
    throw UsageError("eval needs --targets Y.npy (run gives a model's outputs without them)");
  const int64_t batch = args.integer("--batch-size", 256, 1, 1'000'000);
  models::Model model = models::Model::load(args.positional()[0]);
  const auto data = models::load_dataset(args.require("--data"), args.get("--targets"),
                                         args.get("--lengths"), models::limits_of(model.config()));
  const models::Evaluation e = models::evaluate(model, *data, batch);
  const bool characters = !model.config().vocabulary.empty();
  if (args.has("--json")) {
    std::string json =
        fmt::format("{{\"loss\": {}, \"n\": {}, \"scored\": {}", e.loss, e.samples, e.scored);
    if (e.accuracy) json += fmt::format(", \"accuracy\": {}", *e.accuracy);
    if (characters) json += fmt::format(", \"bits_per_character\": {}", e.loss / std::log(2.0));
    fmt::print("{}}}\n", json);
    return 0;
  }
  std::string line = fmt::format("loss {:.6g}", e.loss);
  if (e.accuracy) line += fmt::format(", accuracy {:.4f}", *e.accuracy);
  if (characters) line += fmt::format(", {:.4f} bits per character", e.loss / std::log(2.0));
  fmt::print("{} ({} samples, {} steps scored)\n", line, e.samples, e.scored);
  return 0;
}

}  // namespace

Command eval_command() {
  return {"eval", "score a model on a dataset: loss, accuracy", kUsage, eval_main};
}

}  // namespace rnngraph::cli
