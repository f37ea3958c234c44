#include "cli.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/io/csv.h>
#include <rnngraph/framework/io/npy.h>
#include <rnngraph/framework/memory.h>
#include <rnngraph/models/torch_state.h>

namespace rnngraph::cli {

namespace {
// The edit distance between two names (insertions, deletions and substitutions).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The option a mistyped or PyTorch-style name most likely meant ("--num_layers" → "--layers",
// "--hiden-size" → "--hidden-size"), or nothing when none is close.
std::optional<std::string> nearest_option(std::string name,
                                          const std::set<std::string, std::less<>>& valued,
                                          const std::set<std::string, std::less<>>& switches) {
  std::replace(name.begin(), name.end(), '_', '-');  // PyTorch's keyword names
  if (!name.starts_with("--") && name.size() > 2) name = "-" + name;
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (const auto* options : {&valued, &switches})
    for (const std::string& option : *options) {
      std::size_t d = edit_distance(name, option);
      // "--num-layers" holds "layers": a name inside another counts as close
      if (option.size() > 3 && name.find(option.substr(2)) != std::string::npos)
        d = std::min<std::size_t>(d, 1);
      if (d < best_distance) best_distance = d, best = option;
    }
  return best;
}
}  // namespace

Args::Args(std::span<const std::string> argv, std::set<std::string, std::less<>> valued,
           std::set<std::string, std::less<>> switches) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg, value;
    const bool inline_value = arg.find('=') != std::string::npos;
    if (inline_value) name = arg.substr(0, arg.find('=')), value = arg.substr(arg.find('=') + 1);
    if (switches.contains(name) && !inline_value) {
      switches_.insert(name);
    } else if (valued.contains(name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw UsageError(fmt::format("{} needs a value", name));
        value = argv[++i];
      }
      if (values_.contains(name)) throw UsageError(fmt::format("{} given twice", name));
      values_[name] = value;
    } else {
      const auto suggestion = nearest_option(name, valued, switches);
      throw UsageError(fmt::format("unknown option {}{}", quote(name),
                                   suggestion ? fmt::format("; did you mean {}?", *suggestion)
                                              : std::string(" (--help lists the options)")));
    }
  }
}

bool Args::has(std::string_view flag) const {
  return switches_.contains(flag) || values_.contains(flag);
}

std::optional<std::string> Args::get(std::string_view flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::require(std::string_view flag) const {
  if (auto v = get(flag)) return *v;
  throw UsageError(fmt::format("{} is required", flag));
}

int64_t Args::integer(std::string_view flag, std::optional<int64_t> fallback, int64_t min,
                      int64_t max) const {
  const auto text = get(flag);
  if (!text) {
    if (fallback) return *fallback;
    throw UsageError(fmt::format("{} is required", flag));
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size())
    throw UsageError(fmt::format("{} expects a whole number, got {}", flag, quote(*text)));
  if (v < min || v > max)
    throw UsageError(fmt::format("{} must be between {} and {}, got {}", flag, min, max, v));
  return v;
}

std::size_t parse_bytes(std::string_view flag, std::string_view text) {
  std::size_t at = 0, value = 0;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
    const std::size_t digit = std::size_t(text[at++] - '0');
    if (value > (std::size_t(-1) - digit) / 10) at = text.size() + 1;  // overflow: refused below
    value = value * 10 + digit;
  }
  std::string unit;
  for (std::size_t i = at; i < text.size(); ++i)
    unit += char(std::toupper(static_cast<unsigned char>(text[i])));
  int shift = -1;
  for (auto [suffix, bits] : {std::pair<std::string_view, int>{"", 0},
                              {"B", 0},
                              {"K", 10},
                              {"KB", 10},
                              {"KIB", 10},
                              {"M", 20},
                              {"MB", 20},
                              {"MIB", 20},
                              {"G", 30},
                              {"GB", 30},
                              {"GIB", 30},
                              {"T", 40},
                              {"TB", 40},
                              {"TIB", 40}})
    if (unit == suffix) shift = bits;
  if (at == 0 || at > text.size() || shift < 0 || value == 0 || value > (std::size_t(-1) >> shift))
    throw UsageError(
        fmt::format("{} expects a byte count such as 4096, 512M or 2G, got {}", flag, quote(text)));
  return value << shift;
}

