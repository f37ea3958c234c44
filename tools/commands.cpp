// The command table: one entry per subcommand, each defined in its own file.
#include "cli.h"

namespace rnngraph::cli {

Command build_command();
Command run_command();

const std::vector<Command>& commands() {
  static const std::vector<Command> all{build_command(), run_command()};
  return all;
}

}  // namespace rnngraph::cli
