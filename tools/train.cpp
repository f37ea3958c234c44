// rnngraph train: trains a model on a built-in task (sine waves, or a character model of a text
// file) with a live progress line, a CSV log and its SVG loss curve, and checkpoints that are
// ordinary model files.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include <rnngraph/framework/threads.h>
#include <rnngraph/models/training.h>

#include "cli.h"
#include "loss_curve.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph train --task sine|text [--text FILE] --model CELL --hidden-size H
                      [--layers L] [--steps T] [--batch B] --iterations N [--lr LR]
                      [--optimizer adam|sgd] [--clip C] [--seed S] [--log loss.csv]
                      [--dropout P] [--recurrent-dropout P]
                      [--save M.json [--checkpoint-every N]] [--threads N] [--check-numerics]
       rnngraph train --resume M.json [--iterations N] [--text FILE] [--log loss.csv]
                      [--save M.json] [--checkpoint-every N] [--threads N] [--check-numerics]

Trains a recurrent model with backpropagation through time.

  --task sine        next-step prediction of sine waves with random frequency and phase
                     (a linear output layer, mean squared error)
  --task text        a character-level language model of FILE (--text): one-hot characters
                     in, a linear output layer over the file's alphabet, cross-entropy;
                     truncated BPTT over B streams of the text, the state carried from chunk
                     to chunk
  --model M          the cell: rnn, lstm, gru, peephole_lstm, ln_lstm
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
)";

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<models::Trainer> make_trainer(const Args& args) {
  if (auto resume = args.get("--resume")) {
    for (const char* flag :
         {"--task", "--model", "--hidden-size", "--layers", "--steps", "--batch", "--lr",
          "--optimizer", "--clip", "--seed", "--dropout", "--recurrent-dropout"})
      if (args.has(flag))
        throw UsageError(
            fmt::format("{} cannot change a resumed run (it is in {})", flag, *resume));
    std::optional<int64_t> iterations;
    if (args.has("--iterations"))
      iterations = args.integer("--iterations", std::nullopt, 1, int64_t(1) << 24);
    std::optional<std::filesystem::path> text;
    if (auto t = args.get("--text")) text = *t;
    return models::Trainer::resume(*resume, iterations, text);
  }
  models::TrainConfig c;
  c.task = models::task_from_string(args.require("--task"));
  const bool text = c.task == models::Task::Text;
  if (text)
    c.text = args.require("--text");
  else if (args.has("--text"))
    throw UsageError("--text goes with --task text");
  c.cell = models::cell_from_string(args.require("--model"));
  c.hidden_size = args.integer("--hidden-size", std::nullopt, 1, 65536);
  c.layers = args.integer("--layers", 1, 1, 64);
  c.steps = args.integer("--steps", text ? 64 : 50, 1, 100000);
  c.batch = args.integer("--batch", text ? 32 : 16, 1, 100000);
  c.iterations = args.integer("--iterations", std::nullopt, 1, int64_t(1) << 24);
  c.lr = args.number("--lr", text ? 0.003 : 0.01, 1e-12, 1e6);
  c.optimizer = args.get("--optimizer").value_or("adam");
  if (c.optimizer != "adam" && c.optimizer != "sgd")
    throw UsageError(fmt::format("--optimizer must be adam or sgd, got '{}'", c.optimizer));
  c.clip = args.number("--clip", text ? 5.0 : 0.0, 0, 1e12);
  c.seed = uint64_t(args.integer("--seed", 0, 0, int64_t(1) << 62));
  c.dropout = float(args.number("--dropout", 0, 0, 0.99));
  c.recurrent_dropout = float(args.number("--recurrent-dropout", 0, 0, 0.99));
  return std::make_unique<models::Trainer>(c);
}

