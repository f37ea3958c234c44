// Every error the library throws derives from rnngraph::Error, so callers can catch one type.
//
// An error's message is one line of printable ASCII whatever it quotes: the constructor escapes
// every byte below 0x20 or above 0x7e as \xNN (an ESC from a crafted file cannot rewrite the
// terminal it is printed on), and cuts a message longer than kMaxMessage. quote() cuts one
// value from the input where it is interpolated, so the rest of the message survives.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rnngraph {

inline constexpr std::size_t kMaxMessage = 1000;

// `text` with every byte outside 0x20 ..= 0x7e as \xNN, cut to `max` bytes of input ("..." and
// the count of bytes left out follow).
std::string printable(std::string_view text, std::size_t max = kMaxMessage);
// A value from the input for a message: printable(value, max) in single quotes.
std::string quote(std::string_view value, std::size_t max = 64);

struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(printable(message)) {}
};

// A shape rule was violated while building a node or feeding a run.
struct ShapeError : Error {
  using Error::Error;
};

// The graph is used wrongly: unknown names, missing feeds, values from another graph.
struct GraphError : Error {
  using Error::Error;
};

// A run produced a NaN or an infinity (Executor::check_numerics).
struct NumericError : Error {
  using Error::Error;
};

// A file (graph JSON, safetensors, .npy, CSV) is malformed or unsupported.
struct FormatError : Error {
  using Error::Error;
};

}  // namespace rnngraph
