// Reliability: hostile bytes in messages, the memory limit, numeric checks, crash-safe
// checkpoints (50 SIGKILLs), and a matrix of bad input for every subcommand.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <rnngraph/framework/memory.h>
#include <rnngraph/models/training.h>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;
using rnngraph::testing::Outcome;
using rnngraph::testing::run_cli;

namespace {

fs::path dir() { return rnngraph::testing::scratch_dir("reliability"); }

// A .npy file written byte by byte: `dict` the header's dictionary, padded as numpy pads it
// (magic, version 1.0, length, header, newline: a multiple of 64 bytes), then `data`.
void write_raw_npy(const fs::path& path, const std::string& dict, const std::string& data) {
  std::ofstream(path, std::ios::binary) << rnngraph::testing::npy_file(dict, data);
}

// A .npy whose dtype holds an ESC sequence and a carriage return.
void write_hostile_npy(const fs::path& path) {
  write_raw_npy(path, "{'descr': '<f4\x1b[31mRED\r', 'fortran_order': False, 'shape': (2,), }",
                std::string(8, '\0'));
}

bool printable_line(const std::string& s) {
  for (std::size_t i = 0; i + 1 < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) < 0x20 || static_cast<unsigned char>(s[i]) > 0x7e)
      return false;
  return !s.empty() && s.back() == '\n';
}