std::vector<std::string> apply_common_options(std::vector<std::string> args) {
  bool seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if (args[i] == "--max-memory") {
      if (i + 1 == args.size()) throw UsageError("--max-memory needs a value");
      value = args[i + 1];
      args.erase(args.begin() + std::ptrdiff_t(i), args.begin() + std::ptrdiff_t(i) + 2);
    } else if (args[i].starts_with("--max-memory=")) {
      value = args[i].substr(13);
      args.erase(args.begin() + std::ptrdiff_t(i));
    } else {
      continue;
    }
    if (seen) throw UsageError("--max-memory given twice");
    seen = true;
    memory::set_limit(parse_bytes("--max-memory", value));
    --i;
  }
  return args;
}

double Args::number(std::string_view flag, double fallback, double min, double max) const {
  const auto text = get(flag);
  if (!text) return fallback;
  double v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size() || !std::isfinite(v))
    throw UsageError(fmt::format("{} expects a number, got {}", flag, quote(*text)));
  if (v < min || v > max)
    throw UsageError(fmt::format("{} must be between {} and {}, got {}", flag, min, max, v));
  return v;
}

models::Config model_config(const Args& args, std::string_view command,
                            std::optional<int64_t> batch, std::optional<int64_t> steps) {
  if (args.positional().size() != 1)
    throw UsageError(
        fmt::format("{} takes one cell name: rnn, lstm, gru or a registered cell", command));
  models::Config c;
  c.cell = models::cell_from_string(args.positional()[0]);
  c.input_size = args.integer("--input-size", std::nullopt);
  c.hidden_size = args.integer("--hidden-size", std::nullopt);
  c.steps = args.integer("--steps", steps);
  c.batch = args.integer("--batch", batch);
  c.layers = args.integer("--layers", 1, 1, 64);
  return c;
}

models::Cell lstm_variant(const Args& args, models::Cell cell) {
  for (const auto& [flag, variant] :
       {std::pair{"--peepholes", "peephole_lstm"}, std::pair{"--layer-norm", "ln_lstm"}})
    if (args.has(flag)) {
      if (cell != models::Cell::Lstm || (args.has("--peepholes") && args.has("--layer-norm")))
        throw UsageError(
            "--peepholes and --layer-norm each make a variant of lstm: one of them, "
            "with lstm");
      return models::find_cell(variant);
    }
  return cell;
}

namespace {
// The inputs that hold an initial state: h0 and c0, and "<s>0" for every output "<s>_n" (the
// state variables of a model's cell).
std::vector<std::string> state_inputs(const Graph& g) {
  std::vector<std::string> names;
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Input && n.name.ends_with('0') &&
        (n.name == "h0" || n.name == "c0" ||
         g.output_id(n.name.substr(0, n.name.size() - 1) + "_n") >= 0))
      names.push_back(n.name);
  return names;
}
}  // namespace

Feeds model_feeds(const Graph& g, const Args& args) {
  const bool tokens = !g.contains("x") && g.contains("tokens");
  Feeds feeds{{tokens ? "tokens" : "x", read_array(args.require("--input"))}};
  if (tokens && feeds.at("tokens").shape().rank() == 3 && feeds.at("tokens").shape()[2] == 1)
    feeds.at("tokens") = feeds.at("tokens").reshaped(
        {feeds.at("tokens").shape()[0], feeds.at("tokens").shape()[1]});  // CSV: [T, 1, 1]
  for (const char* state : {"h0", "c0"})
    if (auto path = args.get(fmt::format("--{}", state))) feeds.emplace(state, read_array(*path));
  for (const std::string& state : state_inputs(g))
    feeds.emplace(state, Tensor(g.find(state).shape));  // zeros, unless given above
  return feeds;
}

