// .npy bytes: the float32 reader (inputs), the numeric one (lengths: int32/int64/f4/f8), and the
// typed arrays datasets are read with, through the dataset checks and a batch.
#include <rnngraph/framework/io/npy.h>
#include <rnngraph/models/dataset.h>

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
  fuzz::expect_typed_errors([&] {
    // As a dataset's samples, and as their targets too: the checks of every layout, then a
    // batch of the first and last samples.
    const io::NpyArray a = io::parse_npy_array(in, "fuzz.npy");
    for (const bool labelled : {false, true}) {
      const models::ArrayDataset d(a, labelled ? std::optional(a) : std::nullopt, std::nullopt);
      d.batch(std::vector<int64_t>{0, d.size() - 1});
    }
  });
  return 0;
}