// Restores the default memory limit when a test ends.
struct LimitGuard {
  ~LimitGuard() { memory::set_limit(0); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(reliability)

BOOST_AUTO_TEST_CASE(messages_escape_hostile_bytes_and_stay_one_line) {
  write_hostile_npy(dir() / "hostile.npy");
  BOOST_REQUIRE_EQUAL(run_cli(dir(), "build rnn --input-size 2 --hidden-size 3 -o m.json").code, 0);
  const Outcome r = run_cli(dir(), "run m.json --input hostile.npy");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK_MESSAGE(printable_line(r.err), r.err);
  BOOST_CHECK(r.err.find("\\x1b[31mRED\\x0d") != std::string::npos);
  // In the library too: every Error's message is one printable line, long ones cut.
  const std::string long_value(5000, 'a');
  const GraphError e("bad \x1b[2J value " + long_value + "\n");
  const std::string m = e.what();
  BOOST_CHECK(m.find("\\x1b[2J") != std::string::npos);
  BOOST_CHECK(m.size() < 1100);
  BOOST_CHECK(m.find("more bytes") != std::string::npos);
  BOOST_CHECK_EQUAL(quote("\x07" + long_value, 8), "'\\x07aaaaaaa... (4993 more bytes)'");
  // Unknown flags are quoted and cut (a real ESC byte in the argument).
  const Outcome flag = run_cli(dir(), "info m.json '--\x1b[2J" + std::string(300, 'x') + "'");
  BOOST_CHECK_EQUAL(flag.code, 2);
  BOOST_CHECK_MESSAGE(printable_line(flag.err) && flag.err.size() < 200, flag.err);
}

BOOST_AUTO_TEST_CASE(memory_limit_refuses_before_allocating) {
  LimitGuard guard;
  memory::set_limit(std::size_t(64) << 20);
  BOOST_CHECK_EXCEPTION(Tensor({100000, 1000}), MemoryError, [](const MemoryError& e) {
    return std::string(e.what()).find("400000000 bytes") != std::string::npos;
  });
  const std::size_t before = memory::in_use();
  {
    const Tensor t({1000, 1000});  // 4 MB: counted while it lives
    BOOST_CHECK_GE(memory::in_use(), before + 4000000);
  }
  BOOST_CHECK_EQUAL(memory::in_use(), before);
  // A graph whose nodes alone would not fit, refused before it is built.
  models::Config c;
  c.steps = 1'000'000;
  c.hidden_size = 2;
  Graph g;
  BOOST_CHECK_THROW(models::build(g, c), MemoryError);
  BOOST_CHECK_EQUAL(g.size(), 0u);
  // A plan whose arena would not fit.
  Graph big;
  const Value x = big.input("x", {4096, 4096});
  big.output("y", tanh(x) + x);
  memory::set_limit(std::size_t(16) << 20);
  BOOST_CHECK_THROW(Executor{big}, MemoryError);
  // The default: 75% of physical memory or of the address-space limit.
  memory::set_limit(0);
  BOOST_CHECK_GT(memory::limit(), std::size_t(1) << 28);
  BOOST_CHECK_EQUAL(memory::limit(), memory::default_limit());
  // The CLI: the new user's example, exit 2 naming the size, nothing written.
  const Outcome r =
      run_cli(dir(), "build lstm --input-size 100000 --hidden-size 100000 --steps 10 -o huge.json");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("80000000000 bytes") != std::string::npos, r.err);
  BOOST_CHECK(!fs::exists(dir() / "huge.json") && !fs::exists(dir() / "huge.safetensors"));
  const Outcome capped = run_cli(
      dir(), "build lstm --input-size 100 --hidden-size 512 -o capped.json --max-memory 2M");
  BOOST_CHECK_EQUAL(capped.code, 2);
  BOOST_CHECK_MESSAGE(capped.err.find("memory limit of 2097152 bytes") != std::string::npos,
                      capped.err);
  BOOST_CHECK_EQUAL(
      run_cli(dir(), "build rnn --input-size 2 --hidden-size 3 -o ok.json --max-memory=64M").code,
      0);
  // Under a real address-space limit (ulimit -v 1 GiB), the default follows it: no bad_alloc.
  // (Not under the sanitizers, whose shadow memory needs more address space than that.)
#ifndef RNNGRAPH_SANITIZED
  const std::string command = fmt::format(
      "cd '{}' && (ulimit -v 1048576 && '{}' build lstm --input-size 8000 --hidden-size 8000 -o "
      "v.json) 2> v.err",
      dir().string(), RNNGRAPH_CLI);
  const int status = std::system(command.c_str());
  BOOST_CHECK_EQUAL(WEXITSTATUS(status), 2);
  BOOST_CHECK_MESSAGE(
      io::read_file(dir() / "v.err").find("over the memory limit") != std::string::npos,
      io::read_file(dir() / "v.err"));
#endif
}

BOOST_AUTO_TEST_CASE(check_numerics_names_the_first_bad_op) {
  Graph g;
  const Value x = g.input("x", {2, 2});
  Value h;
  {
    auto step = g.step(3);
    auto layer = g.layer(1);
    h = log(x);  // log of a negative number
  }
  g.output("y", tanh(h));
  Executor run(g, {}, {.optimize = false});
  const Feeds feeds{{"x", Tensor({2, 2}, {1, 2, -3, 4})}};
  BOOST_CHECK_NO_THROW(run(feeds));  // off: NaN flows on
  run.check_numerics(true);
  BOOST_CHECK_EXCEPTION(run(feeds), NumericError, [](const NumericError& e) {
    const std::string m = e.what();
    BOOST_TEST_MESSAGE(m);
    return m.find("op log") != std::string::npos && m.find("step 3") != std::string::npos &&
           m.find("layer 1") != std::string::npos &&
           m.find("1 NaN, first at [1, 0]") != std::string::npos &&
           m.find("x [2, 2] [-3, 4]") != std::string::npos;
  });
  // The CLI: run with a NaN in the input, and training that diverges.
  Tensor bad({3, 1, 2});
  bad.data()[3] = std::numeric_limits<float>::quiet_NaN();
  io::write_npy(dir() / "nan.npy", bad);
  BOOST_REQUIRE_EQUAL(run_cli(dir(), "build gru --input-size 2 --hidden-size 3 -o n.json").code, 0);
  Outcome r = run_cli(dir(), "run n.json --input nan.npy --check-numerics -o out.npy");
  BOOST_CHECK_EQUAL(r.code, 2);
  // The first NaN comes from the input projection of every step at once (hoisted out of the
  // steps by the passes), which reads the NaN of x: named by layer, steps, and where in x.
  BOOST_CHECK_MESSAGE(
      r.err.find("layer 0, steps 0 to 2") != std::string::npos &&
          r.err.find("its input holds nan at step 1, sample 0, feature 1") != std::string::npos &&
          r.err.find("1 NaN") != std::string::npos,
      r.err);
  BOOST_CHECK(!fs::exists(dir() / "out.npy"));
  r = run_cli(dir(), "grad n.json --input nan.npy --check-numerics -o g.safetensors");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("input products of steps 0 to 2") != std::string::npos &&
                          r.err.find("first at [1, 1]") != std::string::npos,
                      r.err);
  r = run_cli(dir(),
              "train --task sine --model rnn --hidden-size 4 --steps 5 --batch 2 --iterations 50 "
              "--optimizer sgd --lr 1e6 --check-numerics --save diverged.json");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("produced") != std::string::npos, r.err);
  BOOST_CHECK(r.out.find("loss: nan") == std::string::npos);
}

