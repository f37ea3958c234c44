// ONNX files as `rnngraph import` reads them.
#include <rnngraph/onnx/onnx.h>

#include "fuzz.h"

using namespace rnngraph;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::limit_memory();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::expect_typed_errors(
      [&] { onnx::import_bytes(std::string(fuzz::bytes(data, size)), "fuzz.onnx"); });
  return 0;
}
