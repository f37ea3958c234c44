// Writing files so that a failure leaves nothing half-written: data goes to a temporary name in
// the same directory, which is renamed over the target only once everything was written.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>

namespace rnngraph::io {

void write_atomically(const std::filesystem::path& path,
                      const std::function<void(std::ostream&)>& write);

}  // namespace rnngraph::io