// The window a kill can hit, made on purpose: the new tensors beside the old JSON load as the
// new checkpoint; an edit of the JSON by hand (same save id) stands.
BOOST_AUTO_TEST_CASE(a_save_cut_between_its_two_files_reads_as_the_new_one) {
  const fs::path d = rnngraph::testing::scratch_dir("cut_save");
  const std::string train =
      "train --task sine --model gru --hidden-size 3 --steps 4 --batch 2 --iterations {} --save {}";
  BOOST_REQUIRE_EQUAL(run_cli(d, fmt::format(fmt::runtime(train), 2, "old.json")).code, 0);
  BOOST_REQUIRE_EQUAL(run_cli(d, fmt::format(fmt::runtime(train), 5, "new.json")).code, 0);
  fs::copy_file(d / "new.safetensors", d / "old.safetensors", fs::copy_options::overwrite_existing);
  BOOST_CHECK_EQUAL(models::Trainer::resume(d / "old.json")->iteration(), 5);
  // A hand edit: iterations 5 -> 9 in new.json, its tensors untouched.
  std::string text = io::read_file(d / "new.json");
  const auto at = text.find("\"iterations\": \"5\"");
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, 17, "\"iterations\": \"9\"");
  std::ofstream(d / "new.json", std::ios::trunc) << text;
  BOOST_CHECK_EQUAL(models::Trainer::resume(d / "new.json")->config().iterations, 9);
}

// A training run that checkpoints every iteration, killed with SIGKILL at random moments, 50
// times: the checkpoint is always the previous one or the new one, complete, and resumes.
BOOST_AUTO_TEST_CASE(checkpoints_survive_sigkill) {
  const fs::path d = rnngraph::testing::scratch_dir("sigkill");
  std::mt19937 rng(20261126);
  int kills = 0, resumed = 0;
  int64_t last_iteration = -1;
  for (int round = 0; round < 50; ++round) {
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      dup2(null, 1), dup2(null, 2);
      if (::chdir(d.c_str()) != 0) _exit(3);
      if (round == 0)
        execl(RNNGRAPH_CLI, "rnngraph", "train", "--task", "sine", "--model", "lstm",
              "--hidden-size", "24", "--steps", "20", "--batch", "8", "--iterations", "1000000",
              "--checkpoint-every", "1", "--save", "m.json", nullptr);
      else
        execl(RNNGRAPH_CLI, "rnngraph", "train", "--resume", "m.json", "--iterations", "1000000",
              "--checkpoint-every", "1", nullptr);
      _exit(4);
    }
    if (round == 0)  // the first run is killed once it has written a checkpoint
      for (int wait = 0; wait < 1000 && !fs::exists(d / "m.json"); ++wait)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 400));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    kills += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    // What a reader sees now: a complete checkpoint whose recipe and tensors belong together.
    BOOST_TEST_CONTEXT("after kill " << round) {
      BOOST_REQUIRE(fs::exists(d / "m.json"));
      std::unique_ptr<models::Trainer> t;
      BOOST_REQUIRE_NO_THROW(t = models::Trainer::resume(d / "m.json", 1'000'000));
      BOOST_CHECK_GE(t->iteration(), last_iteration);
      // At most the killed save's own temporaries are left: earlier ones are cleaned up.
      int temporaries = 0;
      for (const auto& entry : fs::directory_iterator(d))
        temporaries += entry.path().filename().string().find(".tmp-") != std::string::npos;
      BOOST_CHECK_LE(temporaries, 2);
      last_iteration = t->iteration();
      ++resumed;
    }
  }
  BOOST_TEST_MESSAGE("SIGKILLs: " << kills << ", checkpoints resumed: " << resumed
                                  << ", last iteration " << last_iteration);
  BOOST_CHECK_EQUAL(kills, 50);
  BOOST_CHECK_EQUAL(resumed, 50);
  BOOST_CHECK_GT(last_iteration, 10);
}

