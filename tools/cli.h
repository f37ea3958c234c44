// The pieces every `rnngraph` subcommand shares: the command table, argument parsing, and the
// error that means "bad usage" (exit code 2, like any rnngraph::Error).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/tensor.h>
#include <rnngraph/models/model.h>

namespace rnngraph::cli {

struct UsageError : Error {
  using Error::Error;
};

// Parsed command line: flags that take a value (--name VALUE or --name=VALUE), switches, and
// positional arguments. Anything not declared is a UsageError.
class Args {
 public:
  Args(std::span<const std::string> argv, std::set<std::string, std::less<>> valued,
       std::set<std::string, std::less<>> switches = {});

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(std::string_view flag) const;
  std::optional<std::string> get(std::string_view flag) const;
  std::string require(std::string_view flag) const;
  // A whole number in [min, max]; `fallback` when the flag is absent (nullopt: required).
  int64_t integer(std::string_view flag, std::optional<int64_t> fallback, int64_t min = 1,
                  int64_t max = 1'000'000) const;
  // A finite number in [min, max]; `fallback` when the flag is absent.
  double number(std::string_view flag, double fallback, double min, double max) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::set<std::string, std::less<>> switches_;
  std::vector<std::string> positional_;
};

// A byte count: a whole number, optionally with a K, M, G or T suffix (powers of 1024; "KB",
// "KiB" and lower case are fine). UsageError naming `flag` otherwise.
std::size_t parse_bytes(std::string_view flag, std::string_view text);

// Takes the options every command shares (--max-memory, anywhere on the line, once) out of
// `args` and applies them; UsageError for a bad value.
std::vector<std::string> apply_common_options(std::vector<std::string> args);

struct Command {
  std::string_view name;
  std::string_view summary;
  std::string_view usage;  // the --help text
  std::function<int(const std::vector<std::string>& args)> run;
};

// The model a command names: `CELL --input-size I --hidden-size H --steps T [--batch B]
// [--layers L]`; --batch and --steps default to `batch` and `steps`, or are required when
// those are nullopt.
models::Config model_config(const Args& args, std::string_view command,
                            std::optional<int64_t> batch, std::optional<int64_t> steps = {});

// --peepholes or --layer-norm: the variant of lstm they name (peephole_lstm, ln_lstm), or `cell`
// when neither is given; UsageError for both, or for another cell.
models::Cell lstm_variant(const Args& args, models::Cell cell);

// The feeds of a model graph: --input as "x" (or as "tokens", the class ids of a token model),
// --h0 and --c0 as the initial states, zeros when absent.
Feeds model_feeds(const Graph& g, const Args& args);

// A model's input drawn at random, seeded: "x" [T, B, I] ~ N(0, 1), or for a token model
// "tokens" [T, B], class ids uniform over its vocabulary (what quantize compares on and bench
// times).
Feeds random_model_input(const models::Config& c, int64_t steps, int64_t batch, uint64_t seed);

// A model file read by io::read_graph_file from `path`, its graph made the model unrolled once for
// `steps` (at least `min_steps`) and `batch` (default: the recipe's) on the file's weights;
// returns the recipe.
// FormatError naming the path for a bad recipe or missing weights.
models::Config unroll_model_file(io::GraphFile& file, const std::string& path,
                                 std::optional<int64_t> steps, std::optional<int64_t> batch,
                                 int64_t min_steps = 1);

// model_feeds for a graph file read by io::read_graph_file from `path`: a model file's graph
// becomes the model unrolled once, for the length and batch of --input (sharing the file's
// weights), and the states not given are zeros of that shape; a hand-built file's graph stays as
// it is.
Feeds unrolled_feeds(io::GraphFile& file, const std::string& path, const Args& args);

// What gradients are taken for, by name: every parameter and, with `inputs`, the model's float
// inputs too (x, h0 and c0, those the graph has).
std::vector<std::string> gradient_targets(const Graph& g, bool inputs);

// Arrays by extension: .npy, or .csv for [T, I] (read as [T, 1, I]) and [T, 1, H] data. A .npy
// may hold float32, float64, int32 or int64 (numpy's defaults), read as float32; a note on
// stderr says when float64 values were rounded.
Tensor read_array(const std::filesystem::path& path);
void write_array(const std::filesystem::path& path, const Tensor& tensor);

// Every subcommand, in the order `rnngraph --help` lists them (tools/commands.cpp).
const std::vector<Command>& commands();

}  // namespace rnngraph::cli