int train_main(const std::vector<std::string>& argv) {
  const Args args(
      argv,
      {"--task", "--text", "--model", "--hidden-size", "--layers", "--steps", "--batch",
       "--iterations", "--lr", "--optimizer", "--clip", "--seed", "--log", "--save", "--resume",
       "--threads", "--checkpoint-every", "--dropout", "--recurrent-dropout"},
      {"--check-numerics"});
  if (!args.positional().empty())
    throw UsageError(
        fmt::format("train takes no positional arguments (got '{}')", args.positional()[0]));
  for (const char* flag : {"--save", "--resume"})
    if (auto path = args.get(flag); path && !path->ends_with(".json"))
      throw UsageError(fmt::format("{} '{}': model files end in .json", flag, *path));
  if (auto log = args.get("--log"); log && !log->ends_with(".csv"))
    throw UsageError(fmt::format("--log '{}': the log is a .csv file", *log));
  set_compute_threads(int(args.integer("--threads", 1, 1, 256)));

  std::unique_ptr<models::Trainer> trainer = make_trainer(args);
  trainer->check_numerics(args.has("--check-numerics"));
  const models::TrainConfig& c = trainer->config();
  const std::optional<std::string> save =
      args.get("--save") ? args.get("--save") : args.get("--resume");
  const int64_t every = args.integer("--checkpoint-every", 0, 0, int64_t(1) << 40);
  if (every && !save) throw UsageError("--checkpoint-every needs --save (or --resume)");

  std::ofstream log;
  if (auto path = args.get("--log")) {
    const bool append = args.has("--resume") && std::filesystem::exists(*path);
    log.open(*path, append ? std::ios::app : std::ios::trunc);
    if (!log) throw Error(fmt::format("cannot write '{}'", *path));
    if (!append) log << "iteration,seconds,loss\n";
  }

  fmt::print(stderr,
             "training {} ({} layer(s), hidden {}) on {}: T = {}, B = {}, {} from iteration {} to "
             "{}, lr {}{}; training arena {} bytes ({} per step)\n",
             models::to_string(c.cell), c.layers, c.hidden_size, models::to_string(c.task), c.steps,
             c.batch, c.optimizer, trainer->iteration() + 1, c.iterations, c.lr,
             c.clip > 0 ? fmt::format(", clip {}", c.clip) : "", trainer->arena_bytes(),
             trainer->arena_bytes() / std::size_t(c.steps));
  const bool live = isatty(fileno(stderr));
  const auto start = Clock::now();
  auto last_print = start;
  const int64_t first = trainer->iteration();
  std::vector<float> recent;
  float loss = 0;
  while (!trainer->done()) {
    loss = trainer->iterate();
    if (!std::isfinite(loss))
      throw Error(fmt::format("the loss became {} at iteration {}: lower --lr or set --clip", loss,
                              trainer->iteration()));
    recent.push_back(loss);
    if (every && trainer->iteration() % every == 0 && !trainer->done()) trainer->save(*save);
    const double elapsed = seconds_since(start);
    if (log)
      log << fmt::format("{},{:.3f},{}\n", trainer->iteration(), elapsed, loss) << std::flush;
    const double since = std::chrono::duration<double>(Clock::now() - last_print).count();
    if (since >= (live ? 0.1 : 3.0) || trainer->done()) {
      const double rate = double(trainer->iteration() - first) / std::max(elapsed, 1e-9);
      const double left = double(c.iterations - trainer->iteration()) / std::max(rate, 1e-9);
      const std::string line =
          fmt::format("iteration {}/{}  loss {:.5f}  {:.1f} it/s  {:.0f} s left",
                      trainer->iteration(), c.iterations, loss, rate, left);
      if (live)
        fmt::print(stderr, "\r{:<78}", line);
      else
        fmt::print(stderr, "{}\n", line);
      last_print = Clock::now();
    }
  }
  if (live) fmt::print(stderr, "\n");
  if (save) {
    trainer->save(*save);
    fmt::print(stderr, "saved {} and {}\n", *save,
               std::filesystem::path(*save).replace_extension(".safetensors").string());
  }
  if (auto path = args.get("--log")) {
    log.close();
    const auto svg = std::filesystem::path(*path).replace_extension(".svg");
    write_loss_curve(svg, read_loss_log(*path),
                     fmt::format("{} {} on {}: loss per iteration", models::to_string(c.cell),
                                 c.hidden_size, models::to_string(c.task)));
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
