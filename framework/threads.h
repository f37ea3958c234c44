// Threading is deliberate: OpenBLAS's own threads run the matrix products, the executor runs
// its steps on the calling thread. Set the count once, before running; never run OpenBLAS
// threads inside threads of your own (one thread each is then right).
#pragma once

namespace rnngraph {

// OpenBLAS threads used by every matmul (n >= 1).
void set_compute_threads(int n);
int compute_threads();

}  // namespace rnngraph
