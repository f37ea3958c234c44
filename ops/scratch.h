// Per-thread scratch buffers for the kernels: n values of T that the calling thread may use until
// it asks for the same (T, Slot) again. Reused across calls and never shrunk, so a steady run
// allocates nothing. Two buffers a kernel holds at once take different slots; a kernel never
// calls another that takes the same one. Internal to the library.
#pragma once

#include <cstddef>
#include <vector>

namespace rnngraph::kernels {

template <class T = float, int Slot = 0>
T* scratch(std::size_t n) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

}  // namespace rnngraph::kernels
