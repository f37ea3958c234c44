// rnngraph train: trains a model on a built-in task (sine waves, or a character model of a text
// file) with a live progress line, a CSV log and its SVG loss curve, and checkpoints that are
// ordinary model files.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <numbers>

#include <fmt/format.h>

#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/threads.h>
#include <rnngraph/models/mpi_communicator.h>
#include <rnngraph/models/torch_state.h>
#include <rnngraph/models/training.h>

#include "cli.h"
#include "loss_curve.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph train --data X.npy --targets Y.npy [--lengths L.npy]
                      [--val-split F | --val-data X.npy --val-targets Y.npy
                       [--val-lengths L.npy]] [--epochs N | --iterations N]
                      [--loss cross-entropy|mse] [--batch-size B] [--patience N]
                      [--model CELL|M.json]
                      [--hidden-size H] [--num-layers L] [--proj-size P]
                      [--peepholes | --layer-norm] [--lr LR] [--optimizer adam|sgd]
                      [--clip C] [--seed S]
                      [--momentum M] [--weight-decay W] [--lr-schedule constant|step|cosine|
                      plateau [--lr-every N] [--lr-gamma G]] [--warmup N]
                      [--dropout P] [--recurrent-dropout P] [--save M.json] [--threads N]
       rnngraph train --task sine|text [--text FILE] --model CELL --hidden-size H
                      [--layers L] [--steps T] [--batch B] --iterations N [--lr LR]
                      [--optimizer adam|sgd] [--clip C] [--seed S] [--log loss.csv]
                      [--dropout P] [--recurrent-dropout P]
                      [--save M.json [--checkpoint-every N]] [--threads N] [--check-numerics]
       rnngraph train --resume M.json [--iterations N] [--text FILE] [--log loss.csv]
                      [--save M.json] [--checkpoint-every N] [--threads N] [--check-numerics]

