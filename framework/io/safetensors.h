// safetensors files: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}),
// then the data buffer. F32, I8 and BF16 tensors of rank 1 to 4 are accepted, all read as
// float32 (a BF16 value exactly; an I8 tensor as below, Dtypes); every rule of the format is
// checked (bounded header, valid JSON, known dtype, size = shape x dtype, offsets inside the
// buffer, no overlaps, no holes) and a violation is a FormatError.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <rnngraph/framework/tensor.h>

namespace rnngraph::io {

using TensorMap = std::map<std::string, Tensor, std::less<>>;
using Metadata = std::map<std::string, std::string, std::less<>>;
// How a tensor is to be stored, by name, where not F32 (what `rnngraph quantize` writes):
//   "BF16": each value rounded to bfloat16 (to nearest, ties to even; NaN and ±inf kept);
//   "I8":   quantized per column (its last axis): int8 bytes q in [-127, 127] and, beside them,
//           an F32 tensor "<name>.scale" of one scale per column, v ≈ q · scale with
//           scale = max |v| / 127 over the column, rounded half away from zero. A non-finite
//           value cannot be stored so (an Error).
// Reading, an I8 tensor with such a companion comes back as float32 q · scale and the companion
// is not returned; an I8 tensor without one as its integers.
using Dtypes = std::map<std::string, std::string, std::less<>>;

// The largest header accepted (the reference implementation's limit).
inline constexpr std::size_t kMaxSafetensorsHeader = 100'000'000;

TensorMap read_safetensors(const std::filesystem::path& path, Metadata* metadata = nullptr);
TensorMap parse_safetensors(std::string_view bytes, std::string_view what,
                            Metadata* metadata = nullptr);
std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata = {},
                                  const Dtypes& stored = {});
void write_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                       const Metadata& metadata = {}, const Dtypes& stored = {});

}  // namespace rnngraph::io