models::Config unroll_model_file(io::GraphFile& file, const std::string& path,
                                 std::optional<int64_t> steps, std::optional<int64_t> batch,
                                 int64_t min_steps) {
  models::Config config;
  io::TensorMap weights;
  try {
    config = models::config_from_file(file);
    weights =
        file.graph ? models::parameters(*file.graph) : models::recipe_weights(config, file.extra);
  } catch (const FormatError& e) {
    throw FormatError(fmt::format("{}: {}", path, e.what()));
  }
  file.graph = models::unroll(config, weights, std::max(steps.value_or(config.steps), min_steps),
                              batch.value_or(config.batch));
  return config;
}

Feeds unrolled_feeds(io::GraphFile& file, const std::string& path, const Args& args) {
  if (!models::is_model(file)) {
    if (!file.graph) file = models::load_file(path);  // says what is wrong with it
    return model_feeds(*file.graph, args);
  }
  Tensor input = read_array(args.require("--input"));
  if (input.shape().rank() < 2)
    throw ShapeError(fmt::format("the input is {}, not [T, B, ...]", input.shape().str()));
  // One graph: the model unrolled for this length and batch, on the file's weights.
  const models::Config config = unroll_model_file(file, path, input.shape()[0], input.shape()[1]);
  const bool tokens = config.tokens != models::TokenInput::None;
  if (tokens && input.shape().rank() == 3 && input.shape()[2] == 1)
    input = input.reshaped({input.shape()[0], input.shape()[1]});  // CSV: [T, 1, 1]
  Feeds feeds{{tokens ? "tokens" : "x", input}};
  for (const char* state : {"h0", "c0"})
    if (auto path_of = args.get(fmt::format("--{}", state)))
      feeds.emplace(state, read_array(*path_of));
  for (const std::string& state : state_inputs(*file.graph))  // zeros unless given
    feeds.emplace(state, Tensor(file.graph->find(state).shape));
  return feeds;
}

Feeds random_model_input(const models::Config& c, int64_t steps, int64_t batch, uint64_t seed) {
  std::mt19937 rng(seed);
  Feeds feeds;
  if (c.tokens != models::TokenInput::None) {
    Tensor ids({steps, batch});
    std::uniform_int_distribution<int64_t> id(0, c.vocab_size - 1);
    for (float& v : ids.values()) v = float(id(rng));
    feeds.emplace("tokens", ids);
  } else {
    Tensor x({steps, batch, c.input_size});
    std::normal_distribution<float> unit(0, 1);
    for (float& v : x.values()) v = unit(rng);
    feeds.emplace("x", x);
  }
  return feeds;
}

std::vector<std::string> gradient_targets(const Graph& g, bool inputs) {
  std::vector<std::string> names = parameter_names(g);
  if (inputs) {
    if (g.contains("x") && g.find("x").kind == NodeKind::Input) names.emplace_back("x");
    for (const std::string& state : state_inputs(g)) names.push_back(state);
  }
  return names;
}

namespace {
bool is_csv(const std::filesystem::path& p) { return p.extension() == ".csv"; }
void check_extension(const std::filesystem::path& p) {
  if (p.extension() != ".npy" && !is_csv(p))
    throw UsageError(fmt::format("'{}': arrays are .npy or .csv files", p.string()));
}
}  // namespace

Tensor read_array(const std::filesystem::path& path) {
  check_extension(path);
  if (!is_csv(path)) {
    // numpy's defaults (float64, int64) are converted; said only where precision is lost
    io::NpyArray array = io::read_npy_array(path);
    if (array.rounded)
      fmt::print(stderr, "note: {}: float64 values rounded to float32\n", path.string());
    return std::move(array.values);
  }
  const Tensor t = io::read_csv(path);
  return t.reshaped({t.shape()[0], 1, t.shape()[1]});  // [T, I] is one sequence: batch 1
}

void write_array(const std::filesystem::path& path, const Tensor& tensor) {
  check_extension(path);
  if (is_csv(path))
    io::write_csv(path, tensor);
  else
    io::write_npy(path, tensor);
}

}  // namespace rnngraph::cli
