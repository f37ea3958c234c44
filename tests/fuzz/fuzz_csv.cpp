// CSV text: the CLI's other array format.
#include <rnngraph/framework/io/csv.h>

#include "fuzz.h"

using namespace rnngraph;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::limit_memory();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::expect_typed_errors([&] { io::parse_csv(fuzz::bytes(data, size), "fuzz.csv"); });
  return 0;
}
