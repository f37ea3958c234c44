// Training checkpoints as `rnngraph train --resume` reads them: the input is split into the JSON
// (recipe and training settings) and its safetensors file (weights, optimizer state, carried
// state) by its first two bytes, the JSON's length.
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/models/training.h>

#include "fuzz.h"

using namespace rnngraph;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::limit_memory();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t json =
      std::min<std::size_t>(size - 2, std::size_t(data[0]) | std::size_t(data[1]) << 8);
  const std::filesystem::path path = fuzz::scratch() / "m.json";
  fuzz::write(path, fuzz::bytes(data + 2, json));
  fuzz::write(io::parameters_path(path), fuzz::bytes(data + 2 + json, size - 2 - json));
  fuzz::expect_typed_errors([&] { models::Trainer::resume(path, 0); });
  return 0;
}
