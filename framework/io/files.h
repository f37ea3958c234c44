// Reading and writing whole files. Writes leave nothing half-written: data goes to a temporary
// name in the same directory, which is renamed over the target only once everything was written.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace rnngraph::io {

// The whole file as bytes; FormatError when it cannot be read.
std::string read_file(const std::filesystem::path& path);

void write_atomically(const std::filesystem::path& path,
                      const std::function<void(std::ostream&)>& write);

}  // namespace rnngraph::io
