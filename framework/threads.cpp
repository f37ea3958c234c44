#include <rnngraph/framework/threads.h>

#include <cblas.h>
#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph {

void set_compute_threads(int n) {
  if (n < 1) throw Error(fmt::format("thread count must be at least 1, got {}", n));
  openblas_set_num_threads(n);
}

int compute_threads() { return openblas_get_num_threads(); }

}  // namespace rnngraph