Trains a recurrent model with backpropagation through time, on your data or a built-in task.

  --data X.npy       your samples, one per row ([N, T, I] features, or [N, T] integer token
                     ids), with --targets Y.npy and optional --lengths L.npy: the layouts of
                     'rnngraph eval' (docs/formats.md, "Datasets"). The targets decide the loss
                     (integer class ids: cross-entropy; float values: mean squared error; one
                     per sequence, scored on its last valid step, or one per step) and the
                     output layer's size. Each epoch reads every sample once, in batches
                     shuffled by --seed and grouped by length. Defaults: lstm, hidden 64,
                     10 epochs, batch 32, lr 0.003
  --loss L           cross-entropy: the targets are class ids even in a float file (whole
                     numbers); mse: the targets are values even in an integer file. Default:
                     as their dtype says
  --val-split F      hold out a seeded fraction F of the samples for validation
  --val-data X.npy --val-targets Y.npy [--val-lengths L.npy]
                     a validation set of its own
  --epochs N         epochs in all (the data task; instead of --iterations)
  --batch-size B     samples per iteration (--batch is the same)
  --num-layers L     stacked layers (--layers is the same)
  --patience N       stop when the validation loss has not improved for N epochs
  --momentum M       SGD's momentum (with --optimizer sgd)
  --weight-decay W   L2 weight decay, as torch.optim's weight_decay (SGD and Adam)
  --lr-schedule S    constant (default); step: times --lr-gamma (default 0.1) every --lr-every
                     epochs (iterations for the built-in tasks; default 10); cosine: down to 0
                     over the run; plateau: times --lr-gamma when the validation loss has not
                     improved for --lr-every epochs
  --warmup N         the first N iterations ramp the learning rate up linearly
                     With a validation set, the validation loss (and accuracy, for classes)
                     is printed after every epoch, and --save keeps the model of the best
                     validation loss.

  --task sine        next-step prediction of sine waves with random frequency and phase
                     (a linear output layer, mean squared error)
  --task text        a character-level language model of FILE (--text): one-hot characters
                     in, a linear output layer over the file's alphabet, cross-entropy;
                     truncated BPTT over B streams of the text, the state carried from chunk
                     to chunk
  --model M          the cell: rnn, lstm, gru, peephole_lstm, ln_lstm or a registered one;
                     or a model file M.json to start from: its cell, sizes and weights (every
                     weight must fit the data; an output layer it lacks starts fresh), e.g. a
                     model of an earlier run, or one a user's cell made
  --proj-size P      with lstm: PyTorch's proj_size (h projected to P units)
  --peepholes        with lstm: the LSTM with ONNX's peephole connections (peephole_lstm)
  --layer-norm       with lstm: the layer-normalised LSTM (ln_lstm)
  --hidden-size H    hidden units per layer
  --layers L         stacked layers (default 1)
  --steps T          steps per chunk (default 50 for sine, 64 for text)
  --batch B          sequences per iteration (default 16 for sine, 32 for text)
  --iterations N     iterations in all (a resumed run continues up to N)
  --lr LR            learning rate (default 0.01 for sine, 0.003 for text)
  --optimizer O      adam (default) or sgd, with PyTorch's semantics
  --clip C           clip the gradients' global norm to C (default: 5 for text, none for sine)
  --dropout P        dropout on every layer's output but the last one's (PyTorch's dropout=),
                     a fresh mask per step; training only (default 0)
  --recurrent-dropout P  variational dropout on the recurrent state h_{t-1}, one mask per
                     sequence (Gal and Ghahramani 2016); training only (default 0). Masks are
                     seeded by --seed and the iteration: a resumed run draws the same ones
  --seed S           seed of the initial weights and of the sine waves (default 0)
  --log F.csv        write "iteration,seconds,loss" per iteration, and the loss curve as
                     F.svg beside it
  --save M.json      write the trained model (M.json and M.safetensors, with the optimizer
                     state under optim/); run, grad, dot, info and sample read it
  --checkpoint-every N  also save to --save (or --resume) every N iterations; each save
                     replaces the last one crash-safely (killed at any moment, the files hold
                     the previous checkpoint or the new one)
  --resume M.json    continue a saved run exactly where it stopped; without --save, M.json
                     is updated
  --threads N        threads for the large products and fused cells (default 1)
  --check-numerics   stop training at the first op whose result holds a NaN or an infinity
                     (naming it, its step and layer, and its inputs' ranges) instead of going
                     on with a loss of nan

On a terminal a progress line shows the iteration, loss, speed and time left; otherwise a line
is printed every few seconds. The last line is "final loss: X", the mean loss of the last 20
iterations (fewer when the run is shorter).

Data-parallel: `mpirun -np N rnngraph train ...` (Open MPI) runs N processes, each on its block
of every batch (--batch is the whole batch), the gradients averaged with one allreduce before
each optimizer step: the weights are those of one process, to float rounding. Process 0 prints,
logs and saves; a checkpoint resumes on any number of processes. Every process reads the same
files (on several machines: at the same paths). docs/distributed.md has a hostfile example.
)";

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The options --data runs and the built-in tasks share.
void common_options(const Args& args, models::TrainConfig& c) {
  if (args.has("--batch") && args.has("--batch-size"))
    throw UsageError("--batch and --batch-size are the same option: give one");
  if (args.has("--layers") && args.has("--num-layers"))
    throw UsageError("--layers and --num-layers are the same option: give one");
  c.layers = args.integer(args.has("--num-layers") ? "--num-layers" : "--layers", 1, 1, 64);
  c.optimizer = args.get("--optimizer").value_or("adam");
  if (c.optimizer != "adam" && c.optimizer != "sgd")
    throw UsageError(fmt::format("--optimizer must be adam or sgd, got '{}'", c.optimizer));
  c.seed = uint64_t(args.integer("--seed", 0, 0, int64_t(1) << 62));
  c.dropout = float(args.number("--dropout", 0, 0, 0.99));
  c.recurrent_dropout = float(args.number("--recurrent-dropout", 0, 0, 0.99));
  c.momentum = args.number("--momentum", 0, 0, 0.999999);
  if (args.has("--momentum") && c.optimizer != "sgd")
    throw UsageError("--momentum goes with --optimizer sgd (Adam has its own betas)");
  c.weight_decay = args.number("--weight-decay", 0, 0, 1e6);
  c.schedule.kind = models::schedule_from_string(args.get("--lr-schedule").value_or("constant"));
  c.schedule.every = args.integer("--lr-every", 10, 1, int64_t(1) << 40);
  c.schedule.gamma = args.number("--lr-gamma", 0.1, 1e-12, 1);
  c.schedule.warmup = args.integer("--warmup", 0, 0, int64_t(1) << 40);
}

// --model: a cell (with --hidden-size, --layers, --proj-size, --peepholes, --layer-norm), or a
// model file to start from: its cell, sizes and weights (returned, loaded by start_from once the
// trainer exists).
std::optional<io::GraphFile> model_options(const Args& args, models::TrainConfig& c,
                                           std::optional<std::string> default_cell,
                                           std::optional<int64_t> default_hidden) {
  const std::string model =
      default_cell ? args.get("--model").value_or(*default_cell) : args.require("--model");
  if (!model.ends_with(".json")) {
    c.cell = lstm_variant(args, models::cell_from_string(model));
    c.hidden_size = args.integer("--hidden-size", default_hidden, 1, 65536);
    c.proj_size = args.integer("--proj-size", 0, 0, c.hidden_size - 1);
    if (c.proj_size > 0 && c.cell != models::Cell::Lstm)
      throw UsageError("--proj-size goes with --model lstm (PyTorch's proj_size)");
    return std::nullopt;
  }
  for (const char* flag :
       {"--hidden-size", "--layers", "--num-layers", "--proj-size", "--peepholes", "--layer-norm"})
    if (args.has(flag))
      throw UsageError(fmt::format("{} comes from the model file {}: leave it out", flag, model));
  io::GraphFile file = models::load_file(model);
  if (!models::is_model(file))
    throw FormatError(
        fmt::format("{}: not a model (a graph without a recipe cannot be trained "
                    "here; models::Trainer takes a user's cell)",
                    model));
  const models::Config m = models::config_from_file(file);
  if (m.bidirectional)
    throw FormatError(fmt::format("{}: a bidirectional model cannot be trained yet", model));
  if (m.precision != models::Precision::Float32)
    throw FormatError(fmt::format(
        "{}: a model quantized to {} runs forward only: train the float32 model it came from",
        model, models::to_string(m.precision)));
  c.cell = m.cell, c.hidden_size = m.hidden_size, c.layers = m.layers, c.proj_size = m.proj_size;
  return file;
}

std::unique_ptr<models::Trainer> make_data_trainer(const Args& args,
                                                   std::shared_ptr<models::Communicator> world) {
  if (args.has("--task") && args.get("--task") != "data")
    throw UsageError("--data trains on your samples: leave out --task");
  for (const char* flag : {"--text", "--steps"})
    if (args.has(flag)) throw UsageError(fmt::format("{} does not go with --data", flag));
  if (args.has("--epochs") && args.has("--iterations"))
    throw UsageError("give --epochs or --iterations, not both");
  models::TrainConfig c;
  c.task = models::Task::Data;
  c.communicator = std::move(world);
  common_options(args, c);
  if (args.has("--val-split") && args.has("--val-data"))
    throw UsageError("give --val-split or --val-data, not both");
  if (!args.has("--val-data") && (args.has("--val-targets") || args.has("--val-lengths")))
    throw UsageError("--val-targets and --val-lengths go with --val-data");
  models::DataFiles files{.x = args.require("--data"),
                          .targets = args.require("--targets"),
                          .validation_split = args.has("--val-split")
                                                  ? args.number("--val-split", 0.1, 1e-9, 1 - 1e-9)
                                                  : 0.0};
  auto path = [&](const char* flag) -> std::optional<std::filesystem::path> {
    if (auto p = args.get(flag)) return *p;
    return std::nullopt;
  };
  files.lengths = path("--lengths");
  files.validation_x = path("--val-data");
  if (files.validation_x) files.validation_targets = args.require("--val-targets");
  files.validation_lengths = path("--val-lengths");
  if (auto loss = args.get("--loss")) {
    if (*loss != "cross-entropy" && *loss != "mse")
      throw UsageError(fmt::format("--loss is cross-entropy or mse, not '{}'", *loss));
    files.targets_as = *loss == "mse" ? models::TargetsAs::Values : models::TargetsAs::Classes;
  }
  const models::TrainingData loaded = models::load_training_data(files, c.seed);
  c.data = loaded.train;
  c.validation = loaded.validation;
  c.files = files;
  const std::optional<io::GraphFile> start = model_options(args, c, "lstm", 64);
  c.batch = args.integer(args.has("--batch-size") ? "--batch-size" : "--batch", 32, 1, 100000);
  c.epochs = args.has("--iterations") ? 0 : args.integer("--epochs", 10, 1, 1'000'000);
  c.iterations = args.integer("--iterations", 1, 1, int64_t(1) << 24);
  c.lr = args.number("--lr", 0.003, 1e-12, 1e6);
  c.clip = args.number("--clip", 0.0, 0, 1e12);
  auto trainer = std::make_unique<models::Trainer>(c);
  if (start) trainer->start_from(models::parameters(*start->graph), args.require("--model"));
  return trainer;
}

std::unique_ptr<models::Trainer> make_trainer(const Args& args,
                                              std::shared_ptr<models::Communicator> world) {
  if (auto resume = args.get("--resume")) {
    for (const char* flag : {"--task",      "--model",      "--hidden-size",  "--layers",
                             "--steps",     "--batch",      "--lr",           "--optimizer",
                             "--clip",      "--seed",       "--dropout",      "--recurrent-dropout",
                             "--data",      "--targets",    "--lengths",      "--val-split",
                             "--val-data",  "--epochs",     "--batch-size",   "--num-layers",
                             "--patience",  "--momentum",   "--weight-decay", "--lr-schedule",
                             "--lr-every",  "--lr-gamma",   "--warmup",       "--proj-size",
                             "--peepholes", "--layer-norm", "--loss"})
      if (args.has(flag))
        throw UsageError(
            fmt::format("{} cannot change a resumed run (it is in {})", flag, *resume));
    std::optional<int64_t> iterations;
    if (args.has("--iterations"))
      iterations = args.integer("--iterations", std::nullopt, 1, int64_t(1) << 24);
    std::optional<std::filesystem::path> text;
    if (auto t = args.get("--text")) text = *t;
    return models::Trainer::resume(*resume, iterations, text, world);
  }
  if (args.has("--data")) return make_data_trainer(args, world);
  models::TrainConfig c;
  c.communicator = std::move(world);
  for (const char* flag : {"--targets", "--loss", "--lengths", "--val-split", "--val-data",
                           "--val-targets", "--val-lengths", "--epochs", "--patience"})
    if (args.has(flag)) throw UsageError(fmt::format("{} goes with --data", flag));
  c.task = models::task_from_string(args.require("--task"));
  if (c.task == models::Task::Data) throw UsageError("--task data: give --data X.npy instead");
  const bool text = c.task == models::Task::Text;
  if (text)
    c.text = args.require("--text");
  else if (args.has("--text"))
    throw UsageError("--text goes with --task text");
  common_options(args, c);
  const std::optional<io::GraphFile> start = model_options(args, c, std::nullopt, std::nullopt);
  c.steps = args.integer("--steps", text ? 64 : 50, 1, 100000);
  c.batch = args.integer(args.has("--batch-size") ? "--batch-size" : "--batch", text ? 32 : 16, 1,
                         100000);
  c.iterations = args.integer("--iterations", std::nullopt, 1, int64_t(1) << 24);
  c.lr = args.number("--lr", text ? 0.003 : 0.01, 1e-12, 1e6);
  c.clip = args.number("--clip", text ? 5.0 : 0.0, 0, 1e12);
  auto trainer = std::make_unique<models::Trainer>(c);
  if (start) trainer->start_from(models::parameters(*start->graph), args.require("--model"));
  return trainer;
}

int train_main(const std::vector<std::string>& argv) {
  // Under mpirun, process 0 speaks for the run: the others' output (the same lines, and the same
  // errors, every process reading the same files) goes to /dev/null. An error only one process
  // meets while training ends the whole run (the catch around the loop below).
  const std::shared_ptr<models::Communicator> world = models::mpi_world();
  int own_stderr = STDERR_FILENO;
  if (world && world->rank() != 0) {
    std::fflush(stdout), std::fflush(stderr);
    own_stderr = dup(STDERR_FILENO);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO), dup2(null, STDERR_FILENO), close(null);
  }
  const bool leader = !world || world->rank() == 0;

  const Args args(argv,
                  {"--task",
                   "--text",
                   "--model",
                   "--hidden-size",
                   "--layers",
                   "--steps",
                   "--batch",
                   "--iterations",
                   "--lr",
                   "--optimizer",
                   "--clip",
                   "--seed",
                   "--log",
                   "--save",
                   "--resume",
                   "--threads",
                   "--checkpoint-every",
                   "--dropout",
                   "--recurrent-dropout",
                   "--data",
                   "--targets",
                   "--lengths",
                   "--val-split",
                   "--val-data",
                   "--val-targets",
                   "--val-lengths",
                   "--epochs",
                   "--batch-size",
                   "--num-layers",
                   "--patience",
                   "--momentum",
                   "--weight-decay",
                   "--lr-schedule",
                   "--lr-every",
                   "--lr-gamma",
                   "--warmup",
                   "--proj-size",
                   "--loss"},
                  {"--check-numerics", "--peepholes", "--layer-norm"});
  if (!args.positional().empty())
    throw UsageError(
        fmt::format("train takes no positional arguments (got '{}')", args.positional()[0]));
  for (const char* flag : {"--save", "--resume"})
    if (auto path = args.get(flag); path && !path->ends_with(".json"))
      throw UsageError(fmt::format("{} '{}': model files end in .json", flag, *path));
  if (auto log = args.get("--log"); log && !log->ends_with(".csv"))
    throw UsageError(fmt::format("--log '{}': the log is a .csv file", *log));
  set_compute_threads(int(args.integer("--threads", 1, 1, 256)));

  std::unique_ptr<models::Trainer> trainer = make_trainer(args, world);
  if (trainer->done())  // a resumed run that reached its end already
    throw UsageError(fmt::format(
        "{} has run {} of its {} iterations already: give --iterations above {} to go on",
        args.require("--resume"), trainer->iteration(), trainer->config().iterations,
        trainer->iteration()));
  trainer->check_numerics(args.has("--check-numerics"));
  const models::TrainConfig& c = trainer->config();
  const std::optional<std::string> save =
      args.get("--save") ? args.get("--save") : args.get("--resume");
  const int64_t every = args.integer("--checkpoint-every", 0, 0, int64_t(1) << 40);
  if (every && !save) throw UsageError("--checkpoint-every needs --save (or --resume)");

  std::ofstream log;
  if (auto path = args.get("--log"); path && leader) {
    const bool append = args.has("--resume") && std::filesystem::exists(*path);
    log.open(*path, append ? std::ios::app : std::ios::trunc);
    if (!log) throw Error(fmt::format("cannot write '{}'", *path));
    // With a validation set, its loss and accuracy where an epoch ends (empty elsewhere).
    if (!append)
      log << (c.validation ? "iteration,seconds,loss,val_loss,val_accuracy\n"
                           : "iteration,seconds,loss\n");
  }
  // A character model's loss in bits per character (cross-entropy in nats / ln 2): the text
  // task, or data of token ids with a class per step.
  const bool characters =
      c.task == models::Task::Text || (c.task == models::Task::Data && c.data->features() == 0 &&
                                       c.data->targets() == models::TargetKind::StepClass);
  auto bits = [&](double nats) {
    return characters ? fmt::format(" ({:.3f} bits per character)", nats / std::numbers::ln2)
                      : std::string();
  };

  const bool data = c.task == models::Task::Data;
  const int64_t patience = args.integer("--patience", 0, 1, 1'000'000);
  if (args.has("--patience") && !c.validation)
    throw UsageError("--patience needs a validation set (--val-split or --val-data)");
  if (data) {
    const models::Dataset& d = *c.data;
    fmt::print(
        stderr,
        "training {} ({} layer(s), hidden {}) on {} samples of up to {} steps ({}; {} {}){}: "
        "batches of {}, {} epoch(s) of {} iterations, {} lr {}{}; training arena {} bytes\n",
        models::to_string(c.cell), c.layers, c.hidden_size, d.size(), d.steps(),
        d.features() ? fmt::format("{} features", d.features())
                     : fmt::format("{} token ids", d.vocabulary()),
        d.outputs(), models::is_classification(d.targets()) ? "classes" : "values",
        c.validation ? fmt::format(", {} for validation", c.validation->size()) : "", c.batch,
        (c.iterations + trainer->batches_per_epoch() - 1) / trainer->batches_per_epoch(),
        trainer->batches_per_epoch(), c.optimizer, c.lr,
        c.clip > 0 ? fmt::format(", clip {}", c.clip) : "", trainer->arena_bytes());
  } else {
    fmt::print(stderr,
               "training {} ({} layer(s), hidden {}) on {}: T = {}, B = {}, {} from iteration {} "
               "to {}, lr {}{}; training arena {} bytes ({} per step)\n",
               models::to_string(c.cell), c.layers, c.hidden_size, models::to_string(c.task),
               c.steps, c.batch, c.optimizer, trainer->iteration() + 1, c.iterations, c.lr,
               c.clip > 0 ? fmt::format(", clip {}", c.clip) : "", trainer->arena_bytes(),
               trainer->arena_bytes() / std::size_t(c.steps));
  }
  if (trainer->processes() > 1)
    fmt::print(stderr,
               "data-parallel on {} processes: each takes its block of every batch of {} and the "
               "gradients are averaged (MPI allreduce)\n",
               trainer->processes(), c.batch);
  const bool live = isatty(fileno(stderr));
  const auto start = Clock::now();
  auto last_print = start;
  const int64_t first = trainer->iteration();
  std::vector<float> recent;
  float loss = 0;
  // The data task: each epoch's mean loss, and the best validation loss so far.
  double epoch_sum = 0, best = trainer->lowest_validation();  // a resumed run's too
  int64_t epoch_count = 0, best_epoch = 0, stale = 0;
  bool saved_best = false;
  try {
    while (!trainer->done()) {
      loss = trainer->iterate();
      if (!std::isfinite(loss))
        throw Error(fmt::format("the loss became {} at iteration {}: lower --lr or set --clip",
                                loss, trainer->iteration()));
      recent.push_back(loss);
      epoch_sum += loss;
      ++epoch_count;
      if (every && trainer->iteration() % every == 0 && !trainer->done()) trainer->save(*save);
      const double elapsed = seconds_since(start);
      const bool epoch_end = data && trainer->epoch_finished();
      if (log) {
        std::string row = fmt::format("{},{:.3f},{}", trainer->iteration(), elapsed, loss);
        if (c.validation && epoch_end) {
          const models::Evaluation& e = *trainer->last_validation();
          row += fmt::format(",{},{}", e.loss, e.accuracy ? fmt::format("{}", *e.accuracy) : "");
        } else if (c.validation) {
          row += ",,";
        }
        log << row << "\n" << std::flush;
      }
      if (epoch_end) {
        const int64_t epochs =
            (c.iterations + trainer->batches_per_epoch() - 1) / trainer->batches_per_epoch();
        std::string line = fmt::format("epoch {}/{}: train loss {:.5f}", trainer->epoch(), epochs,
                                       epoch_sum / double(epoch_count));
        epoch_sum = 0, epoch_count = 0;
        if (c.validation) {
          const models::Evaluation e = *trainer->last_validation();  // taken by iterate()
          line += fmt::format(", validation loss {:.5f}{}", e.loss, bits(e.loss));
          if (e.accuracy) line += fmt::format(", accuracy {:.4f}", *e.accuracy);
          if (e.loss < best) {
            best = e.loss, best_epoch = trainer->epoch(), stale = 0;
            if (save) {
              trainer->save(*save);
              saved_best = true;
              line += " (best so far: saved)";
            }
          } else {
            ++stale;
          }
        }
        // On a terminal the line replaces the progress line, padded over it.
        fmt::print(stderr, "{}\n", live ? fmt::format("\r{:<78}", line) : line);
        if (patience > 0 && stale >= patience) {
          fmt::print(stderr,
                     "stopping early: the validation loss has not improved for {} epoch(s) (best "
                     "{:.5f}, epoch {})\n",
                     patience, best, best_epoch);
          break;
        }
        last_print = Clock::now();
        continue;
      }
      const double since = std::chrono::duration<double>(Clock::now() - last_print).count();
      if (since >= (live ? 0.1 : 3.0) || trainer->done()) {
        const double rate = double(trainer->iteration() - first) / std::max(elapsed, 1e-9);
        const double left = double(c.iterations - trainer->iteration()) / std::max(rate, 1e-9);
        const std::string line = fmt::format(
            "iteration {}/{}  loss {:.5f}{}  {:.1f} it/s  {:.0f} s left", trainer->iteration(),
            c.iterations, loss,
            characters ? fmt::format(" ({:.3f} bits/char)", loss / std::numbers::ln2) : "", rate,
            left);
        if (live)
          fmt::print(stderr, "\r{:<78}", line);
        else
          fmt::print(stderr, "{}\n", line);
        last_print = Clock::now();
      }
    }
  } catch (const std::exception& e) {
    if (!world || world->size() == 1) throw;
    // The other processes may be waiting for this one in the next allreduce: end them all.
    const std::string line =
        fmt::format("rnngraph: process {}: {}\n", world->rank(),
                    dynamic_cast<const Error*>(&e) ? e.what() : printable(e.what()));
    (void)!write(own_stderr, line.data(), line.size());
    models::mpi_abort(dynamic_cast<const Error*>(&e) ? 2 : 1);
  }
  if (live && !data) fmt::print(stderr, "\n");
  const double took = seconds_since(start);
  fmt::print(stderr, "trained on {} sequences in {:.2f} s: {:.0f} sequences/s{}\n",
             trainer->sequences(), took, double(trainer->sequences()) / std::max(took, 1e-9),
             trainer->processes() > 1
                 ? fmt::format(" on {} processes (allreduce {:.1f}% of process 0's time)",
                               trainer->processes(), 100 * trainer->allreduce_seconds() / took)
                 : "");
  if (save && saved_best) {
    fmt::print(stderr, "kept the model of epoch {} (validation loss {:.5f}) in {}\n", best_epoch,
               best, *save);
  } else if (save) {
    trainer->save(*save);
    fmt::print(stderr, "saved {} and {}\n", *save,
               std::filesystem::path(*save).replace_extension(".safetensors").string());
  }
  if (auto path = args.get("--log"); path && leader) {
    log.close();
    const auto svg = std::filesystem::path(*path).replace_extension(".svg");
    const LossLog logged = read_loss_log(*path);
    write_loss_curve(svg, logged.losses,
                     fmt::format("{} {} on {}: loss per iteration", models::to_string(c.cell),
                                 c.hidden_size, models::to_string(c.task)),
                     logged.validation);
    fmt::print(stderr, "wrote {} and {}\n", *path, svg.string());
  }
  const std::size_t n = std::min<std::size_t>(recent.size(), 20);
  double mean = 0;
  for (std::size_t i = recent.size() - n; i < recent.size(); ++i) mean += recent[i];
  fmt::print("final loss: {:.6f}\n", n ? mean / double(n) : 0.0);
  return 0;
}
}  // namespace

Command train_command() {
  return {"train", "train a model on sine waves or a text file (BPTT, Adam/SGD)", kUsage,
          train_main};
}

}  // namespace rnngraph::cli
