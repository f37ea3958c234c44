// A memory budget for tensor data and executor arenas, checked before anything is allocated: a
// graph, a plan or a tensor that would take the process past the limit is a MemoryError naming
// the size, never a std::bad_alloc or the kernel's OOM killer.
//
// The limit counts the bytes alive at once (every tensor's storage and every executor's arena).
// By default it is 75% of the machine's physical memory, or of the process's address-space limit
// (ulimit -v) when that is lower; set_limit() (the CLI's --max-memory) replaces it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <rnngraph/framework/errors.h>

namespace rnngraph {

struct MemoryError : Error {
  using Error::Error;
};

namespace memory {

std::size_t default_limit();
std::size_t limit();
// 0 restores the default.
void set_limit(std::size_t bytes);
std::size_t in_use();

// MemoryError unless `bytes` more would fit under the limit now; nothing is reserved. For memory
// that is not tensor data, such as a graph's nodes, checked before building them.
void require(std::size_t bytes, const std::function<std::string()>& what);

// `bytes` zeroed bytes aligned to 64, released to the budget when the last owner lets go.
// MemoryError when they would take the bytes in use past the limit; `what` names the
// allocation in its message ("a tensor of shape [4, 1000000]"), and is only called then.
std::shared_ptr<float> allocate(std::size_t bytes, const std::function<std::string()>& what);

}  // namespace memory
}  // namespace rnngraph
