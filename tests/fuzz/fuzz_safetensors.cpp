// safetensors bytes: weights, gradients, state files, a checkpoint's tensors.
#include <rnngraph/framework/io/safetensors.h>

#include "fuzz.h"

using namespace rnngraph;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::limit_memory();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::expect_typed_errors([&] {
    io::Metadata meta;
    io::parse_safetensors(fuzz::bytes(data, size), "fuzz.safetensors", &meta);
  });
  return 0;
}
