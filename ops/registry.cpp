// Every op, by name: how graph files find the op of a node. The list is RNNGRAPH_OPS in ops.h.
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {

std::vector<const Op*> all_ops() {
#define LIST_OP(name) &name##_op(),
  return {RNNGRAPH_OPS(LIST_OP)};
#undef LIST_OP
}

const Op* find_op(std::string_view name) {
  for (const Op* op : all_ops())
    if (op->name() == name) return op;
  return nullptr;
}

}  // namespace rnngraph
