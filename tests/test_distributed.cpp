// Data-parallel training: N processes sharing every batch take the steps one process takes on
// the whole batch. In-process first (processes as threads, a Communicator over shared memory),
// then the CLI under mpirun on the loopback.
#include <barrier>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <random>
#include <thread>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;

namespace {

// N threads as N processes: each collective deposits every rank's values, waits for all, reads.
class ThreadGroup {
 public:
  explicit ThreadGroup(int n) : slots_(std::size_t(n)), barrier_(n) {}
  int size() const { return int(slots_.size()); }
  std::vector<std::vector<double>> exchange(int rank, std::vector<double> mine) {
    slots_[std::size_t(rank)] = std::move(mine);
    barrier_.arrive_and_wait();  // every rank's values are in
    std::vector<std::vector<double>> all = slots_;
    barrier_.arrive_and_wait();  // every rank has read them
    return all;
  }

 private:
  std::vector<std::vector<double>> slots_;
  std::barrier<> barrier_;
};

class ThreadCommunicator final : public models::Communicator {
 public:
  ThreadCommunicator(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_.size(); }
  void sum(std::span<float> values) override { sum_into(values); }
  void sum(std::span<double> values) override { sum_into(values); }
  void broadcast(std::span<float> values) override {
    const auto all = group_.exchange(rank_, {values.begin(), values.end()});
    std::copy(all[0].begin(), all[0].end(), values.begin());
  }
  std::vector<float> gather(std::span<const float> mine) override {
    std::vector<float> out;
    for (const auto& part : group_.exchange(rank_, {mine.begin(), mine.end()}))
      out.insert(out.end(), part.begin(), part.end());
    return out;
  }

