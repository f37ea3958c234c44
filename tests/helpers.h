// Shared test helpers: tolerance checks that print where two tensors differ.
#pragma once

#include <unistd.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/test/unit_test.hpp>

#include <rnngraph/rnngraph.h>

namespace rnngraph::testing {

// A fresh directory for one suite's files, under a root private to this process (so parallel
// runs never share files) that is removed when the process exits.
inline std::filesystem::path scratch_dir(const std::string& suite) {
  namespace fs = std::filesystem;
  struct Root {
    fs::path path = fs::temp_directory_path() / fmt::format("rnngraph-tests-{}", ::getpid());
    Root() { fs::remove_all(path); }
    ~Root() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  };
  static const Root root;
  const fs::path dir = root.path / suite;
  fs::create_directories(dir);
  return dir;
}

// The rnngraph program run in `dir` with `args` (a shell command line): exit code and output.
struct Outcome {
  int code;
  std::string out, err;
};
inline Outcome run_cli(const std::filesystem::path& dir, const std::string& args) {
  const std::filesystem::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string command = fmt::format("cd '{}' && '{}' {} > '{}' 2> '{}'", dir.string(),
                                          RNNGRAPH_CLI, args, out.string(), err.string());
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, io::read_file(out), io::read_file(err)};
}

// A copy of rows [from, to) of a tensor's first axis (a chunk of a sequence).
inline Tensor rows(const Tensor& t, int64_t from, int64_t to) {
  const int64_t row = t.numel() / t.shape()[0];
  std::vector<int64_t> dims(t.shape().dims().begin(), t.shape().dims().end());
  dims[0] = to - from;
  return Tensor::from(Shape(std::span<const int64_t>(dims)),
                      t.values().subspan(std::size_t(from * row), std::size_t((to - from) * row)));
}

inline std::string fixture(const std::string& name) {
  return std::string(RNNGRAPH_FIXTURES) + "/" + name;
}

inline void check_close(const Tensor& got, const Tensor& expected, float tolerance) {
  BOOST_REQUIRE_MESSAGE(got.shape() == expected.shape(),
                        "shape " << got.shape().str() << " != " << expected.shape().str());
  for (int64_t i = 0; i < got.numel(); ++i)
    BOOST_CHECK_MESSAGE(
        std::fabs(got.values()[i] - expected.values()[i]) <= tolerance,
        "element " << i << ": " << got.values()[i] << " != " << expected.values()[i]);
}

inline void check_values(const Tensor& got, const Shape& shape, std::vector<float> expected,
                         float tolerance = 1e-6f) {
  check_close(got, Tensor::from(shape, expected), tolerance);
}

// Builds a graph from `build`, runs it once with `feeds`, returns output "y" (cloned).
template <class Build>
Tensor run_one(Build build, const Feeds& feeds = {}) {
  Graph g;
  g.output("y", build(g));
  Executor run(g);
  return run(feeds)["y"].clone();
}

}  // namespace rnngraph::testing
