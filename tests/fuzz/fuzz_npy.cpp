// .npy bytes: the float32 reader (inputs), the numeric one (lengths: int32/int64/f4/f8) and the
// typed arrays datasets are read with.
#include <rnngraph/framework/io/npy.h>

#include "fuzz.h"

using namespace rnngraph;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::limit_memory();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view in = fuzz::bytes(data, size);
  fuzz::expect_typed_errors([&] { io::parse_npy(in, "fuzz.npy"); });
  fuzz::expect_typed_errors([&] { io::parse_npy_numbers(in, "fuzz.npy"); });
  fuzz::expect_typed_errors([&] { io::parse_npy_array(in, "fuzz.npy"); });
  return 0;
}
