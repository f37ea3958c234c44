// rnngraph sample: text from a trained character model, one character at a time, the state
// carried from step to step.
#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/models/model.h>
#include <rnngraph/models/torch_state.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph sample M.json --length N [--temperature T] [--prime TEXT] [--seed S]

Generates N characters from a text model trained by 'rnngraph train --task text'. The model
reads the prime text (default: a newline, or the alphabet's first character), then draws each
next character from softmax(logits / T) and feeds it back.

  --length N        characters to generate
  --temperature T   below 1 sharper and more repetitive, above 1 more random (default 1);
                    0 is greedy decoding: always the most likely character
  --prime TEXT      the text to start from; every character must be in the model's alphabet
  --seed S          seed of the draws (default 0)

The prime text and the generated characters are printed on stdout.
)";

int sample_main(const std::vector<std::string>& argv) {
  const Args args(argv, {"--length", "--temperature", "--prime", "--seed"});
  if (args.positional().size() != 1) throw UsageError("sample takes one model file");
  const int64_t length = args.integer("--length", std::nullopt, 0, 10'000'000);
  const double temperature = args.number("--temperature", 1.0, 0, 1e3);
  std::mt19937_64 rng(uint64_t(args.integer("--seed", 0, 0, int64_t(1) << 62)));

  const io::GraphFile file = models::load_file(args.positional()[0]);
  if (!models::is_model(file) || !file.meta.contains("vocabulary"))
    throw UsageError(
        fmt::format("'{}' is not a text model (train one with --task text)", args.positional()[0]));
  const models::Config c = models::config_from_file(file);
  if (c.tokens == models::TokenInput::None || c.output_size != c.vocab_size)
    throw UsageError("sample needs a model with a token input and an output over its alphabet");
  std::unique_ptr<Graph> g = models::unroll(c, models::parameters(*file.graph), 1, 1);
  const bool reduced = c.precision != models::Precision::Float32;
  if (reduced) g = passes::optimize_in(*g, c.precision);  // products as run computes them
  Executor run(*g, std::span<const std::string>(), PlanOptions{.optimize = !reduced});

  const std::string& alphabet = c.vocabulary;
  std::string prime = args.get("--prime").value_or(
      alphabet.find('\n') != std::string::npos ? std::string("\n") : alphabet.substr(0, 1));
  if (prime.empty()) throw UsageError("--prime must not be empty");
  Feeds feeds{{"tokens", Tensor({1, 1})}};
  for (const models::StateVariable& s : models::model_state(c))
    feeds.emplace(s.name + "0", Tensor(g->find(s.name + "0").shape));
  auto feed = [&](char ch) -> const Results& {
    const std::size_t id = alphabet.find(ch);
    if (id == std::string::npos)
      throw UsageError(fmt::format("--prime holds {}, which is not in the model's alphabet",
                                   quote(std::string_view(&ch, 1))));
    feeds.at("tokens").values()[0] = float(id);
    const Results& r = run(feeds);
    models::carry_state(r, feeds);  // the state carried to the next character
    return r;
  };

  std::string out = prime;
  const Results* r = nullptr;
  for (char ch : prime) r = &feed(ch);
  std::vector<double> p(alphabet.size());
  for (int64_t i = 0; i < length; ++i) {
    const auto logits = (*r)["y"].values();
    const std::size_t most_likely =
        std::size_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    std::size_t pick = most_likely;
    if (temperature > 0) {  // a draw from softmax(logits / T)
      const double top = logits[most_likely];
      double total = 0;
      for (std::size_t k = 0; k < p.size(); ++k)
        total += p[k] = std::exp((double(logits[k]) - top) / temperature);
      double u = double(rng() >> 11) * 0x1.0p-53 * total;
      pick = 0;
      while (pick + 1 < p.size() && u >= p[pick]) u -= p[pick++];
    }
    out += alphabet[pick];
    if (i + 1 < length) r = &feed(alphabet[pick]);
  }
  fmt::print("{}\n", out);
  return 0;
}
}  // namespace

Command sample_command() {
  return {"sample", "generate text from a trained character model", kUsage, sample_main};
}

}  // namespace rnngraph::cli
