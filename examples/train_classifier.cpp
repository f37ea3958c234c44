// A sequence classifier end to end with the C++ API: a dataset of variable-length sequences held
// in memory, a validation split, training by epochs, the validation score after each (an epoch
// callback), and the model saved for `rnngraph run`, `eval` and `dot`.
//
// The task: is the sum of a sequence's first feature positive? Sequences have 5 to 20 steps of
// 2 features; the rest of each row is padding, which the lengths keep out of the model.
//
//   build/examples/train_classifier [-o DIR]     (writes DIR/classifier.json, default ".")
#include <cstdio>
#include <filesystem>
#include <string>

#include <rnngraph/rnngraph.h>

using namespace rnngraph;

int main(int argc, char** argv) {
  const std::filesystem::path out = argc == 3 && std::string(argv[1]) == "-o" ? argv[2] : ".";
  const int64_t N = 1000, T = 20, I = 2;

  // The arrays a Dataset reads: x [N, T, I] floats, y [N] class ids, lengths [N].
  io::NpyArray x{init::normal(0, 1, 1).tensor({N, T, I})};
  io::NpyArray y{Tensor({N}), /*integer=*/true}, lengths{Tensor({N}), true};
  const Tensor draws = init::uniform(5, 21, 2).tensor({N});
  for (int64_t n = 0; n < N; ++n) {
    const int64_t length = int64_t(draws.data()[n]);
    float sum = 0;
    for (int64_t t = 0; t < length; ++t) sum += x.values.data()[(n * T + t) * I];
    y.values.data()[n] = sum > 0 ? 1.0f : 0.0f;
    lengths.values.data()[n] = float(length);
  }
  auto data = std::make_shared<const models::ArrayDataset>(x, y, lengths);

  // A seeded hold-out of 20%, and a trainer over the rest: the targets make it a classifier
  // (cross-entropy on each sample's last valid step) with an output layer of 2 classes.
  const models::Split split = models::split_rows(data->size(), 0.2, /*seed=*/0);
  models::TrainConfig config{.task = models::Task::Data,
                             .data = models::subset(data, split.train),
                             .validation = models::subset(data, split.validation),
                             .epochs = 8,
                             .cell = models::Cell::Lstm,
                             .hidden_size = 16,
                             .batch = 32,
                             .lr = 0.003};
  // After each epoch's last iteration, with the validation score the trainer took (a callback
  // may also evaluate a metric of its own, log, or save).
  config.on_epoch = [](models::Trainer& t) {
    const models::Evaluation& v = *t.last_validation();
    std::printf("epoch %lld: validation loss %.4f, accuracy %.3f, next learning rate %g\n",
                static_cast<long long>(t.epoch()), v.loss, *v.accuracy, t.lr());
  };
  models::Trainer trainer(config);
  while (!trainer.done()) trainer.iterate();
  const std::filesystem::path file = out / "classifier.json";
  trainer.save(file);

  // The saved model, scored again from its file: the same numbers.
  models::Model model = models::Model::load(file);
  const models::Evaluation e = models::evaluate(model, *models::subset(data, split.validation));
  std::printf("wrote %s: validation accuracy %.3f over %lld samples\n", file.string().c_str(),
              *e.accuracy, static_cast<long long>(e.samples));
  return *e.accuracy > 0.85 ? 0 : 1;
}
