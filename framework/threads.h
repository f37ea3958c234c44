// Threading is deliberate: one pool of our own (parallel_for) splits every large product, the
// packed recurrent ones and the cblas_sgemm ones alike, and OpenBLAS runs single-threaded inside
// it, so two thread pools never compete for the cores. Small products run on the calling thread.
// Set the count once, before running; never run these threads inside threads of your own (one
// thread each is then right). Until set_compute_threads is called, the pool is one thread and
// OpenBLAS keeps its own default.
#pragma once

#include <cstdint>

namespace rnngraph {

// Threads of the pool that runs the large products (n >= 1); OpenBLAS is set to one thread.
void set_compute_threads(int n);
int compute_threads();

namespace detail {
void run_in_pool(int n, void (*call)(const void* task, int index), const void* task);
}

// Part `part` of `parts` of the indices [0, total): the parts cover every index once, in order,
// and their sizes differ by at most one (for total = 7 and 3 parts: [0, 2), [2, 4), [4, 7)).
// Every split of work over the pool goes through it.
struct Range {
  int64_t begin, end;
};
inline Range split(int64_t total, int parts, int part) {
  return {total * part / parts, total * (part + 1) / parts};
}

// Runs task(0) … task(n − 1) at once, task(0) on the calling thread and the rest on pool
// workers, and returns when all are done. n is at most compute_threads(); with n = 1 the task
// simply runs, with nothing allocated or synchronised (the per-step products of small models
// take this path). Tasks must not throw, and must not call parallel_for themselves.
template <class Task>
void parallel_for(int n, const Task& task) {
  if (n <= 1) {
    if (n == 1) task(0);
    return;
  }
  detail::run_in_pool(
      n, [](const void* t, int index) { (*static_cast<const Task*>(t))(index); }, &task);
}

}  // namespace rnngraph
