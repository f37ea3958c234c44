// What every libFuzzer target shares: a small memory limit (a claimed size past it must be a
// MemoryError, not a crash or libFuzzer's out-of-memory finding), a private scratch folder for
// readers that take a path, and "any rnngraph::Error is a correct answer".
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/memory.h>

namespace rnngraph::fuzz {

inline void limit_memory() { memory::set_limit(std::size_t(512) << 20); }

inline std::string_view bytes(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    auto d =
        std::filesystem::temp_directory_path() / ("rnngraph-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline void write(const std::filesystem::path& path, std::string_view content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(content.data(), std::streamsize(content.size()));
}

// Runs `f`; rnngraph::Error (every typed error, MemoryError included) is the expected outcome
// of bad input. Anything else escapes, and libFuzzer reports it.
template <class F>
void expect_typed_errors(F f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace rnngraph::fuzz
