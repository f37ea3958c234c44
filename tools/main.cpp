// rnngraph: build, run, and inspect recurrent graphs from the command line.
// Exit codes: 0 success, 2 bad usage or bad input (one line on stderr), 1 internal error.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli.h"

using namespace rnngraph;

namespace {
void print_overview() {
  fmt::print(
      "rnngraph: recurrent networks as graphs: build, run, draw.\n\nusage: rnngraph COMMAND "
      "[ARGS]\n\ncommands:\n");
  for (const cli::Command& c : cli::commands()) fmt::print("  {:<8} {}\n", c.name, c.summary);
  fmt::print("\n'rnngraph COMMAND --help' describes a command.\n");
}
}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      print_overview();
      return args.empty() ? 2 : 0;
    }
    for (const cli::Command& c : cli::commands()) {
      if (c.name != args[0]) continue;
      const std::vector<std::string> rest(args.begin() + 1, args.end());
      for (const std::string& a : rest)
        if (a == "--help" || a == "-h") {
          fmt::print("{}", c.usage);
          return 0;
        }
      return c.run(rest);
    }
    throw cli::UsageError(fmt::format("unknown command '{}' (try 'rnngraph --help')", args[0]));
  } catch (const Error& e) {  // bad usage or bad input: one line, exit 2
    std::string message = e.what();
    for (char& ch : message)
      if (ch == '\n') ch = ' ';
    fmt::print(stderr, "rnngraph: {}\n", message);
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "rnngraph: internal error: {}\n", e.what());
    return 1;
  }
}
