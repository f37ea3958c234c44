// rnngraph: build, run, and inspect recurrent graphs from the command line.
// Exit codes: 0 success, 2 bad usage or bad input (one line on stderr), 1 internal error.
#include <cstdio>
#include <exception>
#include <new>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/memory.h>
#include <rnngraph/ops/isa.h>

#include "cli.h"

using namespace rnngraph;

namespace {
const std::string_view kCommonOptions = R"(options of every command:
  --max-memory BYTES  the most memory tensors and arenas may take at once (a number, or with
                      a K, M, G or T suffix: 512M, 2G); default 75% of physical memory, of
                      the address-space limit (ulimit -v) or of cgroup memory.max, whichever
                      is lowest. Anything that would need more is refused before it is
                      allocated, with exit code 2.
)";
void print_overview() {
  fmt::print(
      "rnngraph: recurrent networks as graphs: build, run, draw.\n\nusage: rnngraph COMMAND "
      "[ARGS]\n       rnngraph --version\n\ncommands:\n");
  for (const cli::Command& c : cli::commands()) fmt::print("  {:<8} {}\n", c.name, c.summary);
  fmt::print("\n'rnngraph COMMAND --help' describes a command.\n\n{}", kCommonOptions);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // Options every command shares may come anywhere, before the command too.
    const std::vector<std::string> args = cli::apply_common_options({argv + 1, argv + argc});
    if (!kernels::isa_cap_is_known()) {
      std::vector<std::string_view> names;
      for (kernels::Isa isa : kernels::isa_levels()) names.push_back(kernels::isa_name(isa));
      throw cli::UsageError(fmt::format("RNNGRAPH_MAX_ISA={} names no instruction set: {} or {}",
                                        quote(std::getenv("RNNGRAPH_MAX_ISA")),
                                        fmt::join(std::span(names).first(names.size() - 1), ", "),
                                        names.back()));
    }
    if (!args.empty() && args[0] == "--version") {
      fmt::print("rnngraph {} (kernels: {}; float32, int8, bf16)\n", RNNGRAPH_VERSION,
                 kernels::isa_name(kernels::best_isa()));
      return 0;
    }
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      print_overview();
      return args.empty() ? 2 : 0;
    }
    for (const cli::Command& c : cli::commands()) {
      if (c.name != args[0]) continue;
      const std::vector<std::string> rest(args.begin() + 1, args.end());
      for (const std::string& a : rest)
        if (a == "--help" || a == "-h") {
          fmt::print("{}\n{}", c.usage, kCommonOptions);
          return 0;
        }
      return c.run(rest);
    }
    throw cli::UsageError(fmt::format("unknown command '{}' (try 'rnngraph --help')", args[0]));
  } catch (const Error& e) {  // bad usage or bad input: one line (Error escapes it), exit 2
    fmt::print(stderr, "rnngraph: {}\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {  // what the memory limit did not foresee
    fmt::print(stderr, "rnngraph: out of memory (--max-memory sets the limit)\n");
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "rnngraph: internal error: {}\n", printable(e.what()));
    return 1;
  }
}
