#include <rnngraph/framework/op.h>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph {

namespace {
// A function-local list: ops may register from other files' static initialisers.
std::vector<const Op*>& registry() {
  static std::vector<const Op*> ops;
  return ops;
}
}  // namespace

void register_op(const Op& op) {
  if (find_op(op.name()))
    throw GraphError(fmt::format("an op named '{}' is registered already", op.name()));
  registry().push_back(&op);
}

const Op* find_op(std::string_view name) {
  for (const Op* op : registry())
    if (op->name() == name) return op;
  return nullptr;
}

std::vector<const Op*> all_ops() { return registry(); }

}  // namespace rnngraph
