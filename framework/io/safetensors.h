// safetensors files: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}),
// then the data buffer. Only F32 tensors of rank 1 to 4 are accepted; every rule of the format
// is checked (bounded header, valid JSON, known dtype, size = shape x dtype, offsets inside the
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

// The largest header accepted (the reference implementation's limit).
inline constexpr std::size_t kMaxSafetensorsHeader = 100'000'000;

TensorMap read_safetensors(const std::filesystem::path& path, Metadata* metadata = nullptr);
TensorMap parse_safetensors(std::string_view bytes, std::string_view what,
                            Metadata* metadata = nullptr);
std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata = {});
void write_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                       const Metadata& metadata = {});

}  // namespace rnngraph::io