 private:
  template <class T>
  void sum_into(std::span<T> values) {  // in rank order, as MPI's reduction of two would
    const auto all = group_.exchange(rank_, {values.begin(), values.end()});
    for (std::size_t i = 0; i < values.size(); ++i) {
      T total = 0;
      for (const auto& part : all) total += T(part[i]);
      values[i] = total;
    }
  }
  ThreadGroup& group_;
  int rank_;
};

// Runs `body(communicator)` on `n` threads as `n` processes; the first exception is rethrown.
void on_processes(int n, const std::function<void(std::shared_ptr<models::Communicator>)>& body) {
  ThreadGroup group(n);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      try {
        body(std::make_shared<ThreadCommunicator>(group, r));
      } catch (...) {
        errors[std::size_t(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

io::TensorMap weights(const models::Trainer& t) { return models::parameters(t.graph()); }

io::TensorMap cloned(const io::TensorMap& m) {
  io::TensorMap out;
  for (const auto& [name, tensor] : m) out.emplace(name, tensor.clone());
  return out;
}

// Every tensor of `got` against `expected`: the largest difference relative to the tensor's
// scale, returned for the message.
double compare(const io::TensorMap& got, const io::TensorMap& expected, double tolerance,
               const std::string& what) {
  BOOST_REQUIRE_EQUAL(got.size(), expected.size());
  double worst = 0;
  for (const auto& [name, tensor] : expected) {
    const auto d = testing::check_relative(got.at(name), tensor, tolerance, what + " " + name);
    worst = std::max(worst, d.worst.error / (1 + d.max_expected));
  }
  BOOST_TEST_MESSAGE(what << ": largest relative difference " << worst);
  return worst;
}

// Sequences of 2 features, lengths 3..12, a class per step (the loss's terms differ between
// the processes' blocks): 29 samples, so batches of 7 end with one of a single row, which
// leaves the second process nothing to do.
std::shared_ptr<const models::Dataset> tagging_data(int64_t n = 29) {
  const int64_t T = 12;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(static_cast<std::size_t>(n * T * 2)), y(static_cast<std::size_t>(n * T)),
      lengths(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    lengths[std::size_t(i)] = double(3 + (i * 7) % 10);
    double running = 0;
    for (int64_t t = 0; t < T; ++t) {
      const double a = u(rng), b = u(rng);
      x[std::size_t((i * T + t) * 2)] = a, x[std::size_t((i * T + t) * 2 + 1)] = b;
      running += a - b;
      y[std::size_t(i * T + t)] = running > 0 ? 1 : running < -1 ? 2 : 0;
    }
  }
  auto array = [](Shape s, const std::vector<double>& v, bool integer) {
    std::vector<float> f(v.begin(), v.end());
    return io::NpyArray{Tensor::from(s, f), integer};
  };
  return std::make_shared<models::ArrayDataset>(array({n, T, 2}, x, false), array({n, T}, y, true),
                                                array({n}, lengths, true));
}

// tagging_data(n) as the files `rnngraph train --data` reads: x.npy, y.npy, l.npy in `dir`.
void write_tagging_files(const fs::path& dir, int64_t n) {
  const auto data = tagging_data(n);
  std::vector<int64_t> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  const models::Batch b = data->batch(rows);  // sequence-first: back to one sample per row
  Tensor x({n, 12, 2});
  std::string ids, lengths;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t t = 0; t < 12; ++t) {
      for (int64_t f = 0; f < 2; ++f)
        x.data()[(i * 12 + t) * 2 + f] = b.x.data()[(t * n + i) * 2 + f];
      const int64_t id = int64_t(b.targets.data()[t * n + i]);
      ids.append(reinterpret_cast<const char*>(&id), 8);
    }
    const int64_t l = data->length(i);
    lengths.append(reinterpret_cast<const char*>(&l), 8);
  }
  io::write_npy(dir / "x.npy", x);
  write_file(dir / "y.npy",
             testing::npy_file(fmt::format("{{'descr': '<i8', 'fortran_order': False, 'shape': "
                                           "({}, 12), }}",
                                           n),
                               ids));
  write_file(dir / "l.npy", testing::npy_file(fmt::format("{{'descr': '<i8', 'fortran_order': "
                                                          "False, 'shape': ({},), }}",
                                                          n),
                                              lengths));
}

// One process's weights after `config`, and then two processes' (both processes end with the
// same weights, bit for bit, since they take the same steps). The sums over a batch are taken
// in another order, so the weights differ in rounding: measured up to 1e-7 of a tensor's scale
// in this suite (2e-7 after a plateau schedule's large steps); the tests allow 1e-6.
void same_weights_on_two_processes(models::TrainConfig config, double tolerance,
                                   const std::string& what) {
  models::Trainer one(config);
  while (!one.done()) one.iterate();
  const io::TensorMap expected = cloned(weights(one));
  std::vector<io::TensorMap> got(2);
  std::vector<float> losses(2);
  on_processes(2, [&](std::shared_ptr<models::Communicator> comm) {
    models::TrainConfig c = config;
    c.communicator = comm;
    models::Trainer t(c);
    while (!t.done()) losses[std::size_t(comm->rank())] = t.iterate();
    got[std::size_t(comm->rank())] = cloned(weights(t));
  });
  compare(got[0], expected, tolerance, what);
  compare(got[1], got[0], 0, what + ", process 1 against process 0");
  BOOST_TEST(losses[0] == losses[1]);  // the averaged loss, on every process
}

}  // namespace

BOOST_AUTO_TEST_SUITE(distributed)

BOOST_AUTO_TEST_CASE(blocks_of_a_batch) {
  // 7 rows on 2 processes: 3 and 4; 1 row: none for the first; 9 on 4: 2, 2, 2, 3.
  BOOST_TEST(models::share_of(7, 0, 2).count == 3);
  BOOST_TEST(models::share_of(7, 1, 2).begin == 3);
  BOOST_TEST(models::share_of(7, 1, 2).count == 4);
  BOOST_TEST(models::share_of(1, 0, 2).count == 0);
  BOOST_TEST(models::share_of(1, 1, 2).count == 1);
  int64_t covered = 0;
  for (int r = 0; r < 4; ++r) {
    const models::Share s = models::share_of(9, r, 4);
    BOOST_TEST(s.begin == covered);
    BOOST_TEST((s.count == 2 || s.count == 3));
    covered += s.count;
  }
  BOOST_TEST(covered == 9);
}

BOOST_AUTO_TEST_CASE(two_processes_take_the_steps_of_one_on_your_data) {
  // Per-step classes with lengths, uneven blocks and an empty one, dropout between layers and on
  // the state, SGD with momentum and clipping, a validation set scored in blocks.
  const auto all = tagging_data();
  const models::Split split = models::split_rows(all->size(), 0.24, 1);
  BOOST_REQUIRE_EQUAL(split.train.size() % 7, 1u);  // the last batch: one row, one process
  same_weights_on_two_processes({.task = models::Task::Data,
                                 .data = models::subset(all, split.train),
                                 .validation = models::subset(all, split.validation),
                                 .epochs = 3,
                                 .cell = models::Cell::Lstm,
                                 .hidden_size = 8,
                                 .layers = 2,
                                 .batch = 7,
                                 .optimizer = "sgd",
                                 .lr = 0.1,
                                 .momentum = 0.9,
                                 .clip = 1,
                                 .seed = 5,
                                 .dropout = 0.25f,
                                 .recurrent_dropout = 0.1f},
                                1e-6, "tagging, LSTM, SGD");
}

BOOST_AUTO_TEST_CASE(validation_in_blocks_is_the_whole_sets_score) {
  const auto all = tagging_data();
  const models::TrainConfig config{.task = models::Task::Data,
                                   .data = all,
                                   .validation = all,
                                   .cell = models::Cell::Gru,
                                   .hidden_size = 6,
                                   .batch = 8,
                                   .iterations = 2};
  models::Trainer one(config);
  const models::Evaluation expected = one.validate();
  // Checked after the threads end: Boost.Test's assertions are not thread-safe.
  std::vector<models::Evaluation> scores(3);
  on_processes(3, [&](std::shared_ptr<models::Communicator> comm) {
    models::TrainConfig c = config;
    c.communicator = comm;
    models::Trainer t(c);
    scores[std::size_t(comm->rank())] = t.validate();
  });
  for (const models::Evaluation& e : scores) {
    BOOST_TEST(e.samples == expected.samples);
    BOOST_TEST(e.scored == expected.scored);
    BOOST_TEST(std::abs(e.loss - expected.loss) <= 1e-6 * expected.loss);
    BOOST_REQUIRE(e.accuracy && expected.accuracy);
    BOOST_TEST(std::abs(*e.accuracy - *expected.accuracy) <= 1e-12);
  }
}

BOOST_AUTO_TEST_CASE(two_processes_take_the_steps_of_one_on_sine_waves) {
  same_weights_on_two_processes({.task = models::Task::Sine,
                                 .cell = models::Cell::Gru,
                                 .hidden_size = 8,
                                 .steps = 10,
                                 .batch = 5,
                                 .iterations = 20,
                                 .lr = 0.01,
                                 .seed = 2},
                                1e-6, "sine, GRU, Adam");
}

BOOST_AUTO_TEST_CASE(a_text_run_resumes_on_another_number_of_processes) {
  // The text task carries each stream's state from chunk to chunk: the checkpoint holds every
  // stream's, gathered, and a run resumed on another number of processes cuts it again.
  const fs::path dir = testing::scratch_dir("distributed");
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the cat sat on the mat. a dog ran far. ";
  write_file(dir / "corpus.txt", text);
  const models::TrainConfig config{.task = models::Task::Text,
                                   .text = dir / "corpus.txt",
                                   .cell = models::Cell::Lstm,
                                   .hidden_size = 12,
                                   .steps = 8,
                                   .batch = 6,
                                   .iterations = 12,
                                   .optimizer = "sgd",
                                   .lr = 0.5,
                                   .clip = 5,
                                   .seed = 4};
  models::Trainer straight(config);
  while (!straight.done()) straight.iterate();
  const io::TensorMap expected = cloned(weights(straight));

  // 6 iterations on 1 process, 6 more on 2; 6 on 3, 6 more on 1.
  models::TrainConfig half = config;
  half.iterations = 6;
  {
    models::Trainer first(half);
    while (!first.done()) first.iterate();
    first.save(dir / "one.json");
  }
  std::vector<io::TensorMap> resumed(2);
  on_processes(2, [&](std::shared_ptr<models::Communicator> comm) {
    auto t = models::Trainer::resume(dir / "one.json", 12, std::nullopt, comm);
    while (!t->done()) t->iterate();
    resumed[std::size_t(comm->rank())] = cloned(weights(*t));
  });
  compare(resumed[0], expected, 1e-6, "1 then 2 processes");
  compare(resumed[1], resumed[0], 0, "1 then 2 processes, process 1 against process 0");

  on_processes(3, [&](std::shared_ptr<models::Communicator> comm) {
    models::TrainConfig c = half;
    c.communicator = comm;
    models::Trainer first(c);
    while (!first.done()) first.iterate();
    first.save(dir / "three.json");  // every process calls it; process 0 writes
  });
  auto last = models::Trainer::resume(dir / "three.json", 12);
  while (!last->done()) last->iterate();
  compare(weights(*last), expected, 1e-6, "3 then 1 process");
}

BOOST_AUTO_TEST_CASE(a_data_run_resumes_on_another_number_of_processes) {
  // A run on files, with a validation split and the plateau schedule: its checkpoint names the
  // files and holds the schedule's state, so 4 epochs, then 2 more resumed (on 1 process, and
  // on 2), are the 6 epochs of one run.
  const fs::path dir = testing::scratch_dir("distributed_resume");
  write_tagging_files(dir, 29);
  const models::DataFiles files{.x = dir / "x.npy",
                                .targets = dir / "y.npy",
                                .lengths = dir / "l.npy",
                                .validation_split = 0.24};
  const models::TrainingData data = models::load_training_data(files, 3);
  const models::TrainConfig config{
      .task = models::Task::Data,
      .data = data.train,
      .validation = data.validation,
      .files = files,
      .epochs = 6,
      .cell = models::Cell::Gru,
      .hidden_size = 8,
      .batch = 7,
      .lr = 0.2,
      .schedule = {.kind = models::LrSchedule::Kind::Plateau, .every = 1, .gamma = 0.5},
      .seed = 3};
  models::Trainer straight(config);
  while (!straight.done()) straight.iterate();
  const io::TensorMap expected = cloned(weights(straight));
  BOOST_TEST(straight.lr() < config.lr);  // the plateau schedule acted...

  models::TrainConfig half = config;
  half.epochs = 4;
  models::Trainer first(half);
  while (!first.done()) first.iterate();
  first.save(dir / "half.json");
  BOOST_REQUIRE(std::isfinite(first.lowest_validation()));
  BOOST_TEST(first.lr() < config.lr);  // ...before the checkpoint, too
  BOOST_TEST_MESSAGE("learning rate after 4 epochs " << first.lr() << ", after 6 "
                                                     << straight.lr());

  auto resumed = models::Trainer::resume(dir / "half.json", straight.iteration());
  BOOST_TEST(resumed->lowest_validation() == first.lowest_validation());
  BOOST_TEST(resumed->lr() == first.lr());
  while (!resumed->done()) resumed->iterate();
  compare(weights(*resumed), expected, 0, "4 + 2 epochs on 1 process");
  BOOST_TEST(resumed->lr() == straight.lr());

  std::vector<io::TensorMap> two(2);
  on_processes(2, [&](std::shared_ptr<models::Communicator> comm) {
    auto t = models::Trainer::resume(dir / "half.json", straight.iteration(), std::nullopt, comm);
    while (!t->done()) t->iterate();
    two[std::size_t(comm->rank())] = cloned(weights(*t));
  });
  compare(two[0], expected, 1e-6, "4 epochs on 1 process, 2 more on 2");
}

BOOST_AUTO_TEST_CASE(a_batch_smaller_than_the_processes_is_refused) {
  // Checked after the threads end: Boost.Test's assertions are not thread-safe.
  std::vector<std::string> refusals(3);
  on_processes(3, [&](std::shared_ptr<models::Communicator> comm) {
    try {
      models::Trainer(
          {.task = models::Task::Sine, .hidden_size = 4, .batch = 2, .communicator = comm});
    } catch (const GraphError& e) {
      refusals[std::size_t(comm->rank())] = e.what();
    }
  });
  for (const std::string& refusal : refusals)
    BOOST_CHECK_MESSAGE(refusal.find("--batch 3 or more") != std::string::npos,
                        "refusal: " << refusal);
}

BOOST_AUTO_TEST_CASE(mpirun_two_processes_train_the_model_of_one) {
  // The real thing: `mpirun -np 2 rnngraph train` on the loopback against one process, the same
  // data and flags; process 0 alone logs and saves.
  const fs::path dir = testing::scratch_dir("distributed_mpirun");
  write_tagging_files(dir, 40);
  const std::string flags =
      "train --data x.npy --targets y.npy --lengths l.npy --val-split 0.25 --epochs 3 "
      "--batch-size 9 --hidden-size 8 --optimizer sgd --lr 0.2 --momentum 0.5 --seed 1 "
      "--log {}.csv --save {}.json";
  const testing::Outcome one =
      testing::run_cli(dir, fmt::format(fmt::runtime(flags), "one", "one"));
  BOOST_REQUIRE_MESSAGE(one.code == 0, one.err);
  // (as root, Open MPI wants to be told; --oversubscribe: more processes than cores is fine)
  const testing::Outcome two = testing::run_cli(
      dir, fmt::format(fmt::runtime(flags), "two", "two"),
      // Under ASan, no leak check in these two processes: Open MPI's plugins keep allocations
      // to the end and are unloaded before LeakSanitizer runs, so it cannot name them for a
      // suppression. (The trainer's own code is leak-checked in the cases above.)
      fmt::format("ASAN_OPTIONS=detect_leaks=0 '{}' --allow-run-as-root --oversubscribe -np 2",
                  RNNGRAPH_MPIEXEC));
  BOOST_REQUIRE_MESSAGE(two.code == 0, two.err);
  BOOST_TEST_MESSAGE("two processes:\n" << two.err);
  compare(io::read_safetensors(dir / "two.safetensors"),
          io::read_safetensors(dir / "one.safetensors"), 1e-6, "mpirun -np 2 against 1 process");
  // Process 0 alone spoke: one header, one line per epoch, one final loss.
  BOOST_TEST(two.err.find("data-parallel on 2 processes") != std::string::npos);
  auto count = [](const std::string& s, const std::string& what) {
    int64_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
  };
  BOOST_TEST(count(two.err, "epoch 3/3") == 1);
  BOOST_TEST(count(two.out, "final loss") == 1);
  auto final_loss = [](const std::string& out) {
    return std::stod(out.substr(out.find("final loss: ") + 12));
  };
  BOOST_TEST(std::abs(final_loss(two.out) - final_loss(one.out)) <= 1e-5);
  BOOST_TEST(count(io::read_file(dir / "two.csv"), "\n") ==
             count(io::read_file(dir / "one.csv"), "\n"));
}

BOOST_AUTO_TEST_SUITE_END()
