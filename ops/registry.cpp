// Every op, by name: how graph files find the op of a node. Adding an op = one line here.
#include <algorithm>

#include <rnngraph/framework/op.h>

#define RNNGRAPH_OPS(X) \
  X(add)                \
  X(concat)             \
  X(matmul)             \
  X(mean)               \
  X(mul)                \
  X(select)             \
  X(sigmoid)            \
  X(slice)              \
  X(stack)              \
  X(sub)                \
  X(sum)                \
  X(tanh)

namespace rnngraph {

#define DECLARE_OP(name) const Op& name##_op();
RNNGRAPH_OPS(DECLARE_OP)
#undef DECLARE_OP

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
