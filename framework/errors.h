// Every error the library throws derives from rnngraph::Error, so callers can catch one type.
#pragma once

#include <stdexcept>
#include <string>

namespace rnngraph {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A shape rule was violated while building a node or feeding a run.
struct ShapeError : Error {
  using Error::Error;
};

// The graph is used wrongly: unknown names, missing feeds, values from another graph.
struct GraphError : Error {
  using Error::Error;
};

// A file (graph JSON, safetensors, .npy, CSV) is malformed or unsupported.
struct FormatError : Error {
  using Error::Error;
};

}  // namespace rnngraph
