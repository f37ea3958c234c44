// The ops layer registers every op (the list is RNNGRAPH_OPS in ops.h) in the framework's
// registry when the library loads: graph files find ops by name there.
#include <rnngraph/framework/op.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph {

namespace {
const bool registered = [] {
#define REGISTER_OP(name) register_op(name##_op());
  RNNGRAPH_OPS(REGISTER_OP)
#undef REGISTER_OP
  return true;
}();
}  // namespace

}  // namespace rnngraph
