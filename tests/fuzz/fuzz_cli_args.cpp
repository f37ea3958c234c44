// The CLI's argument parsing: the input is an argument list (NUL-separated), stripped of the
// options every command shares (as main() does), parsed against the flags `run` and `build`
// take, then read as their numbers, byte counts and model sizes.
#include <string>
#include <vector>

#include "../../tools/cli.h"
#include "fuzz.h"

using namespace rnngraph;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::limit_memory();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::vector<std::string> argv;
  std::string arg;
  for (char ch : fuzz::bytes(data, size)) {
    if (ch == '\0')
      argv.push_back(std::move(arg)), arg.clear();
    else
      arg += ch;
  }
  argv.push_back(arg);
  fuzz::expect_typed_errors([&] {
    argv = cli::apply_common_options(argv);  // --max-memory, as main() takes it
    memory::set_limit(std::size_t(512) << 20);
    const cli::Args args(argv,
                         {"--input-size", "--hidden-size", "--steps", "--batch", "--layers", "--lr",
                          "--max-memory", "-o"},
                         {"--bidirectional", "--lengths"});
    if (args.has("--lr")) args.number("--lr", 0.01, 1e-9, 10);
    if (auto bytes = args.get("--max-memory")) cli::parse_bytes("--max-memory", *bytes);
    if (!args.positional().empty()) cli::model_config(args, "build", 1, 1);
  });
  return 0;
}
