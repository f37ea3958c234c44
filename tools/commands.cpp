// The command table: one entry per subcommand, each defined in its own file.
#include "cli.h"

namespace rnngraph::cli {

Command demo_command();
Command build_command();
Command run_command();
Command dot_command();
Command info_command();
Command bench_command();
Command grad_command();
Command train_command();
Command eval_command();
Command sample_command();
Command export_command();
Command import_command();
Command quantize_command();

const std::vector<Command>& commands() {
  static const std::vector<Command> all{
      demo_command(),     build_command(),  run_command(),  grad_command(),   train_command(),
      eval_command(),     sample_command(), dot_command(),  export_command(), import_command(),
      quantize_command(), info_command(),   bench_command()};
  return all;
}

}  // namespace rnngraph::cli