// Every subcommand with bad input: exit 2, one printable line, nothing written.
BOOST_AUTO_TEST_CASE(bad_input_matrix) {
  const fs::path d = rnngraph::testing::scratch_dir("matrix");
  BOOST_REQUIRE_EQUAL(run_cli(d, "build lstm --input-size 3 --hidden-size 4 -o m.json").code, 0);
  io::write_npy(d / "x.npy", Tensor({5, 2, 3}));
  io::write_npy(d / "x_wrong.npy", Tensor({5, 2, 7}));
  std::ofstream(d / "garbage.npy") << "not an npy file";
  std::ofstream(d / "garbage.json") << "{\"format\": ";
  std::ofstream(d / "text.txt") << std::string(4000, 'a');
  fs::create_directories(d / "folder.json");
  fs::create_directories(d / "folder.npy");
  write_raw_npy(d / "x_f2.npy",  // the right shape, float16 (float64 and int64 are read)
                "{'descr': '<f2', 'fortran_order': False, 'shape': (5, 2, 3), }",
                std::string(5 * 2 * 3 * 2, '\0'));
  // Datasets: 4 samples of 3 steps and 2 features, their classes and lengths, and bad ones.
  auto int64_npy = [&](const char* name, std::vector<int64_t> values) {
    write_raw_npy(
        d / name,
        fmt::format("{{'descr': '<i8', 'fortran_order': False, 'shape': ({},), }}", values.size()),
        std::string(reinterpret_cast<const char*>(values.data()), values.size() * 8));
  };
  io::write_npy(d / "dx.npy", Tensor({4, 3, 2}));
  Tensor with_nan({4, 3, 2});
  with_nan.data()[(1 * 3 + 2) * 2] = std::nanf("");
  io::write_npy(d / "dx_nan.npy", with_nan);
  io::write_npy(d / "dx_one.npy", Tensor({1, 3, 2}));
  int64_npy("dy.npy", {0, 1, 2, 1});
  io::write_npy(d / "dy_half.npy", Tensor({4}, {0, 1, 1.5f, 1}));
  int64_npy("dy_five.npy", {0, 1, 2, 1, 0});
  int64_npy("dy_negative.npy", {0, 1, -1, 1});
  int64_npy("dy_one.npy", {1});
  int64_npy("dl_zero.npy", {0, 3, 3, 3});
  int64_npy("dl_long.npy", {3, 4, 3, 3});
  // Each bad invocation and a part of its message that says what is wrong with it.
  const std::vector<std::pair<std::string, std::string>> cases{
      // datasets
      {"train --data dx.npy --targets dy_five.npy --save o.json",
       "dy_five.npy: 5 targets for the 4 samples of dx.npy"},
      {"train --data dx.npy --targets dy_negative.npy --save o.json",
       "dy_negative.npy: class id -1 at [2] is negative"},
      {"train --data dx_nan.npy --targets dy.npy --save o.json", "dx_nan.npy: nan at [1, 2, 0]"},
      {"train --data dx.npy --targets dy.npy --lengths dl_zero.npy --save o.json",
       "dl_zero.npy: sample 0 has length 0"},
      {"train --data dx.npy --targets dy.npy --lengths dl_long.npy --save o.json",
       "dl_long.npy: sample 1 has length 4; lengths are integers from 1 to T = 3"},
      {"train --data dx_one.npy --targets dy_one.npy --val-split 0.2 --save o.json",
       "leaves no sample to train on: the dataset has 1 sample"},
      {"train --data dx.npy --targets dy.npy --epochs 2 --iterations 3",
       "give --epochs or --iterations, not both"},
      {"train --data dx.npy --targets dy.npy --patience 2", "--patience needs a validation set"},
      {"train --data dx.npy --save o.json", "--targets is required"},
      {"train --data dx.npy --targets dy.npy --loss hinge", "--loss is cross-entropy or mse"},
      {"train --data dx.npy --targets dy_half.npy --loss cross-entropy --save o.json",
       "dy_half.npy: class id 1.5 at [2] is not a whole number"},
      {"train --task sine --model gru --hidden-size 4 --iterations 2 --loss mse",
       "--loss goes with --data"},
      {"train --data dx.npy --targets dy.npy --val-data dx.npy --val-targets dy_five.npy",
       "dy_five.npy: 5 targets for the 4 samples of dx.npy"},
      {"eval m.json --data dx.npy --targets dy.npy",
       "the data has 2 features per step, the model "
       "reads 3"},
      {"eval m.json --data dx.npy", "eval needs --targets"},
      // unknown flags, missing values, out-of-range numbers
      {"build lstm --input-size 3 --hidden-size 4 -o o.json --bogus", "unknown option '--bogus'"},
      {"build lstm --input-size 0 --hidden-size 4 -o o.json", "--input-size must be between 1 and"},
      {"build lstm --input-size 3 --hidden-size -4 -o o.json",
       "--hidden-size must be between 1 and"},
      {"build lstm --input-size 3 --hidden-size 4 --layers 99999999 -o o.json",
       "--layers must be between 1 and 64"},
      {"build lstm --input-size 3x --hidden-size 4 -o o.json",
       "--input-size expects a whole number, got '3x'"},
      {"build tree --input-size 3 --hidden-size 4 -o o.json", "unknown cell 'tree'"},
      {"build lstm --input-size 3 --hidden-size 4 -o", "-o needs a value"},
      {"build lstm --input-size 3 --hidden-size 4 -o missing_folder/o.json",
       "cannot write 'missing_folder/"},
      {"build lstm --input-size 3 --hidden-size 4 --weights garbage.npy -o o.json",
       "garbage.npy: not a valid safetensors file"},
      {"run m.json --input x.npy --threads 0 -o o.npy", "--threads must be between 1 and"},
      {"run m.json --input x.npy --max-memory 0 -o o.npy", "--max-memory expects a byte count"},
      {"run m.json --input x.npy --max-memory lots -o o.npy", "got 'lots'"},
      {"run m.json --input x.npy --max-memory 1G --max-memory 2G -o o.npy",
       "--max-memory given twice"},
      {"build lstm --input-size 3 --hidden-size 4 -o o.json --max-memory 99999999999999999999",
       "got '99999999999999999999'"},
      {"info m.json --max-memory -1", "--max-memory expects a byte count"},
      {"run m.json --input x_f2.npy -o o.npy", "dtype '<f2' is not supported"},
      {"run m.json --input x.npy --state-in missing.safetensors -o o.npy",
       "cannot open 'missing.safetensors'"},
      {"run m.json --input x.npy --state-in garbage.npy -o o.npy",
       "garbage.npy: not a valid safetensors file"},
      {"run m.json --input x.npy --h0 x.npy --state-in m.safetensors -o o.npy",
       "not with --h0 or --c0"},
      {"grad m.json --input x.npy --names pytorch -o o.safetensors",
       "--names must be native or torch"},
      {"grad m.json --input x.npy --wrt everything -o o.safetensors",
       "--wrt must be params or all"},
      {"grad m.json --input x.npy --loss mse --target missing.npy -o o.safetensors",
       "cannot open 'missing.npy'"},
      {"train --task sine --model lstm --hidden-size 4 --iterations 3 --checkpoint-every 2",
       "--checkpoint-every needs --save"},
      {"train --task sine --model lstm --hidden-size 4 --iterations 3 --save o.json "
       "--checkpoint-every -1",
       "--checkpoint-every must be between 0 and"},
      {"train --task sine --model lstm --hidden-size 4 --iterations 3 --log o.txt",
       "the log is a .csv file"},
      // missing files, a folder where a file belongs, malformed files
      {"run missing.json --input x.npy -o o.npy", "cannot open 'missing.json'"},
      {"run folder.json --input x.npy -o o.npy", "'folder.json': not a regular file"},
      {"run garbage.json --input x.npy -o o.npy", "garbage.json: not JSON"},
      {"run m.json --input missing.npy -o o.npy", "cannot open 'missing.npy'"},
      {"run m.json --input folder.npy -o o.npy", "'folder.npy': not a regular file"},
      {"run m.json --input garbage.npy -o o.npy",
       "garbage.npy: not a numeric .npy file: bad magic"},
      // wrong shapes and dtypes
      {"run m.json --input x_wrong.npy -o o.npy", "input 'x' must be [T, B, 3], got [5, 2, 7]"},
      {"run m.json --input x.npy --h0 x.npy -o o.npy",
       "x.npy (--h0) is [5, 2, 3]; the model and the input's batch of 2 need [1, 2, 4]"},
      {"run m.json --input x.npy --lengths x.npy -o o.npy", "30 lengths for a batch of 2"},
      {"run m.json --input x.npy -o missing_folder/o.npy", "cannot write 'missing_folder/o.npy'"},
      {"grad m.json --input x_wrong.npy -o o.safetensors",
       "input 'x' expects [5, 2, 3], fed [5, 2, 7]"},
      {"grad m.json --input x.npy --loss mse -o o.safetensors", "--loss mse needs --target"},
      {"grad m.json --input x.npy -o o.npy", "gradients are written as .safetensors"},
      {"train --task sine --model lstm --hidden-size 4 --iterations 0 --save o.json",
       "--iterations must be between 1 and"},
      {"train --task text --text missing.txt --model lstm --hidden-size 4 --iterations 1",
       "cannot open 'missing.txt'"},
      {"train --task text --text folder.npy --model lstm --hidden-size 4 --iterations 1",
       "'folder.npy': not a regular file"},
      {"train --resume garbage.json --iterations 2", "garbage.json: not JSON"},
      {"train --task sine --model lstm --hidden-size 4 --iterations 1 --save o.txt",
       "model files end in .json"},
      {"sample m.json --length 5", "is not a text model"},
      {"sample missing.json --length 5", "cannot open 'missing.json'"},
      {"dot m.json -o o.gif", "diagrams are .dot, .svg, .png or .pdf files"},
      {"dot m.json -o o.svg --view sideways", "unknown view 'sideways'"},
      {"dot garbage.json -o o.svg", "garbage.json: not JSON"},
      {"dot m.json -o missing_folder/o.svg", "cannot write 'missing_folder/o.svg'"},
      {"export m.json -o o.onnx --opset 99", "--opset must be between 13 and 17"},
      {"export folder.json -o o.onnx", "'folder.json': not a regular file"},
      {"import garbage.npy -o o.json", "the file is not an ONNX model"},
      {"import folder.npy -o o.json", "'folder.npy': not a regular file"},
      {"info missing.json", "cannot open 'missing.json'"},
      {"info folder.json", "'folder.json': not a regular file"},
      {"bench lstm --batch 0 --input-size 3 --hidden-size 4 --steps 5",
       "--batch must be between 1 and"},
      {"bench lstm --batch 1 --input-size 3 --hidden-size 4", "--steps is required"},
  };

  auto listing = [&] {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(d))
      if (entry.path().filename() != "stdout.txt" && entry.path().filename() != "stderr.txt")
        names.insert(entry.path().filename().string());
    return names;
  };
  const std::set<std::string> before = listing();
  int checked = 0;
  for (const auto& [args, message] : cases) {
    BOOST_TEST_CONTEXT("rnngraph " << args) {
      const Outcome r = run_cli(d, args);
      BOOST_CHECK(listing() == before);  // nothing written, no temporary file left
      BOOST_CHECK_EQUAL(r.code, 2);
      BOOST_CHECK_MESSAGE(
          printable_line(r.err) && std::count(r.err.begin(), r.err.end(), '\n') == 1,
          "stderr: " << r.err);
      BOOST_CHECK_MESSAGE(
          r.err.starts_with("rnngraph: ") && r.err.find(message) != std::string::npos,
          "stderr: " << r.err << "expected: " << message);
      for (const char* out : {"o.json", "o.npy", "o.safetensors", "o.svg", "o.onnx", "o.txt",
                              "o.gif", "missing_folder"})
        BOOST_CHECK_MESSAGE(!fs::exists(d / out), out << " was written");
      ++checked;
    }
  }
  BOOST_TEST_MESSAGE("bad invocations checked: " << checked);
}

BOOST_AUTO_TEST_SUITE_END()
