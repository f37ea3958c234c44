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
#include <fmt/ranges.h>
#include <boost/test/unit_test.hpp>

#include <rnngraph/rnngraph.h>

// RNNGRAPH_SANITIZED: built with ASan or TSan (gcc defines __SANITIZE_*__, clang answers
// __has_feature), whose shadow memory needs more address space than a ulimit -v allows.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RNNGRAPH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RNNGRAPH_SANITIZED 1
#endif
#endif

namespace rnngraph::testing {

// .npy bytes (version 1.0) of a header dict such as "{'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), }", padded as numpy pads it, followed by `data`.
inline std::string npy_file(std::string dict, const std::string& data) {
  dict += std::string((64 - (10 + dict.size() + 1) % 64) % 64, ' ') + "\n";
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += char(dict.size() & 0xff);
  bytes += char(dict.size() >> 8);
  return bytes + dict + data;
}

// .npy bytes of `values` stored as `descr` ("<f4", "<f8", "<i4", "<i8"), as numpy writes them.
template <class T>
std::string npy(const std::string& descr, const std::vector<int64_t>& shape,
                const std::vector<T>& values) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  return npy_file(
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }",
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
}

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

// The rnngraph program run in `dir` with `args` (a shell command line), after `launcher` (such
// as "mpirun -np 2") when given: exit code and output.
struct Outcome {
  int code;
  std::string out, err;
};
inline Outcome run_cli(const std::filesystem::path& dir, const std::string& args,
                       const std::string& launcher = "") {
  const std::filesystem::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string command = fmt::format("cd '{}' && {} '{}' {} > '{}' 2> '{}'", dir.string(),
                                          launcher, RNNGRAPH_CLI, args, out.string(), err.string());
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

// The largest error over many comparisons, NaN-safe: a NaN or infinite error is the worst there
// is (std::max would drop a NaN), and within() is written so that NaN fails it.
struct Worst {
  double error = 0;
  std::string where;  // what add() was told about the worst one
  int64_t nonfinite = 0;

  template <class Describe>
  void add(double err, Describe&& describe) {
    if (!std::isfinite(err)) ++nonfinite, err = INFINITY;
    if (where.empty() || err > error) error = err, where = describe();
  }
  bool within(double tolerance) const { return nonfinite == 0 && error <= tolerance; }
};

// Where `got` differs most from `expected`, element by element; a non-finite value on either
// side is an infinite difference.
struct Difference {
  Worst worst;              // largest |got − expected|, and where (index, both values)
  double max_expected = 0;  // largest finite |expected|: the scale of a relative tolerance
  std::string str() const {
    return fmt::format("max difference {} at {}{}", worst.error, worst.where,
                       worst.nonfinite ? fmt::format(" ({} non-finite)", worst.nonfinite) : "");
  }
};

inline std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> index(std::size_t(shape.rank()));
  for (int64_t d = shape.rank() - 1; d >= 0; --d) {
    index[std::size_t(d)] = flat % std::max<int64_t>(shape[d], 1);
    flat /= std::max<int64_t>(shape[d], 1);
  }
  return fmt::format("[{}]", fmt::join(index, ", "));
}

inline Difference difference(const Tensor& got, const Tensor& expected) {
  Difference d;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double a = got.values()[std::size_t(i)], e = expected.values()[std::size_t(i)];
    if (std::isfinite(e)) d.max_expected = std::max(d.max_expected, std::fabs(e));
    d.worst.add(std::fabs(a - e),
                [&] { return fmt::format("{}: {} vs {}", index_str(got.shape(), i), a, e); });
  }
  return d;
}

// Checks `got` against `expected` with the bound that `bound(difference)` gives, and returns
// the difference (for a caller that also reports it); the body of check_close and check_relative.
template <class Bound>
Difference check_difference(const Tensor& got, const Tensor& expected, const std::string& what,
                            Bound bound) {
  const std::string label = what.empty() ? "" : what + ": ";
  BOOST_REQUIRE_MESSAGE(got.shape() == expected.shape(),
                        label << "shape " << got.shape().str() << " != " << expected.shape().str());
  const Difference d = difference(got, expected);
  const double limit = bound(d);
  BOOST_CHECK_MESSAGE(d.worst.within(limit), label << d.str() << " (bound " << limit
                                                   << ", max |expected| " << d.max_expected << ")");
  return d;
}

// |got − expected| ≤ tolerance everywhere and every value finite (0: bit for bit); one check per
// tensor, naming its worst element.
inline Difference check_close(const Tensor& got, const Tensor& expected, double tolerance,
                              const std::string& what = "") {
  return check_difference(got, expected, what, [&](const Difference&) { return tolerance; });
}

// The same with the tolerance scaled to the expected tensor: tolerance · (1 + max |expected|).
inline Difference check_relative(const Tensor& got, const Tensor& expected, double tolerance,
                                 const std::string& what = "") {
  return check_difference(got, expected, what,
                          [&](const Difference& d) { return tolerance * (1 + d.max_expected); });
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
